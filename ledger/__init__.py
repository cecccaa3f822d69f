"""Tracemark's core library: signed events in a hash-chained RFC 9162 Merkle log.

This module is the core's public API: the API server, the scanner and the command line import
from here, never from the sub-packages, which may be rearranged. No web framework and no chain
client is imported here; `ledger.anchoring.contract` is the only module that talks to Ethereum,
and it is imported only by those who anchor.
"""

from ledger import recursion  # noqa: F401, I001  (first: py_ecc's import must not leave the recursion limit raised)
from ledger.bounded import Bounded
from ledger.domain import verdict
from ledger.anchoring.results import AnchorConfigError, AnchorError, AnchorUnavailable, ContractReverted
from ledger.anchoring.worker import AnchorWorker, Schedule, anchor_status
from ledger.audit.chain import current_submitters, verify_chain
from ledger.audit.recompute import AuditReport, audit
from ledger.audit.tiles import TileCheckError, check_tiles
from ledger.config import Settings, init_log, open_ledger, positive_duration
from ledger.demo import CASTS, DEMO_PASSPHRASE, run_demo, stories_path
from ledger.domain.custody import Chain, DIVERSION_KINDS, QUESTION_STATES
from ledger.domain.events import Country, Envelope, ROLES, event_bytes, json_object
from ledger.domain.item_verdict import DIVERSION_VERDICTS, ItemState, Place, Records, Standing, standing_of, verdict_of
from ledger.domain.reach import Reach, item_reach
from ledger.domain.rules import ENFORCEMENT
from ledger.domain.verdict import Finding
from ledger.federation.client import PeerAnswer, PeerClient, peer_timeout
from ledger.federation.desk import FEDERATION_PARTY, federation_account, open_desk
from ledger.federation.trace_requests import (
    PeerTrace,
    TraceAnswerRefused,
    answer_of,
    ask_peer,
    check_answer,
    decide,
    fetch_answer,
    list_peer_traces,
    peer_trace,
    record_answer,
    record_arrival,
    send_request,
    trace_deadline,
)
from ledger.managed_keys import load_managed_key, managed_key_path, save_managed_key
from ledger.federation.errors import MessageSignatureError, PeerRefused, PeerUnreachable
from ledger.federation.courier import Courier
from ledger.federation.fresh import FreshAnswers, cache_ttl
from ledger.federation.hits import HitInvalid, accept_hit, deliver_hits, hit_proof, queue_hit
from ledger.federation.sharing import BUNDLE_WITHHELD, WITHHELD_FIELDS, status_answer
from ledger.federation.status import (
    PEER_UNREACHABLE,
    STALE_STATUS,
    ForeignStatus,
    Lookup,
    StatusInvalid,
    describe_status,
    keep_status,
    kept_status,
    look_up,
    parse_duration,
    status_findings,
    status_max_age,
    verify_status,
)
from ledger.federation.nonces import remember_nonce
from ledger.federation.peers import Peer, list_peers, peer_by_key_id, peer_by_origin, peer_named, peers_note
from ledger.federation.signing import HttpRequest, HttpResponse, VerifiedRequest, public_key_of, sign_request, sign_response, verify_request, verify_response
from ledger.files import write_private
from ledger.errors import CheckpointError, EventFailed, EventInvalid, EventTooLarge, LedgerError, NotFound, RuleViolation, SignatureError, StoreError
from ledger.investigation.epcis import epcis_document
from ledger.investigation.hotspots import Findings, investigate, transfer_links
from ledger.investigation.item_proof import item_proof
from ledger.investigation.lookup import item_uid
from ledger.investigation.questions import MAX_QUESTIONS, questions
from ledger.investigation.search import Hit, ItemLabel, facts_label, labels, party_directory, search_items
from ledger.investigation.trace import trace_item
from ledger.log.checkpoint import LogKey, open_note, parse_checkpoint, verifier_key_id, verify_checkpoint
from ledger.log.codec import canonical, format_time, parse_time, utc_now
from ledger.log.cosignature import ALGORITHMS
from ledger.log.entry import GENESIS_PREV, entry_bytes, event_key
from ledger.log.keys import LocalAccount, keccak_256, load_keystore, new_account, normalise_address, recover, save_keystore, sign
from ledger.log.merkle import LEAF_PREFIX, ProofError, leaf_hash
from ledger.log.policy import LOG_KEY_ONLY, Policy, PolicyError, PolicyLog, load_policy
from ledger.log.receipt_check import ReceiptError, receipts_in, verify_receipt
from ledger.log.signatures import sign_event
from ledger.log.tile_paths import Tile, TilePathError, parse_tile_path
from ledger.log.tlog_proof import HEADER, ProvenEntry, SUFFIX, TlogProof, TlogProofError, verify_tlog_proof
from ledger.store.ledger import Attestation, Ledger, Receipt
from ledger.store.migrate import head_revision
from ledger.store.rebuild import rebuild
from ledger.store.snapshot import Snapshot, rows_of
from ledger.store.tables import (
    ApiKey,
    CheckpointRow,
    Diversion,
    Entry,
    FormerSerial,
    INSPECTION,
    Item,
    Marking,
    NOT_INSPECTION,
    Party,
    PartyFields,
    PartyKey,
    PartyKeyFields,
    Permit,
    PermitFields,
    PermitLineRow,
    PersonalRecord,
)
from ledger.store.tile_export import export_tiles
from ledger.store.tiles import TileReader
from ledger.witness.cosigned import best_cosigned, checkpoint_note, witness_report
from ledger.witness.cosigners import add_witness, cosigned_note, list_witnesses, remove_witness, verifiers_of
from ledger.witness.state import SizeConflict, Witness, WitnessRefusal
from ledger.witness.worker import WitnessWorker

__all__ = [
    "Bounded",
    "HttpRequest",
    "HttpResponse",
    "MessageSignatureError",
    "Peer",
    "PeerAnswer",
    "HitInvalid",
    "accept_hit",
    "hit_proof",
    "WITHHELD_FIELDS",
    "BUNDLE_WITHHELD",
    "status_answer",
    "PEER_UNREACHABLE",
    "STALE_STATUS",
    "ForeignStatus",
    "Lookup",
    "StatusInvalid",
    "describe_status",
    "keep_status",
    "kept_status",
    "look_up",
    "parse_duration",
    "status_findings",
    "status_max_age",
    "verify_status",
    "PeerClient",
    "peer_timeout",
    "positive_duration",
    "FEDERATION_PARTY",
    "federation_account",
    "open_desk",
    "PeerTrace",
    "TraceAnswerRefused",
    "Courier",
    "FreshAnswers",
    "cache_ttl",
    "queue_hit",
    "deliver_hits",
    "answer_of",
    "ask_peer",
    "check_answer",
    "decide",
    "fetch_answer",
    "list_peer_traces",
    "peer_trace",
    "record_answer",
    "record_arrival",
    "send_request",
    "trace_deadline",
    "load_managed_key",
    "managed_key_path",
    "save_managed_key",
    "PeerRefused",
    "PeerUnreachable",
    "VerifiedRequest",
    "list_peers",
    "peer_by_key_id",
    "peer_by_origin",
    "peer_named",
    "peers_note",
    "public_key_of",
    "remember_nonce",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
    "verdict",
    "ALGORITHMS",
    "AnchorConfigError",
    "AnchorError",
    "AnchorUnavailable",
    "AnchorWorker",
    "ApiKey",
    "Attestation",
    "AuditReport",
    "Chain",
    "CheckpointError",
    "CheckpointRow",
    "ContractReverted",
    "Country",
    "DEMO_PASSPHRASE",
    "CASTS",
    "DIVERSION_KINDS",
    "DIVERSION_VERDICTS",
    "Diversion",
    "ENFORCEMENT",
    "Entry",
    "Envelope",
    "EventFailed",
    "EventInvalid",
    "EventTooLarge",
    "Finding",
    "Findings",
    "FormerSerial",
    "GENESIS_PREV",
    "HEADER",
    "Hit",
    "INSPECTION",
    "Item",
    "ItemState",
    "LEAF_PREFIX",
    "LOG_KEY_ONLY",
    "Ledger",
    "LedgerError",
    "LocalAccount",
    "MAX_QUESTIONS",
    "Marking",
    "NOT_INSPECTION",
    "NotFound",
    "Party",
    "PartyFields",
    "PartyKey",
    "PartyKeyFields",
    "Permit",
    "PermitFields",
    "PermitLineRow",
    "PersonalRecord",
    "Place",
    "Policy",
    "PolicyLog",
    "PolicyError",
    "ProofError",
    "ProvenEntry",
    "QUESTION_STATES",
    "ROLES",
    "Reach",
    "Receipt",
    "ReceiptError",
    "Records",
    "RuleViolation",
    "SUFFIX",
    "Schedule",
    "Settings",
    "SignatureError",
    "SizeConflict",
    "Snapshot",
    "Standing",
    "StoreError",
    "Tile",
    "TileCheckError",
    "TilePathError",
    "TileReader",
    "TlogProof",
    "TlogProofError",
    "Witness",
    "WitnessRefusal",
    "WitnessWorker",
    "add_witness",
    "anchor_status",
    "audit",
    "best_cosigned",
    "canonical",
    "check_tiles",
    "checkpoint_note",
    "cosigned_note",
    "current_submitters",
    "entry_bytes",
    "epcis_document",
    "event_bytes",
    "event_key",
    "export_tiles",
    "format_time",
    "head_revision",
    "init_log",
    "investigate",
    "item_proof",
    "item_reach",
    "item_uid",
    "json_object",
    "keccak_256",
    "labels",
    "facts_label",
    "ItemLabel",
    "leaf_hash",
    "list_witnesses",
    "load_keystore",
    "load_policy",
    "new_account",
    "normalise_address",
    "open_ledger",
    "LogKey",
    "open_note",
    "parse_checkpoint",
    "parse_tile_path",
    "parse_time",
    "party_directory",
    "questions",
    "rebuild",
    "receipts_in",
    "recover",
    "remove_witness",
    "rows_of",
    "run_demo",
    "save_keystore",
    "search_items",
    "sign",
    "sign_event",
    "standing_of",
    "stories_path",
    "trace_item",
    "transfer_links",
    "utc_now",
    "write_private",
    "verdict_of",
    "verifier_key_id",
    "verifiers_of",
    "verify_chain",
    "verify_checkpoint",
    "verify_receipt",
    "verify_tlog_proof",
    "witness_report",
]
