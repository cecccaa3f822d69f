"""Two national logs as real `tracemark serve` processes (one on SQLite, one on PostgreSQL), peered
with the CLI, asking each other signed: what is accepted, what is refused with 401, and a peer
that never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledger import (
    HttpRequest,
    Peer,
    PeerClient,
    PeerRefused,
    PeerUnreachable,
    Settings,
    init_log,
    open_note,
    save_keystore,
    sign_request,
)
from ledger.log.checkpoint import LogKey
from tests.conftest import fresh_postgres_schema
from tests.support import World
from tests.witness.plumbing import Server, tracemark

pytestmark = pytest.mark.postgres


@dataclass
class Log:
    """One national log: its settings, its server, and the key that signs for it."""

    name: str
    settings: Settings
    server: Server
    world: World | None = None
    """The demo's parties on this log, to act as them (its ledger is this process's, not the server's)."""

    @property
    def key(self) -> LogKey:
        return LogKey.from_signer_key(self.settings.log_key_path.read_text().strip())

    @property
    def vkey(self) -> str:
        return self.settings.verifier_key()

    def client(self, timeout: float = 10) -> PeerClient:
        return PeerClient(self.key, self.settings.origin, timeout=timeout)

    def peers(self, *args: str) -> None:
        done = tracemark("peers", *args, "--as", "registry", "--passphrase", "pass", "--db", self.settings.db_url,
                         "--home", str(self.settings.home), origin=self.settings.origin)
        assert done.returncode == 0, done.stderr

    def peer_with(self, other: Log, name: str | None = None) -> None:
        self.peers("add", name or other.name, "--origin", other.settings.origin, "--vkey", other.vkey, "--url", other.server.url,
                   "--country", other.name.upper())

    def as_peer(self, name: str | None = None) -> Peer:
        """How another log sees this one."""
        return Peer(name or self.name, self.settings.origin, self.vkey, self.server.url, self.name.upper(), (), 0)


def make_log(name: str, db_url: str, folder: Path) -> Log:
    settings = Settings(db_url=db_url, home=folder / name, origin=f"registry.{name}.example/log")
    ledger = init_log(settings)
    world = World(ledger)
    save_keystore(world.parties["registry"].account, settings.keys_dir / "registry.json", "pass", iterations=2**10)
    ledger.db.dispose()
    return Log(name, settings, Server(db_url, settings.home, settings.origin, folder / f"{name}.log"), world)


def german_and_kenyan_logs(stack: ExitStack, folder: Path) -> tuple[Log, Log]:
    """Germany's log on PostgreSQL (a fresh schema, dropped when `stack` closes) and Kenya's on SQLite, in `folder`."""
    return make_log("de", stack.enter_context(fresh_postgres_schema()), folder), make_log("ke", f"sqlite:///{folder / 'ke.db'}", folder)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Log, Log]]:
    folder = tmp_path_factory.mktemp("two-logs")
    with ExitStack() as stack:
        de, ke = german_and_kenyan_logs(stack, folder)
        de.peer_with(ke)
        ke.peer_with(de)
        for log in (de, ke):
            log.server.start()
            stack.callback(log.server.stop)
        yield de, ke


def test_each_log_answers_the_others_signed_request_with_a_signed_answer(logs: tuple[Log, Log]) -> None:
    de, ke = logs
    for asking, asked in ((ke, de), (de, ke)):
        client = asking.client()
        answer = client.get(asked.as_peer(), "/federation/v1/hello")  # the client verified the answer's signature
        assert answer.content == {"origin": asked.settings.origin, "peer": asking.name}
        assert answer.signature["signature-input"].startswith('tm=("@status" "content-digest" "@method";req "@target-uri";req')
        posted = client.post(asked.as_peer(), "/federation/v1/hello", {"question": "are you there?"})
        assert posted.content == answer.content
        client.close()


def test_the_peer_list_is_a_note_the_log_signs(logs: tuple[Log, Log]) -> None:
    de, ke = logs
    note = httpx.get(f"{de.server.url}/federation/v1/peers", timeout=30).text
    lines = open_note(note, de.vkey).splitlines()
    assert lines[0] == f"{de.settings.origin} peers"
    assert lines[1:] == ['{"country":"KE","name":"ke","origin":"%s","url":"%s","vkey":"%s"}' % (ke.settings.origin, ke.server.url, ke.vkey)]


def signed(log: Log, url: str, body: bytes = b"", method: str = "GET", key: LogKey | None = None, now: float | None = None) -> HttpRequest:
    """A request signed as `log` (with its own key, or with `key` claiming to be it)."""
    request = HttpRequest(method, url, {"Content-Type": "application/json"} if body else {})
    sign_request(request, body, key or log.key, log.settings.origin, now=now)
    return request


def send(request: HttpRequest, body: bytes = b"") -> httpx.Response:
    return httpx.request(request.method, request.url, headers=request.headers, content=body or None, timeout=30)


def refused(response: httpx.Response, wanted: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert wanted in response.json()["detail"], response.json()["detail"]


def test_requests_not_signed_by_a_current_peer_are_refused_with_401(logs: tuple[Log, Log]) -> None:
    de, ke = logs
    hello = f"{de.server.url}/federation/v1/hello"
    refused(httpx.get(hello, timeout=30), "unsigned")
    refused(send(signed(ke, hello, key=LogKey.generate(ke.settings.origin))), "does not verify")  # ke's name, another key
    stranger = LogKey.generate("registry.fr.example/log")
    request = HttpRequest("GET", hello)
    sign_request(request, b"", stranger, stranger.name)
    refused(send(request), "not the origin of a current peer")
    refused(send(signed(ke, hello, now=time.time() - 120)), "expire")

    once = signed(ke, hello)
    assert send(once).status_code == 200
    refused(send(once), "replayed")

    body = b'{"question":"are you there?"}'
    tampered = signed(ke, hello, body, method="POST")
    refused(send(tampered, b'{"question":"are you there!"}'), "Content-Digest")
    assert send(tampered, body).status_code == 200  # the same request, untampered, was never seen: accepted


def test_a_removed_peer_is_refused(logs: tuple[Log, Log]) -> None:
    de, _ = logs
    fr_key = LogKey.generate("registry.fr.example/log")
    fr = PeerClient(fr_key, fr_key.name, timeout=10)
    de.peers("add", "fr", "--origin", fr_key.name, "--vkey", fr_key.verifier_key, "--url", "http://127.0.0.1:9", "--country", "FR")
    assert fr.get(de.as_peer(), "/federation/v1/hello").content == {"origin": de.settings.origin, "peer": "fr"}
    de.peers("remove", "fr", "--reason", "the agreement ended")
    with pytest.raises(PeerRefused) as refusal:
        fr.get(de.as_peer(), "/federation/v1/hello")
    assert refusal.value.status == 401 and "not the origin of a current peer" in refusal.value.detail
    fr.close()


def test_a_peer_that_never_answers_is_unreachable_within_the_bound(logs: tuple[Log, Log]) -> None:
    de, _ = logs
    with socket.socket() as stalled:  # the kernel accepts connections; nobody ever reads or answers
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(16)
        port = stalled.getsockname()[1]
        silent = Peer("silent", "silent.example/log", LogKey.generate("silent.example/log").verifier_key, f"http://127.0.0.1:{port}", "FR", (), 0)
        client = de.client(timeout=0.5)
        with pytest.raises(PeerUnreachable) as unreachable:
            client.get(silent, "/federation/v1/hello")
        client.close()
    assert unreachable.value.peer == "silent" and "within 0.5 s" in unreachable.value.detail


def test_a_refusal_and_an_answer_signed_by_another_key_reach_the_caller_as_such(logs: tuple[Log, Log]) -> None:
    de, ke = logs
    stranger = PeerClient(LogKey.generate("registry.fr.example/log"), "registry.fr.example/log", timeout=10)
    with pytest.raises(PeerRefused) as refusal:
        stranger.get(de.as_peer(), "/federation/v1/hello")
    assert refusal.value.status == 401 and "not the origin of a current peer" in refusal.value.detail
    client = ke.client()
    impostor = Peer("de", de.settings.origin, LogKey.generate(de.settings.origin).verifier_key, de.server.url, "DE", (), 0)
    with pytest.raises(PeerUnreachable) as unreachable:  # the answer verifies with de's real key, not with this one
        client.get(impostor, "/federation/v1/hello")
    assert "not signed by" in unreachable.value.detail
    stranger.close()
    client.close()
