"""`tracemark anchor ...` and `verify --chain` with no chain configured: anchoring is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracemark.cli import app

ANCHOR_VARIABLES = ("TRACEMARK_RPC_URL", "TRACEMARK_ANCHOR_ADDRESS", "TRACEMARK_ANCHOR_KEYSTORE", "TRACEMARK_ANCHOR_PASSPHRASE")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for variable in ANCHOR_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return {"TRACEMARK_DB": f"sqlite:///{tmp_path / 'tracemark.db'}", "TRACEMARK_HOME": str(tmp_path / "home"), "COLUMNS": "200"}


def test_without_a_chain_anchoring_is_off_and_the_rest_works(env: dict[str, str]):
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--items", "0"], env=env).exit_code == 0
    run = runner.invoke(app, ["anchor", "run", "--once"], env=env)
    assert run.exit_code == 0 and "anchoring is off: TRACEMARK_RPC_URL is not set" in run.output
    status = runner.invoke(app, ["anchor", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "entries not yet anchored" in status.output and "anchoring is off" in status.output
    assert runner.invoke(app, ["verify"], env=env).exit_code == 0
    chain = runner.invoke(app, ["verify", "--chain"], env=env)
    assert chain.exit_code == 2 and "TRACEMARK_RPC_URL is not set" in chain.output


def test_a_half_configured_chain_is_a_one_line_error(env: dict[str, str]):
    assert CliRunner().invoke(app, ["init"], env=env).exit_code == 0
    env = {**env, "TRACEMARK_RPC_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(app, ["anchor", "run", "--once"], env=env)
    assert result.exit_code == 2
    assert "error: TRACEMARK_ANCHOR_ADDRESS is not set" in result.output
