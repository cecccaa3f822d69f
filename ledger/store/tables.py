"""SQLModel tables: the log (entries, Merkle nodes, checkpoints) and the projections of it.

The log tables are the evidence. Everything else (parties, keys, items, permits) is a
projection that `tracemark rebuild` can recompute from the entries. Personal data sits in
its own table so erasing it never touches a hashed byte. Times in projections are stored as
the same fixed-width RFC 3339 strings used in signed data, so they sort and compare as text.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from operator import itemgetter
from typing import Any, Optional, TypeVar

from sqlalchemy import BigInteger, Column, Dialect, Index, Integer, LargeBinary, TypeDecorator, UniqueConstraint, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Field, SQLModel

from ledger.errors import StoreError
from ledger.log.keys import normalise_address, normalise_signature
from ledger.store.narrowing import table_of
from ledger.store.packing import PackError, Prepacked, pack, pack_object, unpack, unpack_object

__all__ = [
    "NOT_INSPECTION",
    "INSPECTION",
    "Entry",
    "MerkleNode",
    "CheckpointRow",
    "Party",
    "PartyFields",
    "PartyKeyFields",
    "PartyKey",
    "Item",
    "FormerSerial",
    "Permit",
    "PermitFields",
    "PermitLineRow",
    "PersonalRecord",
    "PROJECTION_TABLES",
    "ITEM_TABLES",
    "new_row",
    "primary_key",
    "identity_of",
    "Diversion",
    "QuestionRow",
    "TraceRequestRow",
    "Marking",
    "ApiKey",
    "WitnessedLog",
    "WitnessRow",
    "CosignatureRow",
    "PeerRow",
    "PeerTraceRow",
    "PeerTraceMessage",
    "SeenNonce",
]


class _HexAsBytes(TypeDecorator[str]):
    """0x-hex text kept as its raw bytes, and read back as the same text.

    Only the one spelling `spell` gives is stored, so the round trip is exact; any other is
    refused rather than silently changed (the log hashes the text, so a change would break it).
    """

    impl = LargeBinary
    cache_ok = True
    what = ""

    @staticmethod
    def spell(text: str, /) -> str:
        raise NotImplementedError

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if self.spell(value) != value:
            raise StoreError(f"only {self.what} are stored, got {value[:14]!r}")
        return bytes.fromhex(value[2:])

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else self.spell_read(value)

    def spell_read(self, value: bytes) -> str:
        return "0x" + value.hex()


class SignatureBytes(_HexAsBytes):
    """A signature as its 65 bytes; the text is `normalise_signature`'s 0x lower-case hex."""

    cache_ok = True  # SQLAlchemy asks each subclass
    what = "0x lower-case hex signatures"
    spell = staticmethod(normalise_signature)


class AddressBytes(_HexAsBytes):
    """An Ethereum address as its 20 bytes; the text is checksummed, as `normalise_address` writes it."""

    cache_ok = True
    what = "checksummed addresses"
    spell = staticmethod(normalise_address)

    def spell_read(self, value: bytes) -> str:
        text = "0x" + value.hex()
        return normalise_address(text) if len(value) == 20 else text  # a damaged value is shown as it is, for the audit to report


class PackedBytes(TypeDecorator[bytes]):
    """Signed JSON bytes stored packed (`ledger.store.packing`) and read back byte for byte.

    A value that no longer unpacks is read as the stored bytes themselves: it is evidence, and
    the audit reports it (its leaf hash no longer matches) instead of failing to read the log.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if isinstance(value, Prepacked):
            return value.packed
        return None if value is None else pack(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        try:
            return unpack(value)
        except PackError:
            return value


class PackedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object of a projection row, stored as packed compact JSON (`ledger.store.packing`)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> bytes | None:
        return None if value is None else pack_object(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else unpack_object(value)


SEQ = BigInteger().with_variant(Integer(), "sqlite")
"""A log position: 64-bit, and on SQLite an INTEGER PRIMARY KEY, which is the rowid itself (no second index)."""


class Entry(SQLModel, table=True):
    """One log entry: leaf `seq` of the Merkle tree and link `seq` of the hash chain.

    The link itself is not stored: an entry's prev hash is entry seq-1's leaf hash (`GENESIS_PREV`
    for seq 0), which its leaf hash commits to. `event_key` (`ledger.log.entry.key_of`: the event's own
    second, then 30 bits of its SHA-256) finds a resent event in a small index that grows at its
    right edge; it is not unique, so a match is confirmed on the event bytes. Receipts and exports
    hash the event bytes for its full SHA-256.
    """

    __tablename__ = "entry"

    seq: int = Field(sa_type=SEQ, primary_key=True, sa_column_kwargs={"autoincrement": False})
    leaf_hash: bytes = Field(sa_type=LargeBinary)
    event: bytes = Field(sa_type=PackedBytes, description="canonical (RFC 8785) event bytes, as signed (stored packed)")
    event_key: int = Field(sa_type=BigInteger, index=True)  # ix_entry_event_key, not unique
    event_type: str  # transfers are indexed (ix_entry_transfer_seq, for the network page); nothing else queries by type
    item_uid: Optional[str] = None  # indexed with seq below (ix_entry_item_seq)
    actor: str
    signer: str = Field(sa_type=AddressBytes)
    signature: str = Field(sa_type=SignatureBytes)  # no unique index: a valid signature binds its event, appended once
    recorded_at: str
    imported: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})  # in the leaf hash: `ledger.log.entry`


class MerkleNode(SQLModel, table=True):
    """The hash of a complete subtree (level >= 1) covering leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "merkle_node"
    __table_args__ = {"sqlite_with_rowid": False}  # keyed by (level, idx) alone: no rowid, no second index

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_type=LargeBinary)


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint note, and where it was anchored on chain once it is."""

    __tablename__ = "checkpoint"
    __table_args__ = (  # every receipt asks for the newest anchored checkpoint: an index of the anchored ones alone
        Index("ix_checkpoint_anchored", "size", "id", sqlite_where=text("anchor_block IS NOT NULL"),
              postgresql_where=text("anchor_block IS NOT NULL")),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    size: int = Field(sa_type=BigInteger, index=True)
    root: bytes = Field(sa_type=LargeBinary)
    note: str
    created_at: str
    anchor_tx: Optional[str] = None
    anchor_block: Optional[int] = Field(default=None, sa_type=BigInteger)
    anchor_time: Optional[str] = None
    anchor_chain_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    anchor_index: Optional[int] = Field(default=None, sa_type=BigInteger)


class PartyFields(SQLModel):
    """A party as the log registered it: what the API shows of it, field for field."""

    id: str = Field(primary_key=True)
    name: str
    role: str = Field(index=True)
    country: str = Field(index=True)
    licence_number: Optional[str] = None
    licence_valid_from: Optional[str] = None
    licence_valid_until: Optional[str] = None
    registered_seq: int = Field(sa_type=BigInteger)


class Party(PartyFields, table=True):
    __tablename__ = "party"


class PartyKeyFields(SQLModel):
    """A party's signing key as the API shows it: the address, when it was added and revoked."""

    address: str = Field(primary_key=True)
    added_seq: int = Field(sa_type=BigInteger)
    revoked_from: Optional[str] = None


class PartyKey(PartyKeyFields, table=True):
    __tablename__ = "party_key"

    party_id: str = Field(index=True)
    revoked_seq: Optional[int] = Field(default=None, sa_type=BigInteger)


class Item(SQLModel, table=True):
    """Current state of one marked item: a firearm or a tagged wildlife specimen."""

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("marker", "serial", name="uq_item_marker_serial"),)

    uid: str = Field(primary_key=True)
    kind: str  # firearm | specimen
    marker: str  # lookups by marker use uq_item_marker_serial
    serial: str = Field(index=True)
    facts: dict[str, Any] = Field(sa_column=Column(PackedJSON, nullable=False))
    status: str = Field(index=True)  # active | in_transit | lost | stolen | seized | forfeited | destroyed | deactivated
    status_before: Optional[str] = None
    custodian: Optional[str] = None
    owner_commitment: Optional[str] = None
    pending_to: Optional[str] = None
    pending_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    seized_by: Optional[str] = None
    permit_number: Optional[str] = Field(default=None, index=True)
    permit_line: Optional[int] = None
    country: str
    marked_seq: int = Field(sa_type=BigInteger)
    last_seq: int = Field(sa_type=BigInteger)
    updated_at: str


class FormerSerial(SQLModel, table=True):
    """A serial an item was marked with before a correction changed it: still its marker's, and found
    by a scan of it, so that a re-serialed item cannot vanish from the border check."""

    __tablename__ = "former_serial"

    marker: str = Field(primary_key=True)
    serial: str = Field(primary_key=True, index=True)
    uid: str
    corrected_seq: int = Field(sa_type=BigInteger, description="the correction that replaced this serial")


class PermitFields(SQLModel):
    """A CITES permit as its issuer recorded it: what the API shows of it, field for field."""

    number: str = Field(primary_key=True)
    kind: str
    issuer: str = Field(index=True)
    issuing_country: str
    exporter: str
    importer: str
    export_country: str
    import_country: str
    valid_from: str
    valid_until: str
    status: str  # valid | cancelled
    issued_seq: int = Field(sa_type=BigInteger)


class Permit(PermitFields, table=True):
    __tablename__ = "permit"


class PermitLineRow(SQLModel, table=True):
    __tablename__ = "permit_line"

    permit_number: str = Field(primary_key=True)
    line: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    species: str
    appendix: Optional[str] = None
    source: Optional[str] = None
    purpose: Optional[str] = None
    quantity: str
    unit: str
    endorsed: str = "0"


class PersonalRecord(SQLModel, table=True):
    """Clear personal data behind a commitment in the log; erasable without touching the log."""

    __tablename__ = "personal_record"

    commitment: str = Field(primary_key=True)
    salt: Optional[str] = None
    name: Optional[str] = None
    address: Optional[str] = None
    recorded_seq: int = Field(sa_type=BigInteger)
    erased_at: Optional[str] = None
    erased_reason: Optional[str] = None


NOT_INSPECTION = text("event_type != 'inspect'")
"""An entry that is part of an item's custody: everything but the inspections (a literal, so that
SQLite and PostgreSQL can match a query carrying it to `ix_entry_item_custody`)."""
INSPECTION = text("event_type = 'inspect'")
"""An inspection entry, as a literal too: SQLite found an item's newest inspection in 9 µs with
it and in 53 µs with the type as a bound parameter (same plan, 80 inspections an item)."""

Index("ix_entry_item_seq", table_of(Entry).c.item_uid, table_of(Entry).c.seq)
Index("ix_entry_item_custody", table_of(Entry).c.item_uid, table_of(Entry).c.seq, sqlite_where=NOT_INSPECTION,
      postgresql_where=NOT_INSPECTION)
Index("ix_item_pending", table_of(Item).c.pending_seq, sqlite_where=text("pending_to IS NOT NULL"),
      postgresql_where=text("pending_to IS NOT NULL"))  # the transfers waiting for receipt, in log order
Index("ix_entry_transfer_seq", table_of(Entry).c.seq, sqlite_where=text("event_type = 'transfer'"),
      postgresql_where=text("event_type = 'transfer'"))

PROJECTION_TABLES: tuple[type[SQLModel], ...] = (Party, PartyKey, Item, FormerSerial, Permit, PermitLineRow)


class Marking(SQLModel, table=True):
    """The QR code of a marked item: its marking party's signed claim, kept to print labels again.

    Not evidence: the code verifies on its own against the party's key, and the row can be
    re-made by the marking party at any time; `tracemark rebuild` leaves it alone.
    """

    __tablename__ = "marking"

    uid: str = Field(primary_key=True)
    payload: str
    signer: str
    created_at: str


class ApiKey(SQLModel, table=True):
    """An API key of a party: only a SHA-256 of the secret is kept; revoking is final."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True)
    party_id: str = Field(index=True)
    secret_hash: bytes = Field(sa_type=LargeBinary)
    label: str
    created_at: str
    revoked_at: Optional[str] = None


class Diversion(SQLModel, table=True):
    """Where one item left the legal chain: the custody fold's state, kept per append.

    `chain` is the fold state of `ledger.domain.custody`; the other columns copy what investigators
    filter and group by, so cross-item questions are index lookups, never scans of the log.
    Every such question is about diverted items, so the indexes hold only those rows: an item
    that stays in the legal chain costs its row and nothing more.
    """

    __tablename__ = "diversion"
    __table_args__ = (
        *(Index(f"ix_diversion_{name}", name, sqlite_where=text("diverted_seq IS NOT NULL"), postgresql_where=text("diverted_seq IS NOT NULL"))
          for name in ("diverted_seq", "item_kind", "diversion_kind", "diversion_time", "last_legit_custodian", "found_country", "permit_number")),
        {"sqlite_with_rowid": False},  # keyed by uid alone: no rowid and no second index on uid
    )

    uid: str = Field(primary_key=True)
    item_kind: str
    chain: dict[str, Any] = Field(sa_column=Column(PackedJSON, nullable=False))
    diverted_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    diversion_kind: Optional[str] = None
    diversion_time: Optional[str] = None
    last_legit_custodian: Optional[str] = None
    origin_country: Optional[str] = None
    found_country: Optional[str] = None
    time_to_crime_days: Optional[int] = None
    seized_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    permit_number: Optional[str] = None


class TraceRequestRow(SQLModel, table=True):
    """A trace request between agencies and when it was first answered."""

    __tablename__ = "trace_request"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    requester: str = Field(index=True)
    authority: str = Field(index=True)
    agency: str
    case: str
    serial: str = Field(index=True)
    make: str
    country: str
    requested_at: str
    answer_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    answered_at: Optional[str] = None
    answer_seconds: Optional[int] = None
    item_uid: Optional[str] = None


class QuestionRow(SQLModel, table=True):
    """A question an entry raised about its item (an inspection that contradicted the record, a
    transfer never received) and how it was settled: the custody fold's `Question`, indexed so an
    investigator lists the open ones without reading every item's fold.

    A transfer still waiting for receipt has a row only once an investigator settled it: until
    then the item's own row (`Item.pending_seq`) is the open question.
    """

    __tablename__ = "question"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    uid: str = Field(index=True)
    kind: str
    state: str = Field(index=True)
    raised_at: str
    country: Optional[str] = None
    origin_country: Optional[str] = None
    holder: Optional[str] = None
    detail: str
    decided_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    decided_by: Optional[str] = None


class WitnessedLog(SQLModel, table=True):
    """A log this server witnesses: the key its checkpoints must be signed with, and the latest
    checkpoint it cosigned (size, root and the cosigned note), replaced only by compare-and-swap."""

    __tablename__ = "witnessed_log"

    origin: str = Field(primary_key=True)
    vkey: str
    size: int = Field(default=0, sa_type=BigInteger)
    root: bytes = Field(sa_type=LargeBinary)
    note: Optional[str] = None
    updated_at: str


class WitnessRow(SQLModel, table=True):
    """A witness this log submits its checkpoints to, and the size the witness last cosigned."""

    __tablename__ = "witness"

    name: str = Field(primary_key=True)
    vkeys: str  # one verifier key a line
    url: str
    size: int = Field(default=0, sa_type=BigInteger)
    last_error: Optional[str] = None
    added_at: str


class CosignatureRow(SQLModel, table=True):
    """A witness's verified cosignature line on one of the log's checkpoints."""

    __tablename__ = "cosignature"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness", "key_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    checkpoint_id: int = Field(index=True)
    witness: str
    key_id: str
    timestamp: int = Field(sa_type=BigInteger)
    line: str


class PeerRow(SQLModel, table=True):
    """A peer log as the latest `add_peer` of its name described it; `removed_seq` is set once a
    `remove_peer` ended the peering (the row stays, so the name's history reads from the log)."""

    __tablename__ = "peer"

    name: str = Field(primary_key=True)
    origin: str = Field(index=True)
    vkey: str
    key_id: str = Field(index=True, description="the 8 hex digits of the vkey's key hash")
    url: str
    country: str
    share: str = Field(description="what is shared with the peer beyond status and proof, comma-separated")
    added_seq: int = Field(sa_type=BigInteger)
    removed_seq: Optional[int] = Field(default=None, sa_type=BigInteger)


class SeenNonce(SQLModel, table=True):
    """A nonce of a signed request from a peer, kept until its signature expires: the same signed
    request arriving again within its window is a replay (`ledger.federation.nonces`)."""

    __tablename__ = "seen_nonce"

    keyid: str = Field(primary_key=True)
    nonce: str = Field(primary_key=True)
    expires: int = Field(sa_type=BigInteger, index=True, description="POSIX seconds after which the row may go")


class PeerTraceRow(SQLModel, table=True):
    """A trace request between logs, on either side: `sent` (this log asked `peer`; `seq` is the
    `peer_trace_request`) or `received` (`peer` asked this log; `seq` is the `peer_trace_arrival`).
    `state` is open, answered or refused; an open request past its `deadline` reads as overdue."""

    __tablename__ = "peer_trace"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    side: str = Field(index=True)
    peer: str
    peer_origin: str
    item: str = Field(index=True)
    reason: str
    requester: str
    requested_at: str
    deadline: str
    peer_seq: Optional[int] = Field(default=None, sa_type=BigInteger, description="the peer's entry: of the request (received), of its decision (sent, once answered)")
    state: str = Field(default="open", index=True)
    decided_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    decided_at: Optional[str] = None
    decided_by: Optional[str] = None
    refusal: Optional[str] = None
    answer_digest: Optional[str] = None


class PeerTraceMessage(SQLModel, table=True):
    """What travelled with a trace request between logs, beside the log (it is not in any entry):
    the peer's entry of the request (`remote_seq`), the answer as sent or received with its RFC 9421
    signature headers (evidence), and for an answer this log owes a peer, its delivery."""

    __tablename__ = "peer_trace_message"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})
    remote_seq: Optional[int] = Field(default=None, sa_type=BigInteger)
    body: Optional[bytes] = Field(default=None, sa_type=LargeBinary)
    headers: Optional[str] = None
    delivered_at: Optional[str] = None
    attempts: int = 0
    next_attempt: Optional[float] = Field(default=None, index=True, description="POSIX time of the next delivery try")
    last_error: Optional[str] = None



class PeerStatusRow(SQLModel, table=True):
    """The last verified answer of a peer log about one of its items, kept to answer a scan while the
    peer is down (`ledger.federation.status`): not derived from this log, so no rebuild touches it."""

    __tablename__ = "peer_status"

    peer: str = Field(primary_key=True)
    uid: str = Field(primary_key=True)
    origin: str
    answer: str = Field(description="the peer's signed answer (RFC 8785 JSON), as verified")
    verified_at: str = Field(description="when this log verified it (RFC 3339)")


class HitOutboxRow(SQLModel, table=True):
    """A hit notice this log owes a peer (`ledger.federation.hits`): the inspection entry it proves,
    the peer it goes to, and its delivery. Not derived from the log, so no rebuild touches it."""

    __tablename__ = "hit_outbox"

    seq: int = Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False},
                     description="this log's inspection entry")
    peer: str
    origin: str = Field(description="the peer's origin when the notice was queued: a notice goes to that log only")
    queued_at: str
    state: str = Field(default="pending", description="pending, delivered, refused (by the peer, final) or dropped (no longer a peer)")
    attempts: int = 0
    next_attempt: Optional[float] = Field(default=None, index=True, description="POSIX time of the next try, while pending")
    detail: Optional[str] = Field(default=None, description="why the last try failed, or the peer's reason for refusing")
    settled_at: Optional[str] = None
    peer_seq: Optional[int] = Field(default=None, sa_type=BigInteger, description="the peer's hit_notice entry, once delivered")


PROJECTION_TABLES = PROJECTION_TABLES + (Diversion, TraceRequestRow, QuestionRow, PeerRow, PeerTraceRow)
ITEM_TABLES = (Item, Diversion)  # projection rows keyed by item uid: an append batch prefetches them together

configure_mappers()
"""Every table is defined: set up their mappers now, once. SQLAlchemy otherwise does it lazily, on
the first query or constructor call, and a row `new_row` makes before then has no attribute
implementations, so reading its attributes would fail."""


_MAKERS: dict[type, tuple[dict[str, Any], frozenset[str], Callable[[], Any]]] = {}
"""Per table: the defaults of its optional columns, its required columns, and the mapper's way to
make an empty instance (with the ORM's state, and pydantic's slots set by SQLModel's `__new__`)."""
_Row = TypeVar("_Row", bound=SQLModel)


def new_row(table: type[_Row], **values: Any) -> _Row:
    """A new, unsaved row of `table` without SQLModel's per-field validation.

    The append path makes a few rows per event and the values come from an event that was
    already validated, so this skips the ~20x slower `Table(**values)`; the result inserts,
    updates and dumps exactly like one (`tests/ledger/store/test_tables.py`).
    """
    maker = _MAKERS.get(table)
    if maker is None:
        fields = table.model_fields.items()
        maker = _MAKERS[table] = (
            {name: field.get_default(call_default_factory=True) for name, field in fields if not field.is_required()},
            frozenset(name for name, field in fields if field.is_required()),
            manager_of_class(table).new_instance,
        )
    defaults, required, empty = maker
    if not required <= values.keys():
        raise TypeError(f"{table.__name__} needs {sorted(required - values.keys())}")
    row: _Row = empty()
    row.__dict__.update(defaults)
    row.__dict__.update(values)
    row.__pydantic_fields_set__.update(values)
    return row


@cache
def primary_key(table: type) -> tuple[str, ...]:
    """The attribute names of `table`'s primary key, in key order."""
    mapper: Mapper[Any] = sa_inspect(table)
    return tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key)


@cache
def identity_of(table: type) -> Callable[[dict[str, Any]], Any]:
    """What reads a row's identity from its values: the key itself, or a tuple for a composite key."""
    return itemgetter(*primary_key(table))
