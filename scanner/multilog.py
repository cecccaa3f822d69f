"""The multi-log trust bundle: offline trust in the home log and in every peer of it, in one document.

The home log signs it with its key, as it signs its own bundle (`scanner.bundle`):

    {"body": {"format": "tracemark-multi-log-bundle/1", "origin", "vkey", "created_at",
              "policy": "<C2SP tlog-policy: a log line per log, the home log's witnesses and quorum>",
              "home": <the home log's trust bundle>,
              "peers": [{"name", "country", "bundle": <the peer's trust bundle, as the peer signed it>}],
              "missing": [{"name", "origin", "vkey", "problem"}]},
     "signatures": "— <home log key name> <base64 signature>\\n"}

A scanner configured with its home log's key (or a policy listing it) trusts nothing in it until
that key's signature holds. From then on the policy inside, vouched for by the home log, is what
the scanner knows of the other logs: each inner bundle must be signed by the key the policy's
`log` line names for its origin (never a key a bundle names itself) and its checkpoint must meet
the policy's quorum, and the scanner's own policy's too when it has one. A peer whose bundle could
not be fetched or did not verify when the document was made is listed under `missing`: codes of
its log stay FOREIGN_LOG.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger import (
    LOG_KEY_ONLY,
    CheckpointError,
    EventInvalid,
    Ledger,
    Peer,
    PeerClient,
    PeerRefused,
    PeerUnreachable,
    Policy,
    PolicyError,
    PolicyLog,
    list_peers,
    parse_time,
    verifier_key_id,
)
from scanner.bundle import (
    TrustBundle,
    export_bundle,
    load_bundle,
    open_signed,
    policy_log_key,
    read_document,
    require_quorum,
    sign_body,
    signed_body,
)
from scanner.errors import BundleError
from scanner.payload import DEFAULT_HOST

__all__ = ["MULTI_FORMAT", "BUNDLE_PATH", "MissingPeer", "PeerBundle", "MultiLogBundle", "export_multi", "multi_log_document",
           "load_multi", "load_trust"]

MULTI_FORMAT = "tracemark-multi-log-bundle/1"
BUNDLE_PATH = "/federation/v1/bundle"
"""Where a peer serves its trust bundle to this log's signed request."""
_PARALLEL = 16
"""Peers asked at once; each exchange is bounded by the peer client's time limit."""


@dataclass(frozen=True)
class MissingPeer:
    """A peer whose bundle the document lacks: its name here, its log, and why."""

    name: str
    origin: str
    vkey: str
    problem: str

    @property
    def key_id(self) -> str:
        """How a version 3 code of its log names it."""
        return verifier_key_id(self.vkey)


@dataclass(frozen=True)
class MultiLogBundle:
    """A verified multi-log bundle: the home log's bundle and each peer's (by its name here)."""

    origin: str
    created_at: datetime
    home: TrustBundle
    peers: dict[str, TrustBundle]
    missing: tuple[MissingPeer, ...]

    @property
    def bundles(self) -> tuple[TrustBundle, ...]:
        """Every log's bundle, the home log's first."""
        return (self.home, *self.peers.values())


@dataclass(frozen=True)
class PeerBundle:
    """A peer's bundle as it signed it, verified with `vkey`: the policy's key for the peer's origin,
    else the one it was peered with."""

    peer: Peer
    vkey: str
    document: dict[str, Any]


def export_multi(ledger: Ledger, client: PeerClient, policy: Policy | None = None, host: str = DEFAULT_HOST) -> dict[str, Any]:
    """The signed multi-log document: this log's bundle for codes pointing to `host`, and every current
    peer's, each verified under `policy` (the peer's key alone without one) or listed as missing."""
    fetched, missing = _fetch_all(ledger, client, policy or LOG_KEY_ONLY)
    return multi_log_document(ledger, fetched, missing, policy, host)


def multi_log_document(ledger: Ledger, fetched: Sequence[PeerBundle], missing: Sequence[MissingPeer], policy: Policy | None = None,
                       host: str = DEFAULT_HOST) -> dict[str, Any]:
    """This log's bundle for codes pointing to `host` and the peers' verified bundles, with the policy naming
    each log's key under `policy`'s witnesses and quorum, signed by this log's key."""
    judge = policy or LOG_KEY_ONLY
    home = export_bundle(ledger, host)
    vkey = home["body"]["vkey"]
    logs = (PolicyLog(vkey, ledger.origin), *(PolicyLog(f.vkey, f.peer.origin) for f in fetched))
    body = {
        "format": MULTI_FORMAT,
        "origin": ledger.origin,
        "vkey": vkey,
        "created_at": home["body"]["created_at"],
        "policy": Policy(logs, judge.witnesses, judge.groups, judge.quorum).text(),
        "home": home,
        "peers": [{"name": f.peer.name, "country": f.peer.country, "bundle": f.document} for f in fetched],
        "missing": [{"name": m.name, "origin": m.origin, "vkey": m.vkey, "problem": m.problem} for m in missing],
    }
    document = sign_body(ledger, body)
    load_multi(document, vkey, None)  # never hand out a document a scanner refuses (e.g. this log's checkpoint short of the quorum)
    return document


def _fetch_all(ledger: Ledger, client: PeerClient, policy: Policy) -> tuple[list[PeerBundle], list[MissingPeer]]:
    peers = list_peers(ledger)
    if not peers:
        return [], []
    with ThreadPoolExecutor(max_workers=min(len(peers), _PARALLEL)) as pool:
        results = list(pool.map(lambda peer: _fetch(client, peer, policy), peers))
    return [r for r in results if isinstance(r, PeerBundle)], [r for r in results if isinstance(r, MissingPeer)]


def _fetch(client: PeerClient, peer: Peer, policy: Policy) -> PeerBundle | MissingPeer:
    """`peer`'s bundle, once it holds under `policy` with the peer's key; else why not."""
    judged, vkey = policy.for_log(peer.origin, peer.vkey)
    key = vkey or policy_log_key(judged, peer.origin)
    try:
        answer = client.get(peer, BUNDLE_PATH)
        load_bundle(answer.content, key, peer.origin, judged)
    except (PeerUnreachable, PeerRefused) as exc:
        return MissingPeer(peer.name, peer.origin, key, str(exc))
    except BundleError as exc:
        return MissingPeer(peer.name, peer.origin, key, f"its bundle is refused: {exc}")
    return PeerBundle(peer, key, answer.content)


def load_trust(path: Path, verifier_key: str | None, policy: Policy | None = None) -> TrustBundle | MultiLogBundle:
    """What `tracemark scan --offline FILE` trusts: a multi-log bundle, or one log's bundle."""
    document = read_document(path)
    body = document.get("body") if isinstance(document, dict) else None
    if isinstance(body, dict) and body.get("format") == MULTI_FORMAT:
        return load_multi(document, verifier_key, policy)
    return load_bundle(document, verifier_key, policy=policy)


def load_multi(document: Any, verifier_key: str | None, policy: Policy | None = None) -> MultiLogBundle:
    """A multi-log bundle, once the home log's key signed it (`verifier_key`, else the key `policy` lists
    for its origin) and every bundle in it holds; a refused inner bundle is refused with its log's name."""
    body = signed_body(document)
    key = verifier_key or policy_log_key(policy, body.get("origin"))
    open_signed(document, key)
    if body.get("format") != MULTI_FORMAT:
        raise BundleError(f"multi-log bundle format is {body.get('format')!r}, want {MULTI_FORMAT!r}")
    if body.get("vkey") != key:
        raise BundleError(f"the multi-log bundle names log key {str(body.get('vkey'))[:80]!r}, but is verified with {key!r}")
    try:
        trusted = Policy.parse(body["policy"])
        home = _inner(f"the home log {body['origin']}", body["home"], key, trusted, policy)
        peers = {entry["name"]: _inner(f"peer {entry['name']}", entry["bundle"], _named_key(entry, trusted), trusted, policy)
                 for entry in body["peers"]}
        missing = tuple(_missing(entry) for entry in body["missing"])
        created_at = parse_time(body["created_at"], "created_at")
    except PolicyError as exc:
        raise BundleError(f"the multi-log bundle's policy: {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"multi-log bundle body is missing or mistypes a field: {exc!r}") from exc
    except (EventInvalid, CheckpointError) as exc:
        raise BundleError(f"multi-log bundle body: {exc}") from exc
    found = MultiLogBundle(body["origin"], created_at, home, peers, missing)
    if len({b.log_id for b in found.bundles}) < len(found.bundles) or len(peers) < len(body["peers"]):
        raise BundleError("the multi-log bundle holds two bundles of one log, or two peers of one name")
    return found


def _missing(entry: dict[str, Any]) -> MissingPeer:
    verifier_key_id(entry["vkey"])  # refuses text that is no verifier key: codes of the peer's log are told by its key ID
    return MissingPeer(entry["name"], entry["origin"], entry["vkey"], entry["problem"])


def _named_key(entry: dict[str, Any], trusted: Policy) -> str:
    """The key the document's policy names for the log a peer's bundle says it is of."""
    origin = signed_body(entry["bundle"]).get("origin")
    log = trusted.log_for(origin) if isinstance(origin, str) else None
    if log is None:
        raise BundleError(f"the bundle of peer {entry['name']} is refused: the multi-log bundle's policy names no key for its log {origin!r}")
    return log.vkey


def _inner(who: str, document: Any, key: str, trusted: Policy, policy: Policy | None) -> TrustBundle:
    """One log's bundle in the document: signed by `key`, its checkpoint meeting the document's quorum
    (`trusted`) and the scanner's own (`policy`), if it has one."""
    try:
        bundle = load_bundle(document, key, policy=trusted)
        if policy is not None:
            judged, vkey = policy.for_log(bundle.origin, key)
            require_quorum(document["body"]["checkpoint"], judged, vkey)
    except BundleError as exc:
        raise BundleError(f"the bundle of {who} is refused: {exc}") from exc
    return bundle
