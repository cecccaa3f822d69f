"""A network of logs on this machine: two national logs and a witness, peered, with a demo story.

Each node is its own `tracemark serve` process on 127.0.0.1 with its own home (keys), origin and
database, as it would be in its own country: a German firearms registry on PostgreSQL, a Kenyan
wildlife and customs authority on SQLite, and a witness (SQLite) both logs submit checkpoints to.
Everything the nodes know of each other is set up once, the way an operator would (the witness
witnesses each log's key, each log submits to the witness, each log peers with the other in a
signed `add_peer` entry), and kept in one folder, `network.json` saying it is complete: the next
run reuses it; `reset` deletes it and the German database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from sqlalchemy.engine import make_url

from ledger import DEMO_PASSPHRASE, LedgerError, Settings, add_witness, format_time, init_log, open_desk, run_demo, utc_now
from ledger import Witness as WitnessState

__all__ = ["NetworkError", "Node", "Network", "DEFAULT_FOLDER", "DEFAULT_DE_DB", "DEFAULT_PORTS", "prepare", "running", "reset"]

DEFAULT_FOLDER = Path(".network")
DEFAULT_DE_DB = "postgresql://postgres@127.0.0.1:5432/tracemark_de"
DEFAULT_PORTS = (8101, 8102, 8103)
"""The German log's, the Kenyan log's and the witness's ports on 127.0.0.1."""

STATE = "network.json"
WITNESS = "witness"
_START_SECONDS = 90


class NetworkError(LedgerError):
    """The network cannot be set up or started: what is missing or left over, and what to do."""


@dataclass(frozen=True)
class Node:
    """One `tracemark serve` of the network: its name, what it is, its log's identity and its port."""

    name: str
    title: str
    origin: str
    db_url: str
    home: Path
    port: int
    cast: str | None  # the demo data set of a national log; None for the witness

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> Settings:
        return Settings(db_url=self.db_url, home=self.home, origin=self.origin)

    @property
    def serve_log(self) -> Path:
        return self.home / "serve.log"

    def api_key(self, party: str) -> str:
        """The demo party's API key on this log (written by `tracemark serve` when it starts)."""
        return str(json.loads((self.home / "api-keys.json").read_text())[party]["api_key"])

    @property
    def labels(self) -> Path:
        return self.home / "demo-labels.pdf"


@dataclass(frozen=True)
class Network:
    """The three nodes and the demo items the story is about (story name -> item uid, per log)."""

    folder: Path
    de: Node
    ke: Node
    witness: Node
    items: dict[str, dict[str, str]]

    @property
    def nodes(self) -> tuple[Node, Node, Node]:
        return self.witness, self.de, self.ke


def _nodes(folder: Path, de_db: str, ports: tuple[int, int, int]) -> tuple[Node, Node, Node]:
    folder = folder.resolve()
    return (
        Node("de", "German firearms registry", "tracemark.de.example/log", de_db, folder / "de", ports[0], "de"),
        Node("ke", "Kenyan wildlife and customs authority", "tracemark.ke.example/log", f"sqlite:///{folder / 'ke.db'}",
             folder / "ke", ports[1], "ke"),
        Node(WITNESS, "witness", "witness.network.example", f"sqlite:///{folder / 'witness.db'}", folder / WITNESS, ports[2], None),
    )


def prepare(folder: Path = DEFAULT_FOLDER, de_db: str = DEFAULT_DE_DB, ports: tuple[int, int, int] = DEFAULT_PORTS,
            items: int = 20) -> Network:
    """The network kept in `folder`, set up first if it is not there yet (then with `de_db` and `ports`)."""
    state = folder / STATE
    kept = json.loads(state.read_text()) if state.exists() else None
    if (kept is None and folder.exists() and any(folder.iterdir())) or (kept is not None and kept["items"] is None):
        raise NetworkError(f"{folder} holds a network whose setup did not finish: `make reset-network` clears it")
    if kept is not None:
        de, ke, witness = _nodes(folder, kept["de_db"], _three(kept["ports"]))
        _reachable(de.db_url)
        return Network(folder, de, ke, witness, kept["items"])
    de, ke, witness = _nodes(folder, de_db, ports)
    _create_database(de.db_url)
    _check_empty(de)
    _keep(state, de_db, ports, None)  # from here on, `reset` knows which database to drop
    stories = _seed(de, ke, witness, items)
    _keep(state, de_db, ports, stories)
    return Network(folder, de, ke, witness, stories)


def _keep(state: Path, de_db: str, ports: tuple[int, int, int], items: dict[str, dict[str, str]] | None) -> None:
    """What the next run needs (`items` None: the setup has not finished)."""
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"de_db": de_db, "ports": list(ports), "items": items}, indent=2) + "\n")


def _check_empty(node: Node) -> None:
    ledger = init_log(node.settings)
    size = ledger.size()
    ledger.db.dispose()
    if size:
        raise NetworkError(f"{node.db_url} already holds a log of {size} entries that this network did not make: drop it or pass --de-db")


def _three(ports: list[int]) -> tuple[int, int, int]:
    first, second, third = ports
    return first, second, third


def _seed(de: Node, ke: Node, witness: Node, items: int) -> dict[str, dict[str, str]]:
    """Both logs with their demo data, the witness witnessing both, each log peered with the other."""
    ledgers, stories, admins = {}, {}, {}
    for node in (de, ke):
        ledger = ledgers[node.name] = init_log(node.settings)
        assert node.cast is not None
        result = run_demo(ledger, keys_dir=node.settings.keys_dir, items=items, cast=node.cast)  # bulk firearms where a maker is
        stories[node.name] = result.items
        admins[node.name] = result.parties["registry"]
    witness_log = init_log(witness.settings)
    state = WitnessState(witness_log.db, witness.settings.witness_keys())
    vkeys = "\n".join(key.vkey for key in witness.settings.witness_keys())
    for node in (de, ke):
        state.add_log(node.origin, node.settings.verifier_key())
        add_witness(ledgers[node.name], WITNESS, vkeys, f"{witness.url}/witness")
    for node, other, share in ((de, ke, ["facts"]), (ke, de, ["facts", "holder_country"])):
        peer = {"name": other.name, "origin": other.origin, "vkey": other.settings.verifier_key(), "url": other.url,
                "country": other.name.upper(), "share": share}
        ledgers[node.name].append(admins[node.name].envelope("add_peer", utc_now(), peer=peer))
        open_desk(ledgers[node.name], node.settings, admins[node.name].account)
    for ledger in (*ledgers.values(), witness_log):
        ledger.db.dispose()
    return stories


def _admin_url(url: str) -> sqlalchemy.URL:
    """`url` on the server's `postgres` maintenance database, with the driver the project uses."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+psycopg", database="postgres")


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql"))


@contextmanager
def _maintenance(url: str) -> Iterator[sqlalchemy.Connection]:
    admin = _admin_url(url)
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            yield connection
    except sqlalchemy.exc.OperationalError as exc:
        where = f"{admin.host or 'localhost'}:{admin.port or 5432}"
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise NetworkError(f"PostgreSQL is not reachable at {where} ({reason}): the German log needs it; start it or pass --de-db") from exc
    finally:
        engine.dispose()


def _reachable(url: str) -> None:
    if _is_postgres(url):
        with _maintenance(url):
            pass


def _create_database(url: str) -> None:
    """Create the PostgreSQL database `url` names unless it exists."""
    if not _is_postgres(url):
        return
    name = make_url(url).database
    with _maintenance(url) as connection:
        if connection.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))


def reset(folder: Path = DEFAULT_FOLDER) -> list[str]:
    """Delete the network kept in `folder` and drop the German database it made; say what was removed.

    A database is dropped only when `folder` names it: never one this network did not make."""
    state = folder / STATE
    de_db = json.loads(state.read_text())["de_db"] if state.exists() else None
    removed = []
    if de_db is not None and _is_postgres(de_db):
        name = make_url(de_db).database
        with _maintenance(de_db) as connection:
            if connection.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None:
                connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                removed.append(f"database {name}")
    if folder.exists():
        shutil.rmtree(folder)
        removed.append(str(folder))
    return removed


@contextmanager
def running(network: Network) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Each node as a `tracemark serve` process, answering on its port; all stopped on leaving."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for node in network.nodes:
            processes[node.name] = _serve(node)
        for node in network.nodes:
            _wait_healthy(node, processes[node.name])
        yield processes
    finally:
        stop_all(processes.values())


def _serve(node: Node) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRACEMARK_HOME": str(node.home), "TRACEMARK_ORIGIN": node.origin, "TRACEMARK_DB": node.db_url,
           "TRACEMARK_KEY_PASSPHRASE": DEMO_PASSPHRASE}
    node.home.mkdir(parents=True, exist_ok=True)
    with node.serve_log.open("ab") as out:
        out.write(f"--- {format_time(utc_now())} tracemark serve on port {node.port}\n".encode())
        out.flush()
        return subprocess.Popen([sys.executable, "-m", "tracemark", "serve", "--port", str(node.port)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_healthy(node: Node, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while True:
        if process.poll() is not None:
            tail = node.serve_log.read_text(errors="replace").strip().splitlines()[-1:]
            raise NetworkError(f"the {node.title} ({node.name}) exited with {process.returncode}: {' '.join(tail)} (see {node.serve_log})")
        try:
            if httpx.get(f"{node.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise NetworkError(f"the {node.title} did not answer on {node.url} within {_START_SECONDS} s (see {node.serve_log})")
        time.sleep(0.2)


def stop_all(processes: Any) -> None:
    """Ask every process to stop (SIGTERM), then kill those still there after 15 s."""
    alive = [process for process in processes if process.poll() is None]
    for process in alive:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in alive:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
