"""Which item an investigator means: its id, or the serial its maker marked it with (now or before a correction)."""

from __future__ import annotations

from sqlmodel import select

from ledger.errors import LedgerError, NotFound
from ledger.store.ledger import Ledger
from ledger.store.tables import FormerSerial, Item

__all__ = ["AmbiguousSerial", "item_uid"]


class AmbiguousSerial(LedgerError):
    """A serial several makers marked: the maker must be named to tell the items apart."""

    def __init__(self, serial: str, makers: list[str]) -> None:
        super().__init__(f"serial {serial!r} was marked by {', '.join(makers)}: name one with --maker")
        self.serial = serial
        self.makers = makers


def item_uid(ledger: Ledger, ref: str, maker: str | None = None) -> str:
    """The id of the item `ref` names: an item id, else a serial (of `maker` when given)."""
    with ledger.reading() as session:
        if maker is None and session.get(Item, ref) is not None:
            return ref
        serial = ref.strip().upper()
        found = {item.marker: item.uid for item in session.exec(select(Item).where(Item.serial == serial))}
        for former in session.exec(select(FormerSerial).where(FormerSerial.serial == serial)):
            found.setdefault(former.marker, former.uid)
    if maker is not None:
        if maker not in found:
            raise NotFound(f"item of {maker} with serial", serial)
        return found[maker]
    if not found:
        raise NotFound("item (id or serial)", ref)
    if len(found) > 1:
        raise AmbiguousSerial(serial, sorted(found))
    return next(iter(found.values()))
