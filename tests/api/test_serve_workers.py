"""`tracemark serve --workers 2`: two server processes answer over one log."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from api.app import app_from_env
from ledger.config import Settings, init_log
from tests.servers import free_port


def test_two_server_processes_serve_one_log(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "home", origin="test.tracemark.local/log")
    init_log(settings).db.dispose()
    port = free_port()
    env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home), "TRACEMARK_ORIGIN": settings.origin}
    server = subprocess.Popen([sys.executable, "-m", "tracemark", "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        statuses = {httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code for _ in range(10)}
        assert statuses == {200}
        assert httpx.get(f"http://127.0.0.1:{port}/v1/checkpoint", timeout=5).text.startswith(settings.origin + "\n")
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert output.count("Started server process") == 2, output


def test_a_server_process_leaves_its_startup_heap_out_of_garbage_collection(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """What a server built before its first request is frozen (gc.freeze), so collections skip it."""
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "home", origin="test.tracemark.local/log")
    init_log(settings).db.dispose()
    for name, value in {"TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home), "TRACEMARK_ORIGIN": settings.origin}.items():
        monkeypatch.setenv(name, value)
    gc.unfreeze()
    try:
        app = app_from_env()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        app.state.ledger.db.dispose()
