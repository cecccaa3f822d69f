"""EPCIS 2.0 exports of the demo data validate against GS1's official JSON schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from ledger.demo import run_demo
from ledger.investigation.epcis import NS, epcis_document, item_uri
from ledger.log import merkle
from ledger.store.ledger import Ledger
from tests.conftest import NOW, TESTDATA

SCHEMA = json.loads((TESTDATA / "epcis" / "EPCIS-JSON-Schema.json").read_text())


def validator() -> jsonschema.Draft7Validator:
    """The official schema with its `uri` and `date-time` formats enforced (not only the shapes)."""
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    assert {"uri", "date-time"} <= set(checker.checkers), "install rfc3986-validator and rfc3339-validator"
    return jsonschema.Draft7Validator(SCHEMA, format_checker=checker)


@pytest.fixture
def demo(ledger: Ledger) -> tuple[Ledger, dict[str, str]]:
    result = run_demo(ledger, items=4, now=NOW)
    ledger.checkpoint()
    return ledger, result.items


def events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["epcisBody"]["eventList"]


def test_demo_export_validates_against_the_official_schema(demo: tuple[Ledger, dict[str, str]]) -> None:
    ledger, _ = demo
    document = epcis_document(ledger)
    validator().validate(document)
    events = events_of(document)
    assert len(events) == ledger.size()
    assert {e["type"] for e in events} == {"ObjectEvent", "TransformationEvent"}
    steps = {e["tm:entry"]["type"]: (e.get("bizStep"), e.get("disposition")) for e in events}
    assert steps["mark_firearm"] == ("commissioning", "active")
    assert steps["seize"] == (NS + "seizing", NS + "seized")
    assert steps["report_stolen"] == (NS + "reporting", "stolen")
    assert steps["export"] == ("departing", "in_transit")
    assert steps["destroy"] == ("destroying", "destroyed")


def test_each_event_carries_a_proof_that_verifies(demo: tuple[Ledger, dict[str, str]]) -> None:
    ledger, items = demo
    document = epcis_document(ledger, item=items["specimen_seized"])
    validator().validate(document)
    kinds = [e["type"] for e in events_of(document)]
    assert kinds[0] == "TransformationEvent" and set(kinds[1:]) == {"ObjectEvent"}
    assert events_of(document)[0]["outputEPCList"] == [item_uri(items["specimen_seized"])]
    for event in events_of(document):
        entry = event["tm:entry"]
        proof = entry["proof"]
        merkle.verify_inclusion(bytes.fromhex(entry["leafHash"]), entry["seq"], proof["treeSize"],
                                [bytes.fromhex(h) for h in proof["inclusion"]], bytes.fromhex(proof["rootHash"]))


def test_the_validator_refuses_a_disposition_cbv_does_not_define(demo: tuple[Ledger, dict[str, str]]) -> None:
    ledger, items = demo
    document = epcis_document(ledger, item=items["stolen_then_seized"])
    seizure = next(e for e in events_of(document) if e["tm:entry"]["type"] == "seize")
    seizure["disposition"] = "seized"  # not CBV 2.0, and not a URI of our own
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(document)
