"""The questions investigators settle, across items: those inspections raised (the `question`
projection) and the transfers still waiting for receipt that no one has settled (the items' own rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from ledger.domain import codes
from ledger.domain.custody import QUESTION_STATES, Chain
from ledger.errors import EventInvalid
from ledger.store.ledger import Ledger
from ledger.store.narrowing import not_null
from ledger.store.tables import Diversion, Item, Party, QuestionRow

__all__ = ["QuestionView", "questions", "MAX_QUESTIONS"]

MAX_QUESTIONS = 1000


@dataclass(frozen=True)
class QuestionView:
    seq: int  # the entry that raised it: what `confirm_finding` and `dismiss_finding` name
    uid: str
    item_kind: str
    serial: str
    kind: str
    state: str
    raised_at: str
    country: str | None
    origin_country: str | None
    holder: str | None
    detail: str
    decided_seq: int | None
    decided_by: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def questions(ledger: Ledger, state: str | None = "open", country: str | None = None, limit: int = 200) -> list[QuestionView]:
    """Questions in `state` (any state when None), oldest first; `country` keeps those seen in, or
    raised about an item held in, that country."""
    if state is not None and state not in QUESTION_STATES:
        raise EventInvalid(f"{state!r} is not a question state {list(QUESTION_STATES)}", "state")
    if country is not None:
        country = codes.country(country, "country")
    limit = max(1, min(limit, MAX_QUESTIONS))
    with ledger.reading() as session:
        q = QuestionRow
        query = select(q, Item.kind, Item.serial).join(Item, col(Item.uid) == col(q.uid)).order_by(col(q.seq)).limit(limit)
        if state is not None:
            query = query.where(q.state == state)
        if country is not None:
            query = query.where(or_(col(q.country) == country, col(q.origin_country) == country))
        found = [_view(row, kind, serial) for row, kind, serial in session.exec(query)]
        if state in (None, "open"):
            found += _unreceived(session, country, limit)
    return sorted(found, key=lambda question: question.seq)[:limit]


def _view(row: QuestionRow, item_kind: str, serial: str) -> QuestionView:
    return QuestionView(row.seq, row.uid, item_kind, serial, row.kind, row.state, row.raised_at, row.country, row.origin_country,
                        row.holder, row.detail, row.decided_seq, row.decided_by)


def _unreceived(session: Any, country: str | None, limit: int) -> list[QuestionView]:
    """Transfers still waiting for receipt that no investigator settled (a settled one has a `question` row).

    Read through `ix_item_pending`, the index of the few items with a transfer pending: a
    condition on the status would lead the planner to walk every active item instead.
    """
    query = (
        select(Item, Diversion.chain)
        .join(Diversion, col(Diversion.uid) == col(Item.uid))
        .outerjoin(QuestionRow, col(QuestionRow.seq) == col(Item.pending_seq))
        .where(col(Item.pending_to).is_not(None), col(QuestionRow.seq).is_(None))
        .order_by(col(Item.pending_seq))
    )
    found = []
    for item, stored in session.exec(query):
        if item.status != "active":
            continue
        chain = Chain.from_json({**stored, "uid": item.uid})
        seq = chain.unreceived()
        if seq is None:
            continue
        receiver = session.get(Party, chain.pending_to)
        where = None if receiver is None else receiver.country
        if country is not None and country not in (where, chain.country):
            continue
        found.append(QuestionView(seq, item.uid, item.kind, item.serial, "unreceived_transfer", "open", not_null(chain.pending_time, "pending_time"),
                                  where, chain.country, chain.holder, f"sent to {chain.pending_to} and never received",
                                  None, None))
        if len(found) == limit:
            break
    return found
