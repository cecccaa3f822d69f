"""The hotspot ranking on a generated data set whose answer is planted, with its filters."""

from __future__ import annotations

from datetime import timedelta
from statistics import median

import pytest
from ulid import ULID

from ledger.domain.personal import commit
from ledger.errors import EventInvalid
from ledger.investigation.hotspots import investigate
from ledger.store.ledger import Ledger
from tests.conftest import NOW
from tests.support import World

# seller -> (country of the seizure, time-to-crime in days of each diverted item)
PLANTED = {
    "de-jagd-schmidt": ("BE", [30, 300, 90, 380, 45]),
    "be-armurerie": ("DE", [200, 20]),
    "it-beretta": ("DE", [15]),
}
POLICE = {"BE": "be-police", "DE": "de-police"}
SALE = NOW - timedelta(days=396)


def plant(world: World) -> None:
    """Firearms sold retail by each dealer, stolen from the owner and seized `ttc` days after the sale."""
    for dealer, (found, ttcs) in PLANTED.items():
        for ttc in ttcs:
            uid = str(ULID())
            world.act("it-beretta", "mark_firearm", at=NOW - timedelta(days=399), item=uid, marking=world.marking())
            seller = "it-beretta"
            if dealer != "it-beretta":
                world.act("it-beretta", "transfer", at=NOW - timedelta(days=398), item=uid, to=dealer, reference="R")
                world.act(dealer, "receive", at=NOW - timedelta(days=397), item=uid)
                seller = dealer
            owner, salt = commit("A. Owner", "Somewhere 1")
            world.act(seller, "transfer", at=SALE, personal={"salt": salt, "name": "A. Owner", "address": "Somewhere 1"},
                      item=uid, owner_commitment=owner, reference="SALE")
            world.act(POLICE[found], "report_stolen", at=SALE + timedelta(days=1), item=uid, place="home", details="burglary")
            world.act(POLICE[found], "seize", at=SALE + timedelta(days=ttc), item=uid, country=found, place="street", reason="found")
    for _ in range(3):  # clean items: never counted
        world.ship(world.firearm(), "it-beretta", "be-armurerie")


@pytest.fixture
def planted(ledger: Ledger) -> Ledger:
    plant(World(ledger, start=NOW - timedelta(days=400), imports=True))  # a year of history: imported
    return ledger


def test_hotspots_rank_the_planted_custodians(planted: Ledger) -> None:
    found = investigate(planted)
    assert [(h.party, h.items) for h in found.hotspots] == [("de-jagd-schmidt", 5), ("be-armurerie", 2), ("it-beretta", 1)]
    for hotspot in found.hotspots:
        days = PLANTED[hotspot.party][1]
        assert hotspot.median_time_to_crime_days == median(days)
        assert len(hotspot.uids) == len(days)
    assert [(r.origin, r.found, r.items) for r in found.routes] == [("DE", "BE", 5), ("BE", "DE", 2), ("IT", "DE", 1)]


def test_filters_narrow_the_ranking(planted: Ledger) -> None:
    assert [h.party for h in investigate(planted, country="BE").hotspots] == ["de-jagd-schmidt", "be-armurerie"]
    assert investigate(planted, kind="specimen").hotspots == []
    assert [h.items for h in investigate(planted, kind="theft").hotspots] == [5, 2, 1]
    assert investigate(planted, since=(NOW + timedelta(days=1)).isoformat()).hotspots == []
    with pytest.raises(EventInvalid) as bad:
        investigate(planted, kind="burglary")
    assert bad.value.field == "kind"
