"""Offline across borders, with real processes: two peered logs served by `tracemark serve` (Germany on
PostgreSQL, Kenya on SQLite), `tracemark bundle export --peers` fetching each peer's signed bundle,
and `tracemark scan --offline` in a fresh process judging codes of both logs, a log it does not
know, and documents tampered with after export."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger import new_account, open_ledger
from ledger.log.checkpoint import LogKey, parse_checkpoint
from ledger.log.codec import canonical
from ledger.log.cosignature import ED25519, CosignerKey, verify_cosignatures
from ledger.witness.cosigners import add_witness, record_cosignatures
from scanner.bundle import load_bundle
from scanner.markings import issue_marking
from scanner.payload import encode_payload, parse_payload, sign_claim
from scanner.render import png
from tests.federation.test_two_logs import Log, german_and_kenyan_logs
from tests.witness.plumbing import tracemark

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Border:
    de: Log
    ke: Log
    folder: Path
    uids: dict[str, str]
    """story -> item id: Germany's stolen, clean and held pistols, Kenya's clean one."""
    images: dict[str, Path]
    """story -> photo of its code; "unknown": a code of France's log, which Kenya peers with but cannot reach;
    "altered": Germany's clean code naming France's log."""

    def export(self, log: Log, out: Path, *args: str) -> Any:
        return tracemark("bundle", "export", "--out", str(out), *args, "--db", log.settings.db_url, "--home", str(log.settings.home),
                         origin=log.settings.origin)

    def scan(self, log: Log, bundle: Path, *stories: str) -> Any:
        return tracemark("scan", *(str(self.images[story]) for story in stories), "--offline", str(bundle), "--json",
                         "--home", str(log.settings.home))


@pytest.fixture(scope="module")
def border(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Border]:
    folder = tmp_path_factory.mktemp("offline-border")
    with ExitStack() as stack:
        de, ke = german_and_kenyan_logs(stack, folder)
        assert de.world is not None and ke.world is not None
        uids = {"stolen": de.world.firearm(), "clean": de.world.firearm(), "held": de.world.firearm(), "kenyan": ke.world.firearm()}
        de.world.act("de-police", "report_stolen", item=uids["stolen"], place="Frankfurt am Main", details="burglary at the dealer's")
        de.world.act("it-beretta", "transfer", item=uids["held"], to="de-jagd-schmidt", reference="REF-7")
        de.world.act("de-police", "report_stolen", item=uids["held"], place="Hanau", details="lost in transit, case 2026/4411")
        worlds = {story: ke.world if story == "kenyan" else de.world for story in uids}
        codes = {story: issue_marking(worlds[story].ledger, uid, worlds[story].parties["it-beretta"].account).payload
                 for story, uid in uids.items()}
        genuine = parse_payload(codes["clean"])
        fr = LogKey.generate("registry.fr.example/log")  # a peer of Kenya's that is down
        stranger = fr.key_hash.hex()
        codes["unknown"] = encode_payload(genuine.host, genuine.item, genuine.facts, log_id=stranger,
                                          signature=sign_claim(new_account(), genuine.host, genuine.item, genuine.facts, log_id=stranger))
        codes["altered"] = encode_payload(genuine.host, genuine.item, genuine.facts, genuine.signature, log_id=stranger)
        images = {}
        for story, code in codes.items():
            images[story] = folder / f"{story}.png"
            images[story].write_bytes(png(code))
        for world in (de.world, ke.world):
            world.ledger.db.dispose()
        de.peer_with(ke)
        ke.peer_with(de)
        with socket.socket() as closed:  # a port nobody listens on: a peer that is down
            closed.bind(("127.0.0.1", 0))
            down = closed.getsockname()[1]
        ke.peers("add", "fr", "--origin", fr.name, "--vkey", fr.verifier_key, "--url", f"http://127.0.0.1:{down}", "--country", "FR")
        for log in (de, ke):
            log.server.start()
            stack.callback(log.server.stop)
        yield Border(de, ke, folder, uids, images)


def _verdicts(scanned: Any) -> dict[str, dict[str, Any]]:
    """Each photo's answer by its story."""
    lines = [json.loads(line) for line in scanned.stdout.splitlines() if line.startswith("{")]
    return {Path(line["image"]).stem: line["answer"] | {"verdict": line["verdict"]} for line in lines}


def _resigned(log: Log, body: dict[str, Any]) -> dict[str, Any]:
    """`body` signed by `log`'s key as a bundle document: what that log would hand out."""
    text = canonical(body).decode() + "\n"
    return {"body": body, "signatures": log.key.sign_note(text)[len(text) + 1:]}


def test_a_peer_gets_the_logs_signed_bundle_without_the_receiver_and_detail_of_held_items(border: Border) -> None:
    de, ke = border.de, border.ke
    assert httpx.get(f"{de.server.url}/federation/v1/bundle", timeout=30).status_code == 401
    client = ke.client()
    answer = client.get(de.as_peer(), "/federation/v1/bundle")  # the client checked Germany's signature on the answer
    client.close()
    bundle = load_bundle(answer.content, de.vkey, de.settings.origin)
    assert bundle.flagged == {border.uids["stolen"]: "stolen", border.uids["held"]: "stolen"}
    held = answer.content["body"]["held_items"]
    assert [h["item"] for h in held] == [border.uids["held"]] and set(held[0]) == {"item", "pending_since", "diversion_kind"}
    own = border.export(de, border.folder / "de-own.json")
    assert own.returncode == 0, own.stderr
    [mine] = json.loads((border.folder / "de-own.json").read_text())["body"]["held_items"]
    assert mine["pending_to"] == "de-jagd-schmidt" and "never received" in mine["diversion_detail"]


def test_kenyas_multi_log_bundle_verifies_codes_of_both_logs_offline(border: Border) -> None:
    de, ke = border.de, border.ke
    out = border.folder / "ke-multi.json"
    exported = border.export(ke, out, "--peers")
    assert exported.returncode == 0, exported.stderr
    assert "peer de (DE)" in exported.stdout and "2 flagged items" in exported.stdout
    assert "missing peer fr (registry.fr.example/log)" in exported.stderr and "cannot reach" in exported.stderr
    body = json.loads(out.read_text())["body"]
    assert [p["name"] for p in body["peers"]] == ["de"] and [m["name"] for m in body["missing"]] == ["fr"]
    assert f"log {de.vkey}\n" in body["policy"] and f"log {ke.vkey}\n" in body["policy"]

    scanned = border.scan(ke, out, "stolen", "clean", "held", "kenyan", "unknown", "altered")
    assert scanned.returncode == 1, scanned.stderr  # not every code is VALID
    verdicts = _verdicts(scanned)
    assert {story: answer["verdict"] for story, answer in verdicts.items()} == {
        "stolen": "REPORTED_LOST_STOLEN", "clean": "VALID", "held": "REPORTED_LOST_STOLEN", "kenyan": "VALID", "unknown": "FOREIGN_LOG",
        "altered": "SIGNATURE_INVALID"}
    for story in ("stolen", "clean", "held", "kenyan"):
        assert verdicts[story]["item"] == border.uids[story] and verdicts[story]["marked_by"] == "it-beretta"
        assert verdicts[story]["log"] == (ke if story == "kenyan" else de).settings.origin and verdicts[story]["warnings"] == []
    held = " ".join(reason["detail"] for reason in verdicts["held"]["reasons"])
    assert "unreceived_transfer" in held and "de-jagd-schmidt" not in held and "4411" not in held
    unknown = verdicts["unknown"]["reasons"][0]["detail"]
    assert de.settings.origin in unknown and "the bundle of peer fr could not be had" in unknown and "Connection refused" in unknown
    assert verdicts["altered"]["log"] == de.settings.origin and "log ID was altered" in verdicts["altered"]["reasons"][0]["detail"]

    strict = border.export(ke, border.folder / "ke-strict.json", "--peers", "--require-all")
    assert strict.returncode == 1 and "missing peer fr" in strict.stderr
    assert json.loads((border.folder / "ke-strict.json").read_text())["body"]["peers"][0]["name"] == "de"  # written all the same


def test_germanys_multi_log_bundle_judges_kenyan_codes_by_kenyas_bundle(border: Border) -> None:
    de, ke = border.de, border.ke
    out = border.folder / "de-multi.json"
    exported = border.export(de, out, "--peers", "--require-all")
    assert exported.returncode == 0, exported.stderr
    verdicts = _verdicts(border.scan(de, out, "kenyan", "stolen"))
    assert verdicts["kenyan"]["verdict"] == "VALID" and verdicts["kenyan"]["log"] == ke.settings.origin
    assert verdicts["stolen"]["verdict"] == "REPORTED_LOST_STOLEN" and verdicts["stolen"]["log"] == de.settings.origin
    read = tracemark("scan", str(border.images["kenyan"]), "--offline", str(out), "--home", str(de.settings.home))
    assert "VALID" in read.stdout and f"log:{ke.settings.origin}" in read.stdout  # the officer reads whose log vouched
    alone = border.scan(ke, out, "kenyan")  # Kenya's key did not sign Germany's document
    assert alone.returncode == 2 and "log signature does not hold" in alone.stderr


def test_a_tampered_peer_bundle_or_a_swapped_peer_key_is_refused_naming_the_peer(border: Border) -> None:
    de, ke = border.de, border.ke
    out = border.folder / "ke-forgeries.json"
    assert border.export(ke, out, "--peers").returncode == 0
    document = json.loads(out.read_text())
    cleared = json.loads(out.read_text())
    cleared["body"]["peers"][0]["bundle"]["body"]["flagged_items"] = []  # the stolen pistols would pass as clean
    swapped = json.loads(out.read_text())
    impostor = LogKey.generate(de.settings.origin)
    swapped["body"]["policy"] = document["body"]["policy"].replace(de.vkey, impostor.verifier_key)
    assert _resigned(de, document["body"]["peers"][0]["bundle"]["body"]) == document["body"]["peers"][0]["bundle"]  # signed as logs sign
    forgeries = {
        "cleared": (cleared, "the bundle's log signature does not hold"),  # the home log's signature covers every bundle
        "cleared-resigned": (_resigned(ke, cleared["body"]), "the bundle of peer de is refused: the bundle's log signature does not hold"),
        "swapped": (swapped, "the bundle's log signature does not hold"),
        "swapped-resigned": (_resigned(ke, swapped["body"]), "the bundle of peer de is refused"),
    }
    for name, (forged, says) in forgeries.items():
        path = border.folder / f"{name}.json"
        path.write_text(json.dumps(forged))
        scanned = border.scan(ke, path, "stolen")
        assert scanned.returncode == 2 and says in scanned.stderr, (name, scanned.stderr)
        assert scanned.stdout == ""
    assert border.scan(ke, out, "stolen").returncode == 1  # the document as exported still scans


def test_a_peer_whose_checkpoint_fails_the_export_policy_is_missing(border: Border) -> None:
    """Kenya's policy asks for a witness that cosigned Kenya's checkpoint and never Germany's."""
    ke = border.ke
    refused = border.export(ke, border.folder / "nothing.json", "--require-all")
    assert refused.returncode == 1 and "go with --peers" in refused.stderr
    witness = CosignerKey.generate("w1.example", ED25519)
    policy = border.folder / "ke.policy"
    policy.write_text(f"witness W1 {witness.vkey}\nquorum W1\n")
    out = border.folder / "ke-witnessed.json"
    short = border.export(ke, out, "--peers", "--policy", str(policy))
    assert short.returncode == 2 and "the bundle of the home log" in short.stderr and "quorum W1 not met" in short.stderr
    assert not out.exists()  # a document no scanner would take is not written
    ledger = open_ledger(ke.settings)
    checkpoint = ledger.checkpoint()
    add_witness(ledger, "w1", witness.vkey, "http://127.0.0.1:9/w1")
    line = witness.cosign(parse_checkpoint(checkpoint.note))
    record_cosignatures(ledger, "w1", checkpoint, verify_cosignatures(checkpoint.note + line, [witness.verifier])[1])
    ledger.db.dispose()
    exported = border.export(ke, out, "--peers", "--policy", str(policy))
    assert exported.returncode == 0, exported.stderr
    assert "missing peer de" in exported.stderr and "quorum W1 not met" in exported.stderr
    body = json.loads(out.read_text())["body"]
    assert body["peers"] == [] and body["policy"].endswith(f"witness W1 {witness.vkey}\nquorum W1\n")
    verdicts = _verdicts(border.scan(ke, out, "kenyan", "stolen"))
    assert verdicts["kenyan"]["verdict"] == "VALID" and verdicts["stolen"]["verdict"] == "FOREIGN_LOG"
