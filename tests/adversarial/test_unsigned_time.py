"""Unsigned times a verifier trusts: a checkpoint's time changed with plain SQL.

The attacker (or a careless operator) has the database: it moves a checkpoint's stored
`created_at` to make the log look fresher or older than it is. The time a user is shown must be
the one the log's key signed, and `tracemark verify`, run as the installed console script in a
fresh process, must name the checkpoint whose stored time is not its signed one. A checkpoint
signed without a time (as logs signed them before checkpoints carried one) still verifies, and
`tracemark verify` says its time is unsigned.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from ledger.log.checkpoint import Checkpoint, LogKey, parse_checkpoint, sign_checkpoint
from ledger.log.codec import format_time
from tests.adversarial.conftest import DemoLog

TRACEMARK = Path(sys.executable).parent / "tracemark"
FORGED = "2019-01-01T00:00:00.000Z"


def tracemark_verify(demo_log: DemoLog) -> subprocess.CompletedProcess[str]:
    settings = demo_log.settings
    return subprocess.run([str(TRACEMARK), "verify", "--db", settings.db_url, "--home", str(settings.home)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TRACEMARK_ORIGIN": settings.origin, "COLUMNS": "400"})


def sql(demo_log: DemoLog, statement: str, *params: object) -> list[tuple]:
    with sqlite3.connect(demo_log.settings.db_url.removeprefix("sqlite:///")) as db:
        return db.execute(statement, params).fetchall()


def signed_at_shown(server: str, demo_log: DemoLog) -> str | None:
    answer = httpx.get(f"{server}/v1/items/{demo_log.items['valid_firearm']}/events", headers=demo_log.auth("investigator"))
    assert answer.status_code == 200, answer.text
    return answer.json()["checkpoint"]["signed_at"]


def test_a_checkpoint_time_changed_with_plain_sql_is_caught_and_never_shown(server: str, demo_log: DemoLog):
    note = httpx.get(f"{server}/v1/checkpoint").text
    signed = parse_checkpoint(note).signed_time
    assert signed is not None and note.split("\n")[3] == f"time {int(signed.timestamp())}"
    assert signed_at_shown(server, demo_log) == format_time(signed)
    assert tracemark_verify(demo_log).returncode == 0

    [(row_id, size)] = sql(demo_log, "SELECT id, size FROM checkpoint WHERE size = ? ORDER BY id DESC LIMIT 1", parse_checkpoint(note).size)
    sql(demo_log, "UPDATE checkpoint SET created_at = ? WHERE id = ?", FORGED, row_id)

    assert signed_at_shown(server, demo_log) == format_time(signed)  # the note's time, not the column's
    caught = tracemark_verify(demo_log)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert (f"checkpoint #{row_id} (size {size}): stored created_at '{FORGED}' is not its signed time "
            f"{format_time(signed)}") in caught.stderr
    assert "Traceback" not in caught.stderr


def test_a_checkpoint_signed_without_a_time_verifies_and_is_reported_unsigned(demo_log: DemoLog):
    key = LogKey.from_signer_key(demo_log.settings.log_key_path.read_text().strip())
    rows = sql(demo_log, "SELECT id, size, root FROM checkpoint ORDER BY id")
    for row_id, size, root in rows:
        sql(demo_log, "UPDATE checkpoint SET note = ?, created_at = ? WHERE id = ?",
            sign_checkpoint(Checkpoint(demo_log.settings.origin, size, bytes(root)), key), FORGED, row_id)

    result = tracemark_verify(demo_log)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rows)} checkpoints (#{rows[0][0]}" in result.stderr
    assert "sign no time: their created_at is unsigned and not to be relied on" in result.stderr
