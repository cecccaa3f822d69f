"""One verdict for an item, whichever surface asks: the scan API, the item's page, the offline scanner, the trace.

Each surface gathers what it can know of the item (an `ItemState`: its standing, and online the
log's rows the other checks read) and the findings about the code presented; `verdict_of` runs
`ledger.domain.verdict`'s checks over them, so two surfaces that know the same things give the same
answer. A scan names a `Place` (country, direction); without one (the item's page, the trace)
the item is judged where the ledger has it, and the clone check, which compares two places, is
left out. Offline there are no rows: the standing, from the trust bundle, is all there is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.domain import verdict as v
from ledger.domain.custody import Chain
from ledger.log.codec import format_time, parse_time
from ledger.store.tables import Item, Party, Permit, PermitLineRow

__all__ = ["RECEIPT_WINDOW", "DIVERSION_VERDICTS", "Standing", "Place", "Records", "ItemState", "standing_of", "verdict_of"]

RECEIPT_WINDOW = timedelta(days=30)
"""A transfer not received after this long is no shipment on its way any more: the item is held until it is explained."""

DIVERSION_VERDICTS = {
    "clone": "CLONE_SUSPECTED",
    "over_quota": "QUANTITY_EXHAUSTED",
    "unreceived_transfer": "TRANSFER_NOT_RECEIVED",
    "undeclared_crossing": "CUSTODY_MISMATCH",
    "off_route": "CUSTODY_MISMATCH",
}
"""The verdict of each way an item leaves the legal chain (`ledger.domain.custody`); loss, theft and
seizure are judged by the item's status, which a recovery or a release changes."""


@dataclass(frozen=True)
class Standing:
    """What the log says of the item wherever it is seen: its flag, a transfer still waiting for
    receipt, the point where it left the legal chain. Offline it comes from the trust bundle."""

    uid: str
    status: str
    seized_by: str | None = None
    custodian: str | None = None
    pending_to: str | None = None
    pending_since: str | None = None
    diversion_kind: str | None = None
    diversion_detail: str | None = None


@dataclass(frozen=True)
class Place:
    """Where a scan happens and which way the item goes; `destination` and `permit` as the papers declare them."""

    country: str
    direction: str
    destination: str | None = None
    permit: str | None = None


@dataclass(frozen=True)
class Records:
    """The log's rows the licence, custody, permit and clone checks read (online only)."""

    item: Item
    holders: tuple[Party, ...]  # the custodian and the announced receiver
    heading_to: str | None  # the country a moving item is on its way to
    permit: Permit | None
    line: PermitLineRow | None
    sighting: v.Sighting | None  # the item's last inspection
    marking: tuple[v.Finding, ...] = ()  # the log's own marking entry: its signature and key


@dataclass(frozen=True)
class ItemState:
    standing: Standing
    records: Records | None = None


def standing_of(item: Item, chain: Chain | None) -> Standing:
    """The standing of an item row and its custody fold (`Diversion.chain`, or a trace's replay)."""
    diversion = None if chain is None else chain.diversion
    return Standing(
        uid=item.uid,
        status=item.status,
        seized_by=item.seized_by,
        custodian=item.custodian,
        pending_to=None if chain is None else chain.pending_to,
        pending_since=None if chain is None else chain.pending_time,
        diversion_kind=None if diversion is None else diversion.kind,
        diversion_detail=None if diversion is None else f"left the legal chain at entry {diversion.seq} ({diversion.kind}): {diversion.detail}",
    )


def verdict_of(state: ItemState, code: Sequence[v.Finding], place: Place | None, moment: datetime) -> tuple[str, list[v.Finding]]:
    """The verdict and every finding for the item in `state`, presented with a code whose own findings are `code`."""
    findings = list(code)
    records = state.records
    if records is not None:
        findings += records.marking
    findings += v.flag_findings(state.standing)
    findings += _receipt_findings(state.standing, moment)
    findings += _diversion_findings(state.standing)
    if records is not None:
        findings += _record_findings(records, place, moment)
    return v.worst(findings), findings


def _receipt_findings(standing: Standing, moment: datetime) -> list[v.Finding]:
    if standing.pending_since is None:
        return []
    waiting = moment - parse_time(standing.pending_since)
    if waiting < RECEIPT_WINDOW:
        return []
    receiver = "" if standing.pending_to is None else f" to {standing.pending_to}"  # a peer's bundle withholds the receiver
    return [v.Finding("TRANSFER_NOT_RECEIVED", f"item {standing.uid} was sent{receiver} at {standing.pending_since} "
                                               f"and not received in {waiting.days} days")]


def _diversion_findings(standing: Standing) -> list[v.Finding]:
    verdict = DIVERSION_VERDICTS.get(standing.diversion_kind or "")
    if verdict is None:
        return []
    detail = standing.diversion_detail or f"item {standing.uid} left the legal chain ({standing.diversion_kind}); its log shares no detail"
    return [v.Finding(verdict, detail)]


def _record_findings(records: Records, place: Place | None, moment: datetime) -> list[v.Finding]:
    """Licence, custody, permit and clone checks; without a place, an inland look where the ledger has the item."""
    item, now = records.item, format_time(moment)
    here = place or Place(item.country, "inland")
    found = v.custody_findings(item, records.heading_to, here.country, here.direction)
    found += v.licence_findings(records.holders, now)
    required = item.kind == "specimen" or here.direction in ("export", "import") or here.permit is not None
    found += v.permit_findings(item, records.permit, records.line, here.country, here.direction, now, here.destination, required)
    if place is not None:
        found += v.clone_findings(records.sighting, place.country, moment)
    return found
