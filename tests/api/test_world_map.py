"""The shipped Natural Earth map: decoded from TopoJSON, keyed by ISO alpha-2, framed around the countries asked for."""

from __future__ import annotations

import pycountry

from api.world_map import MapView, countries
from ledger.demo import PARTIES


def test_the_map_has_the_demo_countries_where_they_are() -> None:
    known = countries()
    assert len(known) > 170
    for _, _, _, country, _ in PARTIES:
        assert country in known, country
    lon, lat = known["DE"].centre
    assert 8 < lon < 13 and 49 < lat < 53  # Germany's middle, not its islands or the map's origin
    lon, lat = known["FR"].centre
    assert 0 < lon < 5 and 45 < lat < 48  # mainland France, not French Guiana
    assert known["KE"].name == "Kenya"
    assert all(pycountry.countries.get(alpha_2=code) for code in known if len(code) == 2)


def test_a_frame_holds_the_countries_it_is_fitted_to() -> None:
    view = MapView.fit({"DE", "BE", "KE"})
    for code in ("DE", "BE", "KE"):
        x, y = view.anchor(code)
        assert 0 < x < view.width and 0 < y < view.height
    assert 0.5 <= view.height / view.width <= 1.0
    drawn = {shape["code"] for shape in view.paths()}
    assert {"DE", "BE", "KE", "FR", "ET"} <= drawn and "AU" not in drawn and "US" not in drawn
    assert view.anchor("no such country") is None


def test_a_frame_without_a_known_country_shows_the_world() -> None:
    view = MapView.fit(set())
    assert {"AU", "US", "BR"} <= {shape["code"] for shape in view.paths()}
