"""Reads of permits: lines with endorsed and remaining quantities."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Path
from sqlmodel import select

from api.access import CallerDep
from api.deps import LedgerDep
from api.schemas import PermitLineOut, PermitOut
from ledger import Ledger, Permit, PermitLineRow

__all__ = ["router", "permit_out"]

router = APIRouter(prefix="/v1/permits", tags=["permits"])


def permit_out(permit: Permit, lines: list[PermitLineRow]) -> PermitOut:
    return PermitOut(
        **permit.model_dump(),
        lines=[PermitLineOut(**line.model_dump(exclude={"permit_number"}),
                             remaining=str(Decimal(line.quantity) - Decimal(line.endorsed))) for line in lines],
    )


def permit_lines(ledger: Ledger, number: str) -> list[PermitLineRow]:
    with ledger.reading() as session:
        query = select(PermitLineRow).where(PermitLineRow.permit_number == number).order_by(PermitLineRow.line)
        return list(session.exec(query))


@router.get("/{number}", response_model=PermitOut, summary="A permit with its lines and remaining quantities")
def get_permit(ledger: LedgerDep, caller: CallerDep, number: str = Path(min_length=1, max_length=64)) -> PermitOut:
    permit = ledger.permit(number)
    return permit_out(permit, permit_lines(ledger, number))
