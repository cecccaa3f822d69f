"""Verifying a code against a trust bundle, with no network: the border post's fallback.

Checks, in the order a verdict is chosen: the code parses (MALFORMED_CODE); a version 3 code
names the bundle's log as its issuer (FOREIGN_LOG otherwise, unless the item is this log's after
all: the bundle flags or holds it, or the claim naming this log is signed by one of its parties,
so a changed log ID is SIGNATURE_INVALID, never a way around the item's verdict); it points to
the bundle's host, and its claim signature recovers to a key of a party that may say what the code
says: one entitled to mark that kind of item and, for a firearm, the maker whose maker code it
carries; for a permit authority, a permit of its own country (SIGNATURE_INVALID); that key is
not revoked (KEY_REVOKED); then the item's standing in the bundle is judged by
`ledger.domain.item_verdict.verdict_of`, the function the API's scan uses: its flag
(REPORTED_LOST_STOLEN, SEIZED, DESTROYED_DEACTIVATED), a transfer never received
(TRANSFER_NOT_RECEIVED), where it left the legal chain. Every finding is reported, the verdict
is the gravest, and a bundle older than the configured age adds the OFFLINE_DATA_STALE warning.

A multi-log bundle (`scanner.multilog`) holds one bundle per log: the bundle of the log a code
names (its key ID; before version 3, the host it points to) judges it as above, its own age
deciding the warning; a code of no log in it is FOREIGN_LOG.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ledger import Finding, ItemState, SignatureError, format_time, verdict_of
from scanner.bundle import BundleParty, TrustBundle
from scanner.claims import foreign_host
from scanner.errors import MalformedCode
from scanner.logs import FOREIGN_LOG, LocalLog, resolve_log
from scanner.multilog import MultiLogBundle
from scanner.payload import Facts, FirearmFacts, Payload, SpecimenFacts, parse_payload, recover_marker

__all__ = ["MARKING_ROLES", "DEFAULT_MAX_AGE", "STALE", "OfflineVerdict", "verify_offline"]

MARKING_ROLES = {"firearm": ("manufacturer",), "specimen": ("permit_authority", "importer_exporter")}
"""Who may sign a code: the roles the ledger's rules let mark each kind of item."""
DEFAULT_MAX_AGE = timedelta(hours=72)
STALE = "OFFLINE_DATA_STALE"
@dataclass(frozen=True)
class OfflineVerdict:
    """The answer for one code: the gravest finding, all findings, the facts to compare, warnings."""

    verdict: str
    reasons: tuple[Finding, ...]
    item: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    marked_by: str | None = None
    warnings: tuple[str, ...] = ()
    bundle_created_at: str | None = None
    log: str | None = None
    """The origin of the log whose bundle judged the code."""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reasons": [{"verdict": r.verdict, "detail": r.detail} for r in self.reasons],
            "item": self.item,
            "facts": self.facts,
            "marked_by": self.marked_by,
            "warnings": list(self.warnings),
            "mode": "offline",
            "bundle_created_at": self.bundle_created_at,
            "log": self.log,
        }


def verify_offline(code: str, trust: TrustBundle | MultiLogBundle, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> OfflineVerdict:
    """The verdict on scanned text `code` at time `now` against `trust`: one log's bundle, or a multi-log
    bundle, where the bundle of the log the code names judges it, as the only bundle would."""
    bundles = trust.bundles if isinstance(trust, MultiLogBundle) else (trust,)
    try:
        payload = parse_payload(code)
    except MalformedCode as exc:
        age, judged_by = _judged_by(bundles[0], now, max_age)
        return OfflineVerdict("MALFORMED_CODE", (Finding("MALFORMED_CODE", exc.reason),), **judged_by)
    bundle = _issuing_bundle(payload, bundles)
    age, judged_by = _judged_by(bundle, now, max_age)
    facts = {"kind": payload.facts.kind, **payload.facts.claim()}
    issuer = resolve_log(payload, LocalLog(bundle.log_id))
    if not issuer.local and not _altered_issuer(payload, bundle):
        reason = Finding(FOREIGN_LOG, f"the code of item {payload.item} was issued by {issuer.describe()}, not by {_vouched_for(trust, issuer.key_id)}")
        return OfflineVerdict(FOREIGN_LOG, (reason,), item=payload.item, facts=facts, **judged_by)
    presented, marker = _signature_findings(payload, bundle)
    if not issuer.local:
        presented.insert(0, Finding("SIGNATURE_INVALID", f"the code names {issuer.describe()} as its issuer, but its item is "
                                                         f"this log's ({bundle.log_id}): the log ID was altered"))
    elsewhere = foreign_host(payload.host, bundle.host)
    if elsewhere is not None:
        presented.insert(0, elsewhere)
    verdict, findings = verdict_of(ItemState(bundle.standing(payload.item)), presented, None, now)
    if age > max_age:
        findings.append(Finding(STALE, f"the trust bundle of {bundle.origin} is {age} old, more than the allowed {max_age}"))
    return OfflineVerdict(verdict, tuple(findings), item=payload.item, facts=facts, marked_by=marker, **judged_by)


def _judged_by(bundle: TrustBundle, now: datetime, max_age: timedelta) -> tuple[timedelta, dict[str, Any]]:
    """The age of the bundle that judges a code, and what a verdict says of that bundle: its log, when it
    was made, and the OFFLINE_DATA_STALE warning when it is older than `max_age`."""
    age = now - bundle.created_at
    return age, {"warnings": (STALE,) if age > max_age else (), "bundle_created_at": format_time(bundle.created_at),
                 "log": bundle.origin}


def _issuing_bundle(payload: Payload, bundles: tuple[TrustBundle, ...]) -> TrustBundle:
    """The bundle that judges a code: its log's (a version 3 code names it by key ID, one before by the
    host it points to), else one whose item the code turns out to be (its log ID altered), else the
    first (the home log's), which finds the code foreign."""
    if payload.log_id is None:
        return next((bundle for bundle in bundles if bundle.host == payload.host), bundles[0])
    named = next((bundle for bundle in bundles if bundle.log_id == payload.log_id), None)
    return named or next((bundle for bundle in bundles if _altered_issuer(payload, bundle)), bundles[0])


def _vouched_for(trust: TrustBundle | MultiLogBundle, key_id: str | None) -> str:
    """The logs `trust` vouches for, in a FOREIGN_LOG reason, and why the code's log is missing among them."""
    if isinstance(trust, TrustBundle):
        return f"{trust.origin} ({trust.log_id}), the log this bundle vouches for"
    logs = ", ".join(f"{bundle.origin} ({bundle.log_id})" for bundle in trust.bundles)
    missing = next((peer for peer in trust.missing if peer.key_id == key_id), None)
    why = "" if missing is None else f"; the bundle of peer {missing.name} could not be had when it was made: {missing.problem}"
    return f"any log this multi-log bundle vouches for ({logs}){why}"


def _altered_issuer(payload: Payload, bundle: TrustBundle) -> bool:
    """Whether a code naming another log is in truth this log's: the bundle flags or holds its item,
    or its claim with this log named instead is signed by one of this log's parties (a genuine code
    whose log ID was changed, to dodge the item's verdict here)."""
    if payload.item in bundle.flagged or payload.item in bundle.held:
        return True
    return _signature_findings(replace(payload, log_id=bundle.log_id), bundle)[1] is not None


def _signature_findings(payload: Payload, bundle: TrustBundle) -> tuple[list[Finding], str | None]:
    """Findings about who signed the claim, and the marking party's id when it is one."""
    try:
        address = recover_marker(payload)
    except SignatureError as exc:
        return [Finding("SIGNATURE_INVALID", exc.detail)], None
    party = bundle.party_of(address)
    if party is None:
        return [Finding("SIGNATURE_INVALID", f"the claim was signed by {address}, a key of no registered party (facts altered?)")], None
    overreach = _overreach(party, payload.facts)
    if overreach is not None:
        return [Finding("SIGNATURE_INVALID", overreach)], None
    revoked_from = bundle.revoked.get(address)
    if revoked_from is not None:
        return [Finding("KEY_REVOKED", f"key {address} of {party.id} is revoked from {revoked_from}")], party.id
    return [], party.id


def _overreach(party: BundleParty, facts: Facts) -> str | None:
    """Why `party` may not vouch for a code with `facts`, or None when it may."""
    allowed = MARKING_ROLES[facts.kind]
    if party.role not in allowed:
        return f"signed by {party.id}, a {party.role}; a {facts.kind} is marked by {' or '.join(allowed)}"
    if isinstance(facts, FirearmFacts) and facts.maker_code not in party.maker_codes:
        return (f"signed by {party.id}, which marks with maker code {', '.join(party.maker_codes) or 'none yet'}, "
                f"not {facts.maker_code}")
    if party.role == "permit_authority" and isinstance(facts, SpecimenFacts) and facts.permit_country != party.country:
        return f"signed by {party.id}, the permit authority of {party.country}, for a permit of {facts.permit_country}"
    return None
