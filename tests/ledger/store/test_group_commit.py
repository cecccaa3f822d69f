"""Concurrent appends in one process are committed in groups and behave like appends one by one."""

from __future__ import annotations

import asyncio
import decimal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ulid import ULID

from ledger.errors import AppendLockBusy, EventFailed, NotFound, RuleViolation
from ledger.log.merkle import verify_inclusion
from ledger.store import appender as store
from ledger.store.appender import KEEP_NEW_ROWS
from ledger.store.group_commit import GroupCommit
from ledger.store.txview import StateCache
from tests.support import World, writer_on


def _counting_batches(batches: list[int], leaders: set[str] | None = None):  # noqa: ANN202
    """A group commit factory whose groups report each batch they append (its size, and the thread that led it)."""

    def group_commit(append_batch, attest, **options):  # noqa: ANN001, ANN003, ANN202
        def counting(batch, **kwargs):  # noqa: ANN001, ANN003, ANN202
            batches.append(len(batch))
            if leaders is not None:
                leaders.add(threading.current_thread().name)
            return append_batch(batch, **kwargs)

        return GroupCommit(counting, attest, **options)

    return group_commit


def _attesting_with(attest):  # noqa: ANN001, ANN202
    """A group commit factory whose groups read their attestations through `attest(real_attest, seqs)`."""

    def group_commit(append_batch, real, **options):  # noqa: ANN001, ANN003, ANN202
        return GroupCommit(append_batch, lambda seqs: attest(real, seqs), **options)

    return group_commit


def test_threads_appending_at_once_each_get_their_own_receipt(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(60)]
    batches: list[int] = []
    ledger = writer_on(ledger, group_commit=_counting_batches(batches))  # observe how the group commit batched the appends
    start = ledger.size()
    with ThreadPoolExecutor(max_workers=12) as pool:
        receipts = list(pool.map(ledger.append, envelopes))
    assert sorted(r.seq for r in receipts) == list(range(start, start + 60))
    assert sum(batches) == 60 and len(batches) < 60, "concurrent appends should share transactions"
    checkpoint = ledger.checkpoint()
    for receipt in receipts:
        verify_inclusion(receipt.leaf_hash, receipt.seq, checkpoint.size, ledger.inclusion_proof(receipt.seq, checkpoint.size), checkpoint.root)


def test_a_refused_event_in_a_group_fails_alone(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    good = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(20)]
    bad = world.envelope("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=world.marking())  # a dealer may not mark
    gate = threading.Barrier(21)

    def append(envelope):  # noqa: ANN001, ANN202
        gate.wait()
        return sqlite_ledger.append(envelope)

    with ThreadPoolExecutor(max_workers=21) as pool:
        futures = [pool.submit(append, e) for e in [*good[:10], bad, *good[10:]]]
    outcomes = [f.exception() or f.result() for f in futures]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], RuleViolation) and refused[0].rule == "actor_role"
    assert refused[0].index is None
    assert sqlite_ledger.size() == len(world.parties) + 20


def _overflow_on(monkeypatch: pytest.MonkeyPatch, doomed: str) -> None:
    """Make applying any event of item `doomed` raise an error no rule foresees."""
    real_apply = store.apply

    def overflowing(event, seq, view):  # noqa: ANN001, ANN202
        if getattr(event, "item", None) == doomed:
            raise decimal.Overflow("a projection that cannot hold this event")
        return real_apply(event, seq, view)

    monkeypatch.setattr(store, "apply", overflowing)


def test_an_unexpected_error_judging_one_event_fails_it_alone(ledger, monkeypatch, caplog) -> None:  # noqa: ANN001
    """A bug the rules do not foresee fails its event only: the group commits the rest, and the
    server's log keeps the traceback."""
    world = World(ledger)
    good = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(20)]
    doomed = str(ULID())
    bad = world.envelope("it-beretta", "mark_firearm", item=doomed, marking=world.marking())
    _overflow_on(monkeypatch, doomed)

    async def all_at_once():  # noqa: ANN202
        return await asyncio.gather(*(ledger.append_attested_async(e) for e in [*good[:10], bad, *good[10:]]), return_exceptions=True)

    start = ledger.size()
    outcomes = asyncio.run(all_at_once())
    failed = outcomes.pop(10)
    assert isinstance(failed, EventFailed) and failed.cause == "Overflow" and failed.index is None
    assert sorted(receipt.seq for receipt, _ in outcomes) == list(range(start, start + 20))
    with pytest.raises(NotFound):
        ledger.item(doomed)
    assert any(record.exc_info is not None and record.exc_info[0] is decimal.Overflow for record in caplog.records)


def test_an_unexpected_error_in_a_batch_names_its_event_and_appends_nothing(sqlite_ledger, monkeypatch) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    doomed = str(ULID())
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=item, marking=world.marking()) for item in (str(ULID()), doomed, str(ULID()))]
    _overflow_on(monkeypatch, doomed)
    start = sqlite_ledger.size()
    with pytest.raises(EventFailed) as caught:
        sqlite_ledger.append_batch(envelopes)
    assert caught.value.index == 1
    assert sqlite_ledger.size() == start


def test_a_single_append_still_raises_its_refusal(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    with pytest.raises(RuleViolation) as refused:
        world.act("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=world.marking())
    assert refused.value.index is None


def test_a_group_is_attested_once_and_each_waiter_gets_only_its_own_proofs(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    world.firearm()  # an earlier entry a waiter also wants proved, as a scan does
    history_seq = ledger.size() - 1
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(40)]
    attests: list[list[int]] = []

    def counting(real, seqs):  # noqa: ANN001, ANN202
        attests.append(list(seqs))
        return real(seqs)

    ledger = writer_on(ledger, group_commit=_attesting_with(counting))  # observe how often the group reads an attestation
    gate = threading.Barrier(10)

    def append(n: int):  # noqa: ANN202
        gate.wait() if n < 10 else None
        return ledger.append_attested(envelopes[n], prove=[history_seq] if n % 2 else [])

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(append, range(40)))
    assert len(attests) < 40, "waiters committed together should share one attestation"
    for n, (receipt, attestation) in enumerate(answers):
        wanted = [history_seq, receipt.seq] if n % 2 else [receipt.seq]
        assert list(attestation.inclusion) == wanted  # nothing of the other waiters'
        checkpoint = attestation.checkpoint
        verify_inclusion(receipt.leaf_hash, receipt.seq, checkpoint.size, attestation.inclusion[receipt.seq], checkpoint.root)


def test_an_attestation_that_cannot_be_read_in_the_group_is_read_by_the_waiter(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)

    def failing(real, seqs):  # noqa: ANN001, ANN202
        raise OSError("disk went away for a moment")

    sqlite_ledger = writer_on(sqlite_ledger, group_commit=_attesting_with(failing))
    receipt, attestation = sqlite_ledger.append_attested(world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()))
    assert list(attestation.inclusion) == [receipt.seq] and attestation.checkpoint.size == receipt.seq + 1


def test_awaited_appends_are_committed_in_groups_by_their_loop_or_the_commit_thread(ledger) -> None:  # noqa: ANN001
    """The HTTP routes await their appends on the event loop, and they group. On SQLite the loop
    itself commits (the append is local work); on PostgreSQL the commit thread does, so that the
    loop never waits on the network."""
    world = World(ledger)
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(40)]
    batches: list[int] = []
    leaders: set[str] = set()
    ledger = writer_on(ledger, group_commit=_counting_batches(batches, leaders))

    async def all_at_once():  # noqa: ANN202
        return await asyncio.gather(*(ledger.append_attested_async(e) for e in envelopes))

    start = ledger.size()
    answers = asyncio.run(all_at_once())
    assert sorted(receipt.seq for receipt, _ in answers) == list(range(start, start + 40))
    assert sum(batches) == 40 and len(batches) < 40, "appends awaited at once should share transactions"
    if ledger.db.is_sqlite:
        assert leaders == {threading.current_thread().name}
    else:
        assert all(name.startswith("group-commit") for name in leaders) and threading.current_thread().name not in leaders
    for receipt, attestation in answers:
        assert list(attestation.inclusion) == [receipt.seq]
        verify_inclusion(receipt.leaf_hash, receipt.seq, attestation.checkpoint.size, attestation.inclusion[receipt.seq], attestation.checkpoint.root)


def test_an_awaited_refusal_fails_alone_and_threads_and_awaiters_mix(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    good = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(20)]
    bad = world.envelope("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=world.marking())  # a dealer may not mark

    async def awaited():  # noqa: ANN202
        return await asyncio.gather(*(sqlite_ledger.append_attested_async(e) for e in [*good[:10], bad]), return_exceptions=True)

    with ThreadPoolExecutor(max_workers=10) as pool:  # threads that lead themselves, appending at the same time
        threaded = [pool.submit(sqlite_ledger.append, e) for e in good[10:]]
        outcomes = asyncio.run(awaited())
    assert isinstance(outcomes[-1], RuleViolation) and outcomes[-1].rule == "actor_role" and outcomes[-1].index is None
    assert all(not isinstance(o, BaseException) for o in outcomes[:-1])
    assert all(f.result().seq >= 0 for f in threaded)
    assert sqlite_ledger.size() == len(world.parties) + 20


def test_an_awaited_append_whose_loop_has_closed_is_committed_by_the_commit_thread(sqlite_ledger) -> None:  # noqa: ANN001
    """A server shutting down: its loop ends while its append waits behind a thread's group. The
    append is committed all the same, and the next append does not wait on a leader that never comes."""
    world = World(sqlite_ledger)
    first, second, third = (world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(3))
    entered, release = threading.Event(), threading.Event()
    real = sqlite_ledger.append_batch

    def held(batch, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if not entered.is_set():  # the thread's own group waits until the loop has gone
            entered.set()
            release.wait(10)
        return real(batch, **kwargs)

    group = GroupCommit(held, sqlite_ledger.attest, lead_on_loop=True)

    async def submit_and_leave():  # noqa: ANN202
        return group.submit(second, attest=True)

    with ThreadPoolExecutor(max_workers=1) as pool:
        threaded = pool.submit(group.append, first)
        assert entered.wait(10)
        queued = asyncio.run(submit_and_leave())  # asyncio.run closes the loop on return
        release.set()
        assert threaded.result(10)[0].seq + 1 == queued.result(10)[0].seq
    assert group.append(third)[0].seq == queued.result()[0].seq + 1


def test_an_awaiting_caller_that_gives_up_leaves_its_group_answered(ledger) -> None:  # noqa: ANN001
    """A client that hangs up mid-append cancels its awaiting task: its event is committed with
    its group all the same (a commit is never half-undone), and every other waiter gets its answer."""
    world = World(ledger)
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(6)]

    async def one_gives_up():  # noqa: ANN202
        tasks = [asyncio.create_task(ledger.append_attested_async(e)) for e in envelopes]
        await asyncio.sleep(0)  # every task has queued its envelope
        tasks[2].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    start = ledger.size()
    outcomes = asyncio.run(one_gives_up())
    assert isinstance(outcomes[2], asyncio.CancelledError)
    answered = [outcome for n, outcome in enumerate(outcomes) if n != 2]
    assert sorted(receipt.seq for receipt, _ in answered) == [seq for seq in range(start, start + 6) if seq != start + 2]
    assert ledger.size() == start + 6
    assert ledger.append(world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())).seq == start + 6


def _groups_of(timed_submits: list[float], quiet: float, delay: float) -> list[list[int]]:
    """The groups a loop-led GroupCommit makes of appends submitted at these offsets (seconds)."""
    batches: list[list[int]] = []

    def append_batch(envelopes, checkpoint, wait=True):  # noqa: ANN001, ANN202
        batches.append(list(envelopes))
        return [f"receipt of {e}" for e in envelopes]

    group = GroupCommit(append_batch, lead_on_loop=True, commit_quiet=quiet, commit_delay=delay)

    async def submitted():  # noqa: ANN202
        loop, futures = asyncio.get_running_loop(), []
        began = loop.time()
        for n, at in enumerate(timed_submits):
            await asyncio.sleep(max(0.0, began + at - loop.time()))
            futures.append(asyncio.wrap_future(group.submit(n)))
        return await asyncio.gather(*futures)

    answers = asyncio.run(submitted())
    assert [receipt for receipt, _ in answers] == [f"receipt of {n}" for n in range(len(timed_submits))]
    return batches


def test_a_loop_commits_only_once_appends_stop_arriving() -> None:
    """Appends queued a few loop passes apart join one group when the loop waits for a lull (a
    group's fixed cost is then shared); leading at once commits the first alone."""
    assert _groups_of([0.0, 0.0, 0.0], quiet=0.0, delay=0.0) != [[0, 1, 2]]
    assert _groups_of([0.0, 0.0, 0.0], quiet=0.05, delay=1.0) == [[0, 1, 2]]


def test_a_loop_that_never_meets_a_lull_commits_when_the_oldest_has_waited_long_enough() -> None:
    """Appends every 5 ms never leave a 50 ms lull: the 30 ms cap still commits them in several groups."""
    arrivals = [n * 0.005 for n in range(30)]
    assert len(_groups_of(arrivals, quiet=0.05, delay=10.0)) == 1
    groups = _groups_of(arrivals, quiet=0.05, delay=0.03)
    assert len(groups) > 1 and sorted(n for g in groups for n in g) == list(range(30))


def test_a_loop_serves_on_while_another_process_holds_the_write_lock(sqlite_ledger) -> None:  # noqa: ANN001
    """SQLite's busy wait would sleep on the event loop while the other process commits: instead
    the group goes back to the queue, the loop goes on with other work, and the group commits
    once the lock is free, with no row of the append cache lost."""
    cache = StateCache(new_limit=KEEP_NEW_ROWS)
    sqlite_ledger = writer_on(sqlite_ledger, cache=cache)
    world = World(sqlite_ledger)
    uid = world.firearm()
    envelope = world.envelope("de-customs", "inspect", item=uid, country="DE", location="FRA", direction="import", verdict="VALID")
    other = sqlite3.connect(sqlite_ledger.db.writer.url.database, isolation_level=None)  # the other process's writer
    other.execute("BEGIN IMMEDIATE")
    cached = dict(cache.rows)

    async def append_meanwhile():  # noqa: ANN202
        appended = asyncio.create_task(sqlite_ledger.append_attested_async(envelope))
        ticks = 0
        while ticks < 20:  # the loop is free: it runs this while the append waits for the lock
            await asyncio.sleep(0.002)
            ticks += 1
        assert not appended.done()
        other.execute("ROLLBACK")
        return ticks, await asyncio.wait_for(appended, 10)

    ticks, (receipt, attestation) = asyncio.run(append_meanwhile())
    assert ticks == 20 and receipt.seq == sqlite_ledger.size() - 1 and list(attestation.inclusion) == [receipt.seq]
    assert cached and cached.keys() <= cache.rows.keys()  # the busy lock did not make it start its cache again
    with pytest.raises(AppendLockBusy):  # and a caller that will not wait hears so at once
        other.execute("BEGIN IMMEDIATE")
        try:
            sqlite_ledger.append_batch([world.envelope("de-customs", "inspect", item=uid, country="DE", location="MUC",
                                                       direction="import", verdict="VALID")], wait=False)
        finally:
            other.execute("ROLLBACK")
