"""The pure verdict checks: severity order, clone window edges, permit states."""

from __future__ import annotations

from datetime import timedelta

from ledger.domain.verdict import VERDICTS, Finding, Sighting, clone_findings, permit_findings, worst
from ledger.store.tables import Item, Permit, PermitLineRow
from tests.conftest import NOW


def item(**overrides) -> Item:  # noqa: ANN003
    return Item(**{"uid": "01JD5Z8Q6Y3K7W2N4R9T0V1X2A", "kind": "specimen", "marker": "ke-kws", "serial": "S-1", "facts": {"quantity": "1"},
                   "status": "active", "custodian": "ke-croc-ranch", "country": "KE", "marked_seq": 1, "last_seq": 1,
                   "updated_at": "2026-01-01T00:00:00.000Z"} | overrides)


def permit(**overrides) -> Permit:  # noqa: ANN003
    return Permit(**{"number": "P-1", "kind": "export", "issuer": "ke-kws", "issuing_country": "KE", "exporter": "ke-croc-ranch",
                     "importer": "de-leder", "export_country": "KE", "import_country": "DE", "valid_from": "2026-01-01T00:00:00.000Z",
                     "valid_until": "2026-12-31T00:00:00.000Z", "status": "valid", "issued_seq": 0} | overrides)


def test_worst_follows_the_declared_order_and_valid_needs_no_findings():
    assert worst([]) == "VALID" and VERDICTS[-1] == "VALID"
    assert worst([Finding("ROUTE_COUNTRY_MISMATCH", ""), Finding("REPORTED_LOST_STOLEN", ""), Finding("CLONE_SUSPECTED", "")]) == "REPORTED_LOST_STOLEN"
    assert worst([Finding("CUSTODY_MISMATCH", ""), Finding("CLONE_SUSPECTED", "")]) == "CLONE_SUSPECTED"


def test_clone_window_edges():
    seen = Sighting("DE", NOW, crossed_since=False)
    assert [f.verdict for f in clone_findings(seen, "BE", NOW + timedelta(hours=11, minutes=59))] == ["CLONE_SUSPECTED"]
    assert clone_findings(seen, "BE", NOW + timedelta(hours=12)) == []
    assert clone_findings(seen, "DE", NOW + timedelta(hours=1)) == []
    assert clone_findings(Sighting("DE", NOW, crossed_since=True), "BE", NOW + timedelta(hours=1)) == []
    assert clone_findings(None, "BE", NOW) == []


def test_permit_findings_report_every_problem_not_only_the_first():
    line = PermitLineRow(permit_number="P-1", line=1, species="Crocodylus niloticus", quantity="2", endorsed="2", unit="pcs")
    found = permit_findings(item(), permit(status="cancelled", valid_until="2026-02-01T00:00:00.000Z"), line, "TZ", "export",
                            "2026-11-23T12:00:00.000Z", destination="FR")
    assert [f.verdict for f in found] == ["PERMIT_CANCELLED", "ROUTE_COUNTRY_MISMATCH", "ROUTE_COUNTRY_MISMATCH", "QUANTITY_EXHAUSTED"]
    assert [f.verdict for f in permit_findings(item(), None, None, "KE", "export", "2026-11-23T12:00:00.000Z", required=True)] == ["PERMIT_MISSING"]
    assert permit_findings(item(kind="firearm"), None, None, "DE", "inland", "2026-11-23T12:00:00.000Z") == []
