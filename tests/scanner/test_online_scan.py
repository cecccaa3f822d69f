"""`tracemark scan --api`: photos of real codes judged by a running Tracemark service."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.app import create_app
from api.keys import create_api_key
from scanner.claims import marking_verifier
from scanner.render import png
from tests.scanner.conftest import Demo
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
