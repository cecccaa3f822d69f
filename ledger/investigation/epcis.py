"""EPCIS 2.0 export: every log entry as an EPCIS event in one `EPCISDocument` (JSON-LD).

Item events become ObjectEvents with CBV 2.0 bizSteps and dispositions; tagging a specimen
splits a permit line, so it becomes a TransformationEvent (permit line quantity in, tagged item
out). What CBV has no word for (seized, lost, forfeited, trace requests...) uses our own URIs
under `NS`. Items carry GS1 Digital Link style ids on our resolver (`ITEM_BASE`, the GIAI key
8004: the ledger has no GS1 company prefix, so the path shape is GS1's but not the domain).
Every event carries its log entry and an inclusion proof against the latest checkpoint as
the `tm:entry` extension.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlmodel import col, select

from ledger.domain import events as ev
from ledger.domain.event_fields import item_of
from ledger.log.codec import format_time, sha256
from ledger.store.ledger import Ledger
from ledger.store.tables import Entry

__all__ = ["NS", "ITEM_BASE", "CONTEXT", "epcis_document", "epcis_event", "item_uri"]

NS = "https://ns.tracemark.org/epcis/"
ID_BASE = "https://id.tracemark.org/"
ITEM_BASE = ID_BASE + "8004/"
CONTEXT: list[Any] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"tm": NS}]

# event type -> (action, bizStep, disposition); a name without ":" is CBV 2.0, "tm:..." is ours
_VOCABULARY: dict[str, tuple[str, str, str | None]] = {
    "mark_firearm": ("ADD", "commissioning", "active"),
    "mark_specimen": ("ADD", "commissioning", "active"),
    "receive": ("OBSERVE", "receiving", "active"),
    "export": ("OBSERVE", "departing", "in_transit"),
    "import": ("OBSERVE", "arriving", "active"),
    "inspect": ("OBSERVE", "inspecting", None),
    "hit_notice": ("OBSERVE", "tm:peer_inspecting", None),
    "report_lost": ("OBSERVE", "tm:reporting", "tm:lost"),
    "report_stolen": ("OBSERVE", "tm:reporting", "stolen"),
    "recover": ("OBSERVE", "tm:recovering", "active"),
    "seize": ("OBSERVE", "tm:seizing", "tm:seized"),
    "release": ("OBSERVE", "tm:releasing", "active"),
    "forfeit": ("OBSERVE", "tm:forfeiting", "tm:forfeited"),
    "destroy": ("DELETE", "destroying", "destroyed"),
    "deactivate": ("DELETE", "decommissioning", "inactive"),
}


def item_uri(uid: str) -> str:
    return ITEM_BASE + uid


def _party(party_id: str) -> str:
    return f"{ID_BASE}party/{party_id}"


def _place(country: str, name: str) -> dict[str, str]:
    return {"id": f"{ID_BASE}place/{country}/{quote(name, safe='')}"}


def _permit_line(number: str, line: int) -> str:
    return f"{ID_BASE}permit/{quote(number, safe='')}/line/{line}"


def _own(term: str) -> str:
    """A `tm:` term as a full URI (CBV fields hold URIs, not JSON-LD compact names)."""
    return NS + term.removeprefix("tm:") if term.startswith("tm:") else term


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def epcis_event(entry: Entry, proof: dict[str, Any] | None) -> dict[str, Any]:
    """One log entry as an EPCIS 2.0 event, its entry and proof as the `tm:entry` extension."""
    event = ev.parse_event(entry.event)
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"ni:///sha-256;{sha256(entry.event).hex()}",
        "eventTime": event.time,
        "eventTimeZoneOffset": "+00:00",
        "recordTime": entry.recorded_at,
    }
    if event.type == "mark_specimen":
        out |= _tagging(event)
    elif event.type in _VOCABULARY or event.type == "transfer":
        out |= _item_event(event)
    else:
        out |= {"action": "OBSERVE", "epcList": [], "bizStep": NS + event.type.replace("_", "-")}
    out["tm:entry"] = {
        "seq": entry.seq,
        "type": event.type,
        "actor": entry.actor,
        "signer": entry.signer,
        "signature": entry.signature,
        "leafHash": entry.leaf_hash.hex(),
        "proof": proof,
    }
    return out


def _item_event(event: ev.Event) -> dict[str, Any]:
    uid = item_of(event)
    disposition: str | None
    if isinstance(event, ev.Transfer):
        action, step, disposition = ("OBSERVE", "shipping", "in_transit") if event.to else ("OBSERVE", "retail_selling", "retail_sold")
    else:
        action, step, disposition = _VOCABULARY[event.type]
    out: dict[str, Any] = {"action": action, "epcList": [item_uri(uid)], "bizStep": _own(step)}
    if disposition is not None:
        out["disposition"] = _own(disposition)
    country, place = getattr(event, "country", None), getattr(event, "location", None) or getattr(event, "place", None)
    if country is not None and place is not None:
        out["readPoint"] = _place(country, place)
    if isinstance(event, ev.MarkFirearm):
        out["ilmd"] = {f"tm:{key}": value for key, value in event.marking.model_dump(mode="json", exclude_none=True).items()}
    if isinstance(event, ev.Transfer):
        out["sourceList"] = [{"type": "possessing_party", "source": _party(event.actor)}]
        if event.to is not None:
            out["destinationList"] = [{"type": "possessing_party", "destination": _party(event.to)}]
        out["bizTransactionList"] = [{"type": "desadv", "bizTransaction": f"{ID_BASE}reference/{quote(event.reference, safe='')}"}]
    if isinstance(event, (ev.Export, ev.Import)):
        out["bizTransactionList"] = [{"type": "cert", "bizTransaction": _permit_line(event.permit, event.line)}]
        out["quantityList"] = [{"epcClass": _permit_line(event.permit, event.line), "quantity": _number(event.quantity)}]
    if isinstance(event, ev.Inspect):
        out["tm:verdict"] = event.verdict
    return out


def _tagging(event: ev.MarkSpecimen) -> dict[str, Any]:
    """Tagging splits a permit line: its quantity goes in, an individually tagged specimen comes out."""
    tag = event.tag
    line = _permit_line(event.permit, event.line)
    return {
        "type": "TransformationEvent",
        "inputQuantityList": [{"epcClass": line, "quantity": _number(tag.quantity), "uom": "H87" if tag.unit == "pcs" else "KGM"}],
        "outputEPCList": [item_uri(event.item)],
        "transformationID": line,
        "bizStep": "commissioning",
        "disposition": "active",
        "bizTransactionList": [{"type": "cert", "bizTransaction": line}],
        "ilmd": {f"tm:{key}": value for key, value in tag.model_dump(mode="json", exclude_none=True).items()},
    }


def epcis_document(ledger: Ledger, item: str | None = None, start: int = 0, limit: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """An EPCISDocument of the log's entries (of one item, or from `start`), proven against the latest checkpoint;
    `progress(done, total)` hears of each event made (proofs make a long log's export slow)."""
    with ledger.reading() as session:
        query = select(Entry).where(Entry.seq >= start).order_by(col(Entry.seq))
        if item is not None:
            query = query.where(Entry.item_uid == item)
        if limit is not None:
            query = query.limit(limit)
        entries: Sequence[Entry] = session.exec(query).all()
    checkpoint = ledger.latest_checkpoint()
    size = 0 if checkpoint is None else checkpoint.size

    def proof(seq: int) -> dict[str, Any] | None:
        if checkpoint is None or seq >= size:
            return None
        hashes = ledger.inclusion_proof(seq, size)
        return {"treeSize": size, "rootHash": checkpoint.root.hex(), "inclusion": [h.hex() for h in hashes]}

    events = []
    for done, entry in enumerate(entries, 1):
        events.append(epcis_event(entry, proof(entry.seq)))
        if progress is not None:
            progress(done, len(entries))
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(ledger.clock()),
        "tm:checkpoint": None if checkpoint is None else checkpoint.note,
        "epcisBody": {"eventList": events},
    }
