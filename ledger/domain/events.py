"""Event types and their payload schemas: the facts a party signs.

An event is a JSON object whose RFC 8785 bytes the acting party signs (EIP-191). Parsing is
strict (no coercion, no unknown fields) so the model is a faithful view of the signed bytes.
Quantities are decimal strings and times RFC 3339 strings: no floats, no naive datetimes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from ledger.domain import codes
from ledger.errors import CheckpointError, EventInvalid
from ledger.log.checkpoint import parse_verifier_key
from ledger.log.codec import canonical, parse_time
from ledger.log.keys import normalise_address

__all__ = [
    "ROLES",
    "Event",
    "Envelope",
    "parse_event",
    "parse_marking",
    "json_object",
    "event_bytes",
    "ITEM_EVENTS",
    "REVIEWS",
    "event_field",
    "SHARES",
]

ROLES = (
    "manufacturer",
    "permit_authority",
    "dealer",
    "importer_exporter",
    "customs",
    "police",
    "investigator",
    "admin",
    "federation",
)
Role = Literal[
    "manufacturer", "permit_authority", "dealer", "importer_exporter", "customs", "police", "investigator", "admin", "federation"
]
"""`federation` is the log's own desk for what arrives from peer logs: its server-held key signs
those arrivals (a hit notice, a peer's trace request and a peer's answer), and nothing else."""

_PARTY_ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_SERIAL = r"^[A-Z0-9][A-Z0-9./-]{0,39}$"
_PERMIT_NUMBER = r"^[A-Z0-9][A-Z0-9./-]{0,39}$"
_HEX32 = r"^[0-9a-f]{64}$"
_VISIBLE = r"^[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]*$"
"""No control or invisible formatting characters (zero-width, bidi overrides, byte-order marks): a
constraint of every free-text field, checked by pydantic-core's regex engine. Every other string
field has a shape (pattern, code list, time, address) that refuses them already."""
_INVISIBLE_REFUSED = "control or invisible formatting characters are not allowed"

PartyId = Annotated[str, Field(pattern=_PARTY_ID, description="party id: lower-case letters, digits, . _ -")]
Serial = Annotated[str, Field(pattern=_SERIAL, description="upper-case A-Z 0-9 . / - (no look-alike characters)")]
PermitNumber = Annotated[str, Field(pattern=_PERMIT_NUMBER)]


def _as_value_error(check: Callable[[str], object]) -> Callable[[str], str]:
    """A code-list check as a pydantic validator: its EventInvalid becomes the field's error."""

    def validate(value: str) -> str:
        try:
            check(value)
        except EventInvalid as exc:
            raise ValueError(exc.detail) from exc
        return value

    return validate


def _upper_country(value: str) -> str:
    if codes.country(value) != value:
        raise EventInvalid(f"country codes are upper-case: {value!r}")
    return value


_ULID_TEXT = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
"""The canonical text of a ULID: what python-ulid prints, checked without building one (a tenth of the cost)."""


def _item_id(value: str) -> str:
    if not _ULID_TEXT.fullmatch(value):
        raise EventInvalid(f"not an upper-case ULID: {value!r}")
    return value


Time = Annotated[str, AfterValidator(_as_value_error(parse_time)),
                 Field(description="RFC 3339 time with timezone, e.g. 2026-11-23T10:00:00.000Z")]
Quantity = Annotated[str, Field(pattern=_VISIBLE, max_length=codes.QUANTITY_MAX_CHARS,
                                description="positive decimal as a string, below 10^12 with at most 6 decimal places, e.g. '12.5'"),
                     AfterValidator(_as_value_error(codes.quantity))]  # the pattern first: Decimal() takes "1\n"
Country = Annotated[str, AfterValidator(_as_value_error(_upper_country)), Field(description="ISO 3166-1 alpha-2 country code")]
Address = Annotated[str, AfterValidator(_as_value_error(normalise_address)), Field(description="an Ethereum address (0x + 40 hex)")]
ItemId = Annotated[str, AfterValidator(_as_value_error(_item_id)), Field(min_length=26, max_length=26)]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=_VISIBLE)]
ShortText = Annotated[str, Field(min_length=1, max_length=120, pattern=_VISIBLE)]
Origin = Annotated[str, Field(min_length=1, max_length=255, pattern=_VISIBLE, description="a log's origin, as its checkpoints name it")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- parties and keys


class PartyInfo(_Strict):
    id: PartyId
    name: ShortText
    role: Role
    country: Country
    licence_number: ShortText | None = None
    licence_valid_from: Time | None = None
    licence_valid_until: Time | None = None
    addresses: list[Address] = Field(min_length=1, max_length=5)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        if len({normalise_address(a) for a in v}) != len(v):
            raise ValueError("addresses are listed twice")
        return v


class _EventBase(_Strict):
    actor: PartyId = Field(description="the party making the event; its key signs it")
    time: Time = Field(description="when the party says it happened (RFC 3339, with timezone)")
    origin: Origin | None = Field(
        default=None,
        description="the origin of the log the event is for, signed with it so that no other log accepts a copy; "
                    "a log refuses a new event without its own origin, entries logged without one stay valid",
    )


class RegisterParty(_EventBase):
    type: Literal["register_party"]
    party: PartyInfo


class AddKey(_EventBase):
    type: Literal["add_key"]
    party: PartyId
    address: Address


class RevokeKey(_EventBase):
    type: Literal["revoke_key"]
    party: PartyId
    address: Address
    from_time: Time = Field(description="events signed with the key at or after this time are refused")
    reason: Text


# ---------------------------------------------------------------- items


class _ItemEvent(_EventBase):
    item: ItemId = Field(description="the item's ULID")


class ImportMarking(_Strict):
    country: Country
    year: int = Field(ge=1800, le=2200)


class FirearmMarking(_Strict):
    """UN Firearms Protocol Art. 8 / EU Directive 2021/555 marking fields."""

    maker_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,8}$", description="short maker code printed in the QR")]
    serial: Serial
    country: Country = Field(description="country of manufacture, ISO 3166-1 alpha-2")
    year: int = Field(ge=1800, le=2200)
    make: ShortText
    model: ShortText
    category: Literal["A", "B", "C"]
    calibre: ShortText
    import_marking: ImportMarking | None = None


class MarkFirearm(_ItemEvent):
    type: Literal["mark_firearm"]
    marking: FirearmMarking


class SpecimenTag(_Strict):
    """A CITES universal tag (Res. Conf. 11.12) or caviar label (Res. Conf. 12.7)."""

    kind: Literal["universal_tag", "caviar_label"]
    serial: Serial
    species: ShortText
    species_code: Annotated[str, Field(pattern=r"^[A-Z]{3,8}$", description="short species code for the QR")]
    country_of_origin: Country
    year: int = Field(ge=1800, le=2200)
    quantity: Quantity
    unit: Annotated[str, Field(pattern=r"^[a-z]{1,8}$")]
    description: Text | None = None


class MarkSpecimen(_ItemEvent):
    type: Literal["mark_specimen"]
    permit: PermitNumber
    line: int = Field(ge=1, le=999)
    tag: SpecimenTag


class Transfer(_ItemEvent):
    type: Literal["transfer"]
    to: PartyId | None = Field(default=None, description="the licensed party the item is shipped to")
    owner_commitment: Annotated[str, Field(pattern=_HEX32)] | None = Field(
        default=None, description="retail sale to a private owner: salted SHA-256 commitment of the owner's data"
    )
    reference: ShortText = Field(description="licence, permit or invoice reference of the transfer")

    @model_validator(mode="after")
    def _one_receiver(self) -> "Transfer":
        if (self.to is None) == (self.owner_commitment is None):
            raise ValueError("give exactly one of 'to' (a party) or 'owner_commitment' (a private owner)")
        return self


class Receive(_ItemEvent):
    type: Literal["receive"]


class _Crossing(_ItemEvent):
    permit: PermitNumber
    line: int = Field(ge=1, le=999)
    quantity: Quantity = Field(description="actual quantity endorsed by customs")
    country: Country
    location: ShortText


class Export(_Crossing):
    type: Literal["export"]


class Import(_Crossing):
    type: Literal["import"]


class _Report(_ItemEvent):
    place: ShortText
    details: Text


class ReportLost(_Report):
    type: Literal["report_lost"]


class ReportStolen(_Report):
    type: Literal["report_stolen"]


class Recover(_Report):
    type: Literal["recover"]


class Seize(_ItemEvent):
    type: Literal["seize"]
    country: Country
    place: ShortText
    reason: Text
    case: ShortText | None = None


class Release(_ItemEvent):
    type: Literal["release"]
    reason: Text


class Forfeit(_ItemEvent):
    type: Literal["forfeit"]
    reason: Text


class Destroy(_ItemEvent):
    type: Literal["destroy"]
    method: ShortText
    reason: Text


class Deactivate(_ItemEvent):
    type: Literal["deactivate"]
    method: ShortText
    reason: Text


class Inspect(_ItemEvent):
    type: Literal["inspect"]
    country: Country
    location: ShortText
    direction: Literal["export", "import", "transit", "inland"]
    verdict: Annotated[str, Field(pattern=r"^[A-Z_]{3,40}$")]
    log: Origin | None = Field(default=None, description="the origin of the peer log that issued the item, when the "
                                                          "item is another log's (a cross-border scan); `item` is its id there")


class HitNotice(_ItemEvent):
    """A peer log scanned this log's flagged item and told this log so, with its inspection entry
    proven in its own log (`peer_seq`, `peer_leaf_hash`); signed by this log's `federation` party."""

    type: Literal["hit_notice"]
    peer: PartyId = Field(description="this log's name for the peer that scanned the item")
    peer_origin: Origin
    peer_seq: int = Field(ge=0, description="the inspection's entry in the peer's log")
    peer_leaf_hash: Annotated[str, Field(pattern=_HEX32)]
    country: Country = Field(description="where the peer's officer scanned the item")
    location: ShortText
    verdict: Annotated[str, Field(pattern=r"^[A-Z_]{3,40}$")]


# ---------------------------------------------------------------- permits


class PermitLine(_Strict):
    line: int = Field(ge=1, le=999)
    species: ShortText = Field(description="scientific name (CITES) or firearm description")
    appendix: Literal["I", "II", "III"] | None = None
    source: str | None = Field(default=None, description="CITES source code (Res. Conf. 12.3)")
    purpose: str | None = Field(default=None, description="CITES purpose code (Res. Conf. 12.3)")
    quantity: Quantity
    unit: Annotated[str, Field(pattern=r"^[a-z]{1,8}$")]

    @field_validator("source")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        if v is not None and v not in codes.CITES_SOURCES:
            raise ValueError(f"{v!r} is not a CITES source code {sorted(codes.CITES_SOURCES)}")
        return v

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, v: str | None) -> str | None:
        if v is not None and v not in codes.CITES_PURPOSES:
            raise ValueError(f"{v!r} is not a CITES purpose code {sorted(codes.CITES_PURPOSES)}")
        return v


PermitKind = Literal["export", "import", "re-export", "certificate", "firearm_export", "firearm_import"]


class PermitInfo(_Strict):
    """CITES Res. Conf. 12.3 permit fields (or a firearms export/import authorisation)."""

    number: PermitNumber
    kind: PermitKind
    issuing_country: Country
    exporter: PartyId
    importer: PartyId
    export_country: Country
    import_country: Country
    valid_from: Time
    valid_until: Time
    lines: list[PermitLine] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> "PermitInfo":
        if parse_time(self.valid_until) <= parse_time(self.valid_from):
            raise ValueError("valid_until must be after valid_from")
        numbers = [line.line for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("permit line numbers must be unique")
        if self.export_country == self.import_country:
            raise ValueError("export and import countries must differ")
        if not self.kind.startswith("firearm"):
            for line in self.lines:
                if line.appendix is None or line.source is None or line.purpose is None:
                    raise ValueError(f"line {line.line}: CITES permits need appendix, source and purpose")
        return self


class IssuePermit(_EventBase):
    type: Literal["issue_permit"]
    permit: PermitInfo


class CancelPermit(_EventBase):
    type: Literal["cancel_permit"]
    permit: PermitNumber
    reason: Text


# ---------------------------------------------------------------- corrections


class Correct(_EventBase):
    """An error declaration pointing at an earlier entry: history is never edited."""

    type: Literal["correct"]
    target_seq: int = Field(ge=0)
    reason: Text
    marking: dict[str, Any] | None = Field(
        default=None, description="corrected marking or tag fields of a mark event (replaces those fields)"
    )


# ---------------------------------------------------------------- reviews of what inspections raised


class VoidInspection(_ItemEvent):
    """The inspecting party declares its inspection a mistake (a test scan, a misread code): the
    entry stays in the log, and raises no question and counts nowhere."""

    type: Literal["void_inspection"]
    inspection_seq: int = Field(ge=0, description="the entry of the inspection made by mistake")
    reason: Text


class ConfirmFinding(_ItemEvent):
    """An investigator finds that an open question (an inspection that contradicted the record, a
    transfer never received) shows where the item left the legal chain."""

    type: Literal["confirm_finding"]
    question_seq: int = Field(ge=0, description="the entry that raised the question")
    reason: Text


class DismissFinding(_ItemEvent):
    """An investigator finds that an open question shows no diversion."""

    type: Literal["dismiss_finding"]
    question_seq: int = Field(ge=0, description="the entry that raised the question")
    reason: Text


# ---------------------------------------------------------------- peer logs (federation)

SHARES = ("facts", "holder_country")
"""What a log may share with a peer beyond an item's status, flag and proof: the item's facts, its holder's country."""


def _peer_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ValueError(f"a peer URL is http(s)://host[:port][/prefix] without user, query or fragment, got {value!r}")
    if value.endswith("/"):
        raise ValueError(f"a peer URL is a base URL without a trailing slash, got {value!r}")
    return value


def _note_vkey(value: str) -> str:
    try:
        parse_verifier_key(value)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from exc
    return value


class PeerInfo(_Strict):
    """Another national log this one talks to: its origin, the note verifier key its checkpoints and
    signed requests verify with, where it answers, and what this log shares with it."""

    name: PartyId = Field(description="this log's name for the peer: lower-case letters, digits, . _ -")
    origin: Origin = Field(description="the peer log's origin, as its checkpoints name it")
    vkey: Annotated[str, Field(min_length=1, max_length=300, pattern=_VISIBLE, description="the peer log's C2SP note verifier key, named after its origin"),
                    AfterValidator(_note_vkey)]
    url: Annotated[str, Field(min_length=8, max_length=300, pattern=_VISIBLE), AfterValidator(_peer_url)]
    country: Country
    share: list[Literal["facts", "holder_country"]] = Field(default_factory=list, max_length=len(SHARES))

    @field_validator("share")
    @classmethod
    def _share(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a share is listed twice")
        return v

    @model_validator(mode="after")
    def _vkey_names_origin(self) -> "PeerInfo":
        name = self.vkey.split("+")[0]
        if name != self.origin:
            raise ValueError(f"vkey: the key is named {name!r}, not the peer's origin {self.origin!r}")
        return self


class AddPeer(_EventBase):
    """Peer with another log (or change what is known of a peer of the same name)."""

    type: Literal["add_peer"]
    peer: PeerInfo


class RemovePeer(_EventBase):
    type: Literal["remove_peer"]
    name: PartyId
    reason: Text


# ---------------------------------------------------------------- trace requests between agencies


class TraceRequest(_EventBase):
    """An eTrace / iARMS style request from an agency that recovered an item, addressed to an authority."""

    type: Literal["trace_request"]
    authority: PartyId = Field(description="the party asked to answer from the ledger")
    agency: ShortText
    case: ShortText
    serial: Serial
    make: ShortText
    model: ShortText | None = None
    calibre: ShortText | None = None
    country: Country = Field(description="country of recovery")
    recovery_place: ShortText
    recovery_date: Time


class TraceAnswer(_EventBase):
    """The answer computed from the ledger, signed by the authority the request named."""

    type: Literal["trace_answer"]
    request_seq: int = Field(ge=0)
    item: Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")] | None = Field(default=None, description="the item found, if any")
    answer_digest: Annotated[str, Field(pattern=_HEX32)] = Field(description="SHA-256 of the canonical answer summary")
    last_legit_custodian: PartyId | None = None
    diversion_seq: int | None = Field(default=None, ge=0)
    time_to_crime_days: int | None = None
    summary: Text


# ---------------------------------------------------------------- trace requests between logs

Seq = Annotated[int, Field(ge=0, le=2**62)]


class PeerTraceRequest(_EventBase):
    """An investigator of this log asks a peer log for the custody chain of one of its items."""

    type: Literal["peer_trace_request"]
    peer: PartyId = Field(description="this log's name for the peer asked")
    item: ItemId = Field(description="the item's ULID in the peer's log")
    reason: Text
    deadline: Time = Field(description="when the answer is due")


class PeerTraceArrival(_EventBase):
    """A peer's trace request arrived here (signed by this log's `federation` desk)."""

    type: Literal["peer_trace_arrival"]
    peer: PartyId = Field(description="this log's name for the asking peer")
    peer_origin: Origin
    peer_seq: Seq = Field(description="the request's entry in the asking log")
    requester: PartyId = Field(description="the investigator who asked, as the asking log names them")
    item: ItemId
    reason: Text
    deadline: Time


class PeerTraceDecision(_EventBase):
    """An investigator here grants (the custody chain is sent) or refuses a peer's trace request."""

    type: Literal["peer_trace_decision"]
    arrival_seq: Seq
    outcome: Literal["granted", "refused"]
    reason: Text | None = Field(default=None, description="why it is refused (required then)")
    answer_digest: Annotated[str, Field(pattern=_HEX32)] | None = Field(default=None, description="SHA-256 of the answer sent (granted)")

    @model_validator(mode="after")
    def _reason_or_answer(self) -> "PeerTraceDecision":
        if self.outcome == "refused" and self.reason is None:
            raise ValueError("a refusal says why: give a reason")
        if self.outcome == "granted" and self.answer_digest is None:
            raise ValueError("a grant names the answer it sends: give answer_digest")
        return self


class PeerTraceAnswer(_EventBase):
    """The peer's answer to a trace request of this log arrived and verified (signed by the `federation` desk)."""

    type: Literal["peer_trace_answer"]
    request_seq: Seq
    outcome: Literal["granted", "refused"]
    peer_seq: Seq = Field(description="the decision's entry in the peer's log")
    reason: Text | None = None
    answer_digest: Annotated[str, Field(pattern=_HEX32)] = Field(description="SHA-256 of the peer's answer body as received")
    checkpoint_size: Seq | None = Field(default=None, description="the size of the peer's checkpoint the chain was proven against")


Event = Annotated[
    Union[
        RegisterParty,
        AddKey,
        RevokeKey,
        MarkFirearm,
        MarkSpecimen,
        IssuePermit,
        CancelPermit,
        Transfer,
        Receive,
        Export,
        Import,
        ReportLost,
        ReportStolen,
        Recover,
        Seize,
        Release,
        Forfeit,
        Destroy,
        Deactivate,
        Inspect,
        HitNotice,
        Correct,
        VoidInspection,
        ConfirmFinding,
        DismissFinding,
        TraceRequest,
        TraceAnswer,
        AddPeer,
        RemovePeer,
        PeerTraceRequest,
        PeerTraceArrival,
        PeerTraceDecision,
        PeerTraceAnswer,
    ],
    Field(discriminator="type"),
]

ITEM_EVENTS = {
    "mark_firearm",
    "mark_specimen",
    "transfer",
    "receive",
    "export",
    "import",
    "report_lost",
    "report_stolen",
    "recover",
    "seize",
    "release",
    "forfeit",
    "destroy",
    "deactivate",
    "inspect",
    "hit_notice",
    "void_inspection",
    "confirm_finding",
    "dismiss_finding",
}
REVIEWS = {"void_inspection", "confirm_finding", "dismiss_finding"}
"""Item events that judge an earlier entry (an inspection, a transfer) rather than move the item."""

_EVENT = TypeAdapter(Event)


def event_field(event: BaseModel, name: str) -> Any:
    """The event's field `name`, or None for a type without one. `getattr` with a default would
    do, but a pydantic model builds and raises an AttributeError first: microseconds per event."""
    return event.__dict__.get(name)


class Envelope(BaseModel):
    """What a party posts: the event, the signing address and its EIP-191 signature."""

    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any]
    signer: str
    signature: str
    personal: dict[str, str] | None = Field(
        default=None,
        description="clear personal data behind an owner_commitment: salt, name, address (kept off the log)",
    )


def json_object(raw: bytes) -> dict[str, Any]:
    """Decode stored or posted event bytes into a JSON object."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventInvalid(f"event is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise EventInvalid("an event is a JSON object")
    return value


def parse_event(raw: dict[str, Any] | bytes) -> Event:
    """Validate a raw event (a dict or its JSON bytes); EventInvalid names the first bad field."""
    if isinstance(raw, (bytes, bytearray)):
        raw = json_object(raw)
    if not isinstance(raw, dict):
        raise EventInvalid("an event is a JSON object")
    try:
        return _EVENT.validate_python(raw)
    except ValidationError as exc:
        raise _invalid(exc, skip=1) from exc  # loc[0] is the event type tag


_MARKINGS: dict[str, type[FirearmMarking] | type[SpecimenTag]] = {"mark_firearm": FirearmMarking, "mark_specimen": SpecimenTag}


def parse_marking(event_type: str, fields: dict[str, Any]) -> FirearmMarking | SpecimenTag:
    """Validate the marking (or tag) fields of a `event_type` entry, e.g. after a correction."""
    try:
        return _MARKINGS[event_type].model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc, prefix="marking") from exc


def _invalid(exc: ValidationError, skip: int = 0, prefix: str | None = None) -> EventInvalid:
    """The first pydantic error as an EventInvalid naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in ([prefix] if prefix else []) + list(first["loc"][skip:]))
    if first["type"] == "string_pattern_mismatch" and first["ctx"]["pattern"] == _VISIBLE:
        return EventInvalid(_INVISIBLE_REFUSED, field or None)
    return EventInvalid(first["msg"].removeprefix("Value error, "), field or None)


def event_bytes(raw: dict[str, Any]) -> bytes:
    """The canonical bytes a party signs for an event."""
    return canonical(raw)
