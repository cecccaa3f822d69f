"""Request and response models of the HTTP API (the ledger's own models are reused where they fit)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger import Country, Envelope, PartyFields, PartyKeyFields, PermitFields

__all__ = [
    "EXAMPLE_ENVELOPE",
    "BatchRequest",
    "ReceiptOut",
    "BatchOut",
    "CheckpointOut",
    "ItemOut",
    "OwnerOut",
    "EntryOut",
    "ItemEventsOut",
    "PermitOut",
    "PartyOut",
    "InclusionOut",
    "ConsistencyOut",
    "EntriesOut",
    "Declared",
    "ScanRequest",
    "ScanOut",
    "ApiKeyCreate",
    "ApiKeyOut",
    "ApiKeyIssued",
    "MAX_BATCH",
]

MAX_BATCH = 10_000

SCAN_EXAMPLE_CODE = ("HTTPS://TRACEMARK.LOCAL/I/01JD5Z8Q6Y3K7W2N4R9T0V1X2A/F3*BER*PX4-DE-002*IT*2024*627B2B2E/"
                     "EIRUKM2MLEOXMN3NHCTWCM4NTAFUAEQSQO55VSWSCUGA5S4OJNJXAETYYQAGLJLYSCTEUI2EUDHTBZU7EJMRJKKDKEJFTRXLCJPDNIY4")
"""A code in the format labels carry (version 3), signed by a throwaway key for an item no log holds, of a log no one runs."""

EXAMPLE_ENVELOPE: dict[str, Any] = {
    "event": {"type": "receive", "actor": "de-jagd-schmidt", "time": "2026-11-23T10:00:00.000Z", "item": "01JD5Z8Q6Y3K7W2N4R9T0V1X2A",
              "origin": "tracemark.local/log"},
    "signer": "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23",
    "signature": "0x" + "ab" * 65,
}


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchRequest(_Closed):
    envelopes: list[Envelope] = Field(min_length=1, max_length=MAX_BATCH)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"envelopes": [EXAMPLE_ENVELOPE]}]})


class AnchorOut(BaseModel):
    """The newest checkpoint anchored on chain, and the proof that this checkpoint extends it."""

    size: int
    root: str = Field(description="the anchored Merkle tree head, hex")
    tx: str | None = Field(description="the anchoring transaction's hash")
    block: int | None
    time: str | None = Field(description="the block's time")
    chain_id: int | None
    index: int | None = Field(description="the anchor's index in the contract for this log")
    consistency_proof: list[str] = Field(description="RFC 9162 consistency proof from the anchored size to this checkpoint's size, hex")


class CheckpointOut(BaseModel):
    size: int
    root: str = Field(description="Merkle tree head, hex")
    note: str = Field(description="the C2SP signed note")
    signed_at: str | None = Field(default=None, description="the time the log signed the checkpoint: its note's signed `time` line "
                                  "(none for a checkpoint signed without one)")
    anchored: AnchorOut | None = Field(default=None, description="the newest on-chain anchor this checkpoint extends (none while anchoring is off)")


class ReceiptOut(BaseModel):
    seq: int
    leaf_hash: str
    event_hash: str
    duplicate: bool = Field(description="the same signed event was already in the log; this is its original receipt")
    inclusion_proof: list[str] = Field(description="RFC 9162 audit path (hex) of the entry in the checkpoint's tree")
    checkpoint: CheckpointOut


class BatchOut(BaseModel):
    receipts: list[ReceiptOut]


class OwnerOut(BaseModel):
    commitment: str
    name: str | None
    address: str | None
    erased_at: str | None


class ItemOut(BaseModel):
    uid: str
    kind: str
    marker: str
    serial: str
    facts: dict[str, Any]
    status: str
    custodian: str | None
    pending_to: str | None
    seized_by: str | None
    permit_number: str | None
    permit_line: int | None
    country: str
    marked_seq: int
    last_seq: int
    updated_at: str
    owner_commitment: str | None
    owner: OwnerOut | None = Field(default=None, description="clear owner data: investigators and the item country's authorities only")


class EntryOut(BaseModel):
    seq: int
    type: str
    actor: str
    time: str
    recorded_at: str
    imported: bool = Field(description="imported by the log's authority from an earlier registry, not reported live")
    leaf_hash: str
    event: dict[str, Any]
    inclusion_proof: list[str]


class ItemEventsOut(BaseModel):
    uid: str
    checkpoint: CheckpointOut
    events: list[EntryOut]


class PermitLineOut(BaseModel):
    line: int
    species: str
    appendix: str | None
    source: str | None
    purpose: str | None
    unit: str
    quantity: str
    endorsed: str
    remaining: str


class PermitOut(PermitFields):
    lines: list[PermitLineOut]


class PartyKeyOut(PartyKeyFields):
    """One of a party's signing keys."""


class PartyOut(PartyFields):
    keys: list[PartyKeyOut]


class InclusionOut(BaseModel):
    seq: int
    size: int
    leaf_hash: str
    root: str
    proof: list[str]


class ConsistencyOut(BaseModel):
    old: int
    new: int
    old_root: str
    new_root: str
    proof: list[str]


class RawEntryOut(BaseModel):
    """Everything needed to recompute the entry's leaf hash (see ledger.log.entry)."""

    seq: int
    prev_hash: str = Field(description="the previous entry's leaf hash (32 zero bytes for seq 0), which this leaf hash covers")
    leaf_hash: str
    event: str = Field(description="the canonical RFC 8785 event bytes, as signed, as UTF-8 text")
    signer: str
    signature: str
    recorded_at: str
    imported: bool = Field(description="imported by the log's authority from an earlier registry; the leaf hash covers it")


class EntriesOut(BaseModel):
    start: int
    end: int
    size: int
    entries: list[RawEntryOut]
    next: int | None = Field(description="start of the next page, or null at the end of the log")


# ------------------------------------------------------------ scan


class Declared(_Closed):
    """Facts the agent reads off the item or its papers."""

    serial: str | None = Field(default=None, max_length=40)
    species: str | None = Field(default=None, max_length=120)
    quantity: str | None = Field(default=None, pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
    destination: Country | None = Field(default=None, description="destination country, ISO 3166-1 alpha-2")
    permit: str | None = Field(default=None, pattern=r"^[A-Z0-9][A-Z0-9./-]{0,39}$", description="permit number on the papers")



class ScanRequest(_Closed):
    code: str | None = Field(default=None, min_length=1, max_length=512,
                             description="the raw text of the QR code, an item id or a serial; a serial typed "
                                         "off the item goes better in `serial`, with its `maker`")
    serial: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$",
                               description="the serial typed off the item or its label, when its code cannot be read; needs `maker`")
    maker: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$",
                              description="with `serial`: the maker code printed before the serial (BER), the maker's name "
                                          "(Beretta) or its party id (it-beretta)")
    country: Country = Field(description="where the scan happens, ISO 3166-1 alpha-2")
    location: str = Field(min_length=1, max_length=120)
    direction: Literal["export", "import", "transit", "inland"] = "transit"
    declared: Declared = Field(default_factory=Declared)
    inspect: Envelope | None = Field(default=None, description="the scanning party's own signed `inspect` event; "
                                                               "without it the server signs only for parties with a managed key")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "code": SCAN_EXAMPLE_CODE, "country": "KE", "location": "JKIA cargo", "direction": "export",
        "declared": {"serial": "PX4-DE-002"},
    }, {
        "serial": "PX4-DE-002", "maker": "BER", "country": "DE", "location": "Frankfurt cargo", "direction": "import",
    }]})

    @model_validator(mode="after")
    def _code_or_serial(self) -> "ScanRequest":
        if self.code is not None and self.serial is not None:
            raise ValueError("give either the scanned `code` or a typed `serial` with its `maker`, not both")
        if self.code is None and self.serial is None:
            raise ValueError("give the scanned `code`, or the `serial` and `maker` typed off the item")
        if self.serial is not None and self.maker is None:
            raise ValueError("a typed `serial` needs the `maker` printed beside it: several makers may use one serial")
        if self.maker is not None and self.serial is None:
            raise ValueError("`maker` goes with a typed `serial`; a scanned `code` names its maker itself")
        return self


class Reason(BaseModel):
    verdict: str
    detail: str


class Custodian(BaseModel):
    party: str
    since: str
    seq: int
    imported: bool = Field(description="the entry that gave this custody was imported from an earlier registry")


class ScanProof(BaseModel):
    checkpoint: CheckpointOut
    entries: list[dict[str, Any]] = Field(description="per entry of the item: seq and its inclusion proof (hex)")


class Recorded(BaseModel):
    recorded: bool
    seq: int | None = None
    leaf_hash: str | None = None
    signed_by: Literal["server", "client"] | None = None
    detail: str


class ForeignOut(BaseModel):
    """What the issuing peer log said of its item, verified: its answer as signed, and how fresh it is."""

    peer: str = Field(description="this log's name for the issuing log")
    origin: str
    country: str
    uid: str
    status: str
    flagged: bool
    as_of: str = Field(description="when the issuing log answered (RFC 3339)")
    age_seconds: int
    answered_now: bool = Field(description="true: the issuing log's answer, verified now or within $TRACEMARK_PEER_CACHE_TTL "
                                           "(at `verified_at`); false: it did not answer usably, this is its last verified answer")
    problem: str = Field(default="", description="why the issuing log's answer is not this scan's")
    verified_at: str
    kind: str | None = None
    facts: dict[str, Any] | None = None
    holder_country: str | None = None
    proof: str = Field(description="the tlog-proof of the item's newest entry in the issuing log")
    leaf_hash: str


class ScanOut(BaseModel):
    verdict: str
    reasons: list[Reason]
    advice: str
    item: ItemOut | None
    status: str | None
    custody: list[Custodian]
    permit: PermitOut | None
    proof: ScanProof | None
    inspection: Recorded
    imported: list[int] = Field(default_factory=list, description="entries of the item's history imported from an earlier "
                                "registry by the log's authority (not reported live)")
    foreign: ForeignOut | None = Field(default=None, description="the item of a peer log: what that log said of it")


# ------------------------------------------------------------ API keys


class ApiKeyCreate(_Closed):
    party: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    label: str = Field(default="", max_length=120)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"party": "ke-customs", "label": "JKIA scanners"}]})


class ApiKeyOut(BaseModel):
    id: str
    party_id: str
    label: str
    created_at: str
    revoked_at: str | None


class ApiKeyIssued(ApiKeyOut):
    token: str = Field(description="shown once; only its hash is kept")
