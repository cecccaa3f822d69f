"""Finding items by serial, item id or party, and labelling them by maker and serial (SQLite and PostgreSQL)."""

from __future__ import annotations

from ledger.investigation.search import labels, search_items
from tests.support import World


def _serials(hits) -> list[str]:  # noqa: ANN001
    return [hit.item.serial for hit in hits]


def test_a_serial_finds_its_item_whatever_its_case_and_a_prefix_finds_several(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    first = world.firearm(serial="PX-100")
    world.firearm(serial="PX-101")
    world.firearm("at-glock", serial="GL-7")
    assert _serials(search_items(ledger, "px-100")) == ["PX-100"]
    assert search_items(ledger, "px-100")[0].matched == "serial PX-100"
    assert _serials(search_items(ledger, "PX-1")) == ["PX-100", "PX-101"]
    assert _serials(search_items(ledger, "PX_1")) == []  # a wildcard typed is a character, not a pattern
    assert _serials(search_items(ledger, f" {first.lower()} ")) == ["PX-100"]
    assert search_items(ledger, first)[0].matched == "item id"
    assert search_items(ledger, "   ") == []


def test_a_party_finds_the_items_it_marked_or_holds(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    shipped = world.firearm(serial="PX-200")
    world.ship(shipped, "it-beretta", "de-jagd-schmidt")
    world.firearm("at-glock", serial="GL-9")
    by_name = search_items(ledger, "waffen schmidt")  # part of the dealer's name
    assert [(hit.item.serial, hit.matched) for hit in by_name] == [("PX-200", "held by de-jagd-schmidt")]
    assert _serials(search_items(ledger, "AT-GLOCK")) == ["GL-9"]
    assert search_items(ledger, "AT-GLOCK")[0].matched == "held by at-glock"  # a maker holds what it has not shipped


def test_an_item_is_labelled_by_maker_model_and_serial(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    uid = world.firearm(serial="PX-300")
    skin = world.specimen(world.issue_permit())
    found = labels(ledger, [uid, skin, "01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    assert found[uid].text == "Beretta APX A1 · PX-300"
    assert found[skin].text.startswith("Crocodylus niloticus · ")
    assert "01ARZ3NDEKTSV4RRFFQ69G5FAV" not in found
