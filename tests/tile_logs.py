"""Logs long enough to have full and partial tiles at two tile levels, built fast in one process."""

from __future__ import annotations

from ulid import ULID

from ledger.store.ledger import Ledger
from tests.support import World

__all__ = ["grow"]

_BATCH = 200


def grow(world: World, to: int) -> int:
    """Append firearm markings by the demo's maker until the log holds `to` entries; its size."""
    ledger: Ledger = world.ledger
    size = ledger.size()
    while size < to:
        count = min(_BATCH, to - size)
        envelopes = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(count)]
        size = ledger.append_batch(envelopes)[-1].seq + 1
    return size
