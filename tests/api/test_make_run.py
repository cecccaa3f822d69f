"""What `make run` does for a newcomer, by the installed console script: `tracemark demo` then `tracemark serve`,
again after the demo log is deleted; the API keys handed out always open the log being served."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from tests.reliability.processes import BIN, api_server

ORIGIN = "run.tracemark.test/log"
ENV = {"TRACEMARK_ORIGIN": ORIGIN, "COLUMNS": "80"}


def _demo(settings: Settings) -> str:
    done = subprocess.run([str(BIN / "tracemark"), "demo", "--items", "2", "--db", settings.db_url, "--home", str(settings.home)],
                          capture_output=True, text=True, env={**os.environ, **ENV}, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _me(url: str, keys: Path, party: str) -> int:
    token = json.loads(keys.read_text())[party]["api_key"]
    return httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


@pytest.mark.slow
def test_a_new_demo_log_gets_new_keys_and_labels_and_the_parties_print_once_in_80_columns(tmp_path: Path) -> None:
    db = tmp_path / "tracemark.db"
    settings = Settings(db_url=f"sqlite:///{db}", home=tmp_path / ".tracemark", origin=ORIGIN)
    keys, labels, log = settings.home / "api-keys.json", settings.home / "demo-labels.pdf", tmp_path / "serve.log"
    seeded = _demo(settings)
    with api_server(settings, log, COLUMNS="80") as url:
        assert _me(url, keys, "de-customs") == 200
    first_keys, first_labels = keys.read_text(), labels.read_bytes()
    output = seeded + log.read_text()
    assert output.count("demo parties") == 1  # the table, printed by serve only
    table = [line for line in output.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table), "\n".join(table)
    assert all(party in output for party in json.loads(first_keys))

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _demo(settings)
    with api_server(settings, log, COLUMNS="80") as url:
        assert keys.read_text() != first_keys and labels.read_bytes() != first_labels
        assert _me(url, keys, "de-customs") == 200 and _me(url, keys, "investigator") == 200
    restarted = log.read_text()
    with api_server(settings, log, COLUMNS="80") as url:  # the same log again: the keys stay
        assert _me(url, keys, "be-police") == 200
    assert len(log.read_text()) > len(restarted)
