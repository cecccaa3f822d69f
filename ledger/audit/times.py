"""The audit's replay of the rules that time decides: when an event may be dated, in which order an
item's events come, and whether the licences and permits it relied on were valid at its time.

Appends enforce the same rules (`ledger.domain.rules`); replaying them here catches an entry that got
past them (an append by older code, a log written around the append pipeline): a live entry
dated outside the reporting window, an item's history going back in time, a transfer to a
dealer whose licence had ended by the event's own time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ledger.domain import events as ev
from ledger.domain.rules import check_in_order, check_reported_in_time, licence_valid_at, permit_usable
from ledger.errors import EventInvalid, RuleViolation
from ledger.store.projection import OBSERVATIONS
from ledger.store.tables import Party, Permit

__all__ = ["Timed", "timed", "TimeAudit"]

_LICENSED_ACTS = {"mark_firearm", "mark_specimen", "transfer", "receive"}
"""The events whose actor needs a licence valid at the event's time (`ActorLicensed`)."""
_PERMIT_ACTS = {"mark_specimen", "export", "import"}
_STATE_EVENTS = {"register_party", "issue_permit", "cancel_permit"}
_IMPORT_PERMITS = {"import", "firearm_import"}  # an import is judged on its permit only when the permit is an import permit


@dataclass(frozen=True)
class Timed:
    """What the replay needs of one event: small, as it travels from the audit's worker processes."""

    type: str
    actor: str
    time: str
    item: str | None
    receiver: str | None  # the licensed party a transfer names (not a private owner)
    permit: str | None
    state: bytes | None  # the event bytes of a registration or permit event: the replay learns from them
    target: int | None = None  # the entry a review (void, confirm, dismiss) judges


def timed(event: ev.Event, event_bytes: bytes) -> Timed:
    """The facts of `event` (whose canonical bytes are `event_bytes`) the replay judges."""
    field = ev.event_field
    receiver = field(event, "to") if event.type == "transfer" and field(event, "owner_commitment") is None else None
    return Timed(event.type, event.actor, event.time, field(event, "item"), receiver,
                 field(event, "permit") if event.type in _PERMIT_ACTS else None,
                 event_bytes if event.type in _STATE_EVENTS else None,
                 field(event, "inspection_seq") if event.type == "void_inspection" else field(event, "question_seq"))


class TimeAudit:
    """Replays, entry by entry in log order, the parties' licences, the permits and each item's last time."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.parties: dict[str, Party] = {}
        self.permits: dict[str, Permit] = {}
        self.last_time: dict[str, str] = {}

    def check(self, facts: Timed, recorded_at: str, imported: bool) -> list[str]:
        """What does not hold of this entry, then learn what it changes."""
        problems = [problem for problem in (self._reported(facts, recorded_at, imported), self._order(facts), self._permit(facts))
                    if problem is not None]
        problems.extend(self._licences(facts))
        self._learn(facts)
        return problems

    def _reported(self, facts: Timed, recorded_at: str, imported: bool) -> str | None:
        try:
            check_reported_in_time(facts.time, recorded_at, None if imported else self.window)
        except RuleViolation as exc:
            return f"{exc.rule}: {exc.detail}{'' if imported else ' (a live entry, not imported)'}"
        except EventInvalid as exc:
            return f"recorded time unreadable: {exc}"
        return None

    def _order(self, facts: Timed) -> str | None:
        if facts.item is None or facts.type not in ev.ITEM_EVENTS or facts.type in OBSERVATIONS:
            return None
        last = self.last_time.get(facts.item)
        try:
            if last is not None:
                check_in_order(facts.item, facts.time, last)
        except RuleViolation as exc:
            return f"{exc.rule}: {exc.detail}"
        self.last_time[facts.item] = facts.time
        return None

    def _licences(self, facts: Timed) -> list[str]:
        wanted = [facts.actor] if facts.type in _LICENSED_ACTS else []
        wanted += [facts.receiver] if facts.receiver is not None else []
        return [f"licence_invalid: {facts.type} relied on {party.id}'s licence, not valid at {facts.time}"
                for party in (self.parties.get(pid) for pid in wanted)
                if party is not None and not licence_valid_at(party, facts.time)]

    def _permit(self, facts: Timed) -> str | None:
        permit = self.permits.get(facts.permit) if facts.permit is not None else None
        if permit is None or (facts.type == "import" and permit.kind not in _IMPORT_PERMITS):
            return None
        try:
            permit_usable(permit, facts.time)
        except RuleViolation as exc:
            return f"{exc.rule}: {facts.type} at {facts.time} relied on it: {exc.detail}"
        return None

    def _learn(self, facts: Timed) -> None:
        if facts.state is None:
            return
        event = ev.parse_event(facts.state)
        if isinstance(event, ev.RegisterParty):
            info = event.party
            self.parties[info.id] = Party(id=info.id, name=info.name, role=info.role, country=info.country,
                                          licence_number=info.licence_number, licence_valid_from=info.licence_valid_from,
                                          licence_valid_until=info.licence_valid_until, registered_seq=0)
        elif isinstance(event, ev.IssuePermit):
            permit = event.permit
            self.permits[permit.number] = Permit(number=permit.number, kind=permit.kind, issuer=event.actor, issuing_country=permit.issuing_country,
                                               exporter=permit.exporter, importer=permit.importer, export_country=permit.export_country,
                                               import_country=permit.import_country, valid_from=permit.valid_from,
                                               valid_until=permit.valid_until, status="valid", issued_seq=0)
        elif isinstance(event, ev.CancelPermit) and event.permit in self.permits:
            self.permits[event.permit].status = "cancelled"
