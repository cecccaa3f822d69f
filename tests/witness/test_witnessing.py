"""A log gathering cosignatures from two witnesses (one on SQLite, one on PostgreSQL), all real
`tracemark serve` processes on 127.0.0.1: a witness that is down, then up; one that never answers;
and a witness whose size the log had wrong (409, resubmitted from the size it is told)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings, init_log
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.cosignature import CosignerVerifier, load_keys, verify_cosignatures
from ledger.witness.state import origin_hash
from tests.support import World
from tests.witness.plumbing import Server, running, tracemark, wait_for

LOG = "log.example/ledger"


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A witness that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/witness"


def _witness(name: str, db_url: str, tmp_path: Path, log_vkey: str) -> tuple[Server, str]:
    """A witness server (not started) that trusts the log, and its vkeys as `tracemark witness key` prints them."""
    home = tmp_path / name
    origin = f"{name}.example/log"
    assert tracemark("init", "--db", db_url, "--home", str(home), origin=origin).returncode == 0
    added = tracemark("witness", "logs", "add", LOG, log_vkey, "--db", db_url, "--home", str(home), origin=origin)
    assert added.returncode == 0, added.stderr
    keys = tracemark("witness", "key", "--home", str(home), origin=origin).stdout
    return Server(db_url, home, origin, tmp_path / f"{name}.log"), keys


def _row(table: str, name: str) -> str:
    """The first line of `name`'s row in a table `tracemark witnesses list` printed."""
    return next(line for line in table.splitlines() if line.startswith(f"\u2502 {name} "))


def _cosigned_by(note: str, vkeys: str) -> int:
    return len(verify_cosignatures(note, [CosignerVerifier.from_vkey(v) for v in vkeys.split()])[1])


@pytest.mark.slow
@pytest.mark.postgres
def test_a_log_gathers_cosignatures_from_its_witnesses(tmp_path: Path, postgres_url: str, hanging_url: str) -> None:
    log_settings = Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "log", origin=LOG)
    world = World(init_log(log_settings))
    log_vkey = log_settings.verifier_key()
    w1, w1_keys = _witness("w1", f"sqlite:///{tmp_path / 'w1.db'}", tmp_path, log_vkey)
    w2, w2_keys = _witness("w2", postgres_url, tmp_path, log_vkey)
    where = ("--db", log_settings.db_url, "--home", str(log_settings.home))
    for name, keys, url in (("w1", w1_keys, f"{w1.url}/witness"), ("w2", w2_keys, f"{w2.url}/witness"),
                            ("w3", w1_keys, hanging_url)):
        added = tracemark("witnesses", "add", name, keys, url, *where)
        assert added.returncode == 0, added.stderr
    log = Server(log_settings.db_url, log_settings.home, LOG, tmp_path / "log-server.log")

    def checkpoint() -> str:
        answer = httpx.get(f"{log.url}/v1/checkpoint", timeout=30)
        assert answer.status_code == 200
        return answer.text

    def cosigned(size: int, *keys: str) -> bool:
        note = checkpoint()
        return verify_checkpoint(note, log_vkey).size == size and all(_cosigned_by(note, k) == 2 for k in keys)

    with running(w1), running(log):
        size = world.ledger.size()
        wait_for(lambda: cosigned(size, w1_keys), "w1's cosignatures on the log's checkpoint")
        note = checkpoint()
        assert _cosigned_by(note, w2_keys) == 0  # w2 is down: only its own cosignature waits
        # The log stamps its checkpoint's time with its own cosignature/v1 key.
        own = load_keys(log_settings.log_cosigner_path)[0].verifier
        [stamp] = verify_cosignatures(note, [own])[1]
        assert stamp.time == verify_checkpoint(note, log_vkey).signed_time
        wait_for(lambda: "ConnectError" in _row(tracemark("witnesses", "list", *where).stdout, "w2"), "w2's failure shown in the list")

        with running(w2):
            wait_for(lambda: cosigned(size, w1_keys, w2_keys), "w2's cosignatures once it is up")
            for _ in range(3):
                world.firearm()
            grown = world.ledger.size()
            assert grown > size
            wait_for(lambda: cosigned(grown, w1_keys, w2_keys), "both witnesses cosigning the grown log")
            for witness, keys in ((w1, w1_keys), (w2, w2_keys)):
                seen = httpx.get(f"{witness.url}/witness/{origin_hash(LOG)}/checkpoint", timeout=30).text
                assert verify_checkpoint(seen, log_vkey).size == grown and _cosigned_by(seen, keys) == 2

            # The log forgets what w1 cosigned (configured anew): it submits from 0, is told w1's size, and resubmits.
            assert tracemark("witnesses", "remove", "w1", *where).returncode == 0
            assert tracemark("witnesses", "add", "w1", w1_keys, f"{w1.url}/witness", *where).returncode == 0
            world.firearm()
            last = world.ledger.size()
            wait_for(lambda: cosigned(last, w1_keys, w2_keys), "w1 cosigning again after its 409")
            assert '"POST /witness/add-checkpoint HTTP/1.1" 409' in w1.log.read_text()
            listed = tracemark("witnesses", "list", *where).stdout
            assert f" {last} " in _row(listed, "w1")
    world.ledger.db.dispose()


def test_witnesses_commands_refuse_bad_input_whole(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'log.db'}", home=tmp_path / "log", origin=LOG)
    init_log(settings).db.dispose()
    where = ("--db", settings.db_url, "--home", str(settings.home))
    keys = tracemark("witness", "key", "--home", str(settings.home)).stdout
    for args, error in (
        (("w", settings.verifier_key(), "http://127.0.0.1:1/witness"), "0x01 is not a cosignature type"),
        (("w", keys, "ftp://example.org/witness"), "http(s)://"),
        (("w", keys + " nonsense", "http://127.0.0.1:1/witness"), "must be <name>"),
    ):
        refused = tracemark("witnesses", "add", *args, *where)
        assert refused.returncode == 2 and error in refused.stderr, refused.stderr
    assert "│ w " not in tracemark("witnesses", "list", *where).stdout
    assert tracemark("witnesses", "add", "w", keys, "http://127.0.0.1:1/witness/", *where).returncode == 0
    again = tracemark("witnesses", "add", "w", keys, "http://127.0.0.1:1/witness", *where)
    assert again.returncode == 2 and "already configured" in again.stderr
    assert "http://127.0.0.1:1/witness " in tracemark("witnesses", "list", *where).stdout
    assert tracemark("witnesses", "remove", "w", *where).returncode == 0
    missing = tracemark("witnesses", "remove", "w", *where)
    assert missing.returncode == 2 and "not found" in missing.stderr
