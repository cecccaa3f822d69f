"""Party signatures: only a live key of the acting party signs its events, and a resend appends nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ulid import ULID

from ledger.audit.recompute import audit
from ledger.domain.events import event_bytes
from ledger.errors import SignatureError
from ledger.log.codec import format_time
from ledger.log.keys import new_account, sign
from ledger.log.signatures import sign_event
from ledger.store.ledger import Ledger
from ledger.store.rebuild import snapshot
from tests.conftest import NOW
from tests.support import World


def state(ledger: Ledger) -> tuple[int, Any]:
    with ledger.reading() as session:
        return ledger.size(), snapshot(session)


def refused(ledger: Ledger, envelope: dict[str, Any]) -> SignatureError:
    before = state(ledger)
    with pytest.raises(SignatureError) as caught:
        ledger.append(envelope)
    assert state(ledger) == before
    return caught.value


@pytest.fixture
def world(sqlite_ledger: Ledger) -> World:
    return World(sqlite_ledger)


def mark(world: World, **overrides: Any) -> dict[str, Any]:
    """An unsigned mark_firearm event by it-beretta, for the world's log."""
    return {"type": "mark_firearm", "actor": "it-beretta", "time": format_time(world.tick()), "item": str(ULID()),
            "marking": world.marking(), "origin": world.ledger.origin} | overrides


def test_forged_signature_is_refused(world: World) -> None:
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    signature = bytearray.fromhex(envelope["signature"][2:])
    signature[10] ^= 0x01
    error = refused(world.ledger, envelope | {"signature": "0x" + signature.hex()})
    assert error.code == "signature_invalid"


@pytest.mark.parametrize("signature", ["0x" + "00" * 65, "0x1234", "0x123", "not hex", "0x" + "ff" * 64 + "1b"])
def test_garbage_signature_is_refused(world: World, signature: str) -> None:
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    assert refused(world.ledger, envelope | {"signature": signature}).code == "signature_invalid"


@pytest.mark.parametrize("padding", [lambda s: s + "\n", lambda s: s + " ", lambda s: s[:40] + " " + s[40:], lambda s: s[:40] + "\n" + s[40:]])
def test_valid_signature_padded_with_whitespace_is_refused(world: World, padding) -> None:  # noqa: ANN001
    """bytes.fromhex skips whitespace: such a signature recovers, but would put raw newlines into entry bytes."""
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    signature = padding(envelope["signature"])
    assert refused(world.ledger, envelope | {"signature": signature}).code == "signature_invalid"


def test_signature_by_another_partys_key_is_refused(world: World) -> None:
    envelope = sign_event(world.parties["at-glock"].account, mark(world), origin=world.ledger.origin)  # Glock's key, Beretta named as actor
    error = refused(world.ledger, envelope)
    assert error.code == "wrong_key" and "at-glock" in error.detail


def test_signature_by_an_unknown_key_is_refused(world: World) -> None:
    error = refused(world.ledger, sign_event(new_account(), mark(world), origin=world.ledger.origin))
    assert error.code == "unknown_key"


def test_signer_field_must_name_the_key_that_signed(world: World) -> None:
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    error = refused(world.ledger, envelope | {"signer": world.parties["at-glock"].account.address})
    assert error.code == "signature_invalid" and "named signer" in error.detail


def test_signature_replayed_on_a_different_event_is_refused(world: World) -> None:
    original = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    world.ledger.append(original)
    other = mark(world)
    error = refused(world.ledger, {"event": other, "signer": original["signer"], "signature": original["signature"]})
    assert error.code == "signature_invalid"


def test_resent_event_returns_the_original_receipt_and_appends_nothing(world: World) -> None:
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    first = world.ledger.append(envelope)
    before = state(world.ledger)
    again = world.ledger.append(envelope)
    assert (again.seq, again.leaf_hash, again.event_hash) == (first.seq, first.leaf_hash, first.event_hash)
    assert again.duplicate and not first.duplicate
    assert state(world.ledger) == before


def test_same_event_twice_in_one_batch_is_appended_once(world: World) -> None:
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    size = world.ledger.size()
    first, second = world.ledger.append_batch([envelope, envelope])
    assert second.seq == first.seq == size and second.duplicate
    assert world.ledger.size() == size + 1


def test_malleated_signature_of_a_logged_event_is_a_duplicate(world: World) -> None:
    """secp256k1 (r, s) and (r, n - s) both verify: the copy must not become a second entry."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    envelope = sign_event(world.parties["it-beretta"].account, mark(world), origin=world.ledger.origin)
    first = world.ledger.append(envelope)
    raw = bytes.fromhex(envelope["signature"][2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    flipped = "0x" + (r + (n - s).to_bytes(32, "big") + bytes([55 - v])).hex()
    again = world.ledger.append(envelope | {"signature": flipped})
    assert again.duplicate and again.seq == first.seq and world.ledger.size() == first.seq + 1


def test_revoked_key_signs_nothing_from_its_revocation_on(sqlite_ledger: Ledger) -> None:
    clock = {"now": NOW - timedelta(days=12)}
    sqlite_ledger.clock = lambda: clock["now"]
    world = World(sqlite_ledger)  # events from NOW - 13 days on
    beretta = world.parties["it-beretta"].account
    early = world.act("it-beretta", "mark_firearm", item=mark(world)["item"], marking=world.marking())
    revoked_from = NOW - timedelta(days=10)
    world.act("registry", "revoke_key", party="it-beretta", address=beretta.address,
              from_time=format_time(revoked_from), reason="laptop stolen")

    # Before the revocation time, and recorded before it: still accepted.
    accepted = sqlite_ledger.append(sign_event(beretta, mark(world, time=format_time(NOW - timedelta(days=13))), origin=world.ledger.origin))
    assert not accepted.duplicate

    clock["now"] = NOW - timedelta(days=5)
    after = refused(sqlite_ledger, sign_event(beretta, mark(world, time=format_time(NOW - timedelta(days=6))), origin=world.ledger.origin))
    assert after.code == "key_revoked"
    backdated = refused(sqlite_ledger, sign_event(beretta, mark(world, time=format_time(NOW - timedelta(days=11))), origin=world.ledger.origin))
    assert backdated.code == "key_revoked"

    fresh = new_account()
    world.act("registry", "add_key", party="it-beretta", address=fresh.address)
    assert not sqlite_ledger.append(sign_event(fresh, mark(world, time=format_time(NOW - timedelta(days=6))), origin=world.ledger.origin)).duplicate

    # The entries the key signed while it was live still verify.
    sqlite_ledger.checkpoint()
    with sqlite_ledger.reading() as session:
        report = audit(session, sqlite_ledger.log_key.verifier_key, sqlite_ledger.origin)
    assert report.ok, report.findings
    assert sqlite_ledger.entries(early.seq, early.seq + 1)[0].signer == beretta.address


def test_signature_is_over_the_canonical_bytes(world: World) -> None:
    """Key order in the posted JSON does not matter: the signature covers RFC 8785 bytes."""
    event = mark(world)
    reordered = dict(reversed(list(event.items())))
    signature = sign(world.parties["it-beretta"].account, event_bytes(event))
    receipt = world.ledger.append({"event": reordered, "signer": world.parties["it-beretta"].account.address, "signature": signature})
    assert world.ledger.entries(receipt.seq, receipt.seq + 1)[0].event == event_bytes(event)
