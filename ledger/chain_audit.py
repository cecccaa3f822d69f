"""The chain audit: hold every anchored checkpoint of this log against the log itself.

An operator who rewrites history can recompute every leaf hash, Merkle node and signed
checkpoint (it holds the log key), and the plain audit will pass. It cannot change what the
chain recorded. So for each anchor read from the contract, the root of the log's first `size`
entries, recomputed from the entries' bytes by `ledger.audit`, must equal the anchored root,
and each anchor must be consistent (RFC 9162) with the one before. A rewritten entry before
an anchored size is reported with the anchor that exposes it (index, transaction, block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from ledger import merkle
from ledger.anchor_types import Anchor
from ledger.audit import AuditReport, audit
from ledger.store import Ledger

__all__ = ["ChainAudit", "ChainFinding", "verify_chain"]


@dataclass(frozen=True)
class ChainFinding:
    """One anchor the log disagrees with."""

    anchor: Anchor
    what: str

    def __str__(self) -> str:
        a = self.anchor
        return f"anchor #{a.index} (size {a.size}, tx {a.tx_hash or '?'}, block {a.block_number or '?'}): {self.what}"


@dataclass
class ChainAudit:
    """The plain audit of the log, and what the chain's anchors say about it."""

    log: AuditReport
    anchors: list[Anchor]
    findings: list[ChainFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.log.ok and not self.findings

    @property
    def first(self) -> ChainFinding | None:
        """The earliest anchor that exposes a difference."""
        return min(self.findings, key=lambda f: f.anchor.index) if self.findings else None


def verify_chain(
    ledger: Ledger,
    session: Session,
    verifier_key: str,
    anchors: Sequence[Anchor],
    progress: Callable[[int, int], None] | None = None,
) -> ChainAudit:
    """Audit the log in `session` and check each of `anchors` (this log's, by index) against it."""
    ordered = sorted(anchors, key=lambda a: a.index)
    report = audit(session, verifier_key, ledger.origin, progress, sizes={a.size for a in ordered})
    result = ChainAudit(log=report, anchors=ordered)
    matches: dict[int, bool] = {}
    for anchor in ordered:
        problem = _root_problem(anchor, report)
        matches[anchor.index] = problem is None
        if problem is not None:
            result.findings.append(ChainFinding(anchor, problem))
    for older, newer in zip(ordered, ordered[1:]):
        problem = _consistency_problem(ledger, older, newer, both_match=matches[older.index] and matches[newer.index])
        if problem is not None:
            result.findings.append(ChainFinding(newer, problem))
    return result


def _root_problem(anchor: Anchor, report: AuditReport) -> str | None:
    root = report.roots.get(anchor.size)
    if root is None:
        if anchor.size > report.size:
            return f"the chain anchored {anchor.size} entries but the log has only {report.size}"
        return f"the log's root at size {anchor.size} could not be recomputed (the audit stopped early)"
    if root != anchor.root:
        return (f"the log's first {anchor.size} entries have root {root.hex()}, the chain anchored "
                f"{anchor.root.hex()}: an entry before {anchor.size} was rewritten")
    return None


def _consistency_problem(ledger: Ledger, older: Anchor, newer: Anchor, *, both_match: bool) -> str | None:
    if newer.size < older.size:
        return f"size decreased from {older.size} (anchor #{older.index}) to {newer.size}"
    if newer.size == older.size and newer.root != older.root:
        return f"a second root for size {newer.size}: the log forked after anchor #{older.index}"
    if not both_match:
        return None  # a root the log does not reach or disagrees with is already reported
    try:
        proof = ledger.consistency_proof(older.size, newer.size)
        merkle.verify_consistency(older.size, newer.size, older.root, newer.root, proof)
    except merkle.ProofError as exc:
        return f"not consistent with anchor #{older.index} (size {older.size}): {exc}"
    return None
