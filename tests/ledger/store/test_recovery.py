"""Large batches have their signers recovered by worker processes: same outcome as in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ulid import ULID

from ledger.domain.events import event_bytes
from ledger.errors import SignatureError
from ledger.store import recovery
from ledger.store.packing import pack
from ledger.store.recovery import PARALLEL_FROM
from tests.support import World


def _marks(world: World, count: int) -> list[dict]:
    return [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(count)]


def test_a_large_batch_is_appended_as_signed(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    batch = _marks(world, PARALLEL_FROM + 50)
    receipts = ledger.append_batch(batch)
    assert len({r.seq for r in receipts}) == len(batch)
    signers = {entry.signer for entry in ledger.entries(receipts[0].seq, receipts[-1].seq + 1)}
    assert signers == {world.parties["it-beretta"].account.address}


@pytest.mark.parametrize("signature", ["0x" + "ab" * 65, "not hex at all"], ids=["another-key", "malformed"])
def test_a_bad_signature_deep_in_a_large_batch_is_refused_with_its_index(sqlite_ledger, signature: str) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    batch = _marks(world, PARALLEL_FROM + 50)
    at = PARALLEL_FROM + 7  # in a later chunk than the first
    batch[at]["signature"] = signature
    size = sqlite_ledger.size()
    with pytest.raises(SignatureError) as refused:
        sqlite_ledger.append_batch(batch)
    assert refused.value.index == at
    assert sqlite_ledger.size() == size, "nothing of a refused batch is appended"


def test_what_workers_still_owe_a_batch_never_reaches_the_next_one(sqlite_ledger) -> None:  # noqa: ANN001
    """A batch refused early leaves chunks in the workers' hands; their answers must not be read as the next batch's."""
    world = World(sqlite_ledger)
    first, second = ([(event_bytes(e["event"]), e["signature"]) for e in _marks(world, 7 * recovery._CHUNK)] for _ in range(2))
    with recovery.Recoveries() as refused:  # more chunks than a worker is sent ahead; only the first one is read
        for pair in first:
            refused.add(*pair)
        refused.flush()
        refused.signer(0)
    with recovery.Recoveries() as recoveries:
        for pair in second:
            recoveries.add(*pair)
        recoveries.flush()
        assert [recoveries.prepacked(n).packed for n in range(len(second))] == [pack(message) for message, _ in second]


def test_batches_read_at_once_each_get_their_own_signers(sqlite_ledger) -> None:  # noqa: ANN001
    """Two batches opened together: the second finds the workers taken (or some of them) and still gets its own answers."""
    world = World(sqlite_ledger)
    batches = [[(event_bytes(e["event"]), e["signature"]) for e in _marks(world, 3 * recovery._CHUNK)] for _ in range(2)]
    with recovery.Recoveries() as first, recovery.Recoveries() as second:
        for recoveries, pairs in zip((first, second), batches, strict=True):
            for pair in pairs:
                recoveries.add(*pair)
            recoveries.flush()
        for recoveries, pairs in zip((second, first), batches[::-1], strict=True):
            assert [recoveries.prepacked(n).packed for n in range(len(pairs))] == [pack(message) for message, _ in pairs]
            assert {recoveries.signer(n) for n in range(len(pairs))} == {world.parties["it-beretta"].account.address}


def test_a_dead_worker_costs_nothing_but_time(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    sqlite_ledger.append_batch(_marks(world, PARALLEL_FROM))  # starts the workers
    killed = recovery._pool_pids()
    assert killed, "a large batch starts recovery workers"
    for pid in killed:  # killed, as by the OOM killer
        os.kill(pid, 9)
    receipts = sqlite_ledger.append_batch(_marks(world, PARALLEL_FROM))
    assert len(receipts) == PARALLEL_FROM
    assert len(sqlite_ledger.append_batch(_marks(world, PARALLEL_FROM))) == PARALLEL_FROM  # and new workers serve the next
    assert recovery._pool_pids() and not set(recovery._pool_pids()) & set(killed)


def test_the_workers_of_a_killed_process_do_not_outlive_it(tmp_path) -> None:  # noqa: ANN001
    """A server killed outright must not leave recovery workers behind, waiting forever."""
    script = tmp_path / "append.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        from ledger.store import recovery
        with recovery.Recoveries() as started:  # starts the workers
            started.add(b"{}", "0x" + "00" * 65)
            started.flush()
            started.prepacked(0)  # answered: the workers are up
        print(" ".join(str(pid) for pid in recovery._pool_pids()), flush=True)
        os.kill(os.getpid(), 9)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])})
    workers = [int(pid) for pid in done.stdout.split()]
    assert workers, done.stderr
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), "a worker outlived the process that started it"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
