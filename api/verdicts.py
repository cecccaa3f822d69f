"""The scan's verdict: gather the scanned item's state from the ledger, run `ledger.verdict`'s checks.

`judge` only reads; recording the inspection is the route's job (through `Ledger.append`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, or_

from api.codes import MalformedCode, MarkingVerifier, ResolvedCode, resolve_code
from api.history import HistoryEntry, history_entry, item_story
from ledger import verdict as v
from ledger.codec import format_time, parse_time
from ledger.errors import SignatureError
from ledger.keys import recover
from ledger.snapshot import Snapshot, rows_of
from ledger.tables import Entry, FormerSerial, Item, Party, PartyKey, Permit, PermitLineRow

__all__ = ["Scan", "Judgement", "judge", "HISTORY_LIMIT"]

HISTORY_LIMIT = 200
"""Newest entries of an item a scan looks at (sightings, custody, proofs)."""

# Built once, with bound parameters and no expanding IN (a `Snapshot` runs them as compiled once):
# an item has at most two holders, its custodian and the party it is on its way to.
_HOLDERS = (bindparam("first"), bindparam("second"))
_PARTIES = rows_of(Party).where(Party.id.in_(_HOLDERS))  # type: ignore[attr-defined]
_LINES = rows_of(PermitLineRow).where(PermitLineRow.permit_number == bindparam("number")).order_by(PermitLineRow.line)
_HOLDERS_PERMIT = (rows_of(Permit)
                   .where(Permit.kind == bindparam("kind"), or_(Permit.exporter.in_(_HOLDERS), Permit.importer.in_(_HOLDERS)))  # type: ignore[attr-defined]
                   .order_by(Permit.issued_seq.desc()).limit(1))  # type: ignore[attr-defined]
_BY_SERIAL = rows_of(Item).where(Item.serial == bindparam("serial")).limit(5)
_BY_FORMER_SERIAL = (rows_of(Item).join(FormerSerial, FormerSerial.uid == Item.uid)  # type: ignore[arg-type]
                     .where(FormerSerial.serial == bindparam("serial"), Item.serial != bindparam("serial")).limit(5))


@dataclass(frozen=True)
class Scan:
    code: str
    country: str
    location: str
    direction: str
    serial: str | None = None
    species: str | None = None
    quantity: str | None = None
    destination: str | None = None
    permit: str | None = None


@dataclass
class Judgement:
    verdict: str
    findings: list[v.Finding]
    item: Item | None = None
    permit: Permit | None = None
    lines: list[PermitLineRow] = field(default_factory=list)
    entries: list[HistoryEntry] = field(default_factory=list)

    @property
    def advice(self) -> str:
        return v.advice(self.verdict, self.item)


def judge(reads: Snapshot, scan: Scan, moment: datetime, verifier: MarkingVerifier | None = None) -> Judgement:
    """Every finding about the scanned item at `moment`, and the worst of them as the verdict.

    Reads through the caller's `reads`, so a scan's reads see one state of the log.
    """
    try:
        code = resolve_code(scan.code)
    except MalformedCode as exc:
        return _only("MALFORMED_CODE", str(exc))
    items = _find(reads, code)
    if len(items) != 1:
        detail = (f"no item is registered under {scan.code.strip()[:60]!r}" if not items else
                  f"serial {code.serial} is marked by {len(items)} makers; scan the QR code instead")
        return _only("UNKNOWN_ITEM", detail)
    item = items[0]
    entries = item_story(reads, item.uid, HISTORY_LIMIT)
    now = format_time(moment)
    findings = _marking_signature(reads, item, entries, code, verifier)
    findings += v.flag_findings(item)
    if code.uid != item.uid and code.serial is not None:
        findings += v.serial_findings(item, code.serial)
    findings += v.marking_findings(item, scan.serial, scan.species, scan.quantity)
    custodian, receiver = _holders(reads, item)
    permit = _permit(reads, item, scan, receiver)
    destination = receiver.country if receiver is not None else (permit.import_country if permit and item.status == "in_transit" else None)
    findings += v.custody_findings(item, destination, scan.country, scan.direction)
    findings += v.licence_findings([p for p in (custodian, receiver) if p is not None], now)
    lines = [] if permit is None else reads.all(PermitLineRow, _LINES, {"number": permit.number})
    line = next((row for row in lines if row.line == (item.permit_line or 1)), None)
    crossing = scan.direction in ("export", "import")
    required = item.kind == "specimen" or crossing or scan.permit is not None
    findings += v.permit_findings(item, permit, line, scan.country, scan.direction, now, scan.destination, required)
    findings += v.clone_findings(_last_sighting(entries), scan.country, moment)
    return Judgement(v.worst(findings), findings, item, permit, lines, entries)


def _only(verdict: str, detail: str) -> Judgement:
    return Judgement(verdict, [v.Finding(verdict, detail)])


def _find(reads: Snapshot, code: ResolvedCode) -> list[Item]:
    if code.uid is not None:
        item = reads.get(Item, code.uid)
        if item is not None:
            return [item]
    if code.serial is not None:
        return [*reads.all(Item, _BY_SERIAL, {"serial": code.serial}), *reads.all(Item, _BY_FORMER_SERIAL, {"serial": code.serial})]
    return []


def _holders(reads: Snapshot, item: Item) -> tuple[Party | None, Party | None]:
    """The item's custodian and the party it is on its way to, read in one statement."""
    ids = [i for i in (item.custodian, item.pending_to) if i]
    parties = {p.id: p for p in reads.all(Party, _PARTIES, {"first": ids[0], "second": ids[-1]})} if ids else {}
    return parties.get(item.custodian or ""), parties.get(item.pending_to or "")


def _marking_signature(reads: Snapshot, item: Item, entries: list[HistoryEntry], code: ResolvedCode,
                       verifier: MarkingVerifier | None) -> list[v.Finding]:
    """Re-verify the marking entry's signature from the log, and the QR's own when a verifier is plugged in."""
    marking = next((e for e in entries if e.seq == item.marked_seq), None) or _entry(reads, item.marked_seq)
    if marking is None:
        return [v.Finding("SIGNATURE_INVALID", f"the marking entry {item.marked_seq} of {item.uid} is missing")]
    try:
        signature_ok = _signer_of(marking.event_bytes, marking.signature) == marking.signer
    except SignatureError:
        signature_ok = False
    key = reads.get(PartyKey, marking.signer)
    found = v.signature_findings(item, key, signature_ok, str(marking.event.get("time", marking.recorded_at)))
    if verifier is not None and code.signature is not None and not verifier(code, item):
        found.append(v.Finding("SIGNATURE_INVALID", f"the QR code's signature does not verify for {item.uid}"))
    return found


def _entry(reads: Snapshot, seq: int) -> HistoryEntry | None:
    """An entry beyond the newest `HISTORY_LIMIT` of the item (an item with a long history)."""
    row = reads.get(Entry, seq)
    return None if row is None else history_entry(row)


@lru_cache(maxsize=4096)
def _signer_of(event: bytes, signature: str) -> str:
    """`recover`, remembered: the same marking is scanned again and again, and the answer depends on
    nothing but these bytes (a tampered row has other bytes, so it is checked afresh)."""
    return recover(event, signature)


def _permit(reads: Snapshot, item: Item, scan: Scan, receiver: Party | None) -> Permit | None:
    """The permit the papers name, else the item's own (specimens), else a firearms permit naming its holder."""
    number = scan.permit or item.permit_number
    if number is not None:
        return reads.get(Permit, number)
    if item.kind != "firearm" or scan.direction not in ("export", "import"):
        return None
    holders = [p for p in (item.custodian, receiver.id if receiver else None) if p]
    if not holders:
        return None
    kind = "firearm_export" if scan.direction == "export" else "firearm_import"
    return reads.first(Permit, _HOLDERS_PERMIT, {"kind": kind, "first": holders[0], "second": holders[-1]})


def _last_sighting(entries: list[HistoryEntry]) -> v.Sighting | None:
    crossed = False
    voided = {entry.event.get("inspection_seq") for entry in entries if entry.type == "void_inspection"}  # mistaken scans saw nothing
    for entry in reversed(entries):
        if entry.type in ("export", "import"):
            crossed = True
        elif entry.type == "inspect" and entry.seq not in voided:
            return v.Sighting(str(entry.event.get("country")), parse_time(entry.time), crossed)
    return None
