"""Offline proofs of logging (C2SP ``tlog-proof``) of one Tracemark entry, and their verification.

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's canonical bytes>
    index <seq>
    <base64 inclusion proof hash>...

    <the cosigned checkpoint note, verbatim>

The ``extra`` line carries the entry bytes (``ledger.log.entry``): the leaf hash is SHA-256(0x00 ||
those bytes), so nothing in them is trusted until the inclusion proof binds that hash to a
checkpoint the policy accepts. Every malformed or unverifiable proof is a ``TlogProofError``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, cast

import orjson

from ledger.errors import LedgerError
from ledger.log import merkle
from ledger.log.policy import Evaluation, Policy

__all__ = ["HEADER", "SUFFIX", "TlogProofError", "TlogProof", "ProvenEntry", "verify_tlog_proof"]

HEADER = "c2sp.org/tlog-proof@v1"
SUFFIX = ".tlog-proof"
"""The file extension the spec recommends."""
_INDEX_RE = re.compile(r"index (0|[1-9][0-9]*)")
MAX_PROOF_HASHES = 64
"""A tree of 2**64 leaves has inclusion proofs of at most 64 hashes."""


class TlogProofError(LedgerError):
    """A tlog-proof is malformed, or it does not prove its entry under the policy."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: tuple[bytes, ...]
    note: str
    """The checkpoint as the log issued it, with its cosignatures."""
    extra: bytes | None = None

    def text(self) -> str:
        """The proof file's text."""
        extra = "" if self.extra is None else f"extra {base64.b64encode(self.extra).decode('ascii')}\n"
        hashes = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in self.proof)
        return f"{HEADER}\n{extra}index {self.index}\n{hashes}\n{self.note}"

    @classmethod
    def parse(cls, data: bytes | str) -> TlogProof:
        """A proof from its file's text; the first thing that does not fit the format is named."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as e:
            raise TlogProofError("a tlog-proof is UTF-8 text") from e
        head, sep, note = text.partition("\n\n")
        if not sep:
            raise TlogProofError("a tlog-proof needs an empty line between its proof lines and the checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise TlogProofError(f"the first line must be {HEADER!r}, got {lines[0][:80]!r}")
        rest = lines[1:]
        extra = None
        if rest and rest[0].startswith("extra "):
            extra = _b64(rest.pop(0)[len("extra "):], "the extra line", None)
        if not rest or _INDEX_RE.fullmatch(rest[0]) is None:
            got = rest[0][:80] if rest else "nothing"
            raise TlogProofError(f"an 'index <n>' line (decimal, no leading zeros) must follow, got {got!r}")
        index = int(rest[0][len("index "):])
        hashes = rest[1:]
        if len(hashes) > MAX_PROOF_HASHES:
            raise TlogProofError(f"{len(hashes)} inclusion proof lines, at most {MAX_PROOF_HASHES}")
        proof = tuple(_b64(line, f"inclusion proof line {n}", merkle.HASH_SIZE) for n, line in enumerate(hashes, 1))
        return cls(index, proof, note, extra)


def _b64(text: str, what: str, size: int | None) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as e:
        raise TlogProofError(f"{what} is not base64: {text[:80]!r}") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise TlogProofError(f"{what} is not canonical base64: {text[:80]!r}")
    if size is not None and len(raw) != size:
        raise TlogProofError(f"{what} is {len(raw)} bytes, want a {size}-byte SHA-256 hash")
    return raw


@dataclass(frozen=True)
class ProvenEntry:
    """An entry proven in a checkpoint the policy accepts: what it says, and who vouched for it."""

    seq: int
    entry: dict[str, Any]
    evaluation: Evaluation

    @property
    def event(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.entry["event"])  # `_entry` checked it is an object


def verify_tlog_proof(proof: TlogProof, policy: Policy, log_vkey: str | None = None) -> ProvenEntry:
    """Verify ``proof`` as tlog-proof says: leaf hash, log signature, quorum, inclusion.

    ``log_vkey`` is the log's key when the policy lists no log. The extra data is trusted only
    through its hash: it must be an entry of the index proven, and that leaf must be in the tree.
    """
    if proof.extra is None:
        raise TlogProofError("the proof has no extra line: a Tracemark proof carries the entry bytes it proves")
    leaf = merkle.leaf_hash(proof.extra)
    entry = _entry(proof.extra)
    if entry["seq"] != proof.index:
        raise TlogProofError(f"the extra data is entry {entry['seq']}, but the proof is for index {proof.index}")
    evaluation = policy.evaluate(proof.note, log_vkey).require()
    checkpoint = evaluation.checkpoint
    try:
        merkle.verify_inclusion(leaf, proof.index, checkpoint.size, proof.proof, checkpoint.root)
    except merkle.ProofError as e:
        raise TlogProofError(f"entry {proof.index} is not in the checkpoint of size {checkpoint.size}: {e}") from e
    return ProvenEntry(proof.index, entry, evaluation)


def _entry(extra: bytes) -> dict[str, Any]:
    try:
        entry = orjson.loads(extra)
    except orjson.JSONDecodeError as e:
        raise TlogProofError(f"the extra data is not a log entry (JSON): {e}") from e
    if not isinstance(entry, dict) or not isinstance(entry.get("event"), dict) or type(entry.get("seq")) is not int:
        raise TlogProofError("the extra data is not a log entry: an object with an event and a seq")
    return entry
