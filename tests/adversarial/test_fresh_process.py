"""Every command works in a fresh process, as a user first meets it.

Each verb of `tracemark` (found in the Typer app, so a new verb is covered as soon as it exists)
runs as the installed console script, in a process of its own, on a demo log that `tracemark demo`
made. Every GET route of the OpenAPI schema is sent, all at once, as the very first requests a
fresh `tracemark serve --workers 2` serves; and each alone as the first request of a server process
of its own (`first_requests`). None exits with a traceback or answers 500.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from sqlmodel import select

from api.app import create_app
from api.keys import create_api_key
from ledger.config import Settings, open_ledger
from ledger.demo import DEMO_PASSPHRASE
from ledger.log.checkpoint import LogKey
from ledger.log.keys import load_keystore, new_account
from ledger.log.signatures import sign_event
from ledger.store.tables import PersonalRecord
from scanner.bundle import write_bundle
from scanner.markings import label_for
from scanner.render import png
from tests.servers import free_port, stop
from tracemark.cli import app

TRACEMARK = str(Path(sys.executable).parent / "tracemark")
SERVER_START = 240
"""Seconds a fresh two-process server may take to answer, on a machine busy with other tests."""


@dataclass(frozen=True)
class FreshLog:
    """A demo log made by `tracemark demo` in `folder`, and the environment every command runs in."""

    folder: Path
    env: dict[str, str]
    items: dict[str, str]  # the demo's story name -> item uid

    @property
    def settings(self) -> Settings:
        return Settings(db_url=self.env["TRACEMARK_DB"], home=Path(self.env["TRACEMARK_HOME"]))


def tracemark(log: FreshLog, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script in a process of its own, in the log's folder and environment."""
    return subprocess.run([TRACEMARK, *args], cwd=log.folder, env=log.env, capture_output=True, text=True, timeout=600)


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]


@pytest.fixture(scope="module")
def fresh_log(tmp_path_factory: pytest.TempPathFactory) -> FreshLog:
    folder = tmp_path_factory.mktemp("fresh-log")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACEMARK_")}
    env |= {"TRACEMARK_DB": f"sqlite:///{folder / 'tracemark.db'}", "TRACEMARK_HOME": str(folder / "home"),
            "TRACEMARK_KEY_PASSPHRASE": DEMO_PASSPHRASE, "COLUMNS": "200"}
    log = FreshLog(folder, env, {})
    done = tracemark(log, "demo", "--items", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert_no_traceback(done)
    items = dict(re.findall(r"^\s+(\w+)\s+([0-9A-HJKMNP-TV-Z]{26})$", done.stdout, re.MULTILINE))
    assert "valid_firearm" in items, done.stdout
    return FreshLog(folder, env, items)


# ---------------------------------------------------------------- every verb of the CLI


@dataclass(frozen=True)
class Run:
    """How one verb is run on the fresh log, and what it must answer."""

    args: tuple[str, ...] = ()
    exit_code: int = 0
    says: str = ""  # text its output must contain


def _policy(log: FreshLog) -> str:
    """A policy trusting the fresh log alone, with no witness required."""
    path = log.folder / "log-only.policy"
    path.write_text(f"log {log.settings.verifier_key()}\nquorum none\n")
    return str(path)


def _proof(log: FreshLog) -> str:
    path = log.folder / "for-verify.tlog-proof"
    assert tracemark(log, "proof", log.items["valid_firearm"], "--out", str(path)).returncode == 0
    return str(path)


def _witness_vkeys(log: FreshLog) -> str:
    return tracemark(log, "witness", "key").stdout.strip()


def _commitment(log: FreshLog) -> str:
    ledger = open_ledger(log.settings)
    with ledger.reading() as session:
        commitment = session.exec(select(PersonalRecord.commitment)).first()
    ledger.db.dispose()
    assert commitment is not None, "the demo has a private owner"
    return commitment


def _api_key_id(log: FreshLog) -> str:
    ledger = open_ledger(log.settings)
    issued = create_api_key(ledger, "de-customs", "to revoke")
    ledger.db.dispose()
    return issued.id


def _scan_run(log: FreshLog) -> Run:
    """An offline scan of a label photo: the bundle and the photo made here, the scan by the CLI."""
    ledger = open_ledger(log.settings)
    write_bundle(ledger, log.folder / "scan-bundle.json")
    label = label_for(ledger, log.items["valid_firearm"], log.settings.keys_dir, DEMO_PASSPHRASE, "TRACEMARK.LOCAL")
    ledger.db.dispose()
    photo = log.folder / "valid.png"
    photo.write_bytes(png(label.payload))
    return Run((str(photo), "--offline", str(log.folder / "scan-bundle.json")), says="VALID")


def _import_run(log: FreshLog) -> Run:
    """A registry's history of one party registered in 2024, signed by the demo registry's key."""
    registry = load_keystore(log.settings.keys_dir / "registry.json", DEMO_PASSPHRASE)
    event = {"type": "register_party", "actor": "registry", "time": "2024-03-01T09:00:00.000Z",
             "party": {"id": "nl-douane", "name": "Douane Nederland", "role": "customs", "country": "NL",
                       "addresses": [new_account().address]}}
    history = log.folder / "history.jsonl"
    history.write_text(json.dumps(sign_event(registry, event, origin=log.settings.origin)) + "\n")
    return Run((str(history),), says="imported 1 entries")


ANCHOR_OFF = Run(exit_code=1, says="TRACEMARK_RPC_URL")
"""What an anchoring verb answers with no chain configured: a one-line refusal."""

RUNS: dict[tuple[str, ...], Callable[[FreshLog], Run]] = {
    ("demo",): lambda log: Run(exit_code=1, says="already has"),  # the fixture's run was the first, on the empty log
    ("erase",): lambda log: Run((_commitment(log), "--reason", "retention period ended"), says="erased"),
    ("labels",): lambda log: Run(("--items", log.items["valid_firearm"], "--out", str(log.folder / "labels.pdf"),
                                  "--png", str(log.folder / "labels")), says="1 labels"),
    ("scan",): _scan_run,
    ("trace",): lambda log: Run((log.items["stolen_then_seized"],)),
    ("keys", "new"): lambda log: Run(("--out", str(log.folder / "new-key.json"), "--passphrase", "fresh process")),
    ("apikey", "create"): lambda log: Run(("ke-customs", "--label", "fresh process")),
    ("apikey", "revoke"): lambda log: Run((_api_key_id(log),), says="revoked"),
    ("import",): _import_run,
    ("anchor", "deploy"): lambda log: ANCHOR_OFF,
    ("anchor", "forget"): lambda log: ANCHOR_OFF,
    ("anchor", "add-submitter"): lambda log: Run((new_account().address,), ANCHOR_OFF.exit_code, ANCHOR_OFF.says),
    ("anchor", "remove-submitter"): lambda log: Run((new_account().address,), ANCHOR_OFF.exit_code, ANCHOR_OFF.says),
    ("anchor", "run"): lambda log: Run(("--once",), says="anchoring is off"),
    ("bundle", "export"): lambda log: Run(("--out", str(log.folder / "bundle.json")), says="parties"),
    ("export", "epcis"): lambda log: Run(("--out", str(log.folder / "epcis.json"),)),
    ("policy", "check"): lambda log: Run((_policy(log),)),
    ("proof",): lambda log: Run((log.items["valid_firearm"], "--out", str(log.folder / "item.tlog-proof"))),
    ("verify-proof",): lambda log: Run((_proof(log), "--policy", _policy(log))),
    ("witness", "logs", "add"): lambda log: Run((log.settings.origin, log.settings.verifier_key())),
    ("witness", "logs", "remove"): lambda log: Run(("nobody.example/log",), exit_code=2, says="nobody.example/log"),
    ("witnesses", "add"): lambda log: Run(("w1", _witness_vkeys(log), "http://127.0.0.1:9/witness")),
    ("witnesses", "remove"): lambda log: Run(("no-such-witness",), exit_code=2, says="no-such-witness"),
    ("tiles", "export"): lambda log: Run((str(log.folder / "tiles"),)),
    ("peers", "add"): lambda log: Run(("de", "--origin", "bka.example/log", "--vkey", LogKey.generate("bka.example/log").verifier_key,
                                       "--url", "https://bka.example", "--country", "DE", "--as", "registry"), says="de"),
    ("trace-request", "send"): lambda log: Run((log.items["valid_firearm"], "--peer", "nobody", "--reason", "recovered", "--as", "investigator"),
                                               exit_code=2, says="nobody"),
    ("trace-request", "grant"): lambda log: Run(("999", "--as", "investigator"), exit_code=2, says="999"),
    ("trace-request", "refuse"): lambda log: Run(("999", "--reason", "no order", "--as", "investigator"), exit_code=2, says="999"),
    ("trace-request", "fetch"): lambda log: Run(("999",), exit_code=2, says="999"),
    ("peers", "remove"): lambda log: Run(("nobody", "--as", "registry"), exit_code=2, says="nobody"),
    ("tiles", "check"): lambda log: Run(("http://127.0.0.1:9/log/",), exit_code=1, says="cannot fetch http://127.0.0.1:9/log/checkpoint"),
    # three servers that run until stopped (tests/federation/test_run_network.py): here, without the PostgreSQL they need
    ("network", "up"): lambda log: Run(("--dir", str(log.folder / "network"), "--de-db", "postgresql://postgres@127.0.0.1:9/tracemark_de"),
                                       exit_code=2, says="PostgreSQL is not reachable at 127.0.0.1:9"),
    ("network", "reset"): lambda log: Run(("--dir", str(log.folder / "network")), says="no network in"),
}
"""The verbs that need arguments, or answer other than exit code 0 on the fresh demo log. Every
other verb runs with none (the log's place comes from the environment)."""

SERVERS = {("serve",)}
"""Verbs that run until stopped: `test_a_fresh_server_answers_every_get_route_at_once` runs them."""


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name, subcommand in subcommands.items():
        yield from _walk(subcommand, (*path, name))


VERBS = dict(_walk(typer.main.get_command(app)))


def test_the_cli_has_the_verbs_this_module_runs() -> None:
    assert set(RUNS) | SERVERS <= set(VERBS), f"no such verbs: {sorted(set(RUNS) | SERVERS - set(VERBS))}"


@pytest.mark.parametrize("verb", sorted(set(VERBS) - SERVERS), ids=" ".join)
def test_every_verb_works_in_a_fresh_process(fresh_log: FreshLog, verb: tuple[str, ...]) -> None:
    needed = [param.name for param in VERBS[verb].params if param.required]
    assert verb in RUNS or not needed, f"`tracemark {' '.join(verb)}` needs {needed}: give them in RUNS"
    run = RUNS.get(verb, lambda log: Run())(fresh_log)
    done = tracemark(fresh_log, *verb, *run.args)
    assert_no_traceback(done)
    assert done.returncode == run.exit_code, done.stdout[-2000:] + done.stderr[-2000:]
    assert run.says in done.stdout + done.stderr


def test_a_database_that_cannot_be_opened_is_one_line_not_a_traceback(fresh_log: FreshLog) -> None:
    done = tracemark(fresh_log, "checkpoint", "--db", f"sqlite:///{fresh_log.folder / 'no-such-folder' / 'log.db'}")
    assert_no_traceback(done)
    assert done.returncode == 2 and f"error: no log at {fresh_log.folder / 'no-such-folder' / 'log.db'}:" in done.stderr


# ---------------------------------------------------------------- every GET route of a fresh server


PATH_VALUES = {"uid": "valid_firearm", "number": "KE-2026-EX-0042", "party_id": "it-beretta", "rest": "X", "path": "0/000.p/1",
               "origin_hash": "00" * 32, "name": "swagger-ui.css", "seq": "0"}
"""A value for each path parameter of a GET route (`uid` names a demo item's story)."""
QUERY_VALUES = {"seq": "0", "size": "2", "old": "1", "new": "2"}
"""A value for each required query parameter of a GET route."""


def _get_routes(log: FreshLog) -> list[str]:
    """Every GET route of the service's OpenAPI schema, its parameters filled in from the demo log."""
    schema = create_app(log.settings).openapi()
    urls = []
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        query = []
        for param in operations["get"].get("parameters", []):
            name = param["name"]
            if param["in"] == "path":
                assert name in PATH_VALUES, f"GET {path}: give its path parameter {name!r} a value in PATH_VALUES"
                value = PATH_VALUES[name]
                path = path.replace(f"{{{name}}}", log.items.get(value, value))
            elif param.get("required"):
                assert name in QUERY_VALUES, f"GET {path}: give its query parameter {name!r} a value in QUERY_VALUES"
                query.append(f"{name}={QUERY_VALUES[name]}")
        urls.append(path + ("?" + "&".join(query) if query else ""))
    return urls


@pytest.fixture
def fresh_server(fresh_log: FreshLog) -> Iterator[str]:
    """`tracemark serve --workers 2` on the fresh log, yielded once its socket listens: before any
    request has reached a server process (connections wait in the socket's queue until one serves)."""
    port = free_port()
    log = fresh_log.folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([TRACEMARK, "serve", "--workers", "2", "--port", str(port)], cwd=fresh_log.folder,
                                  env=fresh_log.env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START
        while not _listening(port):
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"tracemark serve did not listen in {SERVER_START} s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server, 30)
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def routes(fresh_log: FreshLog) -> list[tuple[str, dict[str, str]]]:
    """Every GET route with the key of a party that may read it: the admin's for admin routes,
    an investigator's for the rest."""
    ledger = open_ledger(fresh_log.settings)
    tokens = {party: create_api_key(ledger, party, "fresh process").token for party in ("registry", "investigator")}
    ledger.db.dispose()
    return [(route, {"Authorization": f"Bearer {tokens['registry' if route.startswith('/v1/admin/') else 'investigator']}"})
            for route in _get_routes(fresh_log)]


def _assert_answered(routes: list[tuple[str, dict[str, str]]], statuses: list[int], bodies: list[str]) -> None:
    failed = {route: body[-1500:] for (route, _), status, body in zip(routes, statuses, bodies, strict=True) if not 200 <= status < 500}
    assert not failed, failed


def test_a_fresh_server_answers_every_get_route_at_once(fresh_server: str, routes: list[tuple[str, dict[str, str]]]) -> None:
    """Every GET route, all sent at once as the first requests `tracemark serve --workers 2` serves."""

    async def all_first() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=fresh_server, timeout=SERVER_START) as client:
            return await asyncio.gather(*(client.get(route, headers=headers) for route, headers in routes))

    answers = asyncio.run(all_first())
    _assert_answered(routes, [answer.status_code for answer in answers], [answer.text for answer in answers])


def test_every_get_route_is_answered_as_a_server_process_first_request(fresh_log: FreshLog, routes: list[tuple[str, dict[str, str]]]) -> None:
    """Each GET route alone, as the first request of a server process of its own (`first_requests`)."""
    done = subprocess.run([sys.executable, "-m", "tests.adversarial.first_requests"], input=json.dumps(routes),
                          env=fresh_log.env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout)
    _assert_answered(routes, [status for status, _ in answers], [body for _, body in answers])
