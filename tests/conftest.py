"""Shared fixtures: a ledger per test on SQLite and on PostgreSQL, and the demo parties.

PostgreSQL tests use a fresh schema on 127.0.0.1:5432 (user postgres, database test).
Where the server is missing they are skipped on a developer machine and fail in CI
(CI=true), so a green CI always includes them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy

from ledger.config import Settings, init_log

PG_ADMIN_URL = os.environ.get("TRACEMARK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TESTDATA = Path(__file__).resolve().parent / "testdata"
"""Vectors and schemas the tests read, with their licences: a clone needs nothing beside it."""
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def _postgres_or_skip() -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except sqlalchemy.exc.OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    return engine


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped on leaving."""
    engine = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped after the test."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def other_postgres_url() -> Iterator[str]:
    """A second fresh schema, for a test whose servers each keep their own PostgreSQL database."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracemark.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=db_url, home=tmp_path / "home", origin="test.tracemark.local/log")


@pytest.fixture
def ledger(settings: Settings):  # noqa: ANN201
    """An initialised, empty ledger whose clock stands at NOW (and can be moved by tests)."""
    ledger = init_log(settings)
    clock = {"now": NOW}
    ledger.clock = lambda: clock["now"]
    ledger.move_clock = lambda delta: clock.__setitem__("now", clock["now"] + delta)  # type: ignore[attr-defined]
    yield ledger
    ledger.db.dispose()


@pytest.fixture
def sqlite_ledger(tmp_path: Path):  # noqa: ANN201
    """A ledger on SQLite only, for tests that are about the ledger's logic, not the database."""
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'only.db'}", home=tmp_path / "home1", origin="test.tracemark.local/log")
    ledger = init_log(settings)
    ledger.clock = lambda: NOW
    yield ledger
    ledger.db.dispose()


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where browser tests save screenshots: $TRACEMARK_SCREENSHOTS when set (CI keeps them), else the test's temporary folder."""
    folder = Path(os.environ.get("TRACEMARK_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
