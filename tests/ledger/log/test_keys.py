"""The fast signature recovery (coincurve) must agree with eth-account's reference one."""

from __future__ import annotations

import coincurve
import pytest
from Crypto.Hash import keccak
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import SignatureError
from ledger.log.keys import SECP256K1_N, keccak_256, new_account, normalise_signature, recover, sign

ACCOUNTS = [new_account() for _ in range(3)]


def reference(message: bytes, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_defunct(primitive=message), signature=bytes.fromhex(signature[2:]))
    except Exception:  # noqa: BLE001 - any refusal counts as "no address"
        return None


def fast(message: bytes, signature: str) -> str | None:
    try:
        return recover(message, signature)
    except SignatureError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(ACCOUNTS))
def test_genuine_signatures_recover_to_the_signer_in_both(message: bytes, account) -> None:  # noqa: ANN001
    """Signed by eth-account, not here: libsecp256k1 recovers them (nothing is remembered of them)."""
    signature = "0x" + account.sign_message(encode_defunct(primitive=message)).signature.hex().removeprefix("0x")
    assert fast(message, signature) == reference(message, signature) == account.address


def test_a_signature_made_here_is_known_without_recovering_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server-signed event is not recovered again when appended; any other signature still is."""
    account, other = ACCOUNTS[0], ACCOUNTS[1]
    made_here = sign(account, b"inspect")
    elsewhere = "0x" + other.sign_message(encode_defunct(primitive=b"inspect")).signature.hex().removeprefix("0x")

    def unavailable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("libsecp256k1 was asked to recover")

    monkeypatch.setattr(coincurve.PublicKey, "from_signature_and_message", unavailable)
    assert recover(b"inspect", made_here) == account.address
    with pytest.raises(AssertionError, match="asked to recover"):
        recover(b"inspect", elsewhere)
    with pytest.raises(AssertionError, match="asked to recover"):
        recover(b"another message", made_here)  # the same signature over other bytes is not the one made here


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(ACCOUNTS))
def test_signatures_are_byte_for_byte_eth_accounts(message: bytes, account) -> None:  # noqa: ANN001
    assert sign(account, message) == "0x" + account.sign_message(encode_defunct(primitive=message)).signature.hex().removeprefix("0x")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=64, max_size=64), st.sampled_from([0, 1, 27, 28]))
def test_arbitrary_signatures_get_the_same_answer_from_both(message: bytes, rs: bytes, v: int) -> None:
    signature = "0x" + (rs + bytes([v])).hex()
    assert fast(message, signature) == reference(message, signature)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=64), st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_never_recovers_the_signer(message: bytes, byte: int, bit: int) -> None:
    account = ACCOUNTS[0]
    raw = bytearray.fromhex(sign(account, message)[2:])
    raw[byte] ^= 1 << bit
    assert fast(message, "0x" + raw.hex()) != account.address


@pytest.mark.parametrize("v", [2, 26, 29, 37])
def test_recovery_ids_other_than_0_1_27_28_are_refused(v: int) -> None:
    raw = bytearray.fromhex(sign(ACCOUNTS[0], b"x")[2:])
    raw[64] = v
    with pytest.raises(SignatureError, match="recovery id"):
        recover(b"x", "0x" + raw.hex())


@pytest.mark.parametrize("r,s", [(0, 1), (1, 0), (SECP256K1_N, 1), (1, SECP256K1_N)])
def test_out_of_range_r_or_s_is_refused(r: int, s: int) -> None:
    signature = "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27])).hex()
    with pytest.raises(SignatureError, match="out of range"):
        recover(b"x", signature)


@pytest.mark.parametrize("spelling", [lambda s: s.removeprefix("0x"), lambda s: "0x" + s[2:].upper(), str])
def test_every_spelling_of_a_signature_normalises_to_eth_accounts(spelling) -> None:  # noqa: ANN001
    signature = sign(ACCOUNTS[0], b"message")
    assert normalise_signature(spelling(signature)) == signature


@pytest.mark.parametrize("bad", ["0x" + "ab" * 64, "0x" + "zz" * 65, "0x " + "ab" * 65, 7])
def test_what_is_not_a_signature_has_no_spelling(bad) -> None:  # noqa: ANN001
    with pytest.raises(SignatureError):
        normalise_signature(bad)


def test_keccak_is_ethereums_not_sha3() -> None:
    assert keccak_256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_keccak_agrees_with_pycryptodome(data: bytes) -> None:
    assert keccak_256(data) == keccak.new(digest_bits=256, data=data).digest()
