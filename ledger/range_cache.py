"""The Merkle range hashes this process has read or computed, kept: a range of logged leaves never changes.

MTH(D[lo:hi]) is fixed for good once leaves lo..hi-1 are in the log (the log only grows), and a
stored node (level, index) is the range [index * 2**level, (index + 1) * 2**level). Every scan is
answered with inclusion proofs of the item's entries against a fresh checkpoint; the proofs of one
item, or of one region of the log, share most of their ranges from one checkpoint to the next.
Reading their nodes from the store and folding them again was a quarter of a scan's server time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from itertools import islice

__all__ = ["RangeHashes", "LeafRange"]

LeafRange = tuple[int, int]
"""Leaves [lo, hi) of the log."""


class RangeHashes:
    """At most `most` range hashes (some 200 bytes each), the oldest learnt forgotten first."""

    def __init__(self, most: int = 1 << 17) -> None:
        self._most = most
        self._hashes: dict[LeafRange, bytes] = {}
        self._lock = threading.Lock()  # the event loop and reading threads share one ledger

    def __len__(self) -> int:
        return len(self._hashes)

    def known(self, ranges: Iterable[LeafRange]) -> dict[LeafRange, bytes]:
        """The hashes of those of `ranges` already known."""
        hashes = self._hashes
        return {r: h for r in ranges if (h := hashes.get(r)) is not None}

    def learn(self, hashes: Mapping[LeafRange, bytes]) -> None:
        """Keep `hashes`: of committed leaves only, never of a write still open."""
        with self._lock:
            self._hashes.update(hashes)
            excess = len(self._hashes) - self._most
            if excess > 0:
                for leaves in list(islice(self._hashes, excess)):
                    del self._hashes[leaves]
