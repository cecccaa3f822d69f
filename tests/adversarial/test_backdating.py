"""Back-dating: a dealer whose licence ended in 2024 gets nothing by dating its events 2024-06-01.

Replayed against a real `tracemark serve` over the demo log (whose two years of history came in
through the authority's import), and with `tracemark import` / `tracemark verify` as installed
console scripts in fresh processes.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from ulid import ULID

from ledger.config import open_ledger
from ledger.demo import DemoParty
from tests.adversarial.conftest import DemoLog, make_demo_log
from tests.reliability.processes import BIN

ATTACK_DAY = datetime(2024, 6, 1, 10, 0, tzinfo=timezone.utc)
EXPIRED = {"licence_number": "DE-LIC-2019-77", "licence_valid_from": "2019-01-01T00:00:00.000Z",
           "licence_valid_until": "2024-12-31T23:59:59.000Z"}


def now() -> datetime:
    return datetime.now(timezone.utc)


def register_expired_dealer(log: DemoLog, pid: str, post: Any) -> DemoParty:
    """A dealer whose licence ended at the end of 2024, registered by the registry today."""
    from ledger.log.keys import new_account

    dealer = DemoParty(pid, "dealer", "DE", new_account(), log.settings.origin)
    info = {"id": pid, "name": "Alte Waffen GmbH", "role": "dealer", "country": "DE", "addresses": [dealer.account.address]} | EXPIRED
    post("registry", log.parties["registry"].envelope("register_party", now(), None, party=info))
    log.parties[pid] = dealer
    return dealer


def marking(serial: str) -> dict[str, Any]:
    return {"maker_code": "BER", "serial": serial, "country": "IT", "year": 2024, "make": "Beretta", "model": "APX A1",
            "category": "B", "calibre": "9x19mm"}


def sale(log: DemoLog, dealer: str, serial: str, day: datetime) -> list[dict[str, Any]]:
    """Beretta marks a pistol, sends it to `dealer`, the dealer receives it: the attack's events, dated from `day`."""
    uid, beretta = str(ULID()), log.parties["it-beretta"]
    return [beretta.envelope("mark_firearm", day, None, item=uid, marking=marking(serial)),
            beretta.envelope("transfer", day + timedelta(minutes=1), None, item=uid, to=dealer, reference="IT-DE-2024-6"),
            log.parties[dealer].envelope("receive", day + timedelta(minutes=2), None, item=uid)]


@pytest.fixture(scope="module")
def post(demo_log: DemoLog, server: str) -> Any:
    """POST /v1/events as `party`, expecting it accepted."""

    def send(party: str, envelope: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{server}/v1/events", json=envelope, headers=demo_log.auth(party), timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()

    return send


def refusal(server: str, demo_log: DemoLog, party: str, envelope: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    answer = httpx.post(f"{server}/v1/events", json=envelope, headers=demo_log.auth(party), timeout=30)
    return answer.status_code, answer.headers["content-type"], answer.json()


def test_a_dealer_whose_licence_ended_in_2024_gets_nothing_by_back_dating(demo_log: DemoLog, server: str, post: Any) -> None:
    register_expired_dealer(demo_log, "de-alt-waffen", post)
    issued = httpx.post(f"{server}/v1/admin/api-keys", json={"party": "de-alt-waffen", "label": "adversarial"},
                        headers=demo_log.auth("registry"), timeout=30)
    demo_log.tokens["de-alt-waffen"] = issued.json()["token"]
    mark, transfer, _ = sale(demo_log, "de-alt-waffen", "BD-2024-0001", now() - timedelta(minutes=3))
    post("it-beretta", mark)
    status, media, body = refusal(server, demo_log, "it-beretta", transfer)
    assert (status, media, body["rule"]) == (409, "application/problem+json", "receiver_licence_invalid")

    for envelope in sale(demo_log, "de-alt-waffen", "BD-2024-0002", ATTACK_DAY):
        status, media, body = refusal(server, demo_log, envelope["event"]["actor"], envelope)
        assert (status, media, body["rule"]) == (409, "application/problem+json", "reporting_window_exceeded"), body
        assert "2024-06-01" in body["detail"]
    same_item = demo_log.parties["it-beretta"].envelope("transfer", ATTACK_DAY, None, item=mark["event"]["item"], to="de-alt-waffen",
                                                        reference="IT-DE-2024-6")
    assert refusal(server, demo_log, "it-beretta", same_item)[2]["rule"] == "reporting_window_exceeded"
    assert httpx.get(f"{server}/v1/items/{mark['event']['item']}", headers=demo_log.auth("investigator"), timeout=30).json()["custodian"] == "it-beretta"


def test_a_batch_of_back_dated_events_is_refused_whole(demo_log: DemoLog, server: str) -> None:
    envelopes = sale(demo_log, "de-jagd-schmidt", "BD-2024-0003", ATTACK_DAY)[:2]
    answer = httpx.post(f"{server}/v1/events:batch", json={"envelopes": envelopes}, headers=demo_log.auth("it-beretta"), timeout=30)
    assert answer.status_code == 409 and answer.json()["rule"] == "reporting_window_exceeded" and answer.json()["index"] == 0


def test_an_event_dated_next_year_is_refused(demo_log: DemoLog, server: str) -> None:
    mark = sale(demo_log, "de-jagd-schmidt", "BD-2027-0001", now() + timedelta(days=365))[0]
    status, _, body = refusal(server, demo_log, "it-beretta", mark)
    assert (status, body["rule"]) == (409, "time_in_future")


def test_the_demo_history_is_imported_and_every_reader_is_told(demo_log: DemoLog, server: str) -> None:
    uid = demo_log.items["valid_firearm"]
    trace = httpx.get(f"{server}/v1/trace/{uid}", headers=demo_log.auth("investigator"), timeout=30).json()
    assert trace["steps"] and all(step["imported"] for step in trace["steps"])
    events = httpx.get(f"{server}/v1/items/{uid}/events", headers=demo_log.auth("investigator"), timeout=30).json()["events"]
    assert all(event["imported"] for event in events)
    scan = httpx.post(f"{server}/v1/scan", json={"code": uid, "country": "DE", "location": "A5", "direction": "inland"},
                      headers=demo_log.auth("de-police"), timeout=30).json()
    assert scan["imported"] == [event["seq"] for event in events] and all(holder["imported"] for holder in scan["custody"])
    page = httpx.get(f"{server}/investigations/items/{uid}", headers=demo_log.auth("investigator"), timeout=30).text
    assert page.count("(imported from an earlier registry)") == len(trace["steps"])


# ---------------------------------------------------------------- the console script, in fresh processes


@pytest.fixture(scope="module")
def own_log(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    """A demo log of this module's own, for the commands that change it."""
    return make_demo_log(tmp_path_factory.mktemp("own-log"))


def tracemark(log: DemoLog, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    settings = log.settings
    return subprocess.run([str(BIN / "tracemark"), *args, "--db", settings.db_url, "--home", str(settings.home)],
                          capture_output=True, text=True, env={"TRACEMARK_ORIGIN": settings.origin, **env}, timeout=300, check=False)


def jsonl(path: Path, envelopes: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(envelope) + "\n" for envelope in envelopes))
    return path


def test_the_authority_imports_2024_history_marked_imported(own_log: DemoLog, tmp_path: Path) -> None:
    history = sale(own_log, "de-jagd-schmidt", "BD-2024-0100", ATTACK_DAY)
    done = tracemark(own_log, "import", str(jsonl(tmp_path / "history.jsonl", history)))
    assert done.returncode == 0, done.stderr
    assert "imported 3 entries" in " ".join(done.stdout.split())
    traced = tracemark(own_log, "trace", history[0]["event"]["item"], "--json")
    assert [step["imported"] for step in json.loads(traced.stdout)["steps"]] == [True, True, True]
    verified = tracemark(own_log, "verify")
    assert verified.returncode == 0, verified.stderr


def test_an_import_is_judged_at_its_events_times_and_kept_whole_or_not_at_all(own_log: DemoLog, tmp_path: Path) -> None:
    ledger = open_ledger(own_log.settings)
    register_expired_dealer(own_log, "de-alt-import", lambda _party, envelope: ledger.append(envelope))
    size = ledger.size()
    ledger.db.dispose()
    after_expiry = sale(own_log, "de-alt-import", "BD-2025-0001", datetime(2025, 6, 1, tzinfo=timezone.utc))
    done = tracemark(own_log, "import", str(jsonl(tmp_path / "late.jsonl", after_expiry)))
    message = " ".join(done.stderr.split())
    assert done.returncode == 2 and "line 2" in message and "receiver_licence_invalid" in message and "Traceback" not in message
    ledger = open_ledger(own_log.settings)
    assert ledger.size() == size
    ledger.db.dispose()


def test_only_the_holder_of_the_log_key_imports(own_log: DemoLog, tmp_path: Path) -> None:
    elsewhere = tmp_path / "no-key"
    elsewhere.mkdir()
    history = jsonl(tmp_path / "history.jsonl", sale(own_log, "de-jagd-schmidt", "BD-2024-0200", ATTACK_DAY))
    done = subprocess.run([str(BIN / "tracemark"), "import", str(history), "--db", own_log.settings.db_url, "--home", str(elsewhere)],
                          capture_output=True, text=True, env={"TRACEMARK_ORIGIN": own_log.settings.origin}, timeout=300, check=False)
    assert done.returncode == 2 and "log's key" in " ".join(done.stderr.split())


def test_verify_flags_back_dated_live_entries(tmp_path: Path) -> None:
    """Entries appended without the window (older code, or a window widened for the day) and the
    same entries relabelled imported by SQL: neither passes for a sound log."""
    log = make_demo_log(tmp_path)
    ledger = open_ledger(log.settings)
    register_expired_dealer(log, "de-alt-waffen", lambda _party, envelope: ledger.append(envelope))
    ledger.reporting_window = timedelta(days=10 * 365)
    receipts = [ledger.append(envelope) for envelope in sale(log, "de-alt-waffen", "BD-2024-0300", ATTACK_DAY)]
    ledger.checkpoint()
    ledger.db.dispose()
    assert tracemark(log, "verify", TRACEMARK_REPORTING_WINDOW="P3650D").returncode == 0

    done = tracemark(log, "verify")
    message = " ".join(done.stderr.split())
    assert done.returncode == 1 and f"first bad sequence number {receipts[0].seq}: reporting_window_exceeded" in message
    assert all(f"seq {receipt.seq}: reporting_window_exceeded" in message for receipt in receipts)

    with sqlite3.connect(log.settings.db_url.removeprefix("sqlite:///")) as db:
        db.execute(f"UPDATE entry SET imported = 1 WHERE seq >= {receipts[0].seq}")
    done = tracemark(log, "verify")
    message = " ".join(done.stderr.split())
    assert done.returncode == 1 and f"seq {receipts[0].seq}: leaf hash does not match" in message
