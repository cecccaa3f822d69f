"""Scan verdicts: pure checks of one scanned item against the ledger's state.

Every check returns findings (a verdict code and a sentence); `worst` picks the verdict the
agent sees, in the order of VERDICTS. Nothing here reads a database: the API gathers the rows
and the offline scanner can run the same flag and permit checks over its trust bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol

from ledger.domain.rules import licence_valid_at, permit_usable
from ledger.errors import RuleViolation
from ledger.log.codec import parse_time
from ledger.store.tables import Item, Party, PartyKey, Permit, PermitLineRow

__all__ = [
    "VERDICTS",
    "CLONE_WINDOW",
    "Finding",
    "Sighting",
    "worst",
    "advice",
    "signature_findings",
    "flag_findings",
    "marking_findings",
    "serial_findings",
    "custody_findings",
    "licence_findings",
    "permit_findings",
    "clone_findings",
    "FLAG_VERDICTS",
    "Flagged",
]

VERDICTS = (
    "MALFORMED_CODE",
    "UNKNOWN_ITEM",
    "FOREIGN_LOG",
    "PEER_UNREACHABLE",
    "STALE_STATUS",
    "SIGNATURE_INVALID",
    "KEY_REVOKED",
    "MARKING_MISMATCH",
    "REPORTED_LOST_STOLEN",
    "SEIZED",
    "DESTROYED_DEACTIVATED",
    "CLONE_SUSPECTED",
    "TRANSFER_NOT_RECEIVED",
    "CUSTODY_MISMATCH",
    "LICENCE_INVALID",
    "PERMIT_MISSING",
    "PERMIT_NOT_YET_VALID",
    "PERMIT_EXPIRED",
    "PERMIT_CANCELLED",
    "QUANTITY_EXHAUSTED",
    "ROUTE_COUNTRY_MISMATCH",
    "SERIAL_NOT_AUTHENTICATED",
    "VALID",
)
"""Every verdict, most severe first (detain before hold); VALID only when there is no finding."""

CLONE_WINDOW = timedelta(hours=12)
"""Two sightings in different countries closer than this, with no crossing between, suggest a cloned marking."""

_ADVICE = {
    "VALID": "Release: the marking, custody and papers match the ledger.",
    "MALFORMED_CODE": "Hold: the code cannot be read; type the serial printed on the item and scan again.",
    "UNKNOWN_ITEM": "Hold the item and call the marking authority: no such item is registered.",
    "FOREIGN_LOG": "Issued by another country's log, one this log does not peer with: hold the item and ask that country's authority.",
    "PEER_UNREACHABLE": "Hold the item: the issuing country's log did not answer in time; the reasons show its last verified "
                        "answer, if any (detain if that flags it).",
    "STALE_STATUS": "Hold the item and call the issuing country's authority: the last verified answer of its log is too old "
                    "to release on (detain if it flags the item).",
    "SIGNATURE_INVALID": "Detain the item and call the police: the marking is not signed by its maker (possible forgery).",
    "KEY_REVOKED": "Hold the item and call the marking authority: the marking was signed with a key revoked as compromised.",
    "MARKING_MISMATCH": "Hold the item: what you read off it or its papers differs from its registered marking.",
    "REPORTED_LOST_STOLEN": "Detain the item and call the police: it is reported lost or stolen.",
    "SEIZED": "Detain the item and call the seizing authority: it is under seizure.",
    "DESTROYED_DEACTIVATED": "Detain the item and call the police: it is recorded as destroyed or deactivated.",
    "CUSTODY_MISMATCH": "Hold the item: the ledger does not show it travelling through this country this way.",
    "LICENCE_INVALID": "Hold the item: its holder's licence is not valid today.",
    "PERMIT_MISSING": "Hold the shipment: no permit on the ledger covers this item's crossing.",
    "PERMIT_NOT_YET_VALID": "Hold the shipment: its permit is not valid yet.",
    "PERMIT_EXPIRED": "Hold the shipment: its permit has expired.",
    "PERMIT_CANCELLED": "Hold the shipment and call the permit authority: its permit was cancelled.",
    "QUANTITY_EXHAUSTED": "Hold the shipment: the permit's quantity is already used up.",
    "ROUTE_COUNTRY_MISMATCH": "Hold the shipment: this country or destination is not on the permit's route.",
    "CLONE_SUSPECTED": "Detain the item and call the police: the same marking was just seen in another country (possible clone).",
    "SERIAL_NOT_AUTHENTICATED": "Check by hand: the typed serial is registered and nothing is flagged, but only a signed code "
                                "proves the label genuine; compare the item with the facts shown.",
    "TRANSFER_NOT_RECEIVED": "Hold the item and check with the sender and the announced receiver: the ledger shows it sent and never received.",
}
_SEVERITY = {verdict: rank for rank, verdict in enumerate(VERDICTS)}
_PERMIT_RULES = {"permit_cancelled": "PERMIT_CANCELLED", "permit_expired": "PERMIT_EXPIRED", "permit_not_yet_valid": "PERMIT_NOT_YET_VALID"}
_CROSSINGS = ("export", "import")


@dataclass(frozen=True)
class Finding:
    verdict: str
    detail: str


@dataclass(frozen=True)
class Sighting:
    """Where and when an item was inspected, and whether it crossed a border since."""

    country: str
    time: datetime
    crossed_since: bool


def worst(findings: Sequence[Finding]) -> str:
    """The most severe verdict among the findings (warnings that are no verdict aside); VALID when there are none."""
    return min((f.verdict for f in findings if f.verdict in _SEVERITY), key=_SEVERITY.__getitem__, default="VALID")


def advice(verdict: str, item: Item | None = None) -> str:
    """One sentence telling the agent what to do."""
    text = _ADVICE[verdict]
    if verdict == "SEIZED" and item is not None and item.seized_by:
        text = text.replace("the seizing authority", f"the seizing authority ({item.seized_by})")
    return text


def signature_findings(item: Item, signer_key: PartyKey | None, signature_ok: bool, mark_time: str) -> list[Finding]:
    """The marking must be signed by a key of its marker that was not revoked from before the marking."""
    if not signature_ok or signer_key is None or signer_key.party_id != item.marker:
        return [Finding("SIGNATURE_INVALID", f"the marking of {item.uid} does not verify against a key of {item.marker}")]
    if signer_key.revoked_from is not None and parse_time(signer_key.revoked_from) <= parse_time(mark_time):
        return [Finding("KEY_REVOKED", f"key {signer_key.address} of {item.marker} is revoked from {signer_key.revoked_from}, "
                                       f"before the marking at {mark_time}")]
    return []


FLAG_VERDICTS = {
    "lost": "REPORTED_LOST_STOLEN",
    "stolen": "REPORTED_LOST_STOLEN",
    "seized": "SEIZED",
    "forfeited": "SEIZED",
    "destroyed": "DESTROYED_DEACTIVATED",
    "deactivated": "DESTROYED_DEACTIVATED",
}
"""The verdict of each flagged status, online and offline alike."""


class Flagged(Protocol):
    """What the flag check reads: an item row online, the trust bundle's standing of an item offline."""

    @property
    def uid(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def seized_by(self) -> str | None: ...
    @property
    def custodian(self) -> str | None: ...


def flag_findings(item: Flagged) -> list[Finding]:
    """Lost, stolen, seized, forfeited, destroyed or deactivated items."""
    verdict = FLAG_VERDICTS.get(item.status)
    if verdict is None:
        return []
    seizer = item.seized_by or item.custodian
    by = f" (by {seizer})" if verdict == "SEIZED" and seizer else ""
    return [Finding(verdict, f"item {item.uid} is {item.status}{by}")]


def marking_findings(item: Item, serial: str | None = None, species: str | None = None, quantity: str | None = None) -> list[Finding]:
    """Facts the agent read off the item or its papers must match the marking."""
    found = []
    if serial is not None and serial.strip().upper() != item.serial:
        found.append(Finding("MARKING_MISMATCH", f"declared serial {serial!r} but the marking says {item.serial}"))
    marked_species = item.facts.get("species")
    if species is not None and (marked_species is None or species.strip().casefold() != str(marked_species).casefold()):
        found.append(Finding("MARKING_MISMATCH", f"declared species {species!r} but the marking says {marked_species or 'no species'}"))
    if quantity is not None and _decimal(quantity) != _decimal(item.facts.get("quantity", "1")):
        found.append(Finding("MARKING_MISMATCH", f"declared quantity {quantity!r} but the marking says {item.facts.get('quantity', '1')}"))
    return found


def serial_findings(item: Item, scanned: str) -> list[Finding]:
    """A typed serial the item carried before a correction finds the item, and says so: a note, no verdict."""
    if scanned == item.serial:
        return []
    return [Finding("SERIAL_CORRECTED", f"serial {scanned} of {item.marker} was corrected to {item.serial}: the item is {item.uid}")]


def custody_findings(item: Item, destination: str | None, country: str, direction: str) -> list[Finding]:
    """The item must be leaving, entering or crossing `country` as the ledger says it moves."""
    moving = item.status == "in_transit" or item.pending_to is not None
    if direction == "export":
        ok = item.country == country
    elif direction == "import":
        ok = (moving and destination == country) or (not moving and item.country == country)
    elif direction == "transit":
        ok = moving
    else:
        ok = item.country == country
    if ok:
        return []
    route = f"on its way from {item.country} to {destination}" if moving else f"held in {item.country}, not shipped"
    return [Finding("CUSTODY_MISMATCH", f"{'an' if direction[0] in 'aeiou' else 'a'} {direction} scan in {country}, but the ledger has item {item.uid} {route}")]


def licence_findings(holders: Sequence[Party], moment: str) -> list[Finding]:
    """The holder and the announced receiver, where licensed roles, need a licence valid now."""
    return [
        Finding("LICENCE_INVALID", f"{party.id} holds no licence valid at {moment} (licence {party.licence_number or 'none'}, "
                                   f"until {party.licence_valid_until or '-'})")
        for party in holders
        if not licence_valid_at(party, moment)
    ]


def permit_findings(
    item: Item,
    permit: Permit | None,
    line: PermitLineRow | None,
    country: str,
    direction: str,
    moment: str,
    destination: str | None = None,
    required: bool = False,
) -> list[Finding]:
    """The permit covering the item must exist, be usable now, route through here and have quantity left."""
    if permit is None:
        return [Finding("PERMIT_MISSING", f"no permit on the ledger covers the {direction} of {item.kind} {item.uid}")] if required else []
    found = []
    try:
        permit_usable(permit, moment)
    except RuleViolation as exc:
        found.append(Finding(_PERMIT_RULES[exc.rule], exc.detail))
    route = {"export": permit.export_country, "import": permit.import_country}.get(direction)
    if route is not None and route != country:
        found.append(Finding("ROUTE_COUNTRY_MISMATCH", f"permit {permit.number} is for {direction} through {route}, not {country}"))
    if destination is not None and destination != permit.import_country:
        found.append(Finding("ROUTE_COUNTRY_MISMATCH", f"declared destination {destination} but permit {permit.number} is for {permit.import_country}"))
    if line is not None and direction == "export" and item.status == "active":
        remaining = _decimal(line.quantity) - _decimal(line.endorsed)
        wanted = _decimal(item.facts.get("quantity", "1"))
        if remaining < wanted:
            found.append(Finding("QUANTITY_EXHAUSTED", f"permit {permit.number} line {line.line} has {remaining} {line.unit} left, "
                                                       f"this item needs {wanted}"))
    return found


def clone_findings(last: Sighting | None, country: str, moment: datetime, window: timedelta = CLONE_WINDOW) -> list[Finding]:
    """The same item seen in another country within `window`, with no crossing between, is suspect."""
    if last is None or last.country == country or last.crossed_since:
        return []
    gap = abs(moment - last.time)
    if gap >= window:
        return []
    hours = gap.total_seconds() / 3600
    return [Finding("CLONE_SUSPECTED", f"the same item was inspected in {last.country} {hours:.1f} h before, "
                                       f"and no export or import links it to {country}")]


def _decimal(text: object) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal("NaN")
