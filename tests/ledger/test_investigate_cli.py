"""`tracemark trace`, `tracemark investigate` and `tracemark export epcis` on the demo log."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from tracemark.cli import app

runner = CliRunner()


def test_the_investigator_commands_on_the_demo(tmp_path: Path) -> None:
    where = ["--db", f"sqlite:///{tmp_path / 'demo.db'}", "--home", str(tmp_path / "home")]
    demo = runner.invoke(app, ["demo", "--items", "2", *where], env={"COLUMNS": "200"})
    assert demo.exit_code == 0, demo.output
    uid = re.search(r"stolen_then_seized\s+([0-9A-Z]{26})", demo.output).group(1)  # type: ignore[union-attr]

    traced = runner.invoke(app, ["trace", uid, "--json", *where])
    assert traced.exit_code == 0, traced.output
    body = json.loads(traced.output)
    assert (body["diversion"]["kind"], body["last_legit_custodian"], body["time_to_crime_flagged"]) == ("theft", "de-jagd-schmidt", True)

    ranked = runner.invoke(app, ["investigate", "--country", "BE", "--json", *where])
    assert ranked.exit_code == 0, ranked.output
    assert [h["party"] for h in json.loads(ranked.output)["hotspots"]] == ["de-jagd-schmidt"]

    refused = runner.invoke(app, ["investigate", "--kind", "burglary", *where])
    assert refused.exit_code == 2 and "kind" in refused.output

    out = tmp_path / "epcis.json"
    exported = runner.invoke(app, ["export", "epcis", "--out", str(out), *where])
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text())
    assert document["type"] == "EPCISDocument" and len(document["epcisBody"]["eventList"]) > 50
