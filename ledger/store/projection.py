"""Apply an accepted event to the current-state tables (parties, keys, items, permits).

The projection is derived data: `tracemark rebuild` replays every entry through `apply`
and must arrive at the same rows that appends produced one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from sqlmodel import SQLModel

from ledger.domain import events as ev
from ledger.domain.event_fields import item_of
from ledger.domain.rules import View
from ledger.investigation.diversion import track
from ledger.log.checkpoint import parse_verifier_key
from ledger.log.keys import normalise_address
from ledger.store.tables import FormerSerial, Item, Party, PartyKey, PeerRow, PeerTraceRow, Permit, PermitLineRow, new_row

__all__ = ["Writer", "apply", "OBSERVATIONS"]


class Writer(View, Protocol):
    """A View that can also add new rows (changes to fetched rows are tracked by the session)."""

    def add(self, row: SQLModel) -> None: ...
    def get(self, table: type, key: object) -> Any: ...


def apply(event: ev.Event, seq: int, out: Writer) -> None:
    """Change the current state as `event`, entry `seq`, says."""
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        handler(event, seq, out)
    item = out.item(item_of(event)) if event.type in _LATER_ITEM_EVENTS else None
    if item is not None:
        item.last_seq = seq
        if event.type not in OBSERVATIONS:
            item.updated_at = event.time
    track(event, seq, out)  # type: ignore[arg-type]  # a TxView: it has the lookups the custody fold needs


def _register_party(event: ev.RegisterParty, seq: int, out: Writer) -> None:
    info = event.party
    out.add(
        new_row(
            Party,
            id=info.id,
            name=info.name,
            role=info.role,
            country=info.country,
            licence_number=info.licence_number,
            licence_valid_from=info.licence_valid_from,
            licence_valid_until=info.licence_valid_until,
            registered_seq=seq,
        )
    )
    for address in info.addresses:
        out.add(new_row(PartyKey, address=normalise_address(address), party_id=info.id, added_seq=seq))


def _add_key(event: ev.AddKey, seq: int, out: Writer) -> None:
    out.add(new_row(PartyKey, address=normalise_address(event.address), party_id=event.party, added_seq=seq))


def _revoke_key(event: ev.RevokeKey, seq: int, out: Writer) -> None:
    key = out.key(normalise_address(event.address))
    assert key is not None  # the rules checked it
    key.revoked_from = event.from_time
    key.revoked_seq = seq


def _mark_firearm(event: ev.MarkFirearm, seq: int, out: Writer) -> None:
    marking = event.marking
    out.add(
        new_row(
            Item,
            uid=event.item,
            kind="firearm",
            marker=event.actor,
            serial=marking.serial,
            facts=marking.model_dump(mode="json", exclude_none=True),
            status="active",
            custodian=event.actor,
            country=marking.country if marking.import_marking is None else marking.import_marking.country,
            marked_seq=seq,
            last_seq=seq,
            updated_at=event.time,
        )
    )


def _mark_specimen(event: ev.MarkSpecimen, seq: int, out: Writer) -> None:
    permit = out.permit(event.permit)
    assert permit is not None
    out.add(
        new_row(
            Item,
            uid=event.item,
            kind="specimen",
            marker=event.actor,
            serial=event.tag.serial,
            facts=event.tag.model_dump(mode="json", exclude_none=True),
            status="active",
            custodian=permit.exporter,
            permit_number=permit.number,
            permit_line=event.line,
            country=permit.export_country,
            marked_seq=seq,
            last_seq=seq,
            updated_at=event.time,
        )
    )


def _issue_permit(event: ev.IssuePermit, seq: int, out: Writer) -> None:
    info = event.permit
    out.add(
        new_row(
            Permit,
            number=info.number,
            kind=info.kind,
            issuer=event.actor,
            issuing_country=info.issuing_country,
            exporter=info.exporter,
            importer=info.importer,
            export_country=info.export_country,
            import_country=info.import_country,
            valid_from=info.valid_from,
            valid_until=info.valid_until,
            status="valid",
            issued_seq=seq,
        )
    )
    for line in info.lines:
        out.add(
            new_row(
            PermitLineRow,
                permit_number=info.number,
                line=line.line,
                species=line.species,
                appendix=line.appendix,
                source=line.source,
                purpose=line.purpose,
                quantity=line.quantity,
                unit=line.unit,
                endorsed="0",
            )
        )


def _cancel_permit(event: ev.CancelPermit, seq: int, out: Writer) -> None:
    permit = out.permit(event.permit)
    assert permit is not None
    permit.status = "cancelled"


def _transfer(event: ev.Transfer, seq: int, out: Writer) -> None:
    item = _item(event, out)
    if event.to is not None:
        item.pending_to, item.pending_seq = event.to, seq
    else:
        item.custodian, item.owner_commitment = None, event.owner_commitment


def _receive(event: ev.Receive, seq: int, out: Writer) -> None:
    item = _item(event, out)
    receiver = out.party(event.actor)
    assert receiver is not None
    item.custodian, item.pending_to, item.pending_seq = event.actor, None, None
    item.owner_commitment = None
    item.country = receiver.country


def _export(event: ev.Export, seq: int, out: Writer) -> None:
    item, permit = _item(event, out), out.permit(event.permit)
    assert permit is not None
    _endorse(event, out)
    item.status, item.pending_to, item.pending_seq = "in_transit", permit.importer, seq


def _import(event: ev.Import, seq: int, out: Writer) -> None:
    item, permit = _item(event, out), out.permit(event.permit)
    assert permit is not None
    if permit.kind in ("import", "firearm_import"):
        _endorse(event, out)
    item.status, item.custodian, item.country = "active", permit.importer, event.country
    item.pending_to, item.pending_seq = None, None


def _endorse(event: ev.Export | ev.Import, out: Writer) -> None:
    line = out.permit_line(event.permit, event.line)
    assert line is not None
    line.endorsed = str(Decimal(line.endorsed) + Decimal(event.quantity))


def _flag(status: str) -> Callable[[ev.Event, int, Writer], None]:
    def handler(event: ev.Event, seq: int, out: Writer) -> None:
        item = _item(event, out)
        item.status_before, item.status = item.status, status
        if isinstance(event, ev.Seize):
            item.seized_by, item.country = event.actor, event.country

    return handler


def _recover(event: ev.Recover, seq: int, out: Writer) -> None:
    item = _item(event, out)
    item.status, item.status_before = item.status_before or "active", None


def _release(event: ev.Release, seq: int, out: Writer) -> None:
    item = _item(event, out)
    before = item.status_before if item.status_before in ("active", "in_transit") else "active"
    item.status, item.status_before, item.seized_by = before, None, None


def _forfeit(event: ev.Forfeit, seq: int, out: Writer) -> None:
    item = _item(event, out)
    item.status, item.custodian = "forfeited", event.actor
    item.pending_to, item.pending_seq, item.owner_commitment = None, None, None


def _correct(event: ev.Correct, seq: int, out: Writer) -> None:
    if event.marking is None:
        return
    target = out.entry(event.target_seq)
    assert target is not None and target.item_uid is not None
    item = out.item(target.item_uid)
    assert item is not None
    former = item.serial
    item.facts = {**item.facts, **event.marking}
    item.serial = item.facts.get("serial", item.serial)
    item.last_seq = seq
    if item.serial != former:
        _keep_former_serial(item, former, seq, out)


def _keep_former_serial(item: Item, serial: str, seq: int, out: Writer) -> None:
    """The serial a correction replaced stays the item's: scans of it still find the item."""
    row = out.get(FormerSerial, (item.marker, serial))
    if row is None:
        out.add(new_row(FormerSerial, marker=item.marker, serial=serial, uid=item.uid, corrected_seq=seq))
    else:  # the item carried it before, then again
        row.corrected_seq = seq


def _add_peer(event: ev.AddPeer, seq: int, out: Writer) -> None:
    info = event.peer
    values = dict(origin=info.origin, vkey=info.vkey, key_id=parse_verifier_key(info.vkey)[1].hex(), url=info.url,
                  country=info.country, share=",".join(info.share), added_seq=seq, removed_seq=None)
    row = out.get(PeerRow, info.name)
    if row is None:
        out.add(new_row(PeerRow, name=info.name, **values))
    else:  # the same name described anew, or peered again after a removal
        for name, value in values.items():
            setattr(row, name, value)


def _remove_peer(event: ev.RemovePeer, seq: int, out: Writer) -> None:
    row = out.get(PeerRow, event.name)
    assert row is not None  # the rules checked it
    row.removed_seq = seq


def _peer_trace_request(event: ev.PeerTraceRequest, seq: int, out: Writer) -> None:
    peer = out.get(PeerRow, event.peer)
    assert peer is not None  # the rules checked it
    out.add(new_row(PeerTraceRow, seq=seq, side="sent", peer=event.peer, peer_origin=peer.origin, item=event.item, reason=event.reason,
                    requester=event.actor, requested_at=event.time, deadline=event.deadline, state="open"))


def _peer_trace_arrival(event: ev.PeerTraceArrival, seq: int, out: Writer) -> None:
    out.add(new_row(PeerTraceRow, seq=seq, side="received", peer=event.peer, peer_origin=event.peer_origin, item=event.item,
                    reason=event.reason, requester=event.requester, requested_at=event.time, deadline=event.deadline,
                    peer_seq=event.peer_seq, state="open"))


def _peer_trace_decided(event: ev.PeerTraceDecision | ev.PeerTraceAnswer, seq: int, out: Writer) -> None:
    row = out.get(PeerTraceRow, event.arrival_seq if isinstance(event, ev.PeerTraceDecision) else event.request_seq)
    assert row is not None  # the rules checked it
    row.state = "answered" if event.outcome == "granted" else "refused"
    row.decided_seq, row.decided_at, row.refusal, row.answer_digest = seq, event.time, event.reason, event.answer_digest
    row.decided_by = event.actor if isinstance(event, ev.PeerTraceDecision) else row.peer
    if isinstance(event, ev.PeerTraceAnswer):
        row.peer_seq = event.peer_seq


def _item(event: ev.Event, out: Writer) -> Item:
    item = out.item(item_of(event))
    assert item is not None  # the rules checked it
    return item


OBSERVATIONS = {"inspect", "hit_notice", *ev.REVIEWS}
"""Events that record what an officer saw (or how an earlier entry is judged), not a step of the item's
history: several officers' (or one server's concurrent) inspections may reach the log in any order, so
they neither move the item's last event time (`updated_at`, the order the rules keep) nor are held to it."""
_LATER_ITEM_EVENTS = ev.ITEM_EVENTS - {"mark_firearm", "mark_specimen"}  # a marking makes its item with last_seq and updated_at set

_HANDLERS: dict[str, Callable[..., None]] = {  # each takes the event class of its type
    "register_party": _register_party,
    "add_key": _add_key,
    "revoke_key": _revoke_key,
    "mark_firearm": _mark_firearm,
    "mark_specimen": _mark_specimen,
    "issue_permit": _issue_permit,
    "cancel_permit": _cancel_permit,
    "transfer": _transfer,
    "receive": _receive,
    "export": _export,
    "import": _import,
    "report_lost": _flag("lost"),
    "report_stolen": _flag("stolen"),
    "seize": _flag("seized"),
    "recover": _recover,
    "release": _release,
    "forfeit": _forfeit,
    "destroy": _flag("destroyed"),
    "deactivate": _flag("deactivated"),
    "correct": _correct,
    "add_peer": _add_peer,
    "remove_peer": _remove_peer,
    "peer_trace_request": _peer_trace_request,
    "peer_trace_arrival": _peer_trace_arrival,
    "peer_trace_decision": _peer_trace_decided,
    "peer_trace_answer": _peer_trace_decided,
}
