"""The scan's verdict: gather the scanned item's state from the ledger, run `ledger.domain.verdict`'s checks.

`judge` only reads; recording the inspection is the route's job (through `Ledger.append`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, or_

from api.history import HistoryEntry, history_entry, item_story
from ledger import (
    Chain,
    Diversion,
    Entry,
    FormerSerial,
    Item,
    ItemState,
    Ledger,
    Party,
    PartyKey,
    Permit,
    PermitLineRow,
    Place,
    Records,
    SignatureError,
    Snapshot,
    parse_time,
    recover,
    rows_of,
    standing_of,
    verdict_of,
)
from ledger import verdict as v
from scanner.claims import foreign_host
from scanner.errors import MalformedCode
from scanner.logs import FOREIGN_LOG, IssuingLog, LocalLog, resolve_log
from scanner.payload import ResolvedCode, parse_payload, resolve_code

__all__ = ["Scan", "Judgement", "judge", "headline", "HISTORY_LIMIT", "MarkingVerifier"]

MarkingVerifier = Callable[[ResolvedCode, Item], bool]
"""Checks a code's facts and signature against the item; True when they verify."""

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
    country: str | None = None  # None: no scan at a place (the item's page, the trace)
    location: str = ""
    direction: str | None = None
    serial: str | None = None
    species: str | None = None
    quantity: str | None = None
    destination: str | None = None
    permit: str | None = None
    maker: str | None = None
    """Set when `code` is a serial typed off the item, with the maker printed beside it."""


@dataclass
class Judgement:
    verdict: str
    findings: list[v.Finding]
    item: Item | None = None
    permit: Permit | None = None
    lines: list[PermitLineRow] = field(default_factory=list)
    entries: list[HistoryEntry] = field(default_factory=list)
    foreign: IssuingLog | None = None
    """The other log that issued the scanned code (`uid` is the item's id there), when this log holds no such item."""
    uid: str | None = None

    @property
    def advice(self) -> str:
        return v.advice(self.verdict, self.item)


def judge(reads: Snapshot, scan: Scan, moment: datetime, verifier: MarkingVerifier | None = None,
          local_log: LocalLog | None = None, host: str | None = None) -> Judgement:
    """Every finding about the scanned item at `moment`, and the worst of them as the verdict
    (`ledger.domain.item_verdict.verdict_of`, which every surface uses).

    Reads through the caller's `reads`, so a scan's reads see one state of the log. A `scan`
    without a country is no scan at a place: the item's page and the trace judge it so. Given the
    `local_log`, a code of an item this log does not hold that names another log as its issuer is
    FOREIGN_LOG; an item this log holds is judged here whatever its code names (the verifier
    refuses a code naming another log), so re-labelling a local item's code as foreign gains nothing. `host`
    is the one this log's codes point to: a code pointing elsewhere is refused as the offline
    scanner refuses it (`scanner.claims.foreign_host`).
    """
    try:
        code = resolve_code(scan.code)
    except MalformedCode as exc:
        return _only("MALFORMED_CODE", str(exc))
    items = _find(reads, code) if scan.maker is None else _typed(reads, code, scan.maker)
    foreign = _foreign_log(code, local_log) if not items else None
    if foreign is not None:
        judgement = _only(FOREIGN_LOG, f"the code of item {code.uid} was issued by {foreign.describe()}, not by this log")
        judgement.foreign, judgement.uid = foreign, code.uid
        return judgement
    if len(items) != 1:
        detail = (f"no item is registered under {scan.code.strip()[:60]!r}" if not items else
                  f"serial {code.serial} is marked by {len(items)} makers; scan the QR code instead")
        if scan.maker is not None:
            detail = (f"no item of maker {scan.maker!r} is registered under serial {code.serial}" if not items else
                      f"serial {code.serial} of maker {scan.maker!r} names {len(items)} items; scan the QR code instead")
        return _only("UNKNOWN_ITEM", detail)
    item = items[0]
    entries = item_story(reads, item.uid, HISTORY_LIMIT)
    presented = _code_findings(item, code, scan, verifier)
    elsewhere = None if host is None else _elsewhere(code, host)
    if elsewhere is not None:
        presented.insert(0, elsewhere)
    custodian, receiver = _holders(reads, item)
    permit = _permit(reads, item, scan, receiver)
    heading_to = receiver.country if receiver is not None else (permit.import_country if permit and item.status == "in_transit" else None)
    lines = [] if permit is None else reads.all(PermitLineRow, _LINES, {"number": permit.number})
    line = next((row for row in lines if row.line == (item.permit_line or 1)), None)
    fold = reads.get(Diversion, item.uid)
    records = Records(item, tuple(p for p in (custodian, receiver) if p is not None), heading_to, permit, line,
                      _last_sighting(entries), tuple(_marking_signature(reads, item, entries)))
    place = None if scan.country is None else Place(scan.country, scan.direction or "transit", scan.destination, scan.permit)
    state = ItemState(standing_of(item, None if fold is None else Chain.from_json({**fold.chain, "uid": item.uid})), records)
    verdict, findings = verdict_of(state, presented, place, moment)
    return Judgement(verdict, findings, item, permit, lines, entries)


def _code_findings(item: Item, code: ResolvedCode, scan: Scan, verifier: MarkingVerifier | None) -> list[v.Finding]:
    """What the code presented and the facts declared with it say against the item."""
    found = []
    if verifier is not None and (code.signature is not None or code.facts is not None) and not verifier(code, item):
        found.append(v.Finding("SIGNATURE_INVALID", f"the QR code's signature does not verify for {item.uid}"))
    if code.uid != item.uid and code.serial is not None:
        found += v.serial_findings(item, code.serial)
    found += v.marking_findings(item, scan.serial, scan.species, scan.quantity)
    if scan.maker is not None:
        found.append(v.Finding("SERIAL_NOT_AUTHENTICATED", f"serial {code.serial} of {scan.maker} was typed, not read "
                               "from a signed code: the ledger's checks ran, the label itself is unchecked"))
    return found


def _foreign_log(code: ResolvedCode, local_log: LocalLog | None) -> IssuingLog | None:
    """The other log a code's URL names as its issuer; None for this log's codes, or no code URL."""
    if local_log is None or code.facts is None:
        return None
    try:
        issuer = resolve_log(parse_payload(code.raw), local_log)
    except MalformedCode:
        return None  # judged as before: an unknown item
    return None if issuer.local else issuer


def _elsewhere(code: ResolvedCode, host: str) -> v.Finding | None:
    """The refusal of a whole code (facts and signature) that points to another host than `host`."""
    if code.signature is None:
        return None  # an item id or a serial: it points nowhere
    try:
        code_host = parse_payload(code.raw).host
    except MalformedCode:
        return None  # its signature cannot verify: `_code_findings` says so
    return foreign_host(code_host, host)


def headline(ledger: Ledger, uid: str) -> dict[str, Any]:
    """The item's verdict now, at no place and with no code: the trace's headline, the same as the item's page."""
    with Snapshot(ledger.db) as reads:
        judgement = judge(reads, Scan(uid), ledger.clock())
    return {"verdict": judgement.verdict, "advice": judgement.advice,
            "reasons": [{"verdict": f.verdict, "detail": f.detail} for f in judgement.findings]}


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


def _typed(reads: Snapshot, code: ResolvedCode, maker: str) -> list[Item]:
    """The items registered under a typed serial whose maker `maker` names: its party id, or the
    maker code, make or species code of its marking (what the label prints beside the serial)."""
    wanted = maker.strip().casefold()
    found = _find(reads, ResolvedCode(raw=code.raw, serial=code.serial))
    return [item for item in found if wanted in {str(name).casefold() for name in
                                                 (item.marker, *(item.facts.get(f) for f in ("maker_code", "make", "species_code"))) if name}]


def _holders(reads: Snapshot, item: Item) -> tuple[Party | None, Party | None]:
    """The item's custodian and the party it is on its way to, read in one statement."""
    ids = [i for i in (item.custodian, item.pending_to) if i]
    parties = {p.id: p for p in reads.all(Party, _PARTIES, {"first": ids[0], "second": ids[-1]})} if ids else {}
    return parties.get(item.custodian or ""), parties.get(item.pending_to or "")


def _marking_signature(reads: Snapshot, item: Item, entries: list[HistoryEntry]) -> list[v.Finding]:
    """Re-verify the marking entry's signature from the log."""
    marking = next((e for e in entries if e.seq == item.marked_seq), None) or _entry(reads, item.marked_seq)
    if marking is None:
        return [v.Finding("SIGNATURE_INVALID", f"the marking entry {item.marked_seq} of {item.uid} is missing")]
    try:
        signature_ok = _signer_of(marking.event_bytes, marking.signature) == marking.signer
    except SignatureError:
        signature_ok = False
    key = reads.get(PartyKey, marking.signer)
    return v.signature_findings(item, key, signature_ok, str(marking.event.get("time", marking.recorded_at)))


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
