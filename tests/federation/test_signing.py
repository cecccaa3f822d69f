"""RFC 9421 signatures between logs: RFC 9421's own Ed25519 example first, then our profile's refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, InvalidSignature, MappingKeyResolver, algorithms

from ledger.federation.errors import MessageSignatureError
from ledger.federation.signing import WINDOW, HttpRequest, HttpResponse, public_key_of, sign_request, sign_response, verify_request, verify_response
from ledger.log.checkpoint import LogKey
from tests.conftest import TESTDATA

RFC = TESTDATA / "rfc9421"
KEY = LogKey.generate("registry.de.example/log")
OTHER = LogKey.generate("kws.ke.example/log")
URL = "https://tracemark.de.example/federation/v1/hello"


def rfc_request() -> HttpRequest:
    raw = json.loads((RFC / "test-request.json").read_text())
    return HttpRequest(raw["method"], raw["url"], dict(raw["headers"]))


def rfc_keys() -> tuple[object, object]:
    pem = (RFC / "test-key-ed25519.pem").read_bytes()
    private, public = pem.split(b"-----END PRIVATE KEY-----\n")
    return load_pem_private_key(private + b"-----END PRIVATE KEY-----\n", None), load_pem_public_key(public)


def test_the_rfc_9421_ed25519_example_b26_signs_to_the_rfc_bytes() -> None:
    """Same signature base, byte for byte, and (Ed25519 being deterministic) the very signature of B.2.6."""
    private, _ = rfc_keys()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(public_keys={}, private_keys={"test-key-ed25519": private}))
    request = rfc_request()
    signer.sign(request, key_id="test-key-ed25519", created=_posix(1618884473), include_alg=False, label="sig-b26", use_existing_digest=True,
                covered_component_ids=("date", "@method", "@path", "@authority", "content-type", "content-length"))
    prepared = HTTPMessageSigner(signature_algorithm=algorithms.ED25519).prepare(
        rfc_request(), key_id="test-key-ed25519", created=_posix(1618884473), include_alg=False, label="sig-b26", use_existing_digest=True,
        covered_component_ids=("date", "@method", "@path", "@authority", "content-type", "content-length"))
    assert prepared.signature_base == (RFC / "b26-signature-base.txt").read_bytes()
    assert request.headers["Signature-Input"] == (RFC / "b26-signature-input.txt").read_text().strip()
    assert request.headers["Signature"] == (RFC / "b26-signature.txt").read_text().strip()


def test_the_rfc_9421_example_b26_verifies_and_a_changed_date_does_not() -> None:
    _, public = rfc_keys()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=MappingKeyResolver(public_keys={"test-key-ed25519": public}, private_keys={}))
    request = rfc_request()
    request.headers |= {"Signature-Input": (RFC / "b26-signature-input.txt").read_text().strip(),
                        "Signature": (RFC / "b26-signature.txt").read_text().strip()}
    [result] = verifier.verify(request, max_age=None)
    assert result.parameters["keyid"] == "test-key-ed25519"
    request.headers["Date"] = "Tue, 20 Apr 2021 02:07:56 GMT"
    with pytest.raises(InvalidSignature):
        verifier.verify(request, max_age=None)


def _posix(seconds: int):  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


def _flipped(text: str, at: int) -> str:
    """`text` with the base64 character at `at` changed (to another one, whatever it was)."""
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1:]


def keys(*known: LogKey) -> Callable[[str], Ed25519PublicKey | None]:
    table = {key.name: public_key_of(key.verifier_key) for key in known}
    return table.get


def signed(method: str = "POST", body: bytes = b'{"uid": "01J"}', key: LogKey = KEY, now: float | None = None) -> HttpRequest:
    request = HttpRequest(method, URL, {"Content-Type": "application/json"} if body else {})
    sign_request(request, body, key, key.name, now=now)
    return request


def test_a_signed_request_verifies_and_names_its_log_and_nonce() -> None:
    request = signed()
    assert request.headers["Signature-Input"].startswith('tm=("@method" "@target-uri" "content-digest");')
    assert request.headers["Content-Digest"].startswith("sha-256=:")
    verified = verify_request(request, b'{"uid": "01J"}', keys(KEY))
    assert verified.keyid == KEY.name and verified.expires == verified.created + WINDOW and len(verified.nonce) >= 16
    assert verify_request(signed("GET", b""), b"", keys(KEY)).keyid == KEY.name


@pytest.mark.parametrize(("tamper", "wanted"), [
    (lambda r: r.headers.clear(), "unsigned"),
    (lambda r: r.headers.pop("Signature"), "unsigned"),
    (lambda r: setattr(r, "url", URL + "?more=1"), "does not verify"),
    (lambda r: setattr(r, "method", "PUT"), "does not verify"),
    (lambda r: r.headers.update(Signature=_flipped(r.headers["Signature"], 10)), "does not verify"),
    (lambda r: r.headers.update({"Signature-Input": r.headers["Signature-Input"].replace("tm=", "other="),
                                 "Signature": r.headers["Signature"].replace("tm=", "other=")}), "labelled"),
])
def test_a_tampered_or_unsigned_request_is_refused(tamper: Callable[[HttpRequest], object], wanted: str) -> None:
    request = signed()
    tamper(request)
    with pytest.raises(MessageSignatureError, match=wanted):
        verify_request(request, b'{"uid": "01J"}', keys(KEY))


def test_a_changed_body_a_stranger_and_an_expired_signature_are_refused() -> None:
    with pytest.raises(MessageSignatureError, match="Content-Digest"):
        verify_request(signed(), b'{"uid": "01K"}', keys(KEY))
    with pytest.raises(MessageSignatureError, match="content-digest"):  # a body the signature does not cover
        verify_request(signed("GET", b""), b"smuggled", keys(KEY))
    with pytest.raises(MessageSignatureError, match="not the origin of a current peer"):
        verify_request(signed(key=OTHER), b'{"uid": "01J"}', keys(KEY))
    with pytest.raises(MessageSignatureError, match="does not verify"):  # OTHER's key, claiming KEY's origin
        request = HttpRequest("GET", URL)
        sign_request(request, b"", OTHER, KEY.name)
        verify_request(request, b"", keys(KEY))
    with pytest.raises(MessageSignatureError, match="expire|past"):
        verify_request(signed(now=time.time() - WINDOW - 30), b'{"uid": "01J"}', keys(KEY))
    with pytest.raises(MessageSignatureError, match="future"):
        verify_request(signed(now=time.time() + 120), b'{"uid": "01J"}', keys(KEY))


def test_an_answer_is_bound_to_its_status_body_and_the_signed_request_it_answers() -> None:
    request = signed("GET", b"")
    answer = HttpResponse(200, {"Content-Type": "application/json"}, request)
    sign_response(answer, b'{"ok": true}', OTHER, OTHER.name)
    verify_response(answer, b'{"ok": true}', OTHER.name, OTHER.verifier_key)
    with pytest.raises(MessageSignatureError, match="Content-Digest"):
        verify_response(answer, b'{"ok": false}', OTHER.name, OTHER.verifier_key)
    with pytest.raises(MessageSignatureError):
        verify_response(answer, b'{"ok": true}', KEY.name, KEY.verifier_key)  # not this peer's answer
    for change in ({"status_code": 404}, {"request": signed("GET", b"")}):  # another status, or an answer to another request
        moved = HttpResponse(**{"status_code": answer.status_code, "headers": dict(answer.headers), "request": request} | change)
        with pytest.raises(MessageSignatureError, match="does not verify"):
            verify_response(moved, b'{"ok": true}', OTHER.name, OTHER.verifier_key)


def test_the_log_key_signs_no_message_that_could_read_as_a_note() -> None:
    from ledger import CheckpointError

    with pytest.raises(CheckpointError):
        KEY.sign_message(b"registry.de.example/log\n5\n")
