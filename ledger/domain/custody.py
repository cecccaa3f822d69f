"""The chain of custody as a fold over one item's events: where it left the legal chain.

`advance` moves a `Chain` by one event. The same fold decides both the trace of one item
(replayed from the log) and the `diversion` projection row (one step per append), so the
two can never disagree. What the fold needs from outside the item's own events (a party's
country, a permit's route, whether a marking copies another) comes through `Facts`.

A scan records what an officer saw, not a conclusion: an inspection that contradicts the record
(off the declared route, a crossing no shipment declared) and a transfer never received raise a
`Question`. Only an investigator's `confirm_finding` makes one a diversion; `dismiss_finding`
settles it without one, and the inspecting party's `void_inspection` takes a mistaken scan out of
every figure. The diversion point is the earliest of what the log states outright (a theft, a
seizure, a copied marking) and the confirmed questions, so a late confirmation moves it back.
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
    "DiversionPoint",
    "Facts",
    "MarkingDoubts",
    "Question",
    "QUESTION_STATES",
    "PermitRoute",
    "advance",
    "fold",
]

DIVERSION_KINDS = ("clone", "over_quota", "unreceived_transfer", "undeclared_crossing", "off_route", "loss", "theft", "seizure")
QUESTION_STATES = ("open", "confirmed", "dismissed", "voided")
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
class DiversionPoint:
    seq: int
    kind: str
    time: str
    last_legit_custodian: str | None
    origin_country: str | None
    detail: str


@dataclass
class Question:
    """A doubt an entry raised, for an investigator to settle."""

    seq: int  # the entry that raised it: the inspection, or the transfer never received
    kind: str  # off_route, undeclared_crossing or unreceived_transfer
    time: str
    country: str | None  # where the item was seen (for a transfer: the receiver's country)
    detail: str
    finding: DiversionPoint  # the diversion point it makes when confirmed
    since: str | None  # the last legal sale, transfer or marking before it: time-to-crime counts from there
    state: str = "open"
    decided_seq: int | None = None
    decided_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "finding": dict(self.finding.__dict__)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Question":
        return cls(**{**data, "finding": DiversionPoint(**data["finding"])})


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
    diversion: DiversionPoint | None = None  # where it left the legal chain: the earliest of `reported` and the confirmed questions
    questions: list[str] = field(default_factory=list)  # doubts about the marking itself
    reported: DiversionPoint | None = None  # the first diversion the log states outright
    reported_since: str | None = None  # time-to-crime's start for `reported`
    raised: list[Question] = field(default_factory=list)
    recoveries: list[list[Any]] = field(default_factory=list)  # [seq, time] of each seizure and recovery
    found_seq: int | None = None  # the entry that put the item in `found_country`
    sightings: list[list[Any]] = field(default_factory=list)  # [seq, country] of the sightings a void may fall back on

    @property
    def ttc_flagged(self) -> bool:
        return self.ttc_days is not None and self.ttc_days < TTC_FLAG_DAYS

    def question(self, seq: int) -> Question | None:
        """The question entry `seq` raised, if it raised one."""
        return next((question for question in self.raised if question.seq == seq), None)

    def unreceived(self) -> int | None:
        """The entry of a transfer still waiting for receipt that no investigator has settled."""
        return self.pending_seq if self.pending_seq is not None and self.question(self.pending_seq) is None else None

    def open_questions(self) -> list[str]:
        """Doubts an investigator should chase, including a transfer still waiting for receipt."""
        raised = [f"inspection at entry {question.seq}: {question.detail}" for question in self.raised if question.state == "open"]
        pending = [] if self.unreceived() is None else [f"transfer at entry {self.pending_seq} to {self.pending_to} was never received"]
        return self.questions + raised + pending

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data without the fields still at their defaults (one row per item is stored).

        A shallow copy: `asdict`'s deep recursion costs more than the whole fold step.
        """
        data = {name: value for name, value in self.__dict__.items() if value is not None and value != []}
        data.update((name, list(data[name])) for name in ("route", "questions") if name in data)
        if self.sightings:
            data["sightings"] = [list(sighting) for sighting in self.sightings]
        for name in ("diversion", "reported"):
            if name in data:
                data[name] = dict(data[name].__dict__)
        if self.raised:
            data["raised"] = [question.to_json() for question in self.raised]
        if self.recoveries:
            data["recoveries"] = [list(recovery) for recovery in self.recoveries]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Chain":
        values = {**data, "raised": [Question.from_json(question) for question in data.get("raised", [])]}
        values.update((name, list(data[name])) for name in ("route", "questions") if name in data)  # the fold appends to them
        values["sightings"] = [list(sighting) for sighting in data.get("sightings", _older_sightings(data))]
        values.pop("found_before", None)
        if "recoveries" in data:
            values["recoveries"] = [list(recovery) for recovery in data["recoveries"]]
        for name in ("diversion", "reported"):
            if data.get(name) is not None:
                values[name] = DiversionPoint(**data[name])
        return cls(**values)


def _older_sightings(data: dict[str, Any]) -> list[list[Any]]:
    """The sightings a fold stored before it kept them as a list: the one before, and the latest."""
    kept = [data.get("found_before"), [data.get("found_seq"), data.get("found_country")]]
    return [list(sighting) for sighting in kept if sighting and sighting[0] is not None]


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
        _settle(chain)


def _settle(chain: Chain) -> None:
    """The diversion point and time-to-crime from what the log states and what investigators confirmed.

    Time-to-crime runs from the last legal step before the diversion to the first seizure or
    recovery at or after it.
    """
    candidates = [(chain.reported, chain.reported_since)] if chain.reported is not None else []
    candidates += [(question.finding, question.since) for question in chain.raised if question.state == "confirmed"]
    if not candidates:
        chain.diversion = chain.ttc_days = None
        return
    diversion, since = min(candidates, key=lambda candidate: candidate[0].seq)
    chain.diversion = diversion
    recovered = next((time for seq, time in chain.recoveries if seq >= diversion.seq), None)
    chain.ttc_days = None if recovered is None or since is None else (parse_time(recovered) - parse_time(since)).days


def _finding(chain: Chain, seq: int, event: ev.Event, kind: str, detail: str) -> DiversionPoint:
    """Where the item left the legal chain if entry `seq` shows it did: at a transfer still waiting
    for receipt, if there is one (a marking's doubts are the marking's own)."""
    if chain.pending_seq is not None and kind not in ("clone", "over_quota"):
        return DiversionPoint(
            seq=chain.pending_seq,
            kind="unreceived_transfer",
            time=chain.pending_time or event.time,
            last_legit_custodian=chain.holder,
            origin_country=chain.country,
            detail=f"sent to {chain.pending_to} and never received; then {kind} at entry {seq}: {detail}",
        )
    return DiversionPoint(seq, kind, event.time, chain.holder, chain.country, detail)


def _since(chain: Chain) -> str | None:
    return chain.retail_time or chain.legal_transfer_time or chain.marked_time


def _divert(chain: Chain, seq: int, event: ev.Event, kind: str, detail: str) -> None:
    """Record the first step the log itself states as leaving the legal chain; later ones change nothing."""
    if chain.reported is None:
        chain.reported, chain.reported_since = _finding(chain, seq, event, kind, detail), _since(chain)


def _ask(chain: Chain, seq: int, event: ev.Inspect, kind: str, detail: str) -> None:
    """An inspection contradicts the record: a question, not a finding."""
    chain.raised.append(Question(seq, kind, event.time, event.country, detail, _finding(chain, seq, event, kind, detail), _since(chain)))


def _sight(chain: Chain, seq: int, country: str) -> None:
    """The item was found in `country`. Of a run of sightings in one country the first two are kept,
    so that voiding either leaves the item found there; a third changes nothing (a border post
    scanning it again and again must not rewrite the item's row each time)."""
    kept = chain.sightings
    if len(kept) >= 2 and kept[-1][1] == kept[-2][1] == country:
        return
    kept.append([seq, country])
    kept.sort(key=lambda sighting: sighting[0])
    _found(chain)


def _found(chain: Chain) -> None:
    """Where the item was found: the country of the latest kept sighting, from the first of its run there."""
    seq = country = None
    for sighting_seq, sighting_country in reversed(chain.sightings):
        if country is not None and sighting_country != country:
            break
        seq, country = sighting_seq, sighting_country
    chain.found_seq, chain.found_country = seq, country


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


def _allowed(chain: Chain, facts: Facts) -> set[str | None]:
    """Where the item may be seen: where it is, the countries of its declared shipment, and the country of the party a transfer is taking it to."""
    receiving = None if chain.pending_to is None else facts.party_country(chain.pending_to)
    return {chain.country, *chain.route, receiving}


def _inspect(chain: Chain, seq: int, event: ev.Inspect, facts: Facts) -> None:
    """An inspection of an item still in the legal chain that contradicts the record raises a
    question; any other is a sighting (where a diverted item was found)."""
    if chain.diversion is None and event.country not in _allowed(chain, facts):
        _ask(chain, seq, event, "off_route", f"inspected in {event.country}, outside its declared route {sorted(filter(None, _allowed(chain, facts)))}")
    elif chain.diversion is None and event.direction in _CROSSING and not chain.route and chain.pending_seq is None:
        _ask(chain, seq, event, "undeclared_crossing", f"{event.direction} inspection at {event.location} with no shipment declared")
    else:
        _sight(chain, seq, event.country)
        _move(chain, event.country)


def _void(chain: Chain, seq: int, event: ev.VoidInspection, facts: Facts) -> None:
    """A mistaken inspection raises no question and is no sighting."""
    question = chain.question(event.inspection_seq)
    if question is not None:
        question.state, question.decided_seq, question.decided_by = "voided", seq, event.actor
    kept = [sighting for sighting in chain.sightings if sighting[0] != event.inspection_seq]
    if len(kept) != len(chain.sightings):
        chain.sightings = kept
        _found(chain)


def _decide(state: str) -> Callable[[Chain, int, ev.ConfirmFinding | ev.DismissFinding, Facts], None]:
    def step(chain: Chain, seq: int, event: ev.ConfirmFinding | ev.DismissFinding, facts: Facts) -> None:
        question = chain.question(event.question_seq)
        if question is None and chain.unreceived() == event.question_seq:
            question = _unreceived(chain, facts)
            chain.raised.append(question)
        if question is None or question.state != "open":  # the rules refuse it; the audit names an entry that got past them
            return
        question.state, question.decided_seq, question.decided_by = state, seq, event.actor
        if state == "confirmed" and question.kind != "unreceived_transfer" and question.country is not None \
                and (not chain.sightings or question.seq > chain.sightings[-1][0]):
            _sight(chain, question.seq, question.country)

    return step


def _unreceived(chain: Chain, facts: Facts) -> Question:
    assert chain.pending_seq is not None and chain.pending_to is not None and chain.pending_time is not None  # unreceived() said so
    detail = f"sent to {chain.pending_to} and never received"
    finding = DiversionPoint(chain.pending_seq, "unreceived_transfer", chain.pending_time, chain.holder, chain.country, detail)
    return Question(chain.pending_seq, "unreceived_transfer", chain.pending_time, facts.party_country(chain.pending_to), detail,
                    finding, _since(chain))


def _report(kind: str) -> Callable[[Chain, int, ev.ReportLost | ev.ReportStolen, Facts], None]:
    def step(chain: Chain, seq: int, event: ev.ReportLost | ev.ReportStolen, facts: Facts) -> None:
        _divert(chain, seq, event, kind, f"reported {'lost' if kind == 'loss' else 'stolen'} at {event.place}")

    return step


def _seize(chain: Chain, seq: int, event: ev.Seize, facts: Facts) -> None:
    off_route = event.country not in _allowed(chain, facts)
    _divert(chain, seq, event, "off_route" if off_route else "seizure", f"seized in {event.country} at {event.place}: {event.reason}")
    chain.seizure_seq, chain.seizure_time = seq, event.time
    chain.recoveries.append([seq, event.time])
    _sight(chain, seq, event.country)
    _move(chain, event.country)


def _recover(chain: Chain, seq: int, event: ev.Recover, facts: Facts) -> None:
    chain.recoveries.append([seq, event.time])


def _release(chain: Chain, seq: int, event: ev.Release, facts: Facts) -> None:
    """A seizure that ends in release was a check, not a diversion."""
    if chain.reported is not None and chain.reported.seq == chain.seizure_seq:
        chain.reported = chain.reported_since = None
        chain.recoveries = [recovery for recovery in chain.recoveries if recovery[0] != chain.seizure_seq]
    chain.seizure_seq = chain.seizure_time = None


def _forfeit(chain: Chain, seq: int, event: ev.Forfeit, facts: Facts) -> None:
    chain.custodian = event.actor
    chain.pending_to = chain.pending_seq = chain.pending_time = None


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
    "void_inspection": _void,
    "confirm_finding": _decide("confirmed"),
    "dismiss_finding": _decide("dismissed"),
}
