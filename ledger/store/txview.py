"""The state an append transaction judges and changes, and the cache that outlives it.

Rules and projection read rows through `TxView`. New rows of the batch are kept in memory
(nothing is flushed per event) and looked up there first; rows read from the database are
kept in a `StateCache` owned by the ledger's writer, so the next batch finds them without a
query. The cache is valid only while the log head is the one this process last wrote: any
other writer (another process, a rebuild) moves the head or resets it, and it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from ledger.log.merkle import CompactRange
from ledger.store.db import in_values, insert_rows, values_param
from ledger.store.narrowing import table_of
from ledger.store.tables import ITEM_TABLES, Diversion, Entry, FormerSerial, Item, Party, PartyKey, PeerRow, Permit, PermitLineRow, identity_of

__all__ = ["StateCache", "TxView"]

_Row = TypeVar("_Row")
_ByUid = TypeVar("_ByUid", Item, Diversion)


@cache
def _by_uid(table: type[_ByUid], dialect: str) -> SelectOfScalar[_ByUid]:
    """Built once per table and database: making an IN clause anew cost more than running it for
    the small groups of single appends."""
    return select(table).where(in_values(col(table.uid), "uids", dialect))


@cache
def _uids_by_serial(dialect: str) -> Select[str, str]:
    return select(Item.uid, Item.serial).where(in_values(col(Item.serial), "serials", dialect))


@cache
def _former_by_serial(dialect: str) -> Select[str, str, str]:
    return select(FormerSerial.serial, FormerSerial.marker, FormerSerial.uid).where(in_values(col(FormerSerial.serial), "serials", dialect))


class StateCache:
    """Strong references to projection rows already loaded in the writer's long-lived session.

    Rows a batch inserted stay out of the session (`unattached`) until a later batch looks
    one up: most are never touched again within the cache's life (a marking's item, until it
    is sold), and joining the session cost more per row than inserting it.

    A batch that made more than `new_limit` rows keeps none of them: the append path reads a
    batch's rows in one query anyway (`TxView.prefetch_items`), while keeping a thousand
    markings' rows cost 5 µs an event in garbage collection alone (the collector walked them
    all) and would push out the rows every append needs (its parties and keys). A replay, which
    looks rows up one by one, keeps them all (the default).
    """

    def __init__(self, limit: int = 10_000, new_limit: int | None = None) -> None:
        self.limit = limit
        self.new_limit = limit if new_limit is None else new_limit
        self.rows: dict[tuple[type, Any], Any] = {}
        self.unattached: set[tuple[type, Any]] = set()
        self.head: tuple[int, bytes] | None = None
        self.frontier: CompactRange | None = None  # the tree's frontier at `head`

    def valid_for(self, head: tuple[int, bytes]) -> bool:
        return self.head == head

    def clear(self) -> None:
        self.rows.clear()
        self.unattached.clear()
        self.head = None
        self.frontier = None

    def keep(self, rows: Iterable[tuple[tuple[type, Any], Any]]) -> None:
        """Rows loaded into the writer's session."""
        self.rows.update(rows)
        self._bound()

    def keep_new(self, rows: dict[tuple[type, Any], Any]) -> None:
        """Rows a batch inserted, kept out of the session until looked up; none of a batch that made more than `new_limit`."""
        if len(rows) > self.new_limit:
            return
        self.rows.update(rows)
        self.unattached.update(rows)
        self._bound()

    def _bound(self) -> None:
        if len(self.rows) > self.limit:  # a bounded cache: start again rather than grow without end
            self.rows.clear()
            self.unattached.clear()


class TxView:
    """The rules' `View` and the projection's `Writer` over one write transaction."""

    def __init__(self, session: Session, cache: StateCache | None = None) -> None:
        self.session = session
        self.cache = cache if cache is not None else StateCache()
        self.pending_entries: dict[int, dict[str, Any]] = {}
        self.new: dict[tuple[type, Any], Any] = {}
        self._new_items_by_serial: dict[str, list[Item]] = {}
        self._absent: set[tuple[type, Any]] = set()  # keys a prefetch looked for and did not find
        self._stored_serials: dict[str, list[str]] = {}  # serial -> uids of stored items, from a prefetch
        self._stored_formers: dict[str, dict[str, str]] = {}  # former serial -> marker -> uid, of stored rows
        self._new_formers: dict[str, dict[str, str]] = {}  # the same, of this batch's corrections

    # ------------------------------------------------------------ prefetching a batch

    def prefetch_items(self, uids: Iterable[str], serials: Iterable[str]) -> None:
        """Load the rows a batch will touch in one query per table instead of one per event."""
        wanted = {uid for uid in uids if (Item, uid) not in self.cache.rows}
        if wanted:
            items = self._load(Item, wanted)
            self._absent.update((table, uid) for uid in wanted - items for table in ITEM_TABLES)  # new items have no rows yet
            wanted = items
        for table in ITEM_TABLES[1:]:
            missing = {uid for uid in wanted if (table, uid) not in self.cache.rows}
            if missing:
                self._absent.update((table, uid) for uid in missing - self._load(table, missing))
        wanted_serials = set(serials) - self._stored_serials.keys()
        if wanted_serials:
            dialect = self.session.get_bind().dialect.name
            for uid, serial in self.session.execute(_uids_by_serial(dialect), {"serials": values_param(wanted_serials, dialect)}):
                self._stored_serials.setdefault(serial, []).append(uid)
            for serial in wanted_serials:
                self._stored_serials.setdefault(serial, [])
            self._load_formers(wanted_serials)

    def _load_formers(self, serials: set[str]) -> None:
        dialect = self.session.get_bind().dialect.name
        for serial in serials:
            self._stored_formers.setdefault(serial, {})
        for serial, marker, uid in self.session.execute(_former_by_serial(dialect), {"serials": values_param(serials, dialect)}):
            self._stored_formers[serial][marker] = uid

    def _load(self, table: type, uids: set[str]) -> set[str]:
        dialect = self.session.get_bind().dialect.name
        rows = list(self.session.exec(_by_uid(table, dialect), params={"uids": values_param(uids, dialect)}))
        self.cache.keep(((table, row.uid), row) for row in rows)
        return {row.uid for row in rows}

    # ------------------------------------------------------------ lookups by key

    def _get(self, table: type[_Row], key: Any) -> _Row | None:
        row: _Row | None = self.new.get((table, key))
        if row is None:
            row = self.cache.rows.get((table, key))
            if row is not None and (table, key) in self.cache.unattached:
                self._attach((table, key), row)
        if row is None and (table, key) not in self._absent:
            row = self.session.get(table, key)
            if row is not None:
                self.cache.rows[(table, key)] = row
        return row

    def party(self, party_id: str) -> Party | None:
        return self._get(Party, party_id)

    def key(self, address: str) -> PartyKey | None:
        return self._get(PartyKey, address)

    def item(self, uid: str) -> Item | None:
        return self._get(Item, uid)

    def permit(self, number: str) -> Permit | None:
        return self._get(Permit, number)

    def permit_line(self, number: str, line: int) -> PermitLineRow | None:
        return self._get(PermitLineRow, (number, line))

    def entry(self, seq: int) -> Entry | None:
        pending = self.pending_entries.get(seq)
        return Entry(**pending) if pending is not None else self.session.get(Entry, seq)

    def get(self, table: type, key: Any) -> Any:
        """Any other projection row by primary key (the investigation projections use it)."""
        return self._get(table, key)

    # ------------------------------------------------------------ lookups by query

    def item_by_serial(self, marker: str, serial: str) -> Item | None:
        """The item `marker` marked with `serial`, now or before a correction changed it."""
        for item in self.items_with_serial(serial):
            if item.marker == marker:
                return item
        if serial not in self._stored_formers:
            self._load_formers({serial})
        uid = self._new_formers.get(serial, {}).get(marker) or self._stored_formers[serial].get(marker)
        return None if uid is None else self.item(uid)

    def items_with_serial(self, serial: str) -> list[Item]:
        uids = self._stored_serials.get(serial)
        if uids is None:
            uids = list(self.session.execute(select(Item.uid).where(Item.serial == serial)).scalars())
            self._stored_serials[serial] = uids
        stored = [item for item in map(self.item, uids) if item is not None and item.serial == serial]
        return stored + self._new_items_by_serial.get(serial, [])

    def items_on_permit_line(self, number: str, line: int) -> list[Item]:
        self._attach_all(Item)  # the query must find the cached objects in the session, not load second copies
        stored = list(self.session.exec(select(Item).where(Item.permit_number == number, Item.permit_line == line)))
        pending = [row for (table, _), row in self.new.items() if table is Item and (row.permit_number, row.permit_line) == (number, line)]
        return stored + pending

    def has_parties(self) -> bool:
        if any(table is Party for table, _ in self.new):
            return True
        return self.session.exec(select(Party.id).limit(1)).first() is not None

    def peers(self) -> list[PeerRow]:
        """The current peers, with this batch's: a handful of rows, read whole."""
        self._attach_all(PeerRow)  # the query must find the cached objects in the session, not load second copies
        rows = {row.name: row for row in self.session.exec(select(PeerRow))}
        rows.update((row.name, row) for (table, _), row in self.new.items() if table is PeerRow)
        return [row for row in rows.values() if row.removed_seq is None]

    def _attach(self, key: tuple[type, Any], row: Any) -> None:
        """Join an inserted row to the session as stored, so changes to it are flushed."""
        make_transient_to_detached(row)
        self.session.add(row)
        self.cache.unattached.discard(key)

    def _attach_all(self, table: type) -> None:
        for key in [key for key in self.cache.unattached if key[0] is table]:
            self._attach(key, self.cache.rows[key])

    # ------------------------------------------------------------ writes

    def add(self, row: SQLModel) -> None:
        """A new projection row: visible to lookups at once, inserted by `write` with the batch's others."""
        values = row.__dict__
        self.new[(type(row), identity_of(type(row))(values))] = row
        if isinstance(row, Item):
            self._new_items_by_serial.setdefault(values["serial"], []).append(row)
        elif isinstance(row, FormerSerial):
            self._new_formers.setdefault(values["serial"], {})[values["marker"]] = values["uid"]

    def write(self) -> None:
        """Insert the new rows with one executemany per table, then flush the changed stored rows.

        New rows skip the ORM's unit of work (it costs more per row than the rest of an append);
        they join the session when a later lookup finds them (`StateCache.unattached`).
        """
        by_table: dict[type, list[Any]] = {}
        for (table, _), row in self.new.items():
            by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            insert_rows(self.session, table_of(table), [row.__dict__ for row in rows])
        self.session.flush()

    def flush(self) -> None:
        """Write the new rows now (a long replay does it per chunk); they become stored rows."""
        self.write()
        self.committed()

    def committed(self) -> None:
        """The new rows are stored: keep them in the cache, and look them up there from now on."""
        self.cache.keep_new(self.new)
        for serial, items in self._new_items_by_serial.items():
            self._stored_serials.setdefault(serial, []).extend(item.uid for item in items)
        for serial, markers in self._new_formers.items():
            if serial in self._stored_formers:  # else read, with these rows, when first wanted
                self._stored_formers[serial].update(markers)
        self.new.clear()
        self._new_items_by_serial.clear()
        self._new_formers.clear()
        self._absent.clear()
