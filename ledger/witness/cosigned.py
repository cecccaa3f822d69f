"""The log's checkpoints with the cosignatures its witnesses returned: which one to hand a verifier,
and what the stored cosignatures say under a verifier's policy.

Witnessing runs behind appends, so the newest checkpoint is often not cosigned yet: what goes to
an offline verifier is the newest checkpoint covering what it must prove that the most witnesses
cosigned. A stored cosignature that no longer verifies on the checkpoint the log now holds means
the witness cosigned another tree of that size: it saw another history.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from ledger.errors import CosignatureError
from ledger.log.cosignature import verify_cosignatures
from ledger.log.policy import Evaluation, Policy
from ledger.store.ledger import Ledger
from ledger.store.tables import CheckpointRow, CosignatureRow
from ledger.witness.cosigners import cosigned_note

__all__ = ["RECENT", "best_cosigned", "checkpoint_note", "Contradiction", "WitnessReport", "witness_report"]

RECENT = 64
"""How many of the newest cosigned checkpoints `best_cosigned` weighs: older ones cover less of the log."""


def best_cosigned(ledger: Ledger, covering: int = 0) -> tuple[CheckpointRow, str]:
    """Of the ``RECENT`` newest cosigned checkpoints, the one of size > ``covering`` cosigned by the
    most witnesses (the newest of those), with its cosigned note; a fresh checkpoint when none is."""
    witnesses = func.count(func.distinct(CosignatureRow.witness))
    recent = (select(col(CosignatureRow.checkpoint_id)).distinct().order_by(col(CosignatureRow.checkpoint_id).desc())
              .limit(RECENT).scalar_subquery())
    query = (select(CheckpointRow).join(CosignatureRow, col(CosignatureRow.checkpoint_id) == col(CheckpointRow.id))
             .where(col(CheckpointRow.size) > covering, col(CheckpointRow.id).in_(recent)).group_by(col(CheckpointRow.id))
             .order_by(witnesses.desc(), col(CheckpointRow.size).desc(), col(CheckpointRow.id).desc()).limit(1))
    with Session(ledger.db.reader, expire_on_commit=False) as session:
        row = session.execute(query).scalars().first()
    if row is None:
        row = ledger.checkpoint()
    return row, cosigned_note(ledger, row)


def checkpoint_note(ledger: Ledger) -> str:
    """The checkpoint as published at ``<prefix>/checkpoint`` (served tiles, exported tiles): `best_cosigned`'s,
    so a verifier whose policy requires witnesses finds their cosignatures on it. With no witness
    configured it is the newest, signed first when the log has grown. Every place that publishes
    the note takes it from here."""
    return best_cosigned(ledger)[1]


@dataclass(frozen=True)
class Contradiction:
    """A stored cosignature by a policy witness that does not verify on the log's checkpoint of that size."""

    witness: str
    """The policy's name of the witness."""
    stored_as: str
    """The name the log keeps it under (`tracemark witnesses`)."""
    size: int
    detail: str


@dataclass(frozen=True)
class WitnessReport:
    cosigned: dict[int, list[str]]
    """Checkpoint size -> the policy witnesses whose stored cosignature on it verifies."""
    contradictions: list[Contradiction]
    latest: Evaluation | None
    """The newest checkpoint with any cosignature, judged by the policy (None if there is none)."""


def witness_report(ledger: Ledger, policy: Policy, log_vkey: str) -> WitnessReport:
    """Check every stored cosignature by a witness of ``policy`` against the checkpoint it is kept for."""
    by_key = {(w.verifier.name, w.verifier.key_id.hex()): w for w in policy.witnesses.values()}
    query = (select(CheckpointRow, CosignatureRow).join(CosignatureRow, col(CosignatureRow.checkpoint_id) == col(CheckpointRow.id))
             .order_by(col(CheckpointRow.size), col(CheckpointRow.id), col(CosignatureRow.witness)))
    cosigned: dict[int, list[str]] = {}
    contradictions: list[Contradiction] = []
    newest: CheckpointRow | None = None
    with Session(ledger.db.reader, expire_on_commit=False) as session:
        rows = session.execute(query).all()
    for checkpoint, row in rows:
        newest = checkpoint
        name = row.line[2:].split(" ", 1)[0]
        witness = by_key.get((name, row.key_id))
        if witness is None:
            continue  # a cosigner the policy does not trust says nothing to this verifier
        try:
            verify_cosignatures(checkpoint.note + row.line, [witness.verifier])
        except CosignatureError as e:
            contradictions.append(Contradiction(witness.name, row.witness, checkpoint.size, str(e)))
            continue
        names = cosigned.setdefault(checkpoint.size, [])
        if witness.name not in names:
            names.append(witness.name)
    latest = None
    if newest is not None and not contradictions:
        latest = policy.evaluate(cosigned_note(ledger, newest), log_vkey)
    return WitnessReport(cosigned, contradictions, latest)
