"""Concurrency: writer processes appending through real API servers to one PostgreSQL.

The log stays one gap-free sequence and one hash chain, every receipt's proof verifies against
its signed checkpoint and that checkpoint is consistent with the final one (no fork), and every
item's state equals a rebuild from the log. Races on one item or one permit line: exactly one wins.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from ulid import ULID

from api.keys import create_api_key
from ledger.audit.recompute import audit
from ledger.config import Settings, open_ledger
from ledger.demo import _firearm
from ledger.log import merkle
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.codec import format_time, utc_now
from ledger.store.rebuild import rebuild, snapshot
from ledger.store.tables import PermitLineRow
from tests.reliability.clients import api_writer, party
from tests.reliability.processes import api_server, demo_parties, party_file

MAKERS = ["it-beretta", "at-glock"]
UNLIMITED = {"TRACEMARK_RATE_LIMIT_WRITES": "0", "TRACEMARK_RATE_LIMIT_SCANS": "0", "TRACEMARK_RATE_LIMIT_PEERS": "0"}


@pytest.fixture
def pg_settings(postgres_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=postgres_url, home=tmp_path / "home", origin="reliability.tracemark.local/log")


def run_writers(settings: Settings, tmp_path: Path, servers: int, writers: int, count: int, batch: int) -> dict:
    """`writers` processes post `count` events each, spread over `servers` API processes; returns the figures."""
    result = demo_parties(settings)
    parties = party_file(settings, result, tmp_path / "parties.json")
    with ExitStack() as stack:
        urls = [stack.enter_context(api_server(settings, tmp_path / f"server{n}.log", **UNLIMITED)) for n in range(servers)]
        jobs = [(urls[n % servers], str(parties), MAKERS[n % 2], f"W{n}", count, batch, str(tmp_path / f"writer{n}.json"))
                for n in range(writers)]
        started = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(writers) as pool:
            pool.starmap(api_writer, jobs)
        seconds = time.monotonic() - started
    receipts = [r for job in jobs for r in json.loads(Path(job[-1]).read_text())["receipts"]]
    return {"base": result.events, "receipts": receipts, "seconds": seconds}


def check_log(settings: Settings, base: int, receipts: list[dict]) -> None:
    ledger = open_ledger(settings)
    vkey = settings.verifier_key()
    size = ledger.size()
    seqs = [r["seq"] for r in receipts]
    assert len(set(seqs)) == len(seqs), "two receipts name one sequence number"
    assert sorted(seqs) == list(range(base, size)), "the sequence has a gap or an unacknowledged entry"
    final = verify_checkpoint(ledger.checkpoint().note, vkey, settings.origin)
    assert final.size == size
    consistent: set[int] = set()
    for r in receipts:
        cp = verify_checkpoint(r["checkpoint"]["note"], vkey, settings.origin)
        merkle.verify_inclusion(bytes.fromhex(r["leaf_hash"]), r["seq"], cp.size,
                                [bytes.fromhex(h) for h in r["inclusion_proof"]], cp.root)
        if cp.size not in consistent:  # no fork: each checkpoint a writer saw is a prefix of the final log
            merkle.verify_consistency(cp.size, final.size, cp.root, final.root, ledger.consistency_proof(cp.size, final.size))
            consistent.add(cp.size)
    with ledger.reading() as session:
        report = audit(session, vkey, settings.origin)
        assert report.ok, [str(f) for f in report.findings[:5]]
        before = snapshot(session)
    assert rebuild(ledger) == size
    with ledger.reading() as session:
        assert snapshot(session) == before, "the items' state differs from a replay of the log"
    ledger.db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("servers", [1, 2])
def test_writers_through_the_api_keep_one_log(pg_settings: Settings, tmp_path: Path, servers: int):
    run = run_writers(pg_settings, tmp_path, servers, writers=8, count=200, batch=20)
    assert len(run["receipts"]) == 8 * 200
    check_log(pg_settings, run["base"], run["receipts"])
    print(f"\nconcurrency: 8 writers x 200 events via {servers} API server(s): {len(run['receipts']) / run['seconds']:.0f} events/s")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("servers", [1, 2])
def test_eight_writers_of_ten_thousand_events_keep_one_log(pg_settings: Settings, tmp_path: Path, servers: int):
    run = run_writers(pg_settings, tmp_path, servers, writers=8, count=10_000, batch=500)
    assert len(run["receipts"]) == 80_000
    check_log(pg_settings, run["base"], run["receipts"])
    print(f"\nconcurrency: 8 writers x 10,000 events via {servers} API server(s): {80_000 / run['seconds']:.0f} events/s")


def _race(urls: list[str], posts: list[tuple[str, dict]]) -> list[httpx.Response]:
    """Post each (token, envelope) to its own server at the same instant."""
    barrier = threading.Barrier(len(posts))

    def post(n: int) -> httpx.Response:
        token, envelope = posts[n]
        with httpx.Client(base_url=urls[n % len(urls)], timeout=60) as client:
            client.get("/healthz")  # connect first, so the barrier releases both requests together
            barrier.wait()
            return client.post("/v1/events", json=envelope, headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(post, range(len(posts))))


@pytest.mark.postgres
def test_races_on_one_item_or_one_permit_line_have_exactly_one_winner(pg_settings: Settings, tmp_path: Path):
    result = demo_parties(pg_settings)
    parties = json.loads(party_file(pg_settings, result, tmp_path / "parties.json").read_text())
    ledger = open_ledger(pg_settings)
    beretta, ranch, kws, customs = (party(parties, p) for p in ("it-beretta", "ke-croc-ranch", "ke-kws", "ke-customs"))
    second_clerk = create_api_key(ledger, "it-beretta", "second clerk").token
    second_officer = create_api_key(ledger, "ke-customs", "second officer").token
    now = utc_now()
    when = now - timedelta(minutes=1)
    rounds = 5
    with ExitStack() as stack:
        urls = [stack.enter_context(api_server(pg_settings, tmp_path / f"race{n}.log", **UNLIMITED)) for n in range(2)]
        for n in range(rounds):  # the custodian's two clerks send one firearm to two different dealers
            uid, marking = _firearm(beretta, f"RACE-{n}", "APX A1")
            ledger.append(beretta.envelope("mark_firearm", when, None, item=uid, marking=marking))
            size = ledger.size()
            answers = _race(urls, [
                (parties["it-beretta"]["token"], beretta.envelope("transfer", when, None, item=uid, to="de-jagd-schmidt", reference=f"A{n}")),
                (second_clerk, beretta.envelope("transfer", when, None, item=uid, to="be-armurerie", reference=f"B{n}")),
            ])
            codes = sorted(a.status_code for a in answers)
            assert codes == [201, 409], [a.text for a in answers]
            loser = next(a for a in answers if a.status_code == 409).json()
            assert loser["type"].startswith("https://tracemark.dev/problems/rule-violation/") and loser["detail"]
            winner = next(a for a in answers if a.status_code == 201).json()
            assert ledger.size() == size + 1 and ledger.item(uid).pending_to in ("de-jagd-schmidt", "be-armurerie")
            assert ledger.entries(winner["seq"], winner["seq"] + 1)[0].item_uid == uid

        for n in range(rounds):  # two customs officers endorse the last skin of a permit line on two specimens
            number = f"KE-RACE-{n}"
            ledger.append(kws.envelope("issue_permit", when, None, permit={
                "number": number, "kind": "export", "issuing_country": "KE", "exporter": "ke-croc-ranch", "importer": "de-leder",
                "export_country": "KE", "import_country": "DE", "valid_from": format_time(now - timedelta(days=1)),
                "valid_until": format_time(now + timedelta(days=30)),
                "lines": [{"line": 1, "species": "Crocodylus niloticus", "appendix": "II", "source": "R", "purpose": "T",
                           "quantity": "1", "unit": "pcs"}]}))
            specimens = []
            for k in range(2):
                uid = str(ULID())
                ledger.append(ranch.envelope("mark_specimen", when, None, item=uid, permit=number, line=1, tag={
                    "kind": "universal_tag", "serial": f"KE-RACE-{n}-{k}", "species": "Crocodylus niloticus", "species_code": "CRONIL",
                    "country_of_origin": "KE", "year": 2026, "quantity": "1", "unit": "pcs"}))
                specimens.append(uid)
            size = ledger.size()
            answers = _race(urls, [
                (token, customs.envelope("export", when, None, item=uid, permit=number, line=1, quantity="1", country="KE", location="JKIA"))
                for token, uid in zip((parties["ke-customs"]["token"], second_officer), specimens)
            ])
            assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
            assert ledger.size() == size + 1
            with ledger.reading() as session:
                assert session.get(PermitLineRow, (number, 1)).endorsed in ("1", "1.0", "1.00")
    ledger.db.dispose()
