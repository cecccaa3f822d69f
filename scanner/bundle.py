"""The offline trust bundle: what a scanner without network needs, signed by the log's key.

It holds the log's verifier key (whose key ID its codes name as their issuer), the host the
log's codes point to, the parties (addresses, roles and, for makers, the
maker codes they mark firearms with), the revoked keys, the latest checkpoint, the flagged
items (lost, stolen, seized, forfeited, destroyed, deactivated) and the held items (a transfer
waiting for receipt, or a point where the item left the legal chain: `ledger.domain.item_verdict`'s
standing) with the time it was made, so its size grows with parties and flagged or held
items, never with the log. The body's RFC
8785 bytes are signed as a C2SP signed note by the log key; the file keeps the body as JSON
and the note's signature lines beside it:

    {"body": {...}, "signatures": "— <log key name> <base64 signature>\\n"}

A scanner is configured with the log's verifier key and trusts nothing in the file until the
signature holds under that key, and the key the body names must be that key: a code naming
another log's key ID is that log's to judge. Bundles of the format before (…/3) name no key; the
key they verify with is the log's. The checkpoint carries its witnesses' cosignatures: a scanner
given a verifier policy (``ledger.log.policy``) refuses a bundle whose checkpoint lacks the quorum.
A peer log is served the same bundle without the held items' fields `ledger.federation.sharing`
withholds; `scanner.multilog` puts peers' bundles beside this log's.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from ledger import (
    BUNDLE_WITHHELD,
    DIVERSION_VERDICTS,
    Chain,
    CheckpointError,
    Diversion,
    EventInvalid,
    Item,
    Ledger,
    LogKey,
    Party,
    PartyKey,
    Policy,
    PolicyError,
    Standing,
    StoreError,
    best_cosigned,
    canonical,
    format_time,
    open_note,
    parse_time,
    standing_of,
    verifier_key_id,
    verify_checkpoint,
)
from scanner.errors import BundleError, MalformedCode
from scanner.payload import DEFAULT_HOST, normal_host

__all__ = ["FORMAT", "FORMATS", "FLAGGED_STATUSES", "HELD_FIELDS", "BundleParty", "TrustBundle", "export_bundle", "sign_body",
           "write_bundle", "write_document", "load_bundle", "signed_body", "open_signed", "require_quorum", "policy_log_key",
           "read_document"]

FORMAT = "tracemark-trust-bundle/4"
FORMATS = ("tracemark-trust-bundle/3", FORMAT)
"""The formats a scanner loads: the one written, and the one before it, which names no log key."""
FLAGGED_STATUSES = ("lost", "stolen", "seized", "forfeited", "destroyed", "deactivated")
HELD_FIELDS = ("pending_to", "pending_since", "diversion_kind", "diversion_detail")
"""The fields of an item's `Standing` a held item's bundle entry carries."""


@dataclass(frozen=True)
class BundleParty:
    id: str
    role: str
    country: str
    addresses: tuple[str, ...]
    maker_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrustBundle:
    """A verified bundle: look-ups a scanner makes for each code."""

    origin: str
    host: str
    created_at: datetime
    parties: dict[str, BundleParty]
    revoked: dict[str, str]  # address -> revoked from (RFC 3339)
    flagged: dict[str, str]  # item uid -> status
    held: dict[str, dict[str, str]]  # item uid -> its standing's pending_* and diversion_* fields that are set
    checkpoint_size: int
    by_address: dict[str, BundleParty]
    log_id: str
    """The key ID of the log the bundle vouches for: a version 3 code naming another is not this log's."""
    cosigned_by: tuple[str, ...] = ()
    """The policy's witnesses whose cosignatures on the checkpoint verify (none without a policy)."""

    def party_of(self, address: str) -> BundleParty | None:
        return self.by_address.get(address)

    def standing(self, uid: str) -> Standing:
        """What the bundle says of item `uid` (an item it does not name is neither flagged nor held)."""
        return Standing(uid=uid, status=self.flagged.get(uid, ""), **self.held.get(uid, {}))


def bundle_body(ledger: Ledger, host: str = DEFAULT_HOST, withheld: Collection[str] = ()) -> dict[str, Any]:
    """The bundle's content as of now, for codes pointing to `host`, with the log's checkpoint its
    witnesses cosigned most (a fresh one while none is cosigned) and their cosignatures; held items
    without the `withheld` fields."""
    log_key = _log_key(ledger)
    _, note = best_cosigned(ledger)
    with ledger.reading() as session:
        keys: dict[str, list[PartyKey]] = {}
        for key in session.exec(select(PartyKey).order_by(PartyKey.party_id, PartyKey.added_seq)):
            keys.setdefault(key.party_id, []).append(key)
        maker_codes = _maker_codes(session)
        parties = [
            {"id": p.id, "role": p.role, "country": p.country, "addresses": [k.address for k in keys.get(p.id, [])],
             "maker_codes": sorted(maker_codes.get(p.id, ()))}
            for p in session.exec(select(Party).order_by(Party.id))
        ]
        revoked = [
            {"address": k.address, "party": k.party_id, "from": k.revoked_from}
            for ks in keys.values()
            for k in ks
            if k.revoked_from is not None
        ]
        flagged = [
            {"item": uid, "status": status}
            for uid, status in session.exec(
                select(Item.uid, Item.status).where(Item.status.in_(FLAGGED_STATUSES)).order_by(Item.uid)
            )
        ]
        held = _held(session, withheld)
    return {
        "format": FORMAT,
        "origin": ledger.origin,
        "vkey": log_key.verifier_key,
        "host": _host(host),
        "created_at": format_time(ledger.clock()),
        "checkpoint": note,
        "parties": parties,
        "revoked_keys": revoked,
        "flagged_items": flagged,
        "held_items": held,
    }


def _held(session: Session, withheld: Collection[str]) -> list[dict[str, str]]:
    """The items a transfer waits on or that left the legal chain, with the standing fields online scans judge them by
    (but those `withheld`)."""
    rows = session.exec(select(Item, Diversion).join(Diversion, Diversion.uid == Item.uid)  # type: ignore[arg-type]
                        .where(or_(Item.pending_to.is_not(None), Diversion.diversion_kind.in_(DIVERSION_VERDICTS)))  # type: ignore[union-attr]
                        .order_by(Item.uid))
    held = []
    for item, fold in rows:
        standing = standing_of(item, Chain.from_json({**fold.chain, "uid": item.uid}))
        fields = {name: getattr(standing, name) for name in HELD_FIELDS if getattr(standing, name) is not None and name not in withheld}
        if standing.diversion_kind not in DIVERSION_VERDICTS:  # judged by its status, which the bundle flags
            fields = {name: value for name, value in fields.items() if not name.startswith("diversion_")}
        if fields:
            held.append({"item": item.uid, **fields})
    return held


def _maker_codes(session: Session) -> dict[str, set[str]]:
    """The maker codes each party has marked firearms with: a code's maker code must be its signer's."""
    found: dict[str, set[str]] = {}
    for marker, facts in session.exec(select(Item.marker, Item.facts).where(Item.kind == "firearm")):
        found.setdefault(marker, set()).add(facts["maker_code"])
    return found


def _log_key(ledger: Ledger) -> LogKey:
    if ledger.log_key is None:
        raise StoreError("this ledger has no log key: it cannot sign a trust bundle")
    return ledger.log_key


def _host(host: str) -> str:
    try:
        return normal_host(host)
    except MalformedCode as exc:
        raise BundleError(f"the bundle's host: {exc.reason}") from exc


def export_bundle(ledger: Ledger, host: str = DEFAULT_HOST, for_peer: bool = False) -> dict[str, Any]:
    """The signed bundle document (what `tracemark bundle export` writes) for codes pointing to `host`;
    `for_peer`: the copy a peer log gets, without what `ledger.federation.sharing` never shares."""
    return sign_body(ledger, bundle_body(ledger, host, BUNDLE_WITHHELD if for_peer else ()))


def sign_body(ledger: Ledger, body: dict[str, Any]) -> dict[str, Any]:
    """`body` signed by the log key: its RFC 8785 bytes as a C2SP signed note, the signature lines kept beside it."""
    note = _log_key(ledger).sign_note(_note_text(body))
    return {"body": body, "signatures": note[len(_note_text(body)) + 1 :]}


def write_bundle(ledger: Ledger, out: Path, host: str = DEFAULT_HOST) -> dict[str, Any]:
    document = export_bundle(ledger, host)
    write_document(document, out)
    return document


def write_document(document: dict[str, Any], out: Path) -> None:
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def _note_text(body: dict[str, Any]) -> str:
    return canonical(body).decode("utf-8") + "\n"


def load_bundle(source: Path | dict[str, Any], verifier_key: str | None, origin: str | None = None,
                policy: Policy | None = None) -> TrustBundle:
    """A bundle from a file or parsed document, after checking the log's signature on it and, given a
    policy, that its checkpoint is cosigned by the policy's quorum. Without ``verifier_key`` the
    log's key is the policy's log named for the bundle's origin."""
    document = read_document(source) if isinstance(source, Path) else source
    body = signed_body(document)
    verifier_key = verifier_key or policy_log_key(policy, body.get("origin"))
    open_signed(document, verifier_key)
    bundle = parse_body(body, verifier_key, origin)
    if policy is None:
        return bundle
    return replace(bundle, cosigned_by=require_quorum(body["checkpoint"], policy, verifier_key))


def signed_body(document: Any) -> dict[str, Any]:
    """The body of a signed document `{"body", "signatures"}`, not yet verified: it says which key to verify with."""
    if not isinstance(document, dict) or set(document) != {"body", "signatures"}:
        raise BundleError("a trust bundle is a JSON object with exactly 'body' and 'signatures'")
    body, signatures = document["body"], document["signatures"]
    if not isinstance(body, dict) or not isinstance(signatures, str):
        raise BundleError("bundle 'body' must be an object and 'signatures' a string")
    return body


def open_signed(document: Any, verifier_key: str) -> dict[str, Any]:
    """The body of a signed document once the log signature on it holds under `verifier_key`."""
    body = signed_body(document)
    try:
        open_note(_note_text(body) + "\n" + document["signatures"], verifier_key)
    except (CheckpointError, EventInvalid) as exc:
        raise BundleError(f"the bundle's log signature does not hold: {exc}") from exc
    return body


def require_quorum(note: Any, policy: Policy, verifier_key: str | None) -> tuple[str, ...]:
    """The policy's witnesses that cosigned checkpoint `note`, once they meet its quorum (the log's key:
    the policy's line for its origin, else `verifier_key`)."""
    try:
        return tuple(policy.evaluate(note, verifier_key).require().cosigned)
    except PolicyError as exc:
        raise BundleError(f"the bundle's checkpoint fails the policy: {exc}") from exc


def policy_log_key(policy: Policy | None, origin: object) -> str:
    """The key of log `origin` in `policy`, for a verifier given a policy and no key."""
    log = None if policy is None or not isinstance(origin, str) else policy.log_for(origin)
    if log is None:
        raise BundleError(f"no verifier key for the bundle's log {origin!r}: give the log's key or a policy listing it")
    return log.vkey


def read_document(path: Path) -> Any:
    """The JSON in `path`."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read trust bundle {path}: {exc}") from exc


def parse_body(body: dict[str, Any], verifier_key: str, origin: str | None) -> TrustBundle:
    """The signed body's fields; a signed but ill-formed body is still refused, with the field."""
    if body.get("format") not in FORMATS:
        raise BundleError(f"bundle format is {body.get('format')!r}, want {FORMAT!r}")
    if body["format"] == FORMAT and body.get("vkey") != verifier_key:
        raise BundleError(f"the bundle names log key {str(body.get('vkey'))[:80]!r}, but is verified with {verifier_key!r}")
    try:
        checkpoint = verify_checkpoint(body["checkpoint"], verifier_key, origin or body["origin"])
        if checkpoint.origin != body["origin"]:
            raise BundleError(f"checkpoint origin {checkpoint.origin!r} differs from bundle origin {body['origin']!r}")
        parties = {
            p["id"]: BundleParty(p["id"], p["role"], p["country"], tuple(p["addresses"]), tuple(p["maker_codes"]))
            for p in body["parties"]
        }
        host = _host(body["host"])
        revoked = {k["address"]: k["from"] for k in body["revoked_keys"]}
        flagged = {f["item"]: f["status"] for f in body["flagged_items"]}
        held = {h["item"]: {name: str(h[name]) for name in HELD_FIELDS if name in h} for h in body["held_items"]}
        created_at = parse_time(body["created_at"], "created_at")
    except (KeyError, TypeError) as exc:
        raise BundleError(f"bundle body is missing or mistypes a field: {exc!r}") from exc
    except (CheckpointError, EventInvalid) as exc:
        raise BundleError(f"bundle body: {exc}") from exc
    by_address = {address: party for party in parties.values() for address in party.addresses}
    return TrustBundle(body["origin"], host, created_at, parties, revoked, flagged, held, checkpoint.size, by_address,
                       verifier_key_id(verifier_key))
