"""Log checkpoints as C2SP signed notes, signed by the log's Ed25519 key.

A checkpoint (C2SP ``tlog-checkpoint``) commits to the log's origin, tree size and root hash:

    <origin>\\n<size>\\n<base64 root>\\n[<extension line>\\n ...]

Tracemark's checkpoints carry one extension line, ``time <POSIX seconds>`` (decimal, no leading
zeros, as in the timestamp line of C2SP ``tlog-cosignature``): the time the log signed the
checkpoint, inside what its key signs, so that no verifier has to trust a time kept beside the
note. The first three lines are exactly tlog-checkpoint's, so standard clients still verify it;
checkpoints signed without a time line still verify and report ``signed_time`` None.

It is carried as a C2SP ``signed-note``: the body, a blank line, then one signature line per
signer, ``— <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>``. Keys use
the string formats of Go's golang.org/x/mod/sumdb/note, so standard tooling reads them:

    verifier key  <name>+<8 hex key hash>+<base64(0x01 || 32-byte public key)>
    signer key    PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 || 32-byte seed)>

The verifier is given the trusted key explicitly and takes nothing about the key from the note
but the signature; signatures by other keys (co-signers, witnesses) are ignored. Every
malformed or unverifiable input is refused with ``CheckpointError`` saying what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.errors import CheckpointError
from ledger.log.merkle import HASH_SIZE

__all__ = [
    "Checkpoint",
    "HEX8_RE",
    "check_key_name",
    "decode_base64",
    "parse_body",
    "parse_verifier_key",
    "verifier_key_id",
    "signature_line",
    "split_note",
    "LogKey",
    "sign_checkpoint",
    "verify_checkpoint",
    "parse_checkpoint",
    "open_note",
]

ALG_ED25519 = 0x01
"""Signature algorithm byte of signed-note Ed25519 keys."""
SIGNATURE_PREFIX = "\u2014 "
"""Every signature line opens with an em dash and a space."""
MAX_SIGNATURES = 100
"""As in Go's note.Open: more signature lines than this is a malformed note."""
_SIGNATURE_SIZE = 64
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
TIME_PREFIX = "time "
"""The extension line that carries the signed time."""
MAX_TIME = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
"""The latest signed time a checkpoint may carry: the last second a datetime can hold."""
HEX8_RE = re.compile(r"[0-9a-f]{8}")


# --- small strict codecs ------------------------------------------------------------------------


def decode_base64(text: str, what: str) -> bytes:
    """Standard padded base64, canonical only: one encoding per byte string."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as e:
        raise CheckpointError(f"{what} is not valid base64: {text!r}") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64: {text!r}")
    return raw


def _check_text(text: str, what: str) -> None:
    """Notes are UTF-8 without control characters other than newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CheckpointError(f"{what} is not valid UTF-8") from e
    bad = next((c for c in text if c < " " and c != "\n"), None)
    if bad is not None:
        raise CheckpointError(f"{what} contains control character {bad!r}")


def check_key_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"key name must be a non-empty string, got {name!r}")
    _check_text(name, "key name")
    if "+" in name or any(c.isspace() for c in name):
        raise CheckpointError(f"key name must not contain '+' or spaces: {name!r}")
    return name


def _key_hash(name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || "\\n" || alg || public key): the key's short id."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def parse_verifier_key(vkey: object) -> tuple[str, bytes, Ed25519PublicKey]:
    if not isinstance(vkey, str):
        raise CheckpointError(f"verifier key must be a string, got {type(vkey).__name__}")
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"verifier key must be <name>+<hash>+<key>, got {vkey!r}")
    name, hash_hex, key_b64 = parts
    check_key_name(name)
    if not HEX8_RE.fullmatch(hash_hex):
        raise CheckpointError(
            f"verifier key hash must be 8 lower-case hex digits, got {hash_hex!r}"
        )
    key = decode_base64(key_b64, "verifier key")
    if len(key) != 1 + 32 or key[0] != ALG_ED25519:
        raise CheckpointError(
            f"verifier key must be 0x01 and a 32-byte Ed25519 key, got {len(key)} bytes"
            f" starting {key[:1].hex() or 'empty'}"
        )
    want = _key_hash(name, key[1:])
    if want.hex() != hash_hex:
        raise CheckpointError(
            f"verifier key hash is {hash_hex}, but the key hashes to {want.hex()}"
        )
    try:
        public = Ed25519PublicKey.from_public_bytes(key[1:])
    except ValueError as e:
        raise CheckpointError("verifier key is not a valid Ed25519 public key") from e
    return name, want, public



def verifier_key_id(vkey: object) -> str:
    """The key ID of a verifier key (8 lower-case hex digits): how a code names the log that issued it."""
    return parse_verifier_key(vkey)[1].hex()

# --- checkpoint body ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """What the log commits to: its origin, its tree size and the Merkle root at that size."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError(f"origin must be a non-empty string, got {self.origin!r}")
        _check_text(self.origin, "origin")
        if "\n" in self.origin:
            raise CheckpointError("origin must be one line")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"size must be an int, got {type(self.size).__name__}")
        if not 0 <= self.size < 2**64:
            raise CheckpointError(f"size must be in [0, 2**64), got {self.size}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            got = len(self.root) if isinstance(self.root, bytes) else type(self.root).__name__
            raise CheckpointError(f"root must be {HASH_SIZE} bytes, got {got}")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of lines")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line:
                raise CheckpointError(f"extension must be one non-empty line, got {line!r}")
            _check_text(line, "extension")
        _signed_time(self.extensions)  # a malformed or repeated time line is refused here

    @classmethod
    def signed_at(cls, origin: str, size: int, root: bytes, moment: datetime) -> Checkpoint:
        """A checkpoint carrying `moment` (to the second, earlier fractions dropped) as its signed time."""
        return cls(origin, size, root, (f"{TIME_PREFIX}{int(moment.timestamp())}",))

    @property
    def signed_time(self) -> datetime | None:
        """The time inside the signed body (its ``time`` line), or None if it has none."""
        return _signed_time(self.extensions)

    def body(self) -> str:
        """The note text that is signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


def _signed_time(extensions: tuple[str, ...]) -> datetime | None:
    lines = [line for line in extensions if line.startswith(TIME_PREFIX)]
    if not lines:
        return None
    if len(lines) > 1:
        raise CheckpointError(f"checkpoint has {len(lines)} time lines, at most one allowed")
    value = lines[0][len(TIME_PREFIX):]
    if not _SIZE_RE.fullmatch(value) or len(value) > len(str(MAX_TIME)) or int(value) > MAX_TIME:
        raise CheckpointError(
            f"checkpoint time must be POSIX seconds up to {MAX_TIME} without leading zeros, got {value[:40]!r}"
        )
    return datetime.fromtimestamp(int(value), tz=UTC)


def parse_body(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint body must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint body needs origin, size and root lines, got {len(lines)} lines"
        )
    origin, size, root, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin line is empty")
    if not _SIZE_RE.fullmatch(size):
        raise CheckpointError(
            f"checkpoint size must be decimal without leading zeros, got {size!r}"
        )
    root_bytes = decode_base64(root, "checkpoint root")
    if len(root_bytes) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root is {len(root_bytes)} bytes, want {HASH_SIZE}")
    return Checkpoint(origin, int(size), root_bytes, tuple(extensions))


# --- signed note --------------------------------------------------------------------------------


def split_note(note: object) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Body text and the (name, key hash, signature) of each signature line, unverified."""
    if not isinstance(note, str):
        raise CheckpointError(f"note must be a string, got {type(note).__name__}")
    _check_text(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block.endswith("\n"):
        raise CheckpointError("note signatures must end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has {len(lines)} signatures, at most {MAX_SIGNATURES} allowed")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(
                f"signature line must start with an em dash and a space: {line!r}"
            )
        name, sep, sig_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep:
            raise CheckpointError(f"signature line must be '— <name> <signature>': {line!r}")
        check_key_name(name)
        blob = decode_base64(sig_b64, f"signature by {name}")
        if len(blob) < 5:
            raise CheckpointError(
                f"signature by {name} is {len(blob)} bytes, want a key hash and more"
            )
        signatures.append((name, blob[:4], blob[4:]))
    return text, signatures


def signature_line(name: str, key_hash: bytes, signature: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(key_hash + signature).decode('ascii')}\n"


class LogKey:
    """The log's private Ed25519 signing key and its signed-note name.

    Build one with ``generate``, ``from_private_bytes`` (32-byte seed) or ``from_signer_key``
    (the Go ``PRIVATE+KEY+...`` string); hand out ``verifier_key`` to verifiers.
    """

    __slots__ = ("_name", "_private", "_public", "_key_hash")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._name = check_key_name(name)
        self._private = private_key
        self._public = private_key.public_key().public_bytes_raw()
        self._key_hash = _key_hash(name, self._public)

    @classmethod
    def generate(cls, name: str) -> LogKey:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, seed: bytes) -> LogKey:
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise CheckpointError("an Ed25519 private key is a 32-byte seed")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_signer_key(cls, skey: str) -> LogKey:
        """Parse ``PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>``, checking the hash."""
        if not isinstance(skey, str):
            raise CheckpointError(f"signer key must be a string, got {type(skey).__name__}")
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("signer key must be PRIVATE+KEY+<name>+<hash>+<key>")
        _, _, name, hash_hex, key_b64 = parts
        key = decode_base64(key_b64, "signer key")
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise CheckpointError(
                f"signer key must be 0x01 and a 32-byte seed, got {len(key)} bytes"
            )
        log_key = cls.from_private_bytes(name, key[1:])
        if log_key.key_hash.hex() != hash_hex:
            raise CheckpointError(
                f"signer key hash is {hash_hex!r}, but the key hashes to {log_key.key_hash.hex()}"
            )
        return log_key

    def to_private_bytes(self) -> bytes:
        """The 32-byte seed. Keep it secret."""
        return self._private.private_bytes_raw()

    @property
    def signer_key(self) -> str:
        """The Go ``PRIVATE+KEY+...`` string. Keep it secret."""
        seed = base64.b64encode(bytes([ALG_ED25519]) + self.to_private_bytes()).decode("ascii")
        return f"PRIVATE+KEY+{self._name}+{self._key_hash.hex()}+{seed}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_hash(self) -> bytes:
        return self._key_hash

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def verifier_key(self) -> str:
        """``<name>+<hash>+<base64(0x01 || public key)>``: what verifiers are configured with."""
        key = base64.b64encode(bytes([ALG_ED25519]) + self._public).decode("ascii")
        return f"{self._name}+{self._key_hash.hex()}+{key}"

    def sign_note(self, text: str) -> str:
        """A signed note of ``text`` (non-empty, newline-terminated) with one signature line."""
        _check_text(text, "note text")
        if not text.endswith("\n") or "\n\n" in text:
            raise CheckpointError("note text must end with a newline and have no blank line")
        signature = self._private.sign(text.encode("utf-8"))
        return text + "\n" + signature_line(self._name, self._key_hash, signature)

    def sign_message(self, signature_base: bytes) -> bytes:
        """The raw Ed25519 signature of an RFC 9421 signature base (the log's signed requests to peers).

        A signature base starts with a quoted component name (``"@method": ...``), which no note's
        first line, an origin without spaces, can be: no request signature can pass for a checkpoint's.
        """
        if not signature_base.startswith(b'"'):
            raise CheckpointError("the log key signs notes, and RFC 9421 signature bases (which start with a quote)")
        return self._private.sign(signature_base)

    def __repr__(self) -> str:
        return f"LogKey({self._name!r}, key_hash={self._key_hash.hex()})"


def open_note(note: str, verifier_key: str) -> str:
    """The text of ``note`` if it carries a valid signature by ``verifier_key``."""
    name, key_hash, public = parse_verifier_key(verifier_key)
    text, signatures = split_note(note)
    verified = False
    for sig_name, sig_hash, signature in signatures:
        if (sig_name, sig_hash) != (name, key_hash):
            continue  # a co-signer or witness we were not asked about
        # Unlike Go, which skips repeats, every line claiming our key must verify.
        if len(signature) != _SIGNATURE_SIZE:
            raise CheckpointError(
                f"signature by {name} is {len(signature)} bytes, want {_SIGNATURE_SIZE}"
            )
        try:
            public.verify(signature, text.encode("utf-8"))
        except InvalidSignature as e:
            raise CheckpointError(f"signature by {name} ({key_hash.hex()}) does not verify") from e
        verified = True
    if not verified:
        raise CheckpointError(f"note has no signature by {name} ({key_hash.hex()})")
    return text


# --- the public API -----------------------------------------------------------------------------


def sign_checkpoint(cp: Checkpoint, key: LogKey) -> str:
    """The checkpoint as a signed note, signed by the log key."""
    return key.sign_note(cp.body())


def verify_checkpoint(note: str, verifier_key: str, origin: str | None = None) -> Checkpoint:
    """The checkpoint in ``note`` after checking its signature by ``verifier_key``.

    ``origin``, when given, must equal the checkpoint's origin: a valid checkpoint of another
    log is refused, not silently accepted.
    """
    cp = parse_body(open_note(note, verifier_key))
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin is {cp.origin!r}, want {origin!r}")
    return cp


def parse_checkpoint(note: str) -> Checkpoint:
    """The checkpoint in ``note`` WITHOUT checking any signature: for display only."""
    text, _ = split_note(note)
    return parse_body(text)
