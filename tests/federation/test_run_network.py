"""`make run-network`'s entry point, `tracemark network up`, as a real process: two national logs and a
witness that answer, peer, are witnessed, tell the demo story, and all stop on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from ledger import DEMO_PASSPHRASE, Settings, open_ledger, open_note
from ledger.log.cosignature import CosignerVerifier, verify_cosignatures
from scanner.markings import label_for
from tests.conftest import PG_ADMIN_URL, _postgres_or_skip
from tests.servers import free_port
from tests.witness.plumbing import BIN, tracemark, wait_for
from tracemark.network import prepare

READY = "Ctrl-C stops all three."


@dataclass
class Started:
    process: subprocess.Popen[str]
    lines: list[str]
    folder: Path
    de_db: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def found(self, pattern: str) -> str:
        match = re.search(pattern, self.text)
        assert match is not None, f"{pattern!r} not in the output:\n{self.text}"
        return match.group(1)

    def pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", self.text)]


def _read(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))


def _database_exists(name: str) -> bool:
    engine = sqlalchemy.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    _postgres_or_skip().dispose()
    folder = tmp_path_factory.mktemp("network") / "net"
    name = f"tracemark_de_{uuid.uuid4().hex[:10]}"
    de_db = sqlalchemy.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    ports = ",".join(str(free_port()) for _ in range(3))
    process = subprocess.Popen([str(BIN / "tracemark"), "network", "up", "--dir", str(folder), "--de-db", de_db, "--ports", ports, "--items", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "250"})
    started = Started(process, [], folder, de_db)
    threading.Thread(target=_read, args=(process, started.lines), daemon=True).start()
    try:
        wait_for(lambda: READY in started.text or process.poll() is not None, "the network printing where to look", 150)
        assert READY in started.text, started.text
        yield started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in started.pids():  # never leave a server behind, whatever the test found
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        done = tracemark("network", "reset", "--dir", str(folder))
        assert done.returncode == 0, done.stderr
        assert not folder.exists() and not _database_exists(name)


def _vkey(folder: Path, log: str) -> str:
    return (folder / log / "log.pub").read_text().strip()



@pytest.mark.postgres
@pytest.mark.slow
def test_the_network_answers_peers_is_witnessed_tells_its_story_and_stops_on_ctrl_c(network: Started) -> None:
    de_url, ke_url = network.found(r"DE log\s+(http://\S+)"), network.found(r"KE log\s+(http://\S+)")
    for url in (de_url, ke_url):
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        assert "camera" in httpx.get(f"{url}/scan", timeout=10).text.lower()
    assert f"camera page {ke_url}/scan" in network.text and f"camera page {de_url}/scan" in network.text

    # each log lists the other as its peer, in a note its own key signs
    for url, own, other, other_url in ((de_url, "de", "ke", ke_url), (ke_url, "ke", "de", de_url)):
        body = open_note(httpx.get(f"{url}/federation/v1/peers", timeout=10).text, _vkey(network.folder, own))
        lines = body.splitlines()
        assert lines[0] == f"tracemark.{own}.example/log peers"
        assert lines[1:] == ['{"country":"%s","name":"%s","origin":"tracemark.%s.example/log","url":"%s","vkey":"%s"}'
                             % (other.upper(), other, other, other_url, _vkey(network.folder, other))]

    # the witness cosigned both logs' checkpoints
    witness = Settings(home=network.folder / "witness", origin="witness.network.example")
    verifiers = [CosignerVerifier.from_vkey(key.vkey) for key in witness.witness_keys()]
    for url in (de_url, ke_url):
        wait_for(lambda url=url: bool(verify_cosignatures(httpx.get(f"{url}/v1/checkpoint", timeout=10).text, verifiers)[1]),
                 f"the witness cosigning {url}'s checkpoint", 60)

    # the demo story: the German pistol is stolen on DE, the Kenyan skins in transit to Germany on KE
    pistol = network.found(r"'stolen from a German dealer' \(item (\w+)\)")
    skin = network.found(r"'skin exported to Germany, in transit' \(item (\w+)\)")
    de_key = network.found(r"DE customs officer \(de-customs, on the DE log\): (tmk_\S+)")
    ke_key = network.found(r"KE customs officer \(ke-customs, on the KE log\): (tmk_\S+)")
    item = httpx.get(f"{de_url}/v1/items/{pistol}", headers={"Authorization": f"Bearer {de_key}"}, timeout=10).json()
    assert (item["status"], item["kind"]) == ("stolen", "firearm"), item
    item = httpx.get(f"{ke_url}/v1/items/{skin}", headers={"Authorization": f"Bearer {ke_key}"}, timeout=10).json()
    assert item["status"] == "in_transit" and item["pending_to"] == "de-leder", item
    # the investigators' keys it prints open each log's trace requests
    for url, investigator in ((ke_url, network.found(r"KE \(ke-dci\) (tmk_[^\s,]+)")), (de_url, network.found(r"DE \(de-bka\) (tmk_[^\s,]+)"))):
        assert f"{url}/investigations/trace-requests" in network.text
        listed = httpx.get(f"{url}/v1/trace-requests", headers={"Authorization": f"Bearer {investigator}"}, timeout=10)
        assert listed.status_code == 200, listed.text
    for log in ("de", "ke"):
        labels = network.found(rf"  {log.upper()}: (\S+demo-labels\.pdf)")
        assert Path(labels).read_bytes().startswith(b"%PDF")

    # the story's first step: the stolen German pistol's code scanned at a Kenyan border
    de_settings = Settings(db_url=network.de_db, home=network.folder / "de", origin="tracemark.de.example/log")
    de_log = open_ledger(de_settings)
    code = label_for(de_log, pistol, de_settings.keys_dir, DEMO_PASSPHRASE, "TRACEMARK.LOCAL").payload
    de_log.db.dispose()
    scan = httpx.post(f"{ke_url}/v1/scan", headers={"Authorization": f"Bearer {ke_key}"},
                      json={"code": code, "country": "KE", "location": "Namanga", "direction": "import"}, timeout=30).json()
    assert scan.get("verdict") == "REPORTED_LOST_STOLEN", scan
    assert "stolen in DE" in str(scan), scan

    # Ctrl-C stops all three; nothing is left running
    pids = network.pids()
    assert len(pids) == 3
    network.process.send_signal(signal.SIGINT)
    assert network.process.wait(60) == 0, network.text
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "stopped the two logs and the witness" in network.text

    # the next run reuses the network as it was left
    before = open_ledger(Settings(db_url=network.de_db, home=network.folder / "de", origin="tracemark.de.example/log"))
    again = prepare(network.folder)
    after = open_ledger(again.de.settings)
    assert again.items["de"]["stolen_pistol"] == pistol and again.de.db_url == network.de_db
    assert after.size() == before.size()
    for ledger in (before, after):
        ledger.db.dispose()


def test_without_postgresql_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = tracemark("network", "up", "--dir", str(tmp_path / "net"), "--de-db", "postgresql://postgres@127.0.0.1:1/tracemark_de")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in done.stderr
    assert not (tmp_path / "net").exists()


def test_reset_drops_no_database_it_did_not_make(tmp_path: Path) -> None:
    """Without the network's own record of its database, `reset` leaves PostgreSQL alone."""
    (tmp_path / "net" / "de").mkdir(parents=True)
    done = tracemark("network", "reset", "--dir", str(tmp_path / "net"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"removed {tmp_path / 'net'}" and not (tmp_path / "net").exists()
