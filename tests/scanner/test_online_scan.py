"""`tracemark scan --api`: photos of real codes judged by a running Tracemark service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from api.app import create_app
from api.demo_keys import DEMO_ADMIN
from api.keys import create_api_key
from api.managed import create_managed_key
from ledger.config import Settings
from ledger.demo import DEMO_PASSPHRASE
from ledger.log.keys import load_keystore
from scanner.claims import marking_verifier
from scanner.render import png
from tests.scanner.conftest import Demo, make_demo
from tests.servers import serve_in_thread
from tracemark.cli import app


def test_online_scans_of_photos_get_the_services_verdicts(demo: Demo, tmp_path: Path) -> None:
    photos = {story: tmp_path / f"{story}.png" for story in ("valid_firearm", "stolen_then_seized")}
    for story, path in photos.items():
        path.write_bytes(png(demo.code(story)))
    key = create_api_key(demo.ledger, "de-customs", "scanner test").token
    service = create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))
    with serve_in_thread(service) as url:
        result = CliRunner().invoke(app, ["scan", *map(str, photos.values()), "--api", url, "--key", key,
                                          "--country", "DE", "--direction", "inland", "--json"])
        refused = CliRunner().invoke(app, ["scan", str(photos["valid_firearm"]), "--api", url, "--key", "wrong", "--country", "DE", "--json"])
    assert result.exit_code == 1, result.output  # not every image is VALID
    verdicts = {json.loads(line)["image"]: json.loads(line)["verdict"] for line in result.stdout.splitlines() if line.startswith("{")}
    assert verdicts == {str(photos["valid_firearm"]): "VALID", str(photos["stolen_then_seized"]): "SEIZED"}
    assert refused.exit_code != 0 and "401" in refused.output


def test_an_online_scan_happens_in_the_keys_country_unless_told(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'own.db'}", home=tmp_path / "home", origin="test.tracemark.local/log")
    demo = make_demo(settings)  # its own log: the customs here get a managed key, so their scans are recorded
    admin = load_keystore(settings.keys_dir / f"{DEMO_ADMIN}.json", DEMO_PASSPHRASE)
    create_managed_key(demo.ledger, settings, "ke-customs", admin, iterations=2**4)
    photos = {story: tmp_path / f"{story}.png" for story in ("valid_firearm", "lost")}
    for story, path in photos.items():
        path.write_bytes(png(demo.code(story)))
    key = create_api_key(demo.ledger, "ke-customs", "scanner test").token
    service = create_app(settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))
    tracemark = Path(sys.executable).with_name("tracemark")
    runs = {"valid_firearm": (), "lost": ("--country", "DE")}
    with serve_in_thread(service) as url:
        scans = {story: subprocess.run([str(tracemark), "scan", str(photos[story]), "--api", url, "--key", key, "--json", *given],
                                       capture_output=True, text=True, timeout=120, check=False) for story, given in runs.items()}
    answers = {story: json.loads(done.stdout)["answer"] for story, done in scans.items()}
    seq = answers["valid_firearm"]["inspection"]["seq"]
    assert json.loads(demo.ledger.entries(seq, seq + 1)[0].event)["country"] == "KE"
    assert "may not inspect in DE" in answers["lost"]["inspection"]["detail"]  # --country is what was sent
