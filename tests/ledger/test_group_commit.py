"""Concurrent appends in one process are committed in groups and behave like appends one by one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ulid import ULID

from ledger.errors import RuleViolation
from ledger.merkle import verify_inclusion
from tests.support import World


def test_threads_appending_at_once_each_get_their_own_receipt(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(60)]
    batches: list[int] = []
    real = ledger.append_batch

    def counting(batch, **kwargs):  # noqa: ANN001, ANN003, ANN202
        batches.append(len(batch))
        return real(batch, **kwargs)

    ledger._group._append_batch = counting  # observe how the group commit batched the appends
    start = ledger.size()
    with ThreadPoolExecutor(max_workers=12) as pool:
        receipts = list(pool.map(lambda e: ledger.append(e, checkpoint=True), envelopes))
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


def test_a_single_append_still_raises_its_refusal(sqlite_ledger) -> None:  # noqa: ANN001
    world = World(sqlite_ledger)
    with pytest.raises(RuleViolation) as refused:
        world.act("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=world.marking())
    assert refused.value.index is None
