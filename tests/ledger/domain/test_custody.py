"""The custody fold's stored form round-trips, keeps only what differs from the defaults, and shares nothing."""

from dataclasses import asdict

from ledger.domain.custody import Chain, DiversionPoint


def test_chain_json_keeps_what_is_set_and_round_trips() -> None:
    chain = Chain(uid="01KAPQ8Z2X1Y9N3V5T7R6W4M2B", custodian="de-police", route=["KE", "DE"], questions=["why"],
                  diversion=DiversionPoint(7, "theft", "2026-01-01T00:00:00.000Z", "de-jagd-schmidt", "DE", "reported stolen"))
    data = chain.to_json()
    assert data == {name: value for name, value in asdict(chain).items() if value is not None and value != []}
    assert "pending_to" not in data and data["diversion"]["kind"] == "theft"
    assert Chain.from_json(data) == chain
    assert Chain.from_json(Chain(uid=chain.uid).to_json()) == Chain(uid=chain.uid)
    data["route"].append("FR")
    assert chain.route == ["KE", "DE"], "the stored form must not share lists with the live chain"
