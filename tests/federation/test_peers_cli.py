"""`tracemark peers add|list|remove` in fresh processes, on SQLite and PostgreSQL: signed by an admin's keystore."""

from __future__ import annotations

import json
import subprocess

import pytest

from ledger import Ledger, Settings, list_peers, save_keystore
from ledger.log.checkpoint import LogKey
from tests.support import World
from tests.witness.plumbing import tracemark

DE = LogKey.generate("registry.de.example/log")


@pytest.fixture
def world(ledger: Ledger, settings: Settings) -> World:
    """The demo parties on the test's log, the admin's and a police officer's keystores where `--as` finds them."""
    world = World(ledger)
    for party in ("registry", "de-police"):
        save_keystore(world.parties[party].account, settings.keys_dir / f"{party}.json", "pass", iterations=2**10)
    return world


def peers(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return tracemark("peers", *args, "--db", settings.db_url, "--home", str(settings.home), origin=settings.origin)


def listed(settings: Settings) -> list[dict[str, object]]:
    shown = peers(settings, "list", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def add(settings: Settings, *extra: str, signer: str = "registry", origin: str = DE.name, vkey: str = DE.verifier_key,
        url: str = "https://registry.de.example") -> subprocess.CompletedProcess[str]:
    return peers(settings, "add", "de", "--origin", origin, "--vkey", vkey, "--url", url, "--country", "DE",
                 "--as", signer, "--passphrase", "pass", *extra)


def test_an_admin_adds_changes_lists_and_removes_a_peer(world: World, settings: Settings) -> None:
    added = add(settings, "--share", "facts")
    assert added.returncode == 0, added.stderr
    assert "peer de" in added.stdout
    [shown] = listed(settings)
    assert shown | {"added_seq": 0} == {"name": "de", "origin": DE.name, "vkey": DE.verifier_key, "key_id": DE.key_hash.hex(),
                                        "url": "https://registry.de.example", "country": "DE", "share": ["facts"], "added_seq": 0}
    table = peers(settings, "list")
    assert table.returncode == 0 and DE.key_hash.hex() in table.stdout

    changed = add(settings, "--share", "facts,holder_country", url="https://new.de.example")
    assert changed.returncode == 0, changed.stderr
    [shown] = listed(settings)
    assert shown["url"] == "https://new.de.example" and shown["share"] == ["facts", "holder_country"]

    removed = peers(settings, "remove", "de", "--reason", "the agreement ended", "--as", "registry", "--passphrase", "pass")
    assert removed.returncode == 0, removed.stderr
    assert listed(settings) == []
    assert [json.loads(e.event)["reason"] for e in world.ledger.entries(0, world.ledger.size()) if e.event_type == "remove_peer"] == ["the agreement ended"]


@pytest.mark.parametrize(("case", "wanted"), [
    ({"signer": "de-police"}, "actor_role"),
    ({"vkey": LogKey.generate("other.example/log").verifier_key}, "not the peer's origin"),
    ({"url": "ftp://registry.de.example"}, "peer.url"),
    ({"extra": ("--share", "owners")}, "peer.share"),
])
def test_a_refused_peer_is_one_line_and_exit_code_2_and_nothing_changes(world: World, settings: Settings, case: dict, wanted: str) -> None:
    case = dict(case)  # each database's run gets the case as written
    refused = add(settings, *case.pop("extra", ()), **case)
    assert refused.returncode == 2, refused.stderr
    assert wanted in refused.stderr and "Traceback" not in refused.stderr
    assert list_peers(world.ledger) == []


def test_signing_needs_exactly_one_key(world: World, settings: Settings) -> None:
    both = peers(settings, "remove", "de", "--as", "registry", "--key", str(settings.keys_dir / "registry.json"), "--passphrase", "pass")
    assert both.returncode != 0 and "exactly one" in both.stderr
    missing = peers(settings, "remove", "de", "--as", "nobody", "--passphrase", "pass")
    assert missing.returncode != 0 and "no keystore" in missing.stderr
