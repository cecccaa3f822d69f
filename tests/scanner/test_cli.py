"""The scanner's commands end to end: demo log, labels, trust bundle, offline scans of photos."""

import json
import re

import pytest
from typer.testing import CliRunner

from scanner.decode import decode, open_image
from scanner.payload import parse_payload
from tracemark.cli import app

runner = CliRunner()


def _run(*args: str, ok: bool = True, env: dict[str, str] | None = None):
    result = runner.invoke(app, list(args), env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def cli_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    where = ["--db", f"sqlite:///{root / 'cli.db'}", "--home", str(root / "home")]
    out = _run("demo", "--items", "2", *where).output
    stories = dict(re.findall(r"^\s+(\w+)\s+([0-9A-Z]{26})$", out, flags=re.M))
    return root, where, stories


def test_labels_print_a_sheet_and_one_png_and_svg_per_item(cli_demo):
    root, where, stories = cli_demo
    uids = [stories["valid_firearm"], stories["stolen_then_seized"], stories["specimen_seized"]]
    out = _run("labels", "--items", ",".join(uids[:2]), "--items", uids[2], "--out", str(root / "labels.pdf"),
               "--png", str(root / "png"), "--svg", str(root / "svg"), "--passphrase", "demo", *where).output
    assert "3 labels on 1 page(s)" in out
    pdf = (root / "labels.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
    for uid in uids:
        text = decode(open_image(root / "png" / f"{uid}.png")).texts[0]
        assert parse_payload(text).item == uid
        assert (root / "svg" / f"{uid}.svg").read_text().startswith("<svg")


def test_labels_without_the_keystore_passphrase_say_what_is_missing(cli_demo):
    root, where, stories = cli_demo
    result = _run("labels", "--items", stories["lost"], "--out", str(root / "x.pdf"), *where, ok=False)
    assert result.exit_code == 2 and "passphrase" in result.output


def test_offline_scan_of_a_folder_gives_one_verdict_line_per_image(cli_demo):
    root, where, stories = cli_demo
    uids = {stories["valid_firearm"]: "VALID", stories["stolen_then_seized"]: "SEIZED",
            stories["specimen_seized"]: "SEIZED", stories["lost"]: "REPORTED_LOST_STOLEN",
            stories["destroyed"]: "DESTROYED_DEACTIVATED"}
    _run("labels", "--items", ",".join(uids), "--out", str(root / "l.pdf"), "--png", str(root / "photos"),
         "--passphrase", "demo", *where)
    (root / "photos" / "blank.png").write_bytes((root / "photos" / f"{stories['lost']}.png").read_bytes()[:40])
    _run("bundle", "export", "--out", str(root / "bundle.json"), *where)
    result = _run("scan", str(root / "photos"), "--offline", str(root / "bundle.json"), "--json", *where[2:], ok=False)
    assert result.exit_code == 1  # not every image is VALID
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    verdicts = {line["answer"].get("item"): line["verdict"] for line in lines if line["answer"]}
    assert verdicts == uids
    assert [line["verdict"] for line in lines if line["image"].endswith("blank.png")] == ["SCAN_ERROR"]
    one = _run("scan", str(root / "photos" / f"{stories['valid_firearm']}.png"), "--offline", str(root / "bundle.json"), *where[2:])
    assert one.stdout.startswith(str(root / "photos")) and "  VALID  " in one.stdout and "PX4-DE-002" in one.stdout


def test_scan_needs_exactly_one_mode(cli_demo):
    root, where, _ = cli_demo
    result = _run("scan", str(root), ok=False)
    assert result.exit_code == 1 and "--offline" in result.output


def test_codes_and_bundles_of_a_public_host_agree_and_a_bad_host_is_refused(cli_demo):
    """TRACEMARK_PUBLIC_HOST sets the host of labels and of bundles alike; a code of another host is refused."""
    root, where, stories = cli_demo
    public = {"TRACEMARK_PUBLIC_HOST": "scan.example.org"}
    uid = stories["released"]
    _run("labels", "--items", uid, "--out", str(root / "h.pdf"), "--png", str(root / "host"), "--passphrase", "demo", *where, env=public)
    photo = root / "host" / f"{uid}.png"
    assert parse_payload(decode(open_image(photo)).texts[0]).host == "SCAN.EXAMPLE.ORG"
    assert "codes of SCAN.EXAMPLE.ORG" in _run("bundle", "export", "--out", str(root / "host.json"), *where, env=public).output
    _run("bundle", "export", "--out", str(root / "default.json"), *where)
    scans = {bundle: json.loads(_run("scan", str(photo), "--offline", str(root / bundle), "--json", *where[2:], ok=False).stdout)
             for bundle in ("host.json", "default.json")}
    assert scans["host.json"]["verdict"] == "VALID"
    assert scans["default.json"]["verdict"] == "SIGNATURE_INVALID"
    refused = _run("bundle", "export", "--host", "https://scan.example.org/", "--out", str(root / "bad.json"), *where, ok=False)
    assert refused.exit_code == 2 and "not a host name" in refused.output and refused.exception.__class__ is SystemExit
