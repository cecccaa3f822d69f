"""The witness's record of each log, on SQLite and PostgreSQL: concurrent submissions never roll it
back, and a witness killed with SIGKILL comes back with what it answered."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings, init_log
from ledger.log.checkpoint import verify_checkpoint
from ledger.witness.state import SizeConflict, Witness, WitnessRefusal, origin_hash
from tests.witness.plumbing import OtherLog, Server, running

ORIGIN = "witness-state.example/log"
CONTENDERS = 6
ROUNDS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def witness_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'witness.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    settings = Settings(db_url=url, home=tmp_path / "home", origin=ORIGIN)
    init_log(settings).db.dispose()
    return settings


def _register(settings: Settings, log: OtherLog) -> None:
    ledger = init_log(settings)
    Witness(ledger.db, []).add_log(log.origin, log.key.verifier_key)
    ledger.db.dispose()


def _latest_size(url: str, log: OtherLog) -> int:
    answer = httpx.get(f"{url}/witness/{origin_hash(log.origin)}/checkpoint", timeout=30)
    assert answer.status_code == 200, answer.text
    return verify_checkpoint(answer.text, log.key.verifier_key).size


def test_concurrent_submissions_never_roll_the_witness_back(witness_settings: Settings, tmp_path: Path) -> None:
    log = OtherLog("raced.example/log", leaves=1 + ROUNDS * CONTENDERS)
    _register(witness_settings, log)
    with running(Server(witness_settings.db_url, witness_settings.home, ORIGIN, tmp_path / "witness.log")) as server:
        size, cosigned = 0, []
        with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=CONTENDERS)) as client:
            for _ in range(ROUNDS):
                # Every contender was checked against the same state (old = size), each for a larger tree:
                # without an atomic compare-and-swap, more than one would be cosigned and the smaller,
                # written last, would roll the others back.
                bodies = [log.body(size, size + k) for k in range(1, CONTENDERS + 1)]
                start = threading.Barrier(CONTENDERS)
                answers: dict[int, httpx.Response] = {}

                def submit(k: int) -> None:
                    start.wait()
                    answers[k] = client.post(f"{server.url}/witness/add-checkpoint", content=bodies[k - 1])

                threads = [threading.Thread(target=submit, args=(k,)) for k in range(1, CONTENDERS + 1)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                won = [size + k for k, answer in answers.items() if answer.status_code == 200]
                assert len(won) == 1, {k: (a.status_code, a.text) for k, a in answers.items()}
                assert {a.status_code for a in answers.values()} <= {200, 409}
                assert all(a.text == f"{won[0]}\n" for a in answers.values() if a.status_code == 409)
                size = won[0]
                cosigned.append(size)
                assert _latest_size(server.url, log) == size
        assert cosigned == sorted(cosigned) and len(set(cosigned)) == ROUNDS


def test_submissions_of_many_logs_at_once_are_each_cosigned_and_kept(witness_settings: Settings, tmp_path: Path) -> None:
    """Submissions of different logs commit together: none is lost or given another log's state."""
    logs = [OtherLog(f"crowd{n}.example/log", leaves=ROUNDS) for n in range(CONTENDERS * 2)]
    for log in logs:
        _register(witness_settings, log)
    with running(Server(witness_settings.db_url, witness_settings.home, ORIGIN, tmp_path / "witness.log")) as server:
        refused: list[tuple[str, int, str]] = []
        with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=len(logs))) as client:
            start = threading.Barrier(len(logs))

            def submit(log: OtherLog) -> None:
                start.wait()
                for size in range(1, ROUNDS + 1):
                    answer = client.post(f"{server.url}/witness/add-checkpoint", content=log.body(size - 1, size))
                    if answer.status_code != 200:
                        refused.append((log.origin, answer.status_code, answer.text))

            threads = [threading.Thread(target=submit, args=(log,)) for log in logs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert refused == []
        assert [_latest_size(server.url, log) for log in logs] == [ROUNDS] * len(logs)


def test_a_witness_killed_with_sigkill_keeps_its_state_and_refuses_a_rollback(witness_settings: Settings, tmp_path: Path) -> None:
    log = OtherLog("killed.example/log")
    _register(witness_settings, log)
    server = Server(witness_settings.db_url, witness_settings.home, ORIGIN, tmp_path / "witness.log")
    server.start()
    try:
        assert httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(0, 10), timeout=30).status_code == 200
        assert httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(10, 17), timeout=30).status_code == 200
        server.kill()
        server.start()
        assert _latest_size(server.url, log) == 17
        # A checkpoint of the log's past, whether claimed from the start or from its own size, is refused.
        from_zero = httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(0, 12), timeout=30)
        assert (from_zero.status_code, from_zero.text) == (409, "17\n")
        from_itself = httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(12, 12), timeout=30)
        assert (from_itself.status_code, from_itself.text) == (409, "17\n")
        behind = httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(17, 12, proof=[]), timeout=30)
        assert behind.status_code == 400
        assert _latest_size(server.url, log) == 17
        assert httpx.post(f"{server.url}/witness/add-checkpoint", content=log.body(17, 30), timeout=30).status_code == 200
    finally:
        server.stop()


def test_two_witness_processes_on_one_database_judge_by_what_is_committed(witness_settings: Settings) -> None:
    """Each process checks a request against the state it last wrote; when another process has moved
    the log on, or the log was removed and added again with another key, the answer is the one the
    committed state calls for."""
    log = OtherLog("two-processes.example/log", leaves=8)
    _register(witness_settings, log)
    ledger = init_log(witness_settings)
    first, second = Witness(ledger.db, witness_settings.witness_keys()), Witness(ledger.db, witness_settings.witness_keys())
    first.add_checkpoint(log.body(0, 1))
    second.add_checkpoint(log.body(1, 2))
    assert first.add_checkpoint(log.body(2, 3))  # `first` last wrote size 1: it finds size 2 committed and extends it
    with pytest.raises(SizeConflict) as moved:
        second.add_checkpoint(log.body(2, 4))  # `second` last wrote size 2, but `first` has moved it to 3
    assert moved.value.size == 3
    rekeyed = OtherLog(log.origin, leaves=8)
    first.remove_log(log.origin)
    first.add_log(log.origin, rekeyed.key.verifier_key)
    with pytest.raises(WitnessRefusal) as old_key:
        second.add_checkpoint(log.body(3, 4))  # what `second` remembers of the log still takes the old key
    assert old_key.value.status == 403
    assert second.add_checkpoint(rekeyed.body(0, 1))
    ledger.db.dispose()
