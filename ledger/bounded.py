"""A dict of at most so many entries, the oldest written forgotten first, shared by the event loop and threads.

What a process keeps of work it may be asked to do again: the signatures it made (`ledger.log.keys`),
the Merkle range hashes it read or folded (`ledger.store.proofs`). `functools.lru_cache` cannot be filled
from outside the call it wraps, and its eviction order is not needed: the newest are the ones asked
for again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Generic, TypeVar

__all__ = ["Bounded"]

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """At most `most` entries; writes take a lock, reads need none (one dict lookup each)."""

    def __init__(self, most: int) -> None:
        self._most = most
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def known(self, keys: Iterable[K]) -> dict[K, V]:
        """Those of `keys` held, with their values."""
        entries = self._entries
        return {key: value for key in keys if (value := entries.get(key)) is not None}

    def update(self, entries: Mapping[K, V]) -> None:
        """Hold `entries`, forgetting the oldest beyond the bound."""
        with self._lock:
            self._entries.update(entries)
            excess = len(self._entries) - self._most
            if excess > 0:
                for key in list(islice(self._entries, excess)):
                    del self._entries[key]
