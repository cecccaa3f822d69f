"""The bounded dict behind the signatures and Merkle ranges a process keeps."""

from __future__ import annotations

from ledger.bounded import Bounded


def test_it_holds_at_most_its_bound_forgetting_the_oldest_written() -> None:
    kept: Bounded[tuple[int, int], bytes] = Bounded(3)
    kept.update({(0, 1): b"a", (1, 2): b"b"})
    kept.update({(2, 3): b"c", (0, 2): b"d", (0, 4): b"e"})
    assert len(kept) == 3
    assert kept.known([(0, 1), (1, 2), (2, 3), (0, 2), (0, 4), (4, 8)]) == {(2, 3): b"c", (0, 2): b"d", (0, 4): b"e"}
    assert kept.get((0, 4)) == b"e" and kept.get((0, 1)) is None


def test_a_key_written_again_takes_the_new_value() -> None:
    kept: Bounded[str, int] = Bounded(2)
    kept.update({"first": 1, "second": 2})
    kept.update({"first": 10})
    assert kept.known(["first", "second"]) == {"first": 10, "second": 2}
