"""Crashes: a writer killed mid-batch loses nothing it acknowledged and leaves no partial entry."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import select

from ledger.config import Settings, open_ledger
from ledger.log.codec import sha256
from ledger.store.tables import Entry
from tests.reliability.processes import BIN, demo_parties, party_file

BATCH = 50
ROUNDS = 3


def start_writer(settings: Settings, parties: Path, acks: Path, batches: int = 0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.clients", "batch-writer", settings.db_url,
                             str(settings.home), settings.origin, str(parties), str(acks), str(BATCH), str(batches)],
                            cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE)


def acknowledged(acks: Path) -> list[str]:
    return [line for line in acks.read_text().splitlines() if len(line) == 64]  # a torn last line was never acked


def verify_exit_code(settings: Settings) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "tracemark"), "verify", "--db", settings.db_url, "--home", str(settings.home)],
                          capture_output=True, text=True, env={"TRACEMARK_ORIGIN": settings.origin, "PATH": str(BIN)}, timeout=120)


def test_a_writer_killed_mid_batch_loses_nothing_acknowledged(settings: Settings, tmp_path: Path):
    """SIGKILL at random moments during batch appends, ROUNDS times; then restart and finish."""
    result = demo_parties(settings)
    parties = party_file(settings, result, tmp_path / "parties.json")
    acks = tmp_path / "acks"
    acks.touch()
    rng = random.Random(7)
    for _ in range(ROUNDS):
        writer = start_writer(settings, parties, acks)
        had = len(acknowledged(acks))
        deadline = time.monotonic() + 60
        while len(acknowledged(acks)) < had + 2 * BATCH:  # a couple of batches in, then kill mid-flight
            assert writer.poll() is None, writer.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(10) == -signal.SIGKILL

        ledger = open_ledger(settings)
        with ledger.reading() as session:
            stored = {sha256(event).hex() for event in session.exec(select(Entry.event))}
        ledger.db.dispose()
        acked = acknowledged(acks)
        assert set(acked) <= stored, "an acknowledged event is missing"
        assert (len(stored) - result.events) % BATCH == 0, "a batch was kept in part"
        assert len(stored) - result.events >= len(acked)  # at most the batch in flight was committed, never acked
        run = verify_exit_code(settings)
        assert run.returncode == 0, run.stdout + run.stderr

    writer = start_writer(settings, parties, acks, batches=2)  # restarted: it goes on where the log is
    assert writer.wait(120) == 0, writer.stderr.read().decode()[-2000:]
    assert verify_exit_code(settings).returncode == 0
    assert len(acknowledged(acks)) >= (ROUNDS * 2 + 2) * BATCH
