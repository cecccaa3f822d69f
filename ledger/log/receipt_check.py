"""Checking a receipt as `POST /v1/events` answers it, with no network: its checkpoint under a
verifier policy (the log's signature, the witnesses' quorum), then the entry's inclusion in it.

A receipt is handed out the moment its entry is appended, before any witness has seen the
checkpoint it carries: under a policy that needs cosignatures, a fresh receipt is refused, and
the item's offline proof (`GET /v1/items/{uid}/proof`) fetched once the witnesses cosigned holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ledger.errors import LedgerError
from ledger.log import merkle
from ledger.log.policy import Evaluation, Policy

__all__ = ["ReceiptError", "verify_receipt", "receipts_in"]


class ReceiptError(LedgerError):
    """A receipt is malformed, or it does not prove its entry under the policy."""


def receipts_in(document: Any) -> list[Mapping[str, Any]]:
    """The receipts of one answer: a single receipt, or a batch's ``{"receipts": [...]}``."""
    if isinstance(document, Mapping) and isinstance(document.get("receipts"), list):
        receipts = document["receipts"]
    else:
        receipts = [document]
    if not receipts or not all(isinstance(r, Mapping) for r in receipts):
        raise ReceiptError("a receipt is a JSON object (or a batch's {\"receipts\": [...]}) as POST /v1/events answers")
    return cast(list[Mapping[str, Any]], receipts)


def verify_receipt(receipt: Mapping[str, Any], policy: Policy, log_vkey: str | None = None) -> Evaluation:
    """The policy's judgement of the receipt's checkpoint, once the entry's leaf is proven in it."""
    try:
        seq, leaf = receipt["seq"], bytes.fromhex(receipt["leaf_hash"])
        path = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
        note = receipt["checkpoint"]["note"]
    except (KeyError, TypeError, ValueError) as e:
        raise ReceiptError(f"the receipt lacks or mistypes a field: {e}") from e
    if type(seq) is not int:
        raise ReceiptError(f"the receipt's seq must be an integer, got {seq!r}")
    evaluation = policy.evaluate(note, log_vkey).require()
    checkpoint = evaluation.checkpoint
    try:
        merkle.verify_inclusion(leaf, seq, checkpoint.size, path, checkpoint.root)
    except merkle.ProofError as e:
        raise ReceiptError(f"entry {seq} is not in the receipt's checkpoint of size {checkpoint.size}: {e}") from e
    return evaluation
