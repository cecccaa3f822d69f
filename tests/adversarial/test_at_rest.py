"""Secrets and personal data at rest are their owner's alone, whatever the umask.

The SQLite database holds private owners' names and addresses and API key hashes; its -wal and
-shm files hold the same pages. The home holds the log's private key, the parties' keystores, the
managed keys and the demo's API keys. A fresh `tracemark init` or `tracemark demo` (the console
script, under the common umask 022) makes them readable by their owner only; `tracemark serve`
over the demo log adds its files the same way.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from tests.reliability.processes import api_server

TRACEMARK = str(Path(sys.executable).parent / "tracemark")
PUBLIC = {"log.pub", "keys/parties.json", "demo-labels.pdf"}
"""The files of a home anyone may read: the verifier key, the parties' addresses, the demo's labels."""


@pytest.fixture(autouse=True)
def common_umask() -> Iterator[None]:
    """The umask most systems give a user (022: new files readable by all), here and in the commands run."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tracemark(folder: Path, *args: str) -> Settings:
    settings = Settings(db_url=f"sqlite:///{folder / 'tracemark.db'}", home=folder / "home")
    done = subprocess.run([TRACEMARK, *args, "--db", settings.db_url, "--home", str(settings.home)], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return settings


def _assert_owners_alone(settings: Settings, *database_files: str) -> None:
    database = Path(settings.db_url.removeprefix("sqlite:///"))
    for path in (database, *(database.with_name(database.name + suffix) for suffix in database_files)):
        assert _mode(path) == 0o600, f"{path.name} is {oct(_mode(path))}"
    assert _mode(settings.home) == 0o700, f"the home is {oct(_mode(settings.home))}"
    secrets = [path for path in settings.home.rglob("*") if path.is_file() and str(path.relative_to(settings.home)) not in PUBLIC]
    assert settings.log_key_path in secrets
    assert {str(path.relative_to(settings.home)): oct(_mode(path)) for path in secrets if _mode(path) != 0o600} == {}


def test_a_fresh_init_is_its_owners_alone(tmp_path: Path) -> None:
    _assert_owners_alone(_tracemark(tmp_path, "init"))


def test_a_fresh_demo_log_and_its_server_files_are_their_owners_alone(tmp_path: Path) -> None:
    settings = _tracemark(tmp_path, "demo", "--items", "2")
    assert len(list(settings.keys_dir.glob("*.json"))) > 10  # the parties' keystores are checked too
    _assert_owners_alone(settings)
    with api_server(settings, tmp_path / "server.log") as url:
        assert httpx.get(f"{url}/v1/checkpoint", timeout=30).status_code == 200  # the server holds the database open
        assert (settings.home / "api-keys.json").exists() and any((settings.home / "managed").iterdir())
        _assert_owners_alone(settings, "-wal", "-shm")
