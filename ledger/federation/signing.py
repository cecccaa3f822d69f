"""RFC 9421 HTTP Message Signatures between logs, with Ed25519 and the log's own key.

A log signs its requests to a peer (`sign_request`) and its answers to a peer (`sign_response`)
with the Ed25519 key that signs its checkpoints, naming itself by origin in `keyid`: a peer that
holds the log's note verifier key (`add_peer --vkey`) checks both without any other secret. The
request covers `"@method" "@target-uri"`, and `"content-digest"` (RFC 9530, SHA-256) when there is a
body; the answer covers `"@status" "content-digest"` and the request's method, target and signature,
so a kept answer proves which signed question it answered. Every signature carries `created`,
`expires` (created + WINDOW) and a random `nonce`; the receiver refuses an expired one and, within
the window, one whose nonce it has seen (`ledger.federation.nonces`).

The signature bases and header syntax come from the `http-message-signatures` package (pyauth),
checked against RFC 9421's own Ed25519 example in tests/testdata/rfc9421; this module fixes the
profile: label `tm`, algorithm `ed25519`, the components above, and the time rules.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, HTTPSignatureKeyResolver, InvalidSignature, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from ledger.errors import CheckpointError
from ledger.federation.errors import MessageSignatureError
from ledger.log.checkpoint import LogKey, parse_verifier_key

__all__ = ["LABEL", "WINDOW", "SKEW", "HttpRequest", "HttpResponse", "VerifiedRequest", "sign_request", "sign_response", "verify_request",
           "verify_response", "public_key_of", "signature_headers"]

LABEL = "tm"
WINDOW = 60
"""Seconds a signature is valid after its `created`: long enough for a slow network, short enough
that the receiver keeps few nonces."""
SKEW = 5
"""Seconds two logs' clocks may disagree."""
_REQUEST = ("@method", "@target-uri")
_RESPONSE = ("@status", "content-digest", '"@method";req', '"@target-uri";req', f'"signature";req;key="{LABEL}"')
_SIGNATURE_HEADERS = ("signature-input", "signature")


@dataclass
class HttpRequest:
    """An HTTP request as the signature sees it: method, absolute URL, header fields (names in any case)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HttpResponse:
    """An answer and the signed request it answers (the `;req` components come from there)."""

    status_code: int
    headers: dict[str, str]
    request: HttpRequest


@dataclass(frozen=True)
class VerifiedRequest:
    """A message whose signature holds: the signer's origin (`keyid`), its nonce, when it was made and expires."""

    keyid: str
    nonce: str
    created: int
    expires: int


class _Keys(HTTPSignatureKeyResolver):
    """The verifier's keys by keyid, remembering a keyid it had none for (to say so)."""

    def __init__(self, public: Callable[[str], Ed25519PublicKey | None]) -> None:
        self.public = public
        self.unknown: str | None = None

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        key = self.public(key_id)
        if key is None:
            self.unknown = key_id
        return key

    def resolve_private_key(self, key_id: str) -> Any:
        raise HTTPMessageSignaturesException("private keys stay in LogKey")


def public_key_of(vkey: str) -> Ed25519PublicKey:
    """The Ed25519 key inside a C2SP note verifier key: what a peer's signatures verify with."""
    return parse_verifier_key(vkey)[2]


def _sign(message: HttpRequest | HttpResponse, key: LogKey, keyid: str, covered: Iterable[str], body: bytes | None, now: float | None) -> None:
    created = int(time.time() if now is None else now)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    prepared = signer.prepare(message, key_id=keyid, created=datetime.fromtimestamp(created, UTC),
                              expires=datetime.fromtimestamp(created + WINDOW, UTC), nonce=secrets.token_urlsafe(16), label=LABEL,
                              covered_component_ids=tuple(covered), body=body)
    signer.apply(message, prepared, key.sign_message(prepared.signature_base))


def sign_request(request: HttpRequest, body: bytes, key: LogKey, origin: str, now: float | None = None) -> None:
    """Add Signature-Input, Signature (and Content-Digest when there is a body) to `request`'s headers."""
    _sign(request, key, origin, _REQUEST, body or None, now)


def sign_response(response: HttpResponse, body: bytes, key: LogKey, origin: str, now: float | None = None) -> None:
    """Add Content-Digest, Signature-Input and Signature to `response`'s headers (its request must be signed)."""
    _sign(response, key, origin, _RESPONSE, body, now)


def _verifier(keys: _Keys) -> HTTPMessageVerifier:
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    verifier.max_clock_skew = timedelta(seconds=SKEW)
    return verifier


def _verified(message: HttpRequest | HttpResponse, body: bytes, public: Callable[[str], Ed25519PublicKey | None],
              required: Iterable[str], now: float | None) -> VerifiedRequest:
    """The signed parameters of the message's one `tm` signature, once it and the time rules hold."""
    present = {name.lower() for name in message.headers}
    if not present >= set(_SIGNATURE_HEADERS):
        raise MessageSignatureError("unsigned: a federation message carries RFC 9421 Signature-Input and Signature headers")
    keys = _Keys(public)
    try:
        [result] = _verifier(keys).verify(message, max_age=timedelta(seconds=WINDOW), require_components=tuple(required), body=body)
    except (InvalidSignature, HTTPMessageSignaturesException, CheckpointError, ValueError) as exc:
        if keys.unknown is not None:
            raise MessageSignatureError(f"keyid {keys.unknown!r} is not the origin of a current peer of this log") from exc
        raise MessageSignatureError(f"the signature does not verify: {exc}") from exc
    if result.label != LABEL:
        raise MessageSignatureError(f"the signature is labelled {result.label!r}, not {LABEL!r}")
    params = result.parameters
    keyid, nonce, created, expires = params.get("keyid"), params.get("nonce"), params.get("created"), params.get("expires")
    if params.get("alg") != "ed25519" or not isinstance(nonce, str) or not isinstance(expires, int):
        raise MessageSignatureError('the signature must name alg="ed25519" and carry a nonce and an expiry')
    assert isinstance(keyid, str) and isinstance(created, int)  # the verifier required both, of these types
    moment = time.time() if now is None else now
    if expires > created + WINDOW:
        raise MessageSignatureError(f"the signature is valid for {expires - created} s; at most {WINDOW} s are accepted")
    if moment > expires + SKEW:
        raise MessageSignatureError(f"the signature expired at {expires}, it is now {int(moment)}")
    if created > moment + SKEW:
        raise MessageSignatureError(f"the signature was created at {created}, after now ({int(moment)})")
    return VerifiedRequest(keyid=keyid, nonce=nonce, created=created, expires=expires)


def verify_request(request: HttpRequest, body: bytes, public: Callable[[str], Ed25519PublicKey | None],
                   now: float | None = None) -> VerifiedRequest:
    """Check a peer's request: `public(keyid)` is the key of the current peer with that origin, or None.

    Replays are the caller's to refuse, with the nonce returned (it is seen once per `expires`).
    """
    return _verified(request, body, public, _REQUEST + (("content-digest",) if body else ()), now)


def verify_response(response: HttpResponse, body: bytes, origin: str, vkey: str, now: float | None = None) -> None:
    """Check that `response` is the peer's (`vkey`, keyid `origin`) signed answer to the signed request it carries."""
    public = public_key_of(vkey)
    signed = _verified(response, body, lambda keyid: public if keyid == origin else None, _RESPONSE, now)
    if signed.keyid != origin:
        raise MessageSignatureError(f"the answer is signed as {signed.keyid!r}, not as the peer {origin!r}")


def signature_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The signature header fields of a message, e.g. to keep a peer's signed answer as evidence."""
    return {name: value for name, value in headers.items() if name.lower() in (*_SIGNATURE_HEADERS, "content-digest")}
