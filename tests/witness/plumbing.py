"""Real processes for the witness tests: `tracemark` commands, `tracemark serve` that can be killed, and a
log of our own making whose checkpoints the witness is asked to cosign."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, LogKey, sign_checkpoint
from tests.servers import free_port, stop

BIN = Path(sys.executable).parent


def tracemark(*args: str, origin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script in a fresh process."""
    env = {**os.environ, "COLUMNS": "250"}
    if origin is not None:
        env["TRACEMARK_ORIGIN"] = origin
    return subprocess.run([str(BIN / "tracemark"), *args], capture_output=True, text=True, env=env, timeout=120)


@dataclass
class Server:
    """`tracemark serve` on a free port of 127.0.0.1."""

    db_url: str
    home: Path
    origin: str
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {**os.environ, "TRACEMARK_ORIGIN": self.origin}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "tracemark"), "serve", "--db", self.db_url, "--home", str(self.home), "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the server did not start: {self.log.read_text()[-2000:]}"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush beyond what was committed."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process, 20)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition, what: str, seconds: float = 60) -> None:  # noqa: ANN001
    """Poll `condition()` until it is true; fail saying `what` did not happen."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.2)


class OtherLog:
    """A log of the test's making: its key, its leaves, its signed checkpoints and proofs."""

    def __init__(self, origin: str, leaves: int = 64) -> None:
        self.origin = origin
        self.key = LogKey.generate(origin)
        self.leaves = [merkle.leaf_hash(f"{origin} {i}".encode()) for i in range(leaves)]

    def checkpoint(self, size: int, root: bytes | None = None) -> Checkpoint:
        return Checkpoint(self.origin, size, root if root is not None else merkle.root_from_leaves(self.leaves[:size]))

    def note(self, size: int, root: bytes | None = None) -> str:
        return sign_checkpoint(self.checkpoint(size, root), self.key)

    def proof(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(self.leaves[:new], old) if old else []

    def body(self, old: int, size: int, proof: list[bytes] | None = None, note: str | None = None) -> bytes:
        """An add-checkpoint request body: old size, proof lines, empty line, the signed checkpoint."""
        lines = self.proof(old, size) if proof is None else proof
        text = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in lines) + "\n"
        return (text + (note if note is not None else self.note(size))).encode()
