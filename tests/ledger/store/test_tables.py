"""`new_row` (the append path's fast constructor) behaves exactly like the SQLModel constructor."""

from __future__ import annotations

import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from ledger.store.tables import Diversion, Item, Party, PartyKey, Permit, PermitLineRow, PersonalRecord, TraceRequestRow, new_row

ROWS = {
    Item: dict(uid="01KAPQ8Z2X1Y9N3V5T7R6W4M2B", kind="firearm", marker="it-beretta", serial="PX1", facts={"serial": "PX1"},
               status="active", custodian="it-beretta", country="IT", marked_seq=3, last_seq=3, updated_at="2026-01-01T00:00:00.000Z"),
    Party: dict(id="ke-kws", name="KWS", role="permit_authority", country="KE", registered_seq=1),
    PartyKey: dict(address="0x" + "ab" * 20, party_id="ke-kws", added_seq=1),
    Permit: dict(number="P-1", kind="export", issuer="ke-kws", issuing_country="KE", exporter="a", importer="b",
                 export_country="KE", import_country="DE", valid_from="x", valid_until="y", status="valid", issued_seq=2),
    PermitLineRow: dict(permit_number="P-1", line=1, species="Crocodylus niloticus", quantity="6", unit="pcs"),
    PersonalRecord: dict(commitment="ab" * 32, salt="s", name="n", address="a", recorded_seq=4),
    Diversion: dict(uid="01KAPQ8Z2X1Y9N3V5T7R6W4M2B", item_kind="firearm", chain={}),
    TraceRequestRow: dict(seq=9, requester="be-police", authority="it-beretta", agency="BE", case="C", serial="S", make="M",
                          country="BE", requested_at="x"),
}


@pytest.mark.parametrize("table", list(ROWS), ids=lambda t: t.__name__)
def test_new_row_dumps_inserts_and_updates_like_the_constructor(table: type[SQLModel]) -> None:
    values = ROWS[table]
    fast, slow = new_row(table, **values), table(**values)
    assert fast.model_dump() == slow.model_dump()
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    changed = {name: value for name, value in slow.model_dump().items() if isinstance(value, str) and name not in table.__table__.primary_key.columns}
    name = next(iter(changed))
    with Session(engine, expire_on_commit=False) as session:
        session.add(fast)
        session.commit()
        setattr(fast, name, "changed")
        session.commit()
    with Session(engine) as session:
        stored = session.exec(select(table)).one()
        assert stored.model_dump() == {**slow.model_dump(), name: "changed"}


def test_new_row_refuses_a_missing_required_column() -> None:
    with pytest.raises(TypeError, match="needs"):
        new_row(Party, id="x")
