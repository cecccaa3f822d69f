"""Trace requests between two real national logs (`tracemark serve` on PostgreSQL and on SQLite),
driven through the `tracemark trace-request` commands: asked in Kenya, logged on arrival in Germany,
granted (the chain delivered, verified, and verifying again when shown) or refused, overdue past a
deadline, a tampered answer refused, a stranger refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ledger import Settings, TraceAnswerRefused, canonical, check_answer, init_log, list_peer_traces, open_ledger, save_keystore
from ledger.log.checkpoint import LogKey
from tests.conftest import fresh_postgres_schema
from tests.federation.test_two_logs import Log, send, signed
from tests.support import World
from tests.witness.plumbing import Server, tracemark

pytestmark = pytest.mark.postgres


def make_log(name: str, db_url: str, folder: Path, items: int = 0) -> tuple[Log, list[str]]:
    settings = Settings(db_url=db_url, home=folder / name, origin=f"registry.{name}.example/log")
    ledger = init_log(settings)
    world = World(ledger)
    uids = []
    for _ in range(items):
        uid = world.firearm()
        world.ship(uid, "it-beretta", "de-jagd-schmidt")
        uids.append(uid)
    for party in ("registry", "investigator"):
        save_keystore(world.parties[party].account, settings.keys_dir / f"{party}.json", "pass", iterations=2**10)
    ledger.db.dispose()
    return Log(name, settings, Server(db_url, settings.home, settings.origin, folder / f"{name}.log")), uids


def cli(log: Log, *args: str, who: str | None = "investigator") -> str:
    signer = ("--as", who, "--passphrase", "pass") if who else ()
    done = tracemark("trace-request", *args, *signer, "--db", log.settings.db_url, "--home", str(log.settings.home),
                     origin=log.settings.origin)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def requests_of(log: Log) -> dict[tuple[str, int], dict[str, Any]]:
    """Each side's requests by (side, the asking log's entry)."""
    rows = json.loads(cli(log, "list", "--json", who=None))
    return {(row["side"], row["seq"] if row["side"] == "sent" else row["peer_seq"]): row for row in rows}


def sent_seq(output: str) -> int:
    return int(output.split("trace request ")[1].split()[0])


def eventually(check: Any, seconds: float = 30) -> Any:
    end = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > end:
            return result
        time.sleep(0.3)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Log, Log, list[str]]]:
    folder = tmp_path_factory.mktemp("trace-requests")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        env.setenv("TRACEMARK_PEER_TIMEOUT", "20")  # a loaded test machine; the bound itself is tested in test_two_logs
        de, uids = make_log("de", stack.enter_context(fresh_postgres_schema()), folder, items=3)
        ke, _ = make_log("ke", f"sqlite:///{folder / 'ke.db'}", folder)
        for log in (de, ke):
            log.server.start()
            stack.callback(log.server.stop)
        de.peers("add", "ke", "--origin", ke.settings.origin, "--vkey", ke.vkey, "--url", ke.server.url, "--country", "KE", "--share", "facts")
        ke.peer_with(de)
        yield de, ke, uids


def test_a_granted_request_reaches_the_asking_log_as_a_verified_chain(logs: tuple[Log, Log, list[str]]) -> None:
    de, ke, uids = logs
    seq = sent_seq(cli(ke, "send", "--peer", "de", uids[0], "--reason", "pistol found at Namanga border post"))
    arrived = requests_of(de)[("received", seq)]
    assert (arrived["state"], arrived["item"], arrived["peer"], arrived["requester"]) == ("open", uids[0], "ke", "investigator")
    assert requests_of(ke)[("sent", seq)]["remote_seq"] == arrived["seq"]

    cli(de, "grant", str(arrived["seq"]))
    answered = eventually(lambda: (row := requests_of(ke)[("sent", seq)])["state"] == "answered" and row)
    assert answered, requests_of(ke)[("sent", seq)]
    chain = answered["answer"]["chain"]
    assert chain["uid"] == uids[0] and chain["facts"]["make"] == "Beretta"  # de shares facts with ke
    assert [step["type"] for step in chain["steps"]] == ["mark_firearm", "transfer", "receive"]
    assert all("entry" in step for step in chain["steps"])
    assert requests_of(de)[("received", seq)]["delivered_at"] is not None


def test_an_answered_chain_verifies_again_and_a_changed_one_does_not(logs: tuple[Log, Log, list[str]]) -> None:
    _, ke, _ = logs
    ledger = open_ledger(ke.settings)
    try:
        row = next(row for row in list_peer_traces(ledger, "sent") if row.state == "answered")
        assert check_answer(ledger, ke.settings, row) == int(row.answer["chain"]["checkpoint"].splitlines()[1])
        changed = json.loads(json.dumps(row.answer))
        changed["chain"]["steps"][0]["proof"][0] = base64.b64encode(bytes(32)).decode()
        with pytest.raises(TraceAnswerRefused, match="is not in the peer's checkpoint"):
            check_answer(ledger, ke.settings, replace(row, answer=changed))
        with pytest.raises(TraceAnswerRefused, match="registry.fr.example/log is no longer a peer"):
            check_answer(ledger, ke.settings, replace(row, peer_origin="registry.fr.example/log"))
    finally:
        ledger.db.dispose()


def test_a_refusal_reaches_the_asking_log_with_its_reason(logs: tuple[Log, Log, list[str]]) -> None:
    de, ke, uids = logs
    seq = sent_seq(cli(ke, "send", "--peer", "de", uids[1], "--reason", "routine check"))
    arrival = requests_of(de)[("received", seq)]["seq"]
    cli(de, "refuse", str(arrival), "--reason", "a court order is needed for this item")
    refused = eventually(lambda: (row := requests_of(ke)[("sent", seq)])["state"] == "refused" and row)
    assert refused and refused["refusal"] == "a court order is needed for this item"
    assert requests_of(de)[("received", seq)]["state"] == "refused"


def test_an_unanswered_request_is_overdue_on_both_sides_and_a_tampered_answer_is_refused(logs: tuple[Log, Log, list[str]]) -> None:
    de, ke, uids = logs
    seq = sent_seq(cli(ke, "send", "--peer", "de", uids[2], "--reason", "seized in Mombasa", "--deadline", "PT1S"))
    time.sleep(2)
    assert requests_of(ke)[("sent", seq)]["state"] == "overdue"
    assert requests_of(de)[("received", seq)]["state"] == "overdue"

    good = next(row for row in requests_of(ke).values() if row["state"] == "answered")["answer"]

    def refused_by_ke(answer: dict[str, Any], wanted: str) -> None:
        body = canonical(answer)
        response = send(signed(de, f"{ke.server.url}/federation/v1/trace-answers", body, method="POST"), body)  # signed by de's key
        assert response.status_code == 422, response.text
        assert wanted in response.json()["detail"], response.json()["detail"]

    refused_by_ke(good | {"request_seq": seq}, f"not of item {uids[2]}")  # another item's true chain
    forged = json.loads(json.dumps(good)) | {"request_seq": seq}
    forged["chain"]["uid"] = uids[2]
    refused_by_ke(forged, "the entry says something else than the step")  # true entries, of another item
    for step in forged["chain"]["steps"]:
        del step["entry"]
    forged["chain"]["steps"][1]["proof"][0] = base64.b64encode(bytes(32)).decode()
    refused_by_ke(forged, "is not in the peer's checkpoint")
    assert requests_of(ke)[("sent", seq)]["state"] == "overdue"  # nothing was recorded

    cli(de, "grant", str(requests_of(de)[("received", seq)]["seq"]))  # late, but answered
    assert eventually(lambda: requests_of(ke)[("sent", seq)]["state"] == "answered")


def test_a_log_that_is_not_a_peer_cannot_send_a_request(logs: tuple[Log, Log, list[str]]) -> None:
    de, _, uids = logs
    stranger = LogKey.generate("registry.fr.example/log")
    body = canonical({"request_seq": 1, "requester": "investigator", "item": uids[0], "reason": "x", "deadline": "2030-01-01T00:00:00Z"})
    url = f"{de.server.url}/federation/v1/trace-requests"
    from ledger import HttpRequest, sign_request

    request = HttpRequest("POST", url, {"Content-Type": "application/json"})
    sign_request(request, body, stranger, stranger.name)
    response = send(request, body)
    assert response.status_code == 401 and "not the origin of a current peer" in response.json()["detail"]
    assert all(row["requester"] != "investigator" or row["item"] != uids[0] or row["reason"] != "x" for row in requests_of(de).values())
