"""Keep the `diversion`, `question` and `trace_request` projections current, one accepted event at a time.

`track` runs inside the append transaction (called by `ledger.store.projection.apply`) and during
`tracemark rebuild`; it advances the item's stored custody fold by exactly the step that
`ledger.investigation.trace` replays, so the projection and a fresh trace always agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlmodel import SQLModel

from ledger.domain import events as ev
from ledger.domain.custody import Chain, MarkingDoubts, PermitRoute, Question, advance
from ledger.domain.event_fields import item_of
from ledger.log.codec import parse_time
from ledger.store.tables import Diversion, Item, Party, Permit, PermitLineRow, QuestionRow, TraceRequestRow, new_row

__all__ = ["ViewFacts", "track"]

_Row = TypeVar("_Row")


class _Out(Protocol):
    """The projection's writer (`ledger.store.txview.TxView`): lookups that see the batch's new rows, and `add`."""

    def party(self, party_id: str) -> Party | None: ...
    def permit(self, number: str) -> Permit | None: ...
    def item(self, uid: str) -> Item | None: ...
    def permit_line(self, number: str, line: int) -> PermitLineRow | None: ...
    def items_with_serial(self, serial: str) -> list[Item]: ...
    def items_on_permit_line(self, number: str, line: int) -> list[Item]: ...
    def get(self, table: type[_Row], key: object) -> _Row | None: ...
    def add(self, row: SQLModel) -> None: ...


class ViewFacts:
    """The `custody.Facts` the fold needs, read through a view of the projection tables."""

    def __init__(self, view: _Out) -> None:
        self.view = view

    def party_country(self, party_id: str) -> str | None:
        party = self.view.party(party_id)
        return None if party is None else party.country

    def permit_route(self, number: str) -> PermitRoute | None:
        permit = self.view.permit(number)
        if permit is None:
            return None
        return PermitRoute(permit.exporter, permit.importer, permit.export_country, permit.import_country)

    def marking_doubts(self, uid: str, seq: int) -> MarkingDoubts:
        item = self.view.item(uid)
        if item is None:
            return MarkingDoubts()
        return MarkingDoubts(clone_of=self._clone_of(item), over_quota=self._over_quota(item))

    def _clone_of(self, item: Item) -> str | None:
        """An earlier item of the same kind, make (or species) and serial marked by another party."""
        what = "make" if item.kind == "firearm" else "species"
        for other in sorted(self.view.items_with_serial(item.serial), key=lambda row: row.marked_seq):
            if other.uid == item.uid or other.kind != item.kind or other.marked_seq >= item.marked_seq:
                continue
            if other.marker != item.marker and other.facts.get(what) == item.facts.get(what):
                return other.uid
        return None

    def _over_quota(self, item: Item) -> str | None:
        if item.permit_number is None or item.permit_line is None:
            return None
        line = self.view.permit_line(item.permit_number, item.permit_line)
        if line is None:
            return None
        tagged = [row.facts for row in self.view.items_on_permit_line(item.permit_number, item.permit_line) if row.marked_seq <= item.marked_seq]
        total = sum((Decimal(facts.get("quantity", "0")) for facts in tagged), Decimal(0))
        if total <= Decimal(line.quantity):
            return None
        return f"tagged {total} of {line.quantity} {line.unit} on permit {item.permit_number} line {item.permit_line}"


def track(event: ev.Event, seq: int, out: _Out) -> None:
    """Advance the investigation projections by entry `seq` (inside the caller's transaction)."""
    if isinstance(event, ev.TraceRequest):
        _request(event, seq, out)
    elif isinstance(event, ev.TraceAnswer):
        _answer(event, seq, out)
    elif event.type in ev.ITEM_EVENTS and ev.event_field(event, "log") is None:  # a peer's item has no chain here
        _advance_item(event, seq, out)


def _advance_item(event: ev.Event, seq: int, out: _Out) -> None:
    uid = item_of(event)
    row = out.get(Diversion, uid)
    chain = Chain(uid=uid) if row is None else Chain.from_json({**row.chain, "uid": uid})
    raised_before = [] if row is None else row.chain.get("raised", [])
    advance(chain, seq, event, ViewFacts(out))
    _keep_questions(uid, raised_before, chain.raised, out)
    diversion = chain.diversion
    columns = dict(
        chain={name: value for name, value in chain.to_json().items() if name != "uid"},  # the row's key already says it
        diverted_seq=None if diversion is None else diversion.seq,
        diversion_kind=None if diversion is None else diversion.kind,
        diversion_time=None if diversion is None else diversion.time,
        last_legit_custodian=None if diversion is None else diversion.last_legit_custodian,
        origin_country=None if diversion is None else diversion.origin_country,
        found_country=chain.found_country,
        time_to_crime_days=chain.ttc_days,
        seized_seq=chain.seizure_seq,
    )
    if row is not None:
        _update(row, **columns)
        return
    item = out.item(uid)
    assert item is not None  # a marking event created it just before
    out.add(new_row(Diversion, uid=uid, item_kind=item.kind, permit_number=item.permit_number, **columns))


def _keep_questions(uid: str, before: list[dict[str, Any]], raised: list[Question], out: _Out) -> None:
    """Write the `question` rows of the questions this step raised or settled."""
    if raised == [] or [question.to_json() for question in raised] == before:
        return
    stored = {question["seq"]: question for question in before}
    for question in raised:
        if stored.get(question.seq) == question.to_json():
            continue
        columns = dict(uid=uid, kind=question.kind, state=question.state, raised_at=question.time, country=question.country,
                       origin_country=question.finding.origin_country, holder=question.finding.last_legit_custodian,
                       detail=question.detail, decided_seq=question.decided_seq, decided_by=question.decided_by)
        row = out.get(QuestionRow, question.seq)
        if row is None:
            out.add(new_row(QuestionRow, seq=question.seq, **columns))
        else:
            _update(row, **columns)


def _update(row: Diversion | QuestionRow, **values: object) -> None:
    """Set only the columns that change: most steps change none, and each ORM assignment costs."""
    for name, value in values.items():
        if row.__dict__.get(name) != value:
            setattr(row, name, value)


def _request(event: ev.TraceRequest, seq: int, out: _Out) -> None:
    out.add(
        new_row(
            TraceRequestRow,
            seq=seq,
            requester=event.actor,
            authority=event.authority,
            agency=event.agency,
            case=event.case,
            serial=event.serial,
            make=event.make,
            country=event.country,
            requested_at=event.time,
        )
    )


def _answer(event: ev.TraceAnswer, seq: int, out: _Out) -> None:
    row = out.get(TraceRequestRow, event.request_seq)
    assert row is not None  # the rules checked it
    if row.answer_seq is not None:  # the first answer sets the request-to-answer time
        return
    row.answer_seq, row.answered_at, row.item_uid = seq, event.time, event.item
    row.answer_seconds = int((parse_time(event.time) - parse_time(row.requested_at)).total_seconds())
