"""The audit's replay of the reviews: each `void_inspection`, `confirm_finding` and `dismiss_finding`
must point at an earlier entry of its own item that it may judge, and judge it once.

The entry a review points at is read back from the log (reviews are rare; remembering every
inspection of a large log would not be). Whether an inspection contradicted the record is the
custody fold's to say (`ledger.domain.custody`), which `tracemark rebuild` replays; the audit checks who
reviewed what.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.audit.times import Timed
from ledger.domain import events as ev
from ledger.errors import LedgerError
from ledger.store.tables import Party

__all__ = ["ReviewAudit"]


class ReviewAudit:
    """Follows the reviews in log order; `read` gives an earlier entry's event (None when there is none)."""

    def __init__(self, parties: dict[str, Party], read: Callable[[int], ev.Event | None]) -> None:
        self.parties = parties
        self.read = read
        self.voided: set[int] = set()
        self.settled: set[int] = set()

    def check(self, seq: int, facts: Timed) -> list[str]:
        if facts.type not in ev.REVIEWS or facts.target is None:
            return []
        problem = self._void(seq, facts) if facts.type == "void_inspection" else self._settle(seq, facts)
        return [] if problem is None else [f"{facts.type}: {problem}"]

    def _target(self, seq: int, facts: Timed) -> tuple[ev.Event | None, str | None]:
        assert facts.target is not None
        try:
            target = self.read(facts.target) if facts.target < seq else None
        except LedgerError:
            target = None
        if target is None:
            return None, f"entry {facts.target} is not an earlier readable entry"
        if ev.event_field(target, "item") != facts.item:
            return None, f"entry {facts.target} is not an entry of item {facts.item}"
        return target, None

    def _role(self, party: str) -> str | None:
        known = self.parties.get(party)
        return None if known is None else known.role

    def _void(self, seq: int, facts: Timed) -> str | None:
        assert facts.target is not None  # `check` passes only reviews that name one
        target, problem = self._target(seq, facts)
        if target is None:
            return problem
        if target.type != "inspect":
            return f"entry {facts.target} is a {target.type}, not an inspection"
        if target.actor != facts.actor and self._role(facts.actor) != "admin":
            return f"{facts.actor} voided inspection {facts.target}, made by {target.actor}"
        if facts.target in self.voided:
            return f"inspection {facts.target} was voided before"
        self.voided.add(facts.target)
        return None

    def _settle(self, seq: int, facts: Timed) -> str | None:
        assert facts.target is not None  # `check` passes only reviews that name one
        if self._role(facts.actor) != "investigator":
            return f"{facts.actor} is not an investigator"
        target, problem = self._target(seq, facts)
        if target is None:
            return problem
        if target.type not in ("inspect", "transfer") or (target.type == "transfer" and ev.event_field(target, "to") is None):
            return f"entry {facts.target} is a {target.type}: it raises no question"
        if facts.target in self.voided or facts.target in self.settled:
            return f"the question of entry {facts.target} was settled or voided before"
        self.settled.add(facts.target)
        return None
