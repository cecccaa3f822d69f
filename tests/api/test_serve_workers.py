"""`tracemark serve` as a deployment runs it: two server processes over one log, a frozen startup heap, a clean stop."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ulid import ULID

from api.app import app_from_env
from api.keys import create_api_key
from ledger.config import Settings, init_log, open_ledger
from ledger.store.recovery import PARALLEL_FROM
from tests.servers import free_port
from tests.support import World

ORIGIN = "test.tracemark.local/log"


def test_two_server_processes_serve_one_log(tmp_path: Path) -> None:
    port, server = _serve(_new_log(tmp_path), "--workers", "2")
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        statuses = {httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code for _ in range(10)}
        assert statuses == {200}
        assert httpx.get(f"http://127.0.0.1:{port}/v1/checkpoint", timeout=5).text.startswith(ORIGIN + "\n")
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert output.count("Started server process") == 2, output


def test_connections_opened_together_reach_every_server_process(tmp_path: Path) -> None:
    """Scanners that connect at once are spread over the processes, not all taken by the first awake."""
    port, server = _serve(_new_log(tmp_path), "--workers", "2")
    connections: list[socket.socket] = []
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        deadline = time.monotonic() + 30
        while len(_sockets_on(port, _LISTEN)) < 2:  # the second worker may still be starting
            assert time.monotonic() < deadline, "the second worker did not start listening"
            time.sleep(0.1)
        processes = _children(server.pid)
        for _ in range(40):  # all queued before any worker accepts: one shared socket went to one process
            connections.append(socket.create_connection(("127.0.0.1", port)))
        for connection in connections:  # each answered on its own connection
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: scanner\r\n\r\n")
        for connection in connections:
            assert connection.recv(64).startswith(b"HTTP/1.1 200")
        held = [n for n in (_connections_on(pid, port) for pid in processes) if n]  # the supervisor's helpers hold none
        assert len(held) == 2 and sum(held) == 40 and min(held) >= 8, held
    finally:
        for connection in connections:
            connection.close()
        server.terminate()
        server.communicate(timeout=20)


def test_server_processes_refuse_a_port_another_server_listens_on(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        _, server = _serve(_new_log(tmp_path), "--workers", "2", port=port)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in output and "in use" in output, output


def test_a_server_process_leaves_its_startup_heap_out_of_garbage_collection(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """What a server built before its first request is frozen (gc.freeze), so collections skip it."""
    for name, value in _env(_new_log(tmp_path)).items():
        monkeypatch.setenv(name, value)
    gc.unfreeze()
    try:
        app = app_from_env()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        app.state.ledger.db.dispose()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_server_that_used_recovery_workers_stops_and_takes_them_along(tmp_path: Path, stop: signal.Signals) -> None:
    """A large batch starts worker processes; stopping the server must neither hang on them nor leave them."""
    settings = _new_log(tmp_path)
    ledger = open_ledger(settings)
    world = World(ledger)
    token = create_api_key(ledger, "it-beretta").token
    batch = [world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking()) for _ in range(PARALLEL_FROM + 10)]
    ledger.db.dispose()
    port, server = _serve(settings)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/events:batch", json={"envelopes": batch},
                            headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert answer.status_code == 201, answer.text
        workers = _children(server.pid)
        assert workers, "a batch this large is recovered by worker processes"
        server.send_signal(stop)
        server.communicate(timeout=20)  # a worker deaf to SIGTERM kept the server waiting here for ever
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a recovery worker outlived its server"


def _new_log(tmp_path: Path) -> Settings:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "home", origin=ORIGIN)
    init_log(settings).db.dispose()
    return settings


def _env(settings: Settings) -> dict[str, str]:
    """What `tracemark serve` and `app_from_env` read the log's place from."""
    return {"TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home), "TRACEMARK_ORIGIN": settings.origin}


def _serve(settings: Settings, *args: str, port: int | None = None) -> tuple[int, subprocess.Popen[str]]:
    """`tracemark serve` on `settings`' log, its output captured; its port (a free one unless given)."""
    port = port or free_port()
    return port, subprocess.Popen([sys.executable, "-m", "tracemark", "serve", "--port", str(port), *args], env={**os.environ, **_env(settings)},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _children(pid: int) -> list[int]:
    return [int(child) for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


_LISTEN, _ESTABLISHED = "0A", "01"


def _sockets_on(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on local `port` in `state` (/proc/net/tcp's hex code)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _connections_on(pid: int, port: int) -> int:
    """Established TCP connections to `port` that process `pid` holds."""
    inodes = {os.readlink(fd)[len("socket:["):-1] for fd in Path(f"/proc/{pid}/fd").iterdir()
              if os.readlink(fd).startswith("socket:[")}
    return len(inodes & _sockets_on(port, _ESTABLISHED))


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
