"""Tracemark's core library: signed events in a hash-chained RFC 9162 Merkle log.

This module is the core's public API: the API server, the scanner and the command line import
from here, never from the sub-packages, which may be rearranged. No web framework and no chain
client is imported here; `ledger.anchoring.contract` is the only module that talks to Ethereum,
and it is imported only by those who anchor.
"""

from ledger import recursion  # noqa: F401, I001  (first: py_ecc's import must not leave the recursion limit raised)
from ledger.anchoring.results import AnchorConfigError, AnchorError, AnchorUnavailable, ContractReverted
from ledger.anchoring.worker import AnchorWorker, Schedule, anchor_status
from ledger.audit.chain import current_submitters, verify_chain
from ledger.audit.recompute import AuditReport, audit
from ledger.config import Settings, init_log, open_ledger
from ledger.demo import DEMO_PASSPHRASE, run_demo
from ledger.domain.custody import DIVERSION_KINDS
from ledger.domain.events import ROLES, Country, Envelope, event_bytes, json_object
from ledger.domain.reach import Reach, item_reach
from ledger.domain.rules import ENFORCEMENT
from ledger.errors import (
    CheckpointError,
    EventFailed,
    EventInvalid,
    LedgerError,
    NotFound,
    RuleViolation,
    SignatureError,
    StoreError,
)
from ledger.investigation.epcis import epcis_document
from ledger.investigation.hotspots import Findings, investigate, transfer_links
from ledger.investigation.trace import trace_item
from ledger.log.checkpoint import open_note, parse_checkpoint, verify_checkpoint
from ledger.log.codec import canonical, format_time, parse_time, utc_now
from ledger.log.entry import GENESIS_PREV, entry_bytes, event_key
from ledger.log.keys import LocalAccount, keccak_256, load_keystore, new_account, normalise_address, recover, save_keystore, sign
from ledger.log.merkle import LEAF_PREFIX, ProofError, leaf_hash
from ledger.log.signatures import sign_event
from ledger.store.ledger import Attestation, Ledger, Receipt
from ledger.store.migrate import head_revision
from ledger.store.rebuild import rebuild
from ledger.store.snapshot import Snapshot, rows_of

__all__ = [
    # the log and how to open it
    "Ledger", "Receipt", "Attestation", "Settings", "init_log", "open_ledger", "head_revision", "rebuild",
    "Snapshot", "rows_of",
    # events, signatures, keys
    "Envelope", "Country", "ROLES", "ENFORCEMENT", "event_bytes", "json_object", "sign_event", "LocalAccount",
    "new_account", "load_keystore", "save_keystore", "recover", "sign", "keccak_256", "normalise_address",
    # entries, the Merkle tree, checkpoints
    "GENESIS_PREV", "entry_bytes", "event_key", "LEAF_PREFIX", "leaf_hash", "open_note", "parse_checkpoint",
    "verify_checkpoint", "canonical", "format_time", "parse_time", "utc_now",
    # reading and investigating
    "Reach", "item_reach", "DIVERSION_KINDS", "trace_item", "investigate", "transfer_links", "Findings",
    "epcis_document",
    # checking the log and anchoring it
    "audit", "AuditReport", "verify_chain", "current_submitters", "AnchorWorker", "Schedule", "anchor_status",
    # the demo
    "run_demo", "DEMO_PASSPHRASE",
    # errors
    "LedgerError", "EventInvalid", "SignatureError", "RuleViolation", "CheckpointError", "NotFound", "StoreError",
    "EventFailed", "ProofError", "AnchorError", "AnchorConfigError", "AnchorUnavailable", "ContractReverted",
]
