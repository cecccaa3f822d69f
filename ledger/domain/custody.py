"""The chain of custody as a fold over one item's events: where it left the legal chain.

`advance` moves a `Chain` by one event. The same fold decides both the trace of one item
(replayed from the log) and the `diversion` projection row (one step per append), so the
two can never disagree. What the fold needs from outside the item's own events (a party's
country, a permit's route, whether a marking copies another) comes through `Facts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.domain import events as ev
from ledger.domain.event_fields import permit_number_of
from ledger.log.codec import parse_time

__all__ = [
    "DIVERSION_KINDS",
    "TTC_FLAG_DAYS",
    "Chain",
    "Diversion",
    "Facts",
    "MarkingDoubts",
    "PermitRoute",
    "advance",
    "fold",
]

DIVERSION_KINDS = ("clone", "over_quota", "unreceived_transfer", "undeclared_crossing", "off_route", "loss", "theft", "seizure")
TTC_FLAG_DAYS = 3 * 365
"""Trace practice reads a time-to-crime under three years as an indicator of trafficking."""

_CROSSING = ("export", "import", "transit")


@dataclass(frozen=True)
class PermitRoute:
    exporter: str
    importer: str
    export_country: str
    import_country: str


@dataclass(frozen=True)
class MarkingDoubts:
    """What is wrong with a marking, seen against the other items in the ledger."""

    clone_of: str | None = None  # an earlier item with the same marking by another party
    over_quota: str | None = None  # "tagged X of Y on permit P line L" when tags exceed the line


class Facts(Protocol):
    def party_country(self, party_id: str) -> str | None: ...
    def permit_route(self, number: str) -> PermitRoute | None: ...
    def marking_doubts(self, uid: str, seq: int) -> MarkingDoubts: ...


@dataclass
class Diversion:
    seq: int
    kind: str
    time: str
    last_legit_custodian: str | None
    origin_country: str | None
    detail: str


@dataclass
class Chain:
    """What the log says about one item so far."""

    uid: str
    custodian: str | None = None  # party holding it now (None once sold to a private owner)
    holder: str | None = None  # last party that legally held it (survives a retail sale)
    country: str | None = None
    pending_to: str | None = None
    pending_seq: int | None = None
    pending_time: str | None = None
    route: list[str] = field(default_factory=list)  # countries a declared shipment may cross
    marked_time: str | None = None
    retail_time: str | None = None
    legal_transfer_time: str | None = None
    seizure_seq: int | None = None
    seizure_time: str | None = None
    found_country: str | None = None
    ttc_days: int | None = None
    diversion: Diversion | None = None
    questions: list[str] = field(default_factory=list)

    @property
    def ttc_flagged(self) -> bool:
        return self.ttc_days is not None and self.ttc_days < TTC_FLAG_DAYS

    def open_questions(self) -> list[str]:
        """Doubts an investigator should chase, including a transfer still waiting for receipt."""
        pending = [] if self.pending_seq is None else [f"transfer at entry {self.pending_seq} to {self.pending_to} was never received"]
        return self.questions + pending

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data without the fields still at their defaults (one row per item is stored).

        A shallow copy: `asdict`'s deep recursion costs more than the whole fold step.
        """
        data = {name: value for name, value in self.__dict__.items() if value is not None and value != []}
        data.update((name, list(data[name])) for name in ("route", "questions") if name in data)
        if self.diversion is not None:
            data["diversion"] = dict(self.diversion.__dict__)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Chain":
        diversion = data.get("diversion")
        return cls(**{**data, "diversion": None if diversion is None else Diversion(**diversion)})


def fold(uid: str, events: list[tuple[int, ev.Event]], facts: Facts) -> Chain:
    """The chain after every event of one item, in log order."""
    chain = Chain(uid=uid)
    for seq, event in events:
        advance(chain, seq, event, facts)
    return chain


def advance(chain: Chain, seq: int, event: ev.Event, facts: Facts) -> None:
    """Move `chain` by entry `seq`; events that do not concern custody leave it unchanged."""
    step = _STEPS.get(event.type)
    if step is not None:
        step(chain, seq, event, facts)


def _divert(chain: Chain, seq: int, event: ev.Event, kind: str, detail: str) -> None:
    """Record the first step at which the item left the legal chain; later ones change nothing."""
    if chain.diversion is not None:
        return
    if chain.pending_seq is not None and kind not in ("clone", "over_quota"):
        chain.diversion = Diversion(
            seq=chain.pending_seq,
            kind="unreceived_transfer",
            time=chain.pending_time or event.time,
            last_legit_custodian=chain.holder,
            origin_country=chain.country,
            detail=f"sent to {chain.pending_to} and never received; then {kind} at entry {seq}: {detail}",
        )
        return
    chain.diversion = Diversion(seq, kind, event.time, chain.holder, chain.country, detail)


def _mark(chain: Chain, seq: int, event: ev.Event, facts: Facts) -> None:
    if isinstance(event, ev.MarkFirearm):
        marking = event.marking
        chain.custodian = chain.holder = event.actor
        chain.country = marking.country if marking.import_marking is None else marking.import_marking.country
    else:
        route = facts.permit_route(permit_number_of(event))
        chain.custodian = chain.holder = route.exporter if route else event.actor
        chain.country = route.export_country if route else facts.party_country(event.actor)
    chain.marked_time = event.time
    doubts = facts.marking_doubts(chain.uid, seq)
    if doubts.clone_of is not None:
        question = f"marking copies item {doubts.clone_of}, marked earlier by another party"
        chain.questions.append(question)
        _divert(chain, seq, event, "clone", question)
    if doubts.over_quota is not None:
        question = f"permit line over-endorsed: {doubts.over_quota}"
        chain.questions.append(question)
        _divert(chain, seq, event, "over_quota", question)


def _transfer(chain: Chain, seq: int, event: ev.Transfer, facts: Facts) -> None:
    if event.to is not None:
        chain.pending_to, chain.pending_seq, chain.pending_time = event.to, seq, event.time
    else:
        chain.custodian = None
        if chain.diversion is None:
            chain.retail_time = event.time


def _receive(chain: Chain, seq: int, event: ev.Receive, facts: Facts) -> None:
    chain.custodian = chain.holder = event.actor
    if chain.diversion is None:
        chain.legal_transfer_time = chain.pending_time
    chain.pending_to = chain.pending_seq = chain.pending_time = None
    _move(chain, facts.party_country(event.actor))


def _export(chain: Chain, seq: int, event: ev.Export, facts: Facts) -> None:
    route = facts.permit_route(event.permit)
    chain.route = [event.country] if route is None else [route.export_country, route.import_country]
    if chain.diversion is None:
        chain.legal_transfer_time = event.time


def _import(chain: Chain, seq: int, event: ev.Import, facts: Facts) -> None:
    route = facts.permit_route(event.permit)
    if route is not None:
        chain.custodian = chain.holder = route.importer
    chain.route = []
    _move(chain, event.country)


def _allowed(chain: Chain) -> set[str | None]:
    return {chain.country, *chain.route}


def _inspect(chain: Chain, seq: int, event: ev.Inspect, facts: Facts) -> None:
    if event.country not in _allowed(chain):
        _divert(chain, seq, event, "off_route", f"inspected in {event.country}, outside its declared route {sorted(filter(None, _allowed(chain)))}")
    elif event.direction in _CROSSING and not chain.route and chain.pending_seq is None:
        _divert(chain, seq, event, "undeclared_crossing", f"{event.direction} inspection at {event.location} with no shipment declared")
    chain.found_country = event.country
    _move(chain, event.country)


def _report(kind: str) -> Callable[[Chain, int, ev.ReportLost | ev.ReportStolen, Facts], None]:
    def step(chain: Chain, seq: int, event: ev.ReportLost | ev.ReportStolen, facts: Facts) -> None:
        _divert(chain, seq, event, kind, f"reported {'lost' if kind == 'loss' else 'stolen'} at {event.place}")

    return step


def _seize(chain: Chain, seq: int, event: ev.Seize, facts: Facts) -> None:
    off_route = event.country not in _allowed(chain)
    _divert(chain, seq, event, "off_route" if off_route else "seizure", f"seized in {event.country} at {event.place}: {event.reason}")
    chain.seizure_seq, chain.seizure_time, chain.found_country = seq, event.time, event.country
    _time_to_crime(chain, event.time)
    _move(chain, event.country)


def _recover(chain: Chain, seq: int, event: ev.Recover, facts: Facts) -> None:
    _time_to_crime(chain, event.time)


def _release(chain: Chain, seq: int, event: ev.Release, facts: Facts) -> None:
    """A seizure that ends in release was a check, not a diversion."""
    if chain.diversion is not None and chain.diversion.seq == chain.seizure_seq:
        chain.diversion = None
        chain.ttc_days = None
    chain.seizure_seq = chain.seizure_time = None


def _forfeit(chain: Chain, seq: int, event: ev.Forfeit, facts: Facts) -> None:
    chain.custodian = event.actor
    chain.pending_to = chain.pending_seq = chain.pending_time = None


def _time_to_crime(chain: Chain, recovered: str) -> None:
    """Days from the last legal retail sale (else the last legal transfer, else the marking) to recovery.

    Only steps before the diversion count as legal, so a diverted item's later sales never reset it.
    """
    if chain.diversion is None or chain.ttc_days is not None:
        return
    start = chain.retail_time or chain.legal_transfer_time or chain.marked_time
    if start is not None:
        chain.ttc_days = (parse_time(recovered) - parse_time(start)).days


def _move(chain: Chain, country: str | None) -> None:
    if country is not None:
        chain.country = country


_STEPS: dict[str, Any] = {
    "mark_firearm": _mark,
    "mark_specimen": _mark,
    "transfer": _transfer,
    "receive": _receive,
    "export": _export,
    "import": _import,
    "inspect": _inspect,
    "report_lost": _report("loss"),
    "report_stolen": _report("theft"),
    "seize": _seize,
    "recover": _recover,
    "release": _release,
    "forfeit": _forfeit,
}
