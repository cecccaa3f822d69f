"""A cross-border scan between two real national logs (`tracemark serve`, Germany on PostgreSQL,
Kenya on SQLite) over real HTTP: Kenya's officer scans a pistol Germany's log has as stolen, and
gets Germany's verified answer; Germany hears of the hit, even when it was down and Kenya
restarted meanwhile; a Germany that stalls or answers garbage gives a kept answer flagged as such,
never VALID; Kenya reuses Germany's answer within its TTL without asking, never after it nor past
the peering; a log Kenya does not peer with is told apart."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from ledger import Entry, format_time, new_account, open_ledger
from ledger.log.checkpoint import LogKey
from scanner.markings import issue_marking
from scanner.payload import encode_payload, parse_payload, sign_claim
from tests.federation.test_two_logs import Log, german_and_kenyan_logs
from tests.witness.plumbing import tracemark, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TTL = 4
"""Seconds Kenya reuses Germany's verified answer ($TRACEMARK_PEER_CACHE_TTL)."""
SCANS_AT_ONCE = 30
"""More scans at once than a server process has threads in its pool (cores + 4)."""


@dataclass
class Proxy:
    """A TCP proxy in front of a log: it forwards, stalls (accepts and never answers) or answers garbage."""

    target: int
    mode: str = "forward"
    port: int = 0
    _server: socket.socket = field(default_factory=lambda: socket.create_server(("127.0.0.1", 0)))
    _open: list[socket.socket] = field(default_factory=list)

    def set(self, mode: str) -> None:
        """Behave as `mode` from now on, for kept-alive connections too (they are cut)."""
        self.mode = mode
        for connection in self._open:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._open.clear()

    def __post_init__(self) -> None:
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            self._open.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.mode == "stall":
            client.recv(65536)
            threading.Event().wait(30)
            client.close()
            return
        if self.mode == "garbage":
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n"
                           b'{"status":"active')
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target))
        except ConnectionRefusedError:  # the log is down: so is the proxy to it
            client.close()
            return
        self._open.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass
class Border:
    de: Log
    ke: Log
    proxy: Proxy
    token: str
    stolen: str
    code: str
    folder: Path
    others: list[str]
    """Codes of more German items, none flagged and none scanned before their test."""

    def scan(self, code: str | None = None) -> dict:
        started = datetime.now(UTC)
        answer = httpx.post(f"{self.ke.server.url}/v1/scan", headers={"Authorization": f"Bearer {self.token}"}, timeout=30,
                            json={"code": code or self.code, "country": "KE", "location": "Namanga", "direction": "import"})
        assert answer.status_code == 200, answer.text
        assert datetime.now(UTC) - started < timedelta(seconds=5)  # the peer's 2 s bound, plus the scan's own work
        return answer.json()

    def forget(self) -> None:
        """Wait until Kenya no longer reuses the answers it had: its next scan asks Germany."""
        time.sleep(TTL)

    def outbox(self, seq: int) -> dict:
        """Kenya's hit notice of its inspection `seq`, as its outbox has it."""
        with sqlite3.connect(self.folder / "ke.db") as db:
            db.row_factory = sqlite3.Row
            [row] = db.execute("SELECT * FROM hit_outbox WHERE seq = ?", (seq,)).fetchall()
            return dict(row)


@pytest.fixture(scope="module")
def border(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Border]:
    folder = tmp_path_factory.mktemp("border")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        env.setenv("TRACEMARK_PEER_CACHE_TTL", f"PT{TTL}S")
        de, ke = german_and_kenyan_logs(stack, folder)
        world = de.world
        assert world is not None
        ledger = world.ledger
        stolen = world.firearm()
        world.act("de-police", "report_stolen", item=stolen, place="Frankfurt am Main", details="burglary at the dealer's")
        code = issue_marking(ledger, stolen, world.parties["it-beretta"].account).payload
        others = [issue_marking(ledger, world.firearm(), world.parties["it-beretta"].account).payload for _ in range(SCANS_AT_ONCE)]
        ledger.db.dispose()
        keystore = ke.settings.keys_dir / "registry.json"
        created = tracemark("apikey", "create", "ke-customs", "--managed-key", "--authoriser", str(keystore), "--passphrase", "pass",
                            "--db", ke.settings.db_url, "--home", str(ke.settings.home), origin=ke.settings.origin)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        proxy = Proxy(de.server.port)
        de.peer_with(ke)
        ke.peers("add", "de", "--origin", de.settings.origin, "--vkey", de.vkey, "--url", proxy.url, "--country", "DE")
        for log in (de, ke):
            log.server.start()
            stack.callback(log.server.stop)
        yield Border(de, ke, proxy, token, stolen, code, folder, others)


def _entries(log: Log, event_type: str) -> list[dict]:
    ledger = open_ledger(log.settings)
    try:
        with ledger.reading() as session:
            rows = session.exec(select(Entry).where(col(Entry.event_type) == event_type).order_by(col(Entry.seq)))
            return [{"seq": row.seq, **json.loads(row.event)} for row in rows]
    finally:
        ledger.db.dispose()


def test_a_stolen_pistol_of_germany_scanned_in_kenya_is_reported_stolen_in_de_with_proof(border: Border) -> None:
    border.proxy.set("forward")
    answer = border.scan()
    assert answer["verdict"] == "REPORTED_LOST_STOLEN", answer
    assert any("reported stolen in DE" in reason["detail"] for reason in answer["reasons"]), answer["reasons"]
    foreign = answer["foreign"]
    assert foreign["origin"] == border.de.settings.origin and foreign["uid"] == border.stolen and foreign["answered_now"]
    assert foreign["status"] == "stolen" and foreign["flagged"]
    assert foreign["proof"].startswith("c2sp.org/tlog-proof@v1\n")
    assert "facts" not in foreign or foreign["facts"] is None  # Germany shares no facts with Kenya
    assert foreign["holder_country"] is None
    inspections = [e for e in _entries(border.ke, "inspect") if e["item"] == border.stolen]
    assert inspections and inspections[-1]["log"] == border.de.settings.origin
    assert inspections[-1]["verdict"] == "REPORTED_LOST_STOLEN" and inspections[-1]["seq"] == answer["inspection"]["seq"]

    def heard() -> bool:
        return any(e["peer_seq"] == answer["inspection"]["seq"] for e in _entries(border.de, "hit_notice"))

    wait_for(heard, "Germany's hit notice of Kenya's inspection")
    [notice] = [e for e in _entries(border.de, "hit_notice") if e["peer_seq"] == answer["inspection"]["seq"]]
    assert notice["item"] == border.stolen and notice["peer"] == "ke" and notice["peer_origin"] == border.ke.settings.origin
    assert notice["actor"] == "federation" and notice["country"] == "KE" and notice["verdict"] == "REPORTED_LOST_STOLEN"
    assert notice["peer_leaf_hash"] == answer["inspection"]["leaf_hash"]


def test_a_stalling_germany_gives_the_kept_answer_within_the_bound_then_a_stale_one(border: Border) -> None:
    border.proxy.set("forward")
    border.forget()
    border.scan()  # a fresh answer is kept
    border.forget()
    border.proxy.set("stall")
    answer = border.scan()
    assert answer["verdict"] == "PEER_UNREACHABLE", answer
    assert answer["foreign"]["status"] == "stolen" and not answer["foreign"]["answered_now"]
    assert "within 2 s" in answer["foreign"]["problem"]
    assert any(reason["verdict"] == "REPORTED_LOST_STOLEN" for reason in answer["reasons"])

    with sqlite3.connect(border.folder / "ke.db") as db:  # the kept answer ages two days
        [(kept,)] = db.execute("SELECT answer FROM peer_status WHERE uid = ?", (border.stolen,)).fetchall()
        aged = {**json.loads(kept), "as_of": format_time(datetime.now(UTC) - timedelta(days=2))}
        db.execute("UPDATE peer_status SET answer = ? WHERE uid = ?", (json.dumps(aged), border.stolen))
    answer = border.scan()
    assert answer["verdict"] == "STALE_STATUS", answer
    border.proxy.set("forward")


def test_scans_of_many_items_at_once_each_answer_within_the_bound_while_germany_stalls(border: Border) -> None:
    border.proxy.set("stall")
    with ThreadPoolExecutor(SCANS_AT_ONCE) as scanners:
        answers = list(scanners.map(border.scan, border.others))  # each within the bound: `Border.scan`
    border.proxy.set("forward")
    assert all(answer["verdict"] == "PEER_UNREACHABLE" and answer["foreign"] is None for answer in answers), answers
    assert len({answer["inspection"]["seq"] for answer in answers}) == SCANS_AT_ONCE


def test_garbage_from_germany_is_never_valid(border: Border) -> None:
    border.forget()
    border.proxy.set("garbage")
    answer = border.scan()
    assert answer["verdict"] in ("PEER_UNREACHABLE", "STALE_STATUS"), answer
    assert "not signed" in answer["foreign"]["problem"] or "JSON" in answer["foreign"]["problem"]
    border.proxy.set("forward")


def test_a_code_of_a_log_kenya_does_not_peer_with_is_the_unknown_log_answer(border: Border) -> None:
    genuine = parse_payload(border.code)
    stranger = LogKey.generate("registry.fr.example/log").key_hash.hex()
    account = new_account()
    code = encode_payload(genuine.host, genuine.item, genuine.facts,
                          sign_claim(account, genuine.host, genuine.item, genuine.facts, log_id=stranger), log_id=stranger)
    answer = border.scan(code)
    assert answer["verdict"] == "FOREIGN_LOG" and answer["foreign"] is None, answer
    assert not answer["inspection"]["recorded"]


def _not_fresh(answer: dict) -> bool:
    return any(reason["verdict"] in ("PEER_UNREACHABLE", "STALE_STATUS") for reason in answer["reasons"])


def test_within_the_ttl_kenya_answers_from_germanys_last_answer_without_asking_and_asks_again_after_it(border: Border) -> None:
    border.proxy.set("forward")
    border.forget()
    first = border.scan()
    assert first["foreign"]["answered_now"] and not _not_fresh(first), first
    border.proxy.set("stall")  # asked now, Germany would answer nothing within the bound
    second = border.scan()
    assert second["verdict"] == "REPORTED_LOST_STOLEN" and not _not_fresh(second), second
    assert second["foreign"]["answered_now"] and second["foreign"]["problem"] == ""
    assert (second["foreign"]["verified_at"], second["foreign"]["as_of"]) == (first["foreign"]["verified_at"], first["foreign"]["as_of"])
    border.forget()
    third = border.scan()  # asked again: the stalling Germany
    assert third["verdict"] == "PEER_UNREACHABLE" and not third["foreign"]["answered_now"], third
    assert "within 2 s" in third["foreign"]["problem"]
    border.proxy.set("forward")
    fourth = border.scan()
    assert fourth["foreign"]["answered_now"] and fourth["foreign"]["as_of"] > first["foreign"]["as_of"], fourth


def test_no_answer_is_reused_past_the_peering_it_came_from(border: Border) -> None:
    border.proxy.set("forward")
    assert border.scan()["verdict"] == "REPORTED_LOST_STOLEN"  # Germany's answer, fresh in Kenya
    border.ke.peers("remove", "de", "--reason", "the agreement ended")
    ended = border.scan()
    assert ended["verdict"] == "FOREIGN_LOG" and ended["foreign"] is None, ended
    border.ke.peers("add", "de", "--origin", border.de.settings.origin, "--vkey", border.de.vkey, "--url", border.proxy.url,
                    "--country", "DE")
    border.proxy.set("stall")
    again = border.scan()  # peered anew: Germany is asked, and stalls
    assert again["verdict"] == "PEER_UNREACHABLE" and not again["foreign"]["answered_now"], again
    border.proxy.set("forward")


def test_a_hit_notice_reaches_germany_after_it_was_down_and_kenya_restarted(border: Border) -> None:
    border.proxy.set("forward")
    border.de.server.stop()
    answer = border.scan()  # Germany's last answer flags the pistol: Kenya owes it a notice
    seq = answer["inspection"]["seq"]
    assert answer["foreign"]["flagged"] and border.outbox(seq)["state"] == "pending"
    wait_for(lambda: border.outbox(seq)["attempts"] >= 1, "a first try of the notice")
    border.ke.server.stop()
    border.ke.server.start()
    border.de.server.start()

    def heard() -> bool:
        return any(e["peer_seq"] == seq for e in _entries(border.de, "hit_notice"))

    wait_for(heard, "Germany's hit notice of Kenya's inspection while Germany was down")
    [notice] = [e for e in _entries(border.de, "hit_notice") if e["peer_seq"] == seq]
    wait_for(lambda: border.outbox(seq)["state"] == "delivered", "the notice marked delivered")
    kept = border.outbox(seq)
    assert kept["peer_seq"] == notice["seq"] and kept["next_attempt"] is None and kept["settled_at"]


def test_a_hit_notice_germany_refuses_is_kept_as_refused_and_not_tried_again(border: Border) -> None:
    border.proxy.set("forward")
    border.de.peers("remove", "ke", "--reason", "the agreement ended")
    try:
        answer = border.scan()
        seq = answer["inspection"]["seq"]
        assert answer["foreign"]["flagged"]
        wait_for(lambda: border.outbox(seq)["state"] != "pending", "Germany's answer to the notice")
        refused = border.outbox(seq)
        assert refused["state"] == "refused" and "not the origin of a current peer" in refused["detail"], refused
        assert refused["next_attempt"] is None and refused["attempts"] == 0
    finally:
        border.de.peer_with(border.ke)
    time.sleep(2)  # a retry would have come by now (the first waits 1 s)
    assert border.outbox(seq) == refused
    assert not any(e["peer_seq"] == seq for e in _entries(border.de, "hit_notice"))
