"""The witnesses this log submits its checkpoints to, and the cosignatures they return.

Each witness is a row of ``witness``: a name, its cosigner verifier keys (Ed25519 and/or
ML-DSA-44 vkeys), the URL its ``add-checkpoint`` is under (the tlog-witness submission prefix),
and the size it last cosigned. Verified cosignature lines are kept per checkpoint in
``cosignature``; ``cosigned_note`` is the one place that puts them on the checkpoint's note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from ledger.errors import NotFound, StoreError
from ledger.log.checkpoint import parse_checkpoint
from ledger.log.codec import format_time, utc_now
from ledger.log.cosignature import Cosignature, CosignerVerifier
from ledger.store.ledger import Ledger
from ledger.store.tables import CheckpointRow, CosignatureRow, WitnessRow

__all__ = [
    "add_witness",
    "remove_witness",
    "list_witnesses",
    "verifiers_of",
    "parse_vkeys",
    "cosigned_note",
    "cosignatures_of",
    "record_cosignatures",
    "record_size",
    "record_error",
]

_WITNESS = WitnessRow.__table__  # type: ignore[attr-defined]
_COSIGNATURE = CosignatureRow.__table__  # type: ignore[attr-defined]


def parse_vkeys(text: str) -> list[CosignerVerifier]:
    """One or more cosigner vkeys separated by white space (as `tracemark witness key` prints them)."""
    verifiers = [CosignerVerifier.from_vkey(vkey) for vkey in text.split()]
    if not verifiers:
        raise StoreError("a witness needs at least one verifier key")
    return verifiers


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise StoreError(f"a witness URL is http(s)://host[:port][/prefix] without query or fragment, got {url!r}")
    return url.rstrip("/")


def add_witness(ledger: Ledger, name: str, vkeys: str, url: str) -> WitnessRow:
    """Submit this log's checkpoints to the witness at ``url`` from now on, keeping what ``vkeys`` sign."""
    if not name or any(c.isspace() for c in name):
        raise StoreError(f"a witness name is one word, got {name!r}")
    verifiers = parse_vkeys(vkeys)
    row = WitnessRow(name=name, vkeys="\n".join(v.vkey for v in verifiers), url=_check_url(url), size=0,
                     added_at=format_time(utc_now()))
    try:
        with Session(ledger.db.writer, expire_on_commit=False) as session, session.begin():
            session.add(row)
    except IntegrityError as e:
        raise StoreError(f"witness {name!r} is already configured: remove it first to change it") from e
    return row


def remove_witness(ledger: Ledger, name: str) -> None:
    """Stop submitting to ``name`` and forget the cosignatures it gave."""
    with Session(ledger.db.writer) as session, session.begin():
        if cast(CursorResult[Any], session.execute(delete(_WITNESS).where(_WITNESS.c.name == name))).rowcount == 0:
            raise NotFound("witness", name)
        session.execute(delete(_COSIGNATURE).where(_COSIGNATURE.c.witness == name))


def list_witnesses(ledger: Ledger) -> list[WitnessRow]:
    with Session(ledger.db.reader, expire_on_commit=False) as session:
        return list(session.execute(select(WitnessRow).order_by(WitnessRow.name)).scalars())


def verifiers_of(witness: WitnessRow) -> list[CosignerVerifier]:
    return [CosignerVerifier.from_vkey(vkey) for vkey in witness.vkeys.split()]


def cosignatures_of(ledger: Ledger, checkpoint_id: int) -> list[CosignatureRow]:
    """The cosignatures kept for one checkpoint, in a fixed order (witness, then key ID)."""
    query = (select(CosignatureRow).where(col(CosignatureRow.checkpoint_id) == checkpoint_id)
             .order_by(col(CosignatureRow.witness), col(CosignatureRow.key_id)))
    with Session(ledger.db.reader, expire_on_commit=False) as session:
        return list(session.execute(query).scalars())


def cosigned_note(ledger: Ledger, checkpoint: CheckpointRow) -> str:
    """The checkpoint's signed note, the log's own timestamp cosignature, then every witness
    cosignature gathered for it.

    The log's cosignature/v1 line signs the time inside the note (Ed25519 is deterministic: the
    same line every time), so it is made here rather than kept: the stored note stays exactly
    what the audit checks, and no stored byte goes unchecked.
    """
    assert checkpoint.id is not None
    own = ""
    if ledger.log_cosigner is not None:
        body = parse_checkpoint(checkpoint.note)
        if body.signed_time is not None:
            own = ledger.log_cosigner.cosign(body, int(body.signed_time.timestamp()))
    return checkpoint.note + own + "".join(row.line for row in cosignatures_of(ledger, checkpoint.id))


def record_cosignatures(ledger: Ledger, witness: str, checkpoint: CheckpointRow, cosignatures: Sequence[Cosignature]) -> None:
    """Keep a witness's verified cosignatures of ``checkpoint``; the witness has now cosigned its size."""
    rows = [{"checkpoint_id": checkpoint.id, "witness": witness, "key_id": c.key_id.hex(), "timestamp": c.timestamp,
             "line": c.line} for c in cosignatures]
    with Session(ledger.db.writer) as session, session.begin():
        session.execute(delete(_COSIGNATURE).where(_COSIGNATURE.c.checkpoint_id == checkpoint.id,
                                                   _COSIGNATURE.c.witness == witness))
        session.execute(_COSIGNATURE.insert(), rows)
        session.execute(update(_WITNESS).where(_WITNESS.c.name == witness).values(size=checkpoint.size, last_error=None))


def record_size(ledger: Ledger, witness: str, size: int) -> None:
    """The size the witness says it last cosigned (its answer to a stale old size)."""
    with Session(ledger.db.writer) as session, session.begin():
        session.execute(update(_WITNESS).where(_WITNESS.c.name == witness).values(size=size))


def record_error(ledger: Ledger, witness: str, error: str) -> None:
    with Session(ledger.db.writer) as session, session.begin():
        session.execute(update(_WITNESS).where(_WITNESS.c.name == witness).values(last_error=error[:500]))
