"""`GET /v1/me`: the party behind an API key, which the camera page signs the officer in with."""

from __future__ import annotations

from tests.api.conftest import assert_problem


def test_me_names_the_keys_party_its_role_country_and_whether_it_scans(client, world, auth):
    assert client.get("/v1/me", headers=auth("ke-customs")).json() == {
        "id": "ke-customs", "name": world.ledger.party("ke-customs").name, "role": "customs", "country": "KE", "scans": True}
    dealer = client.get("/v1/me", headers=auth("de-jagd-schmidt")).json()
    assert (dealer["role"], dealer["country"], dealer["scans"]) == ("dealer", "DE", False)
    assert client.get("/v1/me", headers=auth("de-police")).json()["scans"] is True


def test_me_without_a_key_or_with_a_wrong_one_is_401(client, world):
    assert_problem(client.get("/v1/me"), 401, "unauthorized")
    assert_problem(client.get("/v1/me", headers={"Authorization": "Bearer tmk_0123456789abcdef_" + "A" * 43}), 401, "unauthorized")
