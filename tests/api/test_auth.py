"""API keys: no key, bad keys, revoked keys, wrong roles, and the admin endpoints."""

from __future__ import annotations

import pytest

from api.errors import KeyNotFound
from api.keys import create_api_key, list_api_keys, revoke_api_key
from ledger.config import open_ledger
from ledger.errors import NotFound
from ledger.store.tables import ApiKey
from tests.api.conftest import assert_problem


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer", "Bearer tmk_nothex_x", "Bearer tmk_0123456789abcdef_" + "A" * 43])
def test_missing_malformed_or_unknown_keys_are_401(client, header):
    headers = {} if header is None else {"Authorization": header}
    assert_problem(client.get("/v1/parties/registry", headers=headers), 401, "unauthorized")


def test_a_revoked_key_is_401_and_the_secret_is_stored_only_hashed(client, ledger):
    issued = create_api_key(ledger, "de-police", "laptop")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/v1/parties/registry", headers=headers).status_code == 200
    with ledger.reading() as session:
        row = session.get(ApiKey, issued.id)
    assert issued.token.split("_")[-1].encode() not in row.secret_hash and len(row.secret_hash) == 32
    revoke_api_key(ledger, issued.id)
    body = assert_problem(client.get("/v1/parties/registry", headers=headers), 401, "unauthorized")
    assert "revoked" in body["detail"]


def test_a_key_revoked_by_another_process_stops_working_on_the_next_request(client, ledger, settings):
    issued = create_api_key(ledger, "de-police", "laptop")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/v1/parties/registry", headers=headers).status_code == 200
    other = open_ledger(settings)  # another server process, or the CLI, on the same database
    try:
        revoke_api_key(other, issued.id)
    finally:
        other.db.dispose()
    assert_problem(client.get("/v1/parties/registry", headers=headers), 401, "unauthorized")


def test_keys_are_only_for_registered_parties(ledger, world):
    with pytest.raises(NotFound):
        create_api_key(ledger, "nobody")
    with pytest.raises(KeyNotFound):
        revoke_api_key(ledger, "0000000000000000")


def test_admins_create_list_and_revoke_keys_over_http(client, auth, ledger):
    created = client.post("/v1/admin/api-keys", json={"party": "ke-customs", "label": "JKIA"}, headers=auth("registry"))
    assert created.status_code == 201, created.text
    token, key_id = created.json()["token"], created.json()["id"]
    assert client.get("/v1/parties/ke-customs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = client.get("/v1/admin/api-keys?party=ke-customs", headers=auth("registry")).json()
    assert [k["id"] for k in listed] == [key_id] and "token" not in listed[0] and "secret_hash" not in listed[0]
    assert client.delete(f"/v1/admin/api-keys/{key_id}", headers=auth("registry")).json()["revoked_at"]
    assert_problem(client.get("/v1/parties/ke-customs", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")
    assert_problem(client.delete("/v1/admin/api-keys/ffffffffffffffff", headers=auth("registry")), 404, "not-found/api-key")
    assert_problem(client.post("/v1/admin/api-keys", json={"party": "nobody"}, headers=auth("registry")), 404, "not-found/party")
    assert [k.id for k in list_api_keys(ledger, "ke-customs")] == [key_id]


def test_non_admins_cannot_manage_keys(client, auth):
    assert_problem(client.post("/v1/admin/api-keys", json={"party": "de-police"}, headers=auth("de-police")), 403, "forbidden")
    assert_problem(client.get("/v1/admin/api-keys", headers=auth("investigator")), 403, "forbidden")
