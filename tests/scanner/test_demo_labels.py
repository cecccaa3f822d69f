"""`make run` hands a newcomer real codes: every demo item gets a signed code on one PDF sheet."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from ledger.demo import DEMO_PASSPHRASE, run_demo
from ledger.store.tables import Item
from scanner.claims import claim_problem
from scanner.markings import issue_demo_labels, marking_of


def test_every_demo_item_gets_a_verified_code_on_the_sheet(sqlite_ledger, tmp_path: Path) -> None:  # noqa: ANN001
    run_demo(sqlite_ledger, keys_dir=tmp_path / "keys", items=2)
    out = issue_demo_labels(sqlite_ledger, tmp_path / "keys", DEMO_PASSPHRASE, tmp_path / "labels.pdf")
    assert out.read_bytes().startswith(b"%PDF")
    with sqlite_ledger.reading() as session:
        items = list(session.exec(select(Item)))
    for item in items:
        assert claim_problem(sqlite_ledger, marking_of(sqlite_ledger, item.uid).payload, item) is None
