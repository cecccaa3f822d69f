"""The witness (C2SP ``tlog-witness``): cosigns other logs' checkpoints that extend what it saw.

Each witnessed log is a row of ``witnessed_log``: its origin, the verifier key its checkpoints
must carry, and the latest checkpoint the witness cosigned. ``add_checkpoint`` takes the body of
``POST <prefix>/add-checkpoint`` and either returns the cosignature lines or raises a
``WitnessRefusal`` carrying the HTTP status the spec fixes. The stored (size, root) is replaced by
one compare-and-swap UPDATE conditioned on the state the request was checked against, committed
before the cosignatures are returned: two concurrent submissions can never roll it back, on
SQLite or PostgreSQL, and a witness killed at any point keeps what it answered.

Concurrent submissions (of many logs) share one transaction: the durable commit, not the
checking, is what a submission costs, so a `SwapGroup` commits every swap queued meanwhile at
once, each UPDATE still conditioned on its own state (docs/performance.md, "The witness").
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from ledger.errors import CheckpointError, LedgerError, NotFound, StoreError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, open_note, parse_body, parse_verifier_key, split_note
from ledger.log.codec import format_time, utc_now
from ledger.log.cosignature import ED25519, ML_DSA_44, CosignerKey, CosignerVerifier, cosign, verify_cosignatures
from ledger.store.db import Database, select_sql
from ledger.store.tables import WitnessedLog

__all__ = ["WitnessRefusal", "SizeConflict", "AddCheckpoint", "Witness", "SwapGroup", "parse_add_checkpoint", "origin_hash",
           "check_log_signature"]

MAX_PROOF_LINES = 63
"""A client MUST NOT send more consistency proof lines than this."""
_OLD_RE = re.compile(r"old (0|[1-9][0-9]*)")

_TABLE = WitnessedLog.__table__  # type: ignore[attr-defined]
_SWAP = (update(_TABLE)
         .where(_TABLE.c.origin == bindparam("b_origin"), _TABLE.c.vkey == bindparam("b_vkey"),
                _TABLE.c.size == bindparam("b_old_size"), _TABLE.c.root == bindparam("b_old_root"))
         .values(size=bindparam("b_size"), root=bindparam("b_root"), note=bindparam("b_note"),
                 updated_at=bindparam("b_now")))
"""The compare-and-swap: the new state is written only if the state (and key) is still the one checked."""
_STATE = select(col(WitnessedLog.vkey), col(WitnessedLog.size), col(WitnessedLog.root)).where(
    col(WitnessedLog.origin) == bindparam("origin"))


@dataclass(frozen=True)
class _State:
    """What a submission is checked against: the log's key and the latest (size, root) cosigned."""

    origin: str
    vkey: str
    size: int
    root: bytes


@dataclass
class _Swap:
    params: dict[str, Any]
    swapped: bool = False
    error: BaseException | None = None
    done: bool = False


class SwapGroup:
    """Compare-and-swaps made at the same time by many threads, committed in one transaction.

    Each thread queues its swap, then waits for the commit lock; the thread that takes it finds its
    swap committed by the one before (and returns) or commits every swap queued so far. Each UPDATE
    keeps its own condition, so a group behaves as its swaps made one by one in queue order: of two
    swaps of one log from the same state, the second finds the state moved and fails.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_Swap] = []
        self._queued = threading.Lock()
        self._commit = threading.Lock()

    def swap(self, params: dict[str, Any]) -> bool:
        """Run `_SWAP` with `params` in a group; whether it changed the row."""
        mine = _Swap(params)
        with self._queued:
            self._queue.append(mine)
        with self._commit:
            if not mine.done:
                with self._queued:
                    group, self._queue = self._queue, []
                self._run(group)
        if mine.error is not None:
            raise StoreError(f"the witness state could not be written: {mine.error}") from mine.error
        return mine.swapped

    def _run(self, group: list[_Swap]) -> None:
        """One transaction straight through the driver: SQLAlchemy's connection and result objects
        cost more than the UPDATEs themselves."""
        compiled = select_sql(_SWAP, self.db.writer.dialect)
        connection = self.db.writer.raw_connection()
        try:
            cursor = connection.cursor()
            if self.db.is_sqlite:  # the driver is left in autocommit: the write lock is taken here, as the engine would
                cursor.execute("BEGIN IMMEDIATE")
            for swap in group:
                cursor.execute(compiled.sql, compiled.arguments(swap.params))
                swap.swapped = cursor.rowcount == 1
            connection.commit()
        except Exception as e:  # noqa: BLE001  (every swap of the group is then unwritten, and says so)
            connection.rollback()
            for swap in group:
                swap.error = e
        finally:
            connection.close()
        for swap in group:
            swap.done = True


class WitnessRefusal(LedgerError):
    """The witness will not cosign: ``status`` is the HTTP status tlog-witness fixes for the reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class SizeConflict(WitnessRefusal):
    """The old size is not the size of the latest checkpoint the witness cosigned (409)."""

    def __init__(self, size: int) -> None:
        super().__init__(409, f"the latest checkpoint cosigned for this log has size {size}")
        self.size = size


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed add-checkpoint request: the old size, the consistency proof and the signed note."""

    old_size: int
    proof: list[bytes]
    note: str
    checkpoint: Checkpoint


def origin_hash(origin: str) -> str:
    """The lower-case hex SHA-256 of an origin: its path under the monitoring prefix."""
    return sha256(origin.encode("utf-8")).hexdigest()


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Split an add-checkpoint body; anything malformed is a 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WitnessRefusal(400, "the request body is not UTF-8") from e
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessRefusal(400, "the request needs an old size line, proof lines, an empty line, then the checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_RE.fullmatch(old_line)
    if match is None:
        raise WitnessRefusal(400, f"the first line must be 'old <size>' in decimal without leading zeros, got {old_line[:80]!r}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"{len(proof_lines)} consistency proof lines, at most {MAX_PROOF_LINES} allowed")
    proof = [_proof_hash(line) for line in proof_lines]
    try:
        checkpoint = parse_body(split_note(note)[0])
    except CheckpointError as e:
        raise WitnessRefusal(400, f"the checkpoint is malformed: {e}") from e
    old_size = int(match.group(1))
    if old_size >= 2**64:
        raise WitnessRefusal(400, f"old size {old_size} is beyond 2**64 - 1")
    return AddCheckpoint(old_size, proof, note, checkpoint)


def _proof_hash(line: str) -> bytes:
    try:
        raw = base64.b64decode(line.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as e:
        raise WitnessRefusal(400, f"consistency proof line is not base64: {line[:80]!r}") from e
    if len(raw) != merkle.HASH_SIZE or base64.b64encode(raw).decode("ascii") != line:
        raise WitnessRefusal(400, f"consistency proof line is not one base64 SHA-256 hash: {line[:80]!r}")
    return raw


class Witness:
    """The witness of the logs in ``witnessed_log``, cosigning with ``keys``."""

    def __init__(self, db: Database, keys: Sequence[CosignerKey]) -> None:
        self.db = db
        self.keys = list(keys)
        self._swaps = SwapGroup(db)
        self._kept: dict[str, _State] = {}
        """Each log's state as this witness last wrote it: what a request is checked against first."""

    # --- configuration ----------------------------------------------------------------------

    def add_log(self, origin: str, vkey: str) -> WitnessedLog:
        """Start witnessing ``origin``, whose checkpoints ``vkey`` signs (it has not cosigned any yet)."""
        _check_log_key(origin, vkey)
        row = WitnessedLog(origin=origin, vkey=vkey, size=0, root=merkle.EMPTY_ROOT, note=None, updated_at=format_time(utc_now()))
        try:
            with Session(self.db.writer, expire_on_commit=False) as session, session.begin():
                session.add(row)
        except IntegrityError as e:
            raise StoreError(f"log {origin!r} is already witnessed: remove it first to change its key") from e
        return row

    def remove_log(self, origin: str) -> None:
        self._kept.pop(origin, None)
        with Session(self.db.writer) as session, session.begin():
            if cast(CursorResult[Any], session.execute(delete(_TABLE).where(_TABLE.c.origin == origin))).rowcount == 0:
                raise NotFound("witnessed log", origin)

    def logs(self) -> list[WitnessedLog]:
        with Session(self.db.reader, expire_on_commit=False) as session:
            return list(session.execute(select(WitnessedLog).order_by(WitnessedLog.origin)).scalars())

    def log(self, origin: str) -> WitnessedLog | None:
        with Session(self.db.reader, expire_on_commit=False) as session:
            return session.get(WitnessedLog, origin)

    # --- add-checkpoint ---------------------------------------------------------------------

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature lines for the checkpoint in ``body``, once its new state is committed."""
        request = parse_add_checkpoint(body)
        state = self._checked(request)
        lines = cosign(request.checkpoint, self.keys)
        self._swap(state, request, request.note.rstrip("\n") + "\n" + lines)
        return lines

    def _checked(self, request: AddCheckpoint) -> _State:
        """The state ``request`` extends. It is checked against the state this witness last wrote,
        kept in memory; only a request that state refuses (it may be stale: another process, or
        ``tracemark witness logs``, changed the row) is judged again on the database's state."""
        kept = self._kept.get(request.checkpoint.origin)
        if kept is not None:
            try:
                _check(request, kept)
                return kept
            except WitnessRefusal:
                pass
        state = self._state(request.checkpoint.origin)
        _check(request, state)
        return state

    def _state(self, origin: str) -> _State:
        """The log's state as committed now (one indexed read straight through the driver); 404 if it is not witnessed."""
        self._kept.pop(origin, None)
        row = self.db.fetch_one(_STATE, {"origin": origin})
        if row is None:
            raise WitnessRefusal(404, f"this witness does not witness the log {origin!r}")
        return _State(origin, row[0], row[1], bytes(row[2]))

    def _swap(self, state: _State, request: AddCheckpoint, note: str) -> None:
        """Write the new state if it is still ``state``; otherwise another request moved it, and the
        request is refused as the state now committed calls for (409, or 403/404 for a changed log)."""
        checkpoint = request.checkpoint
        params = {"b_origin": state.origin, "b_vkey": state.vkey, "b_old_size": state.size, "b_old_root": state.root, "b_size": checkpoint.size,
                  "b_root": checkpoint.root, "b_note": note, "b_now": format_time(utc_now())}
        if not self._swaps.swap(params):
            now = self._state(state.origin)
            _check(request, now)
            raise SizeConflict(now.size)  # it moved, and back to what the request extends, meanwhile: the log submits again
        self._kept[state.origin] = _State(state.origin, state.vkey, checkpoint.size, checkpoint.root)

    def latest(self, hashed_origin: str) -> str:
        """The latest cosigned checkpoint of the log whose origin hashes to ``hashed_origin`` (monitoring)."""
        for row in self.logs():
            if origin_hash(row.origin) == hashed_origin and row.note is not None:
                return row.note
        raise NotFound("cosigned checkpoint of the log with origin hash", hashed_origin)


def _check(request: AddCheckpoint, state: _State) -> None:
    """Every refusal tlog-witness lists, in its order, for ``request`` against the log's ``state``."""
    checkpoint = request.checkpoint
    try:
        check_log_signature(request.note, state.vkey)
    except CheckpointError as e:
        raise WitnessRefusal(403, f"the checkpoint is not signed by the log's key: {e}") from e
    if request.old_size > checkpoint.size:
        raise WitnessRefusal(400, f"old size {request.old_size} is beyond the checkpoint's size {checkpoint.size}")
    if request.old_size != state.size:
        raise SizeConflict(state.size)
    if checkpoint.size == 0 and checkpoint.root != merkle.EMPTY_ROOT:
        raise WitnessRefusal(422, "a checkpoint of size 0 must have the empty tree's root")
    if request.old_size == 0 and request.proof:
        raise WitnessRefusal(422, "from old size 0 the consistency proof must be empty")
    if request.old_size == checkpoint.size and checkpoint.root != state.root:
        raise WitnessRefusal(422, f"the checkpoint has size {checkpoint.size}, as cosigned before, but another root")
    try:
        merkle.verify_consistency(state.size, checkpoint.size, state.root, checkpoint.root, request.proof)
    except merkle.ProofError as e:
        raise WitnessRefusal(422, f"the consistency proof does not verify: {e}") from e


def _is_cosigner_key(vkey: str) -> bool:
    """Whether a vkey is a cosignature key (0x04, 0x06) rather than a signed-note Ed25519 key (0x01)."""
    try:
        kind = base64.b64decode(vkey.split("+", 2)[2].encode("ascii"), validate=True)[:1]
    except (IndexError, UnicodeEncodeError, binascii.Error, ValueError):
        return False  # the parsers below say what is wrong with it
    return kind in (bytes([ED25519]), bytes([ML_DSA_44]))


def _check_log_key(origin: str, vkey: str) -> None:
    """The log's verifier key must parse, and an origin must be one a checkpoint can carry."""
    Checkpoint(origin, 0, merkle.EMPTY_ROOT)
    if _is_cosigner_key(vkey):
        CosignerVerifier.from_vkey(vkey)
    else:
        parse_verifier_key(vkey)


def check_log_signature(note: str, vkey: str) -> None:
    """The log's signature on ``note`` by ``vkey``: a signed-note Ed25519 signature, or (as
    tlog-checkpoint recommends logs sign) a cosignature of its own; CheckpointError if none verifies."""
    if not _is_cosigner_key(vkey):
        open_note(note, vkey)
        return
    verifier = CosignerVerifier.from_vkey(vkey)
    if not verify_cosignatures(note, [verifier])[1]:
        raise CheckpointError(f"note has no signature by {verifier.name} ({verifier.key_id.hex()})")
