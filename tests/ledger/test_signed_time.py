"""A checkpoint's time is signed by the log: a `time` extension line inside its C2SP note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from ledger.audit.recompute import AuditReport, audit
from ledger.errors import CheckpointError
from ledger.log.checkpoint import Checkpoint, LogKey, parse_checkpoint, sign_checkpoint, verify_checkpoint
from ledger.log.codec import format_time
from ledger.log.merkle import leaf_hash
from ledger.store.ledger import Ledger
from tests.conftest import NOW
from tests.support import World

ORIGIN = "tracemark.example/log/test"
KEY = LogKey.from_private_bytes(ORIGIN, bytes(range(32)))
ROOT = leaf_hash(b"root")
MOMENT = datetime(2026, 11, 23, 12, 0, 5, 678_000, tzinfo=UTC)


def test_the_time_is_an_extension_line_after_the_three_standard_lines() -> None:
    cp = Checkpoint.signed_at(ORIGIN, 7, ROOT, MOMENT)
    note = sign_checkpoint(cp, KEY)
    origin, size, root, time_line, blank = note.split("\n")[:5]
    assert (origin, size, root) == (ORIGIN, "7", cp.body().split("\n")[2])
    assert time_line == f"time {int(MOMENT.timestamp())}" and blank == ""
    signed = verify_checkpoint(note, KEY.verifier_key, ORIGIN)
    assert signed.signed_time == MOMENT.replace(microsecond=0)


def test_a_checkpoint_signed_without_a_time_still_verifies_and_says_so() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), KEY)
    assert verify_checkpoint(note, KEY.verifier_key, ORIGIN).signed_time is None


def test_the_time_cannot_be_changed_without_breaking_the_signature() -> None:
    note = sign_checkpoint(Checkpoint.signed_at(ORIGIN, 7, ROOT, MOMENT), KEY)
    moved = note.replace(f"time {int(MOMENT.timestamp())}", f"time {int(MOMENT.timestamp()) + 86_400}")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(moved, KEY.verifier_key, ORIGIN)


@pytest.mark.parametrize("lines, message", [
    (("time 01",), "without leading zeros"),
    (("time -5",), "without leading zeros"),
    (("time 1.5",), "without leading zeros"),
    (("time ",), "without leading zeros"),
    (("time " + "9" * 5000,), "POSIX seconds up to"),
    (("time 253402300800",), "POSIX seconds up to"),  # the first second of year 10000
    (("time 1", "time 2"), "2 time lines"),
])
def test_a_malformed_time_is_refused_even_when_signed(lines: tuple[str, ...], message: str) -> None:
    body = Checkpoint(ORIGIN, 7, ROOT).body() + "".join(line + "\n" for line in lines)
    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(KEY.sign_note(body), KEY.verifier_key, ORIGIN)


def test_the_log_signs_its_clock_and_stores_the_same_time(ledger: Ledger) -> None:
    World(ledger)
    row = ledger.checkpoint()
    signed = parse_checkpoint(row.note).signed_time
    assert signed == NOW
    assert row.created_at == format_time(signed)


def _audit(ledger: Ledger) -> AuditReport:
    with ledger.reading() as session:
        return audit(session, ledger.log_key.verifier_key, ledger.origin)


def _update_checkpoint(ledger: Ledger, row_id: int, **values: str) -> None:
    table = sqlalchemy.table("checkpoint", sqlalchemy.column("id"), *(sqlalchemy.column(k) for k in values))
    with ledger.db.writer.begin() as db:
        db.execute(sqlalchemy.update(table).where(table.c.id == row_id).values(**values))


def test_the_audit_reports_a_stored_time_that_is_not_the_signed_one(ledger: Ledger) -> None:
    World(ledger)
    row = ledger.checkpoint()
    assert _audit(ledger).ok
    forged = format_time(NOW - timedelta(days=400))
    _update_checkpoint(ledger, row.id, created_at=forged)
    report = _audit(ledger)
    assert [str(f) for f in report.findings] == [
        f"seq {row.size - 1}: checkpoint #{row.id} (size {row.size}): stored created_at {forged!r} "
        f"is not its signed time {format_time(NOW)}"]


def test_the_audit_lists_checkpoints_whose_time_is_unsigned(ledger: Ledger) -> None:
    World(ledger)
    row = ledger.checkpoint()
    unsigned = sign_checkpoint(Checkpoint(ledger.origin, row.size, row.root), ledger.log_key)
    _update_checkpoint(ledger, row.id, note=unsigned)
    report = _audit(ledger)
    assert report.ok, [str(f) for f in report.findings]
    assert report.unsigned_times == [row.id]
