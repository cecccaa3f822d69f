"""Scanning a ``.tlog-proof`` file: the offline proof of an item's newest entry, judged by a policy."""

from __future__ import annotations

from pathlib import Path

from ledger import HEADER, SUFFIX, LedgerError, Policy, ProvenEntry, TlogProof, verify_tlog_proof
from scanner.scan import ImageVerdict

__all__ = ["PROOF_REFUSED", "is_proof", "scan_proof", "proven_answer"]

PROOF_REFUSED = "PROOF_REFUSED"
"""The verdict line of a proof that does not hold: malformed, not signed, short of the quorum, or not included."""


def is_proof(path: Path) -> bool:
    """A file named ``*.tlog-proof``, or any file opening with the tlog-proof header line."""
    if path.suffix == SUFFIX:
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(len(HEADER) + 1) == (HEADER + "\n").encode()
    except OSError:
        return False


def proven_answer(proven: ProvenEntry) -> dict[str, object]:
    """What a proof shows, as the scanner's answers are shaped: the item, the event and who vouched."""
    event = proven.event
    evaluation = proven.evaluation
    return {
        "verdict": "VALID",
        "item": event.get("item"),
        "seq": proven.seq,
        "event": event,
        "checkpoint": {"origin": evaluation.checkpoint.origin, "size": evaluation.checkpoint.size},
        "cosigned_by": sorted(evaluation.cosigned),
        "reasons": [{"verdict": "VALID", "detail": f"{event.get('type')} by {event.get('actor')}, entry {proven.seq} of "
                     f"{evaluation.checkpoint.origin} (size {evaluation.checkpoint.size}), cosigned by "
                     f"{', '.join(sorted(evaluation.cosigned)) or 'no witness'}"}],
    }


def scan_proof(path: Path, policy: Policy, log_vkey: str | None) -> ImageVerdict:
    """Verify the proof in ``path`` with no network; a refusal is a verdict line saying why."""
    try:
        proof = TlogProof.parse(path.read_bytes())
        answer = proven_answer(verify_tlog_proof(proof, policy, log_vkey))
    except OSError as exc:
        return ImageVerdict(str(path), PROOF_REFUSED, detail=f"cannot read {path}: {exc.strerror or exc}")
    except LedgerError as exc:
        return ImageVerdict(str(path), PROOF_REFUSED, detail=str(exc))
    return ImageVerdict(str(path), "VALID", answer=answer)
