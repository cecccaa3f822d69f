"""The reading commands as a newcomer meets them, by the installed console script in fresh processes at 80
columns: trace by id or serial, --json everywhere, one clear line for a log that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRACEMARK = Path(sys.executable).with_name("tracemark")
ORIGIN = "reading.tracemark.test/log"
READERS = [("trace", "PX4-DE-002"), ("investigate",), ("anchor", "status"), ("apikey", "list"), ("export", "epcis")]


def tracemark(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    home = Path(db.removeprefix("sqlite:///")).parent / ".tracemark" if db.startswith("sqlite") else Path(".tracemark")
    env = {**os.environ, "TRACEMARK_ORIGIN": ORIGIN, "TRACEMARK_HOME": str(home), "COLUMNS": "80"}
    env.pop("TRACEMARK_RPC_URL", None)
    return subprocess.run([str(TRACEMARK), *args, "--db", db], capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo log with one API key, for commands that only read it."""
    folder = tmp_path_factory.mktemp("reading")
    db = f"sqlite:///{folder / 'demo.db'}"
    assert tracemark("demo", "--items", "2", db=db).returncode == 0
    assert tracemark("apikey", "create", "de-police", "--label", "front desk", db=db).returncode == 0
    return db


def test_trace_finds_an_item_by_id_or_by_serial_and_maker(log: str) -> None:
    by_serial = tracemark("trace", "px4-de-002", "--json", db=log)
    assert by_serial.returncode == 0, by_serial.stderr
    found = json.loads(by_serial.stdout)
    assert json.loads(tracemark("trace", found["uid"], "--json", db=log).stdout) == found
    assert json.loads(tracemark("trace", "PX4-DE-002", "--maker", "it-beretta", "--json", db=log).stdout) == found
    wrong = tracemark("trace", "PX4-DE-002", "--maker", "at-glock", db=log)
    assert wrong.returncode == 2 and wrong.stderr.strip() == "error: item of at-glock with serial 'PX4-DE-002' not found"
    unknown = tracemark("trace", "NO-SUCH-SERIAL", db=log)
    assert unknown.returncode == 2 and "'NO-SUCH-SERIAL' not found" in unknown.stderr


@pytest.mark.parametrize("command", [("trace", "PX4-DE-002"), ("investigate",), ("apikey", "list"), ("anchor", "status")], ids=" ".join)
def test_reading_commands_fit_80_columns_and_speak_json(log: str, command: tuple[str, ...]) -> None:
    shown = tracemark(*command, db=log)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() and max(map(len, shown.stdout.splitlines())) <= 80, shown.stdout
    as_json = tracemark(*command, "--json", db=log)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)


def test_apikey_list_as_json_names_the_key_and_no_secret(log: str) -> None:
    keys = json.loads(tracemark("apikey", "list", "--json", db=log).stdout)
    assert [(key["party"], key["label"], key["revoked"]) for key in keys] == [("de-police", "front desk", None)]
    assert not any(str(value).startswith("tmk_") for key in keys for value in key.values())


def test_export_epcis_writes_the_whole_document(log: str, tmp_path: Path) -> None:
    out = tmp_path / "log.jsonld"
    done = tracemark("export", "epcis", "--out", str(out), db=log)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text())["epcisBody"]["eventList"]) == json.loads(tracemark("anchor", "status", "--json", db=log).stdout)["size"]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_missing_sqlite_log_is_one_line_exit_2_and_stays_missing(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "typo.db"
    done = tracemark(*command, db=f"sqlite:///{missing}")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: no log at {missing}: make one with `tracemark init` or `tracemark demo`, or give --db"
    assert not missing.exists()


def test_an_unreachable_postgresql_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tracemark("trace", "PX4-DE-002", db="postgresql://postgres@127.0.0.1:1/test")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open or reach the database: "), done.stderr
