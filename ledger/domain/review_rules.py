"""The rules of reviews: who may void an inspection, and which questions an investigator settles.

A review points at an earlier entry of the same item. An inspection is voided by the party that
made it (or an admin), once; a question is confirmed or dismissed by an investigator, once, while
it is open: one an inspection raised, or the item's transfer still waiting for receipt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.domain import events as ev
from ledger.domain.custody import Chain
from ledger.domain.event_fields import item_of
from ledger.errors import RuleViolation
from ledger.store.tables import Diversion, Entry

if TYPE_CHECKING:
    from ledger.domain.rules import Context

__all__ = ["VoidAllowed", "QuestionOpen"]


def _target(ctx: Context, seq: int) -> Entry:
    """The earlier entry of the event's own item that `seq` names."""
    target = ctx.view.entry(seq)
    if target is None or seq >= ctx.seq:
        raise RuleViolation("unknown_entry", f"no earlier entry {seq}")
    item = item_of(ctx.event)
    if target.item_uid != item:
        raise RuleViolation("wrong_item", f"entry {seq} is not an entry of item {item}")
    return target


def _chain(ctx: Context) -> Chain:
    row = ctx.view.get(Diversion, ctx.event.item)  # type: ignore[union-attr]
    if row is None:
        raise RuleViolation("unknown_item", f"no item {ctx.event.item}")  # type: ignore[union-attr]
    return Chain.from_json({**row.chain, "uid": row.uid})


class VoidAllowed:
    """Only the party that made an inspection (or an admin) voids it, and only once."""

    def check(self, ctx: Context) -> None:
        event: ev.VoidInspection = ctx.event  # type: ignore[assignment]
        target = _target(ctx, event.inspection_seq)
        if target.event_type != "inspect":
            raise RuleViolation("not_an_inspection", f"entry {event.inspection_seq} is a {target.event_type}, not an inspection")
        if target.actor != ctx.actor.id and ctx.actor.role != "admin":
            raise RuleViolation("actor_role", f"only {target.actor}, who made inspection {event.inspection_seq}, or an admin may void it")
        question = _chain(ctx).question(event.inspection_seq)
        if question is not None and question.state == "voided":
            raise RuleViolation("already_voided", f"inspection {event.inspection_seq} was voided at entry {question.decided_seq}")


class QuestionOpen:
    """The entry named raised a question about this item that is still open."""

    def check(self, ctx: Context) -> None:
        event: ev.ConfirmFinding | ev.DismissFinding = ctx.event  # type: ignore[assignment]
        _target(ctx, event.question_seq)
        chain = _chain(ctx)
        question = chain.question(event.question_seq)
        if question is None and chain.unreceived() != event.question_seq:
            raise RuleViolation("no_question", f"entry {event.question_seq} raised no question about item {event.item}")
        if question is not None and question.state != "open":
            raise RuleViolation("question_settled", f"the question of entry {event.question_seq} is already {question.state} "
                                                    f"(entry {question.decided_seq})")
