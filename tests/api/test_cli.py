"""`tracemark apikey` and the demo API keys that `tracemark serve` hands out."""

from __future__ import annotations

import json
import stat

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.demo_keys import api_keys_path, seed_demo_api_keys
from ledger.demo import DEMO_PASSPHRASE, run_demo
from ledger.log.keys import save_keystore
from tests.conftest import NOW
from tracemark.cli import app

runner = CliRunner()


def test_demo_api_keys_work_and_scanners_and_the_investigator_get_managed_keys(settings, ledger):
    result = run_demo(ledger, keys_dir=settings.keys_dir, items=2, now=NOW)
    index = seed_demo_api_keys(ledger, settings)
    path = api_keys_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and json.loads(path.read_text()) == index
    assert set(index) == set(result.parties)
    assert {p for p, info in index.items() if info["managed_key"]} == {"ke-customs", "de-customs", "de-police", "be-police",
                                                                               "investigator"}
    with TestClient(create_app(settings, ledger=ledger)) as client:
        headers = {"Authorization": f"Bearer {index['de-customs']['api_key']}"}
        answer = client.post("/v1/scan", json={"code": result.items["valid_firearm"], "country": "DE", "location": "FRA",
                                               "direction": "inland"}, headers=headers).json()
    assert answer["verdict"] == "VALID" and answer["inspection"]["signed_by"] == "server"


def test_apikey_create_and_revoke_from_the_command_line(settings, ledger, world):
    args = ["--db", settings.db_url, "--home", str(settings.home)]
    created = runner.invoke(app, ["apikey", "create", "de-police", "--label", "desk", *args])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    key_id = token.split("_")[1]
    with TestClient(create_app(settings, ledger=ledger)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/parties/de-police", headers=headers).status_code == 200
        revoked = runner.invoke(app, ["apikey", "revoke", key_id, *args])
        assert revoked.exit_code == 0 and "revoked" in revoked.output
        assert client.get("/v1/parties/de-police", headers=headers).status_code == 401
    missing = runner.invoke(app, ["apikey", "create", "nobody", *args])
    assert missing.exit_code == 2 and "party 'nobody' not found" in missing.output and "NotFound" not in missing.output


def test_apikey_create_with_a_managed_key_needs_an_authoriser(settings, ledger, world):
    keystore = save_keystore(world.parties["registry"].account, settings.home / "admin.json", DEMO_PASSPHRASE, iterations=2**4)
    args = ["--db", settings.db_url, "--home", str(settings.home)]
    refused = runner.invoke(app, ["apikey", "create", "be-police", "--managed-key", *args])
    assert refused.exit_code != 0 and "--authoriser" in refused.output
    created = runner.invoke(app, ["apikey", "create", "be-police", "--managed-key", "--authoriser", str(keystore),
                                  "--passphrase", DEMO_PASSPHRASE, *args])
    assert created.exit_code == 0, created.output
    assert "managed key 0x" in created.output
    assert (settings.home / "managed" / "be-police.json").exists()
