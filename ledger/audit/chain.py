"""The chain audit: hold every anchored checkpoint of this log against the log itself.

An operator who rewrites history can recompute every leaf hash, Merkle node and signed
checkpoint (it holds the log key), and the plain audit will pass. It cannot change what the
chain recorded. So for each anchor read from the contract, the root of the log's first `size`
entries, recomputed from the entries' bytes by `ledger.audit.recompute`, must equal the anchored root,
and each anchor must be consistent (RFC 9162) with the one before. A rewritten entry before
an anchored size is reported with the anchor that exposes it (index, transaction, block).

Only anchors sent by an account that was a submitter of this log when it sent them (read from
the contract's `LogSubmitterAdded`/`LogSubmitterRemoved` history) speak for the log; any other
anchor under the log's id is set aside and named, never held against the log. The history is
the chain's, so an operator cannot disown its own earlier anchors by changing submitters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from ledger.anchoring.results import Anchor, SubmitterChange
from ledger.audit.recompute import AuditReport, Discrepancy, audit
from ledger.log import merkle
from ledger.log.codec import format_time
from ledger.store.ledger import Ledger
from ledger.store.narrowing import not_null
from ledger.store.tables import CheckpointRow

__all__ = ["ChainAudit", "ChainFinding", "current_submitters", "foreign_anchors", "verify_chain"]


@dataclass(frozen=True)
class ChainFinding:
    """One anchor the log disagrees with."""

    anchor: Anchor
    what: str

    def __str__(self) -> str:
        a = self.anchor
        by = f", submitted by {a.submitter}" if a.submitter else ""
        return f"anchor #{a.index} (size {a.size}, tx {a.tx_hash or '?'}, block {a.block_number or '?'}{by}): {self.what}"


@dataclass
class ChainAudit:
    """The plain audit of the log, and what the chain's anchors say about it."""

    log: AuditReport
    anchors: list[Anchor]
    findings: list[ChainFinding] = field(default_factory=list)
    records: list[Discrepancy] = field(default_factory=list)  # anchor_* columns the chain contradicts
    foreign: list[Anchor] = field(default_factory=list)  # anchors by accounts not this log's submitters

    @property
    def ok(self) -> bool:
        return self.log.ok and not self.findings and not self.records

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
    chain_id: int | None = None,
    changes: Sequence[SubmitterChange] | None = None,
) -> ChainAudit:
    """Audit the log in `session` and check each of `anchors` (this log's, by index) against it.

    `chain_id`, when given, is the chain the anchors were read from: records naming another are reported.
    `changes`, when given, is the log's submitter history: anchors it does not authorise are set aside.
    """
    foreign = foreign_anchors(anchors, changes) if changes is not None else []
    ordered = sorted((a for a in anchors if a not in foreign), key=lambda a: a.index)
    report = audit(session, verifier_key, ledger.origin, progress, sizes={a.size for a in ordered}, window=ledger.reporting_window)
    result = ChainAudit(log=report, anchors=ordered, foreign=foreign)
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
    result.records = _record_problems(session, ordered, chain_id)
    return result


def foreign_anchors(anchors: Sequence[Anchor], changes: Sequence[SubmitterChange]) -> list[Anchor]:
    """The anchors whose sender was not a submitter of the log at the place it anchored."""
    ordered = sorted(changes, key=lambda c: c.position)

    def authorised(anchor: Anchor) -> bool:
        if anchor.submitter is None or anchor.position is None:
            return False
        state = False
        for change in ordered:
            if change.position >= anchor.position:
                break
            if change.submitter == anchor.submitter:
                state = change.added
        return state

    return [a for a in anchors if not authorised(a)]


def current_submitters(changes: Sequence[SubmitterChange]) -> list[str]:
    """The accounts a log's submitter history leaves authorised, in the order they were added."""
    state: dict[str, bool] = {}
    for change in sorted(changes, key=lambda c: c.position):
        state.pop(change.submitter, None)
        state[change.submitter] = change.added
    return [submitter for submitter, added in state.items() if added]


def _record_problems(session: Session, anchors: Sequence[Anchor], chain_id: int | None) -> list[Discrepancy]:
    """Each checkpoint row recorded as anchored must match the chain's anchor of that index."""
    by_index = {a.index: a for a in anchors}
    problems = []
    for row in session.exec(select(CheckpointRow).where(col(CheckpointRow.anchor_index).is_not(None)).order_by(col(CheckpointRow.id))):
        where, seq = f"checkpoint #{row.id} (size {row.size})", max(row.size - 1, 0)
        anchor = by_index.get(not_null(row.anchor_index, "checkpoint.anchor_index"))
        if anchor is None:
            problems.append(Discrepancy(seq, f"{where}: recorded as anchor #{row.anchor_index}, which the chain does not hold"))
            continue
        seq = max(anchor.size - 1, 0)  # the chain's size names the entry even when the stored size was changed
        pairs = [("size and root", (row.size, row.root.hex()), (anchor.size, anchor.root.hex())),
                 ("anchor_tx", row.anchor_tx, anchor.tx_hash), ("anchor_block", row.anchor_block, anchor.block_number),
                 ("anchor_time", row.anchor_time, format_time(anchor.timestamp)), ("anchor_chain_id", row.anchor_chain_id, chain_id)]
        for name, recorded, on_chain in pairs:
            if on_chain is not None and recorded != on_chain:
                problems.append(Discrepancy(seq, f"{where}: its record of anchor #{anchor.index} has {name} {recorded}, the chain has {on_chain}"))
    return problems


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
