"""Health, readiness, metrics, and 503 problem+json when the database is gone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.config import Settings
from tests.api.conftest import assert_problem


def test_health_readiness_and_metrics(client, ledger):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "size": ledger.size()}
    client.get("/v1/checkpoint")
    client.get("/v1/items/NOPE")
    text = client.get("/metrics").text
    assert f"tracemark_log_size {float(ledger.size())}" in text
    assert 'tracemark_http_requests_total{method="GET",route="/v1/items/{uid}",status="401"} 1.0' in text
    assert 'tracemark_http_request_duration_seconds_count{method="GET",route="/v1/checkpoint"} 1.0' in text
    assert "tracemark_checkpoint_age_seconds 0.0" in text  # the test ledger's clock stands still


def test_an_unreachable_database_is_503_not_500(tmp_path: Path):
    (tmp_path / "a-folder.db").mkdir()  # there, but no database can be opened in it
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'a-folder.db'}", home=tmp_path / "home")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        assert_problem(client.get("/readyz"), 503, "database-unavailable")
        assert_problem(client.get("/v1/parties/x", headers={"Authorization": "Bearer tmk_0123456789abcdef_" + "A" * 43}),
                       503, "database-unavailable")
