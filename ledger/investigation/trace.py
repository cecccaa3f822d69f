"""Trace one item from the log: every step with its entry and inclusion proof, and the verdict.

The verdict (diversion point, last legitimate custodian, time-to-crime, open questions) is the
custody fold of `ledger.domain.custody` replayed over the item's entries, the same fold that keeps the
`diversion` projection; the proofs are against the latest signed checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import col, select

from ledger.domain import events as ev
from ledger.domain.custody import TTC_FLAG_DAYS, Chain, fold
from ledger.errors import NotFound
from ledger.investigation.diversion import ViewFacts
from ledger.log.codec import canonical, sha256
from ledger.store.ledger import Ledger
from ledger.store.tables import Entry, Item, TraceRequestRow
from ledger.store.txview import TxView

__all__ = ["Step", "Trace", "trace_item", "answer_request", "describe"]


@dataclass(frozen=True)
class Step:
    seq: int
    type: str
    time: str
    actor: str
    recorded_at: str
    imported: bool  # brought in by the authority's import of an earlier registry, not reported live
    leaf_hash: str
    summary: str
    country: str | None
    proof: list[str] | None  # inclusion proof against `Trace.checkpoint`; None until a checkpoint covers it


@dataclass(frozen=True)
class Trace:
    uid: str
    kind: str
    facts: dict[str, Any]
    status: str
    steps: list[Step]
    checkpoint: dict[str, Any] | None
    chain: Chain

    def to_json(self) -> dict[str, Any]:
        """The trace as plain JSON: what the API returns and the CLI prints."""
        diversion = self.chain.diversion
        return {
            "uid": self.uid,
            "kind": self.kind,
            "facts": self.facts,
            "status": self.status,
            "checkpoint": self.checkpoint,
            "steps": [asdict(step) for step in self.steps],
            "diversion": None if diversion is None else asdict(diversion),
            "last_legit_custodian": None if diversion is None else diversion.last_legit_custodian,
            "time_to_crime_days": self.chain.ttc_days,
            "time_to_crime_flagged": self.chain.ttc_flagged,
            "time_to_crime_threshold_days": TTC_FLAG_DAYS,
            "open_questions": self.chain.open_questions(),
        }


def trace_item(ledger: Ledger, uid: str) -> Trace:
    """The item's chain of custody from the log, each step proven against the latest checkpoint."""
    item = ledger.item(uid)
    checkpoint = ledger.latest_checkpoint()
    with ledger.reading() as session:
        entries = list(session.exec(select(Entry).where(Entry.item_uid == uid).order_by(col(Entry.seq))))
        events = [(entry.seq, ev.parse_event(entry.event)) for entry in entries]
        chain = fold(uid, [(seq, event) for seq, event in events if event.type in ev.ITEM_EVENTS], ViewFacts(TxView(session)))
    size = checkpoint.size if checkpoint is not None else 0
    steps = [
        Step(
            seq=entry.seq,
            type=entry.event_type,
            time=event.time,
            actor=entry.actor,
            recorded_at=entry.recorded_at,
            imported=entry.imported,
            leaf_hash=entry.leaf_hash.hex(),
            summary=describe(event),
            country=getattr(event, "country", None),
            proof=[h.hex() for h in ledger.inclusion_proof(entry.seq, size)] if entry.seq < size else None,
        )
        for entry, (_, event) in zip(entries, events, strict=True)
    ]
    seal = None if checkpoint is None else {"size": checkpoint.size, "root": checkpoint.root.hex(), "note": checkpoint.note}
    return Trace(uid=uid, kind=item.kind, facts=item.facts, status=item.status, steps=steps, checkpoint=seal, chain=chain)


def describe(event: ev.Event) -> str:
    """One line a person reads on a timeline."""
    match event:
        case ev.MarkFirearm(marking=m):
            return f"marked {m.make} {m.model} {m.serial} ({m.calibre}) in {m.country}"
        case ev.MarkSpecimen(tag=t, permit=permit, line=line):
            return f"tagged {t.species} {t.serial} under permit {permit} line {line}"
        case ev.Transfer(to=to, owner_commitment=owner, reference=reference):
            return f"transferred to {to} ({reference})" if owner is None else f"sold to a private owner ({reference})"
        case ev.Receive(actor=actor):
            return f"received by {actor}"
        case ev.Export(country=country, location=location, permit=permit) | ev.Import(country=country, location=location, permit=permit):
            return f"{event.type} through {location}, {country} on permit {permit}"
        case ev.Inspect(country=country, location=location, direction=direction, verdict=verdict):
            return f"{direction} inspection at {location}, {country}: {verdict}"
        case ev.Seize(country=country, place=place, reason=reason):
            return f"seized at {place}, {country}: {reason}"
        case ev.ReportLost(place=place) | ev.ReportStolen(place=place) | ev.Recover(place=place):
            return f"{event.type.replace('_', ' ')} at {place}"
        case ev.VoidInspection(inspection_seq=target, reason=reason):
            return f"inspection at entry {target} voided: {reason}"
        case ev.ConfirmFinding(question_seq=target, reason=reason):
            return f"question of entry {target} confirmed as a diversion: {reason}"
        case ev.DismissFinding(question_seq=target, reason=reason):
            return f"question of entry {target} dismissed: {reason}"
        case ev.TraceAnswer(summary=summary):
            return f"trace answered: {summary}"
    return event.type.replace("_", " ")


def answer_request(ledger: Ledger, request_seq: int) -> dict[str, Any]:
    """The fields of a `trace_answer` to request `request_seq`, computed from the ledger."""
    with ledger.reading() as session:
        request = session.get(TraceRequestRow, request_seq)
        if request is None:
            raise NotFound("trace request", request_seq)
        candidates = session.exec(select(Item).where(Item.serial == request.serial).order_by(col(Item.marked_seq)))
        match = next((item for item in candidates if str(item.facts.get("make", "")).casefold() == request.make.casefold()), None)
    fields: dict[str, Any] = {"request_seq": request_seq}
    if match is None:
        summary = {"found": False, "serial": request.serial, "make": request.make}
        return fields | {"answer_digest": sha256(canonical(summary)).hex(), "summary": f"no {request.make} {request.serial} in the ledger"}
    found = trace_item(ledger, match.uid)
    verdict = found.to_json()
    summary = {key: verdict[key] for key in ("uid", "diversion", "last_legit_custodian", "time_to_crime_days", "open_questions")}
    summary["steps"] = [step.seq for step in found.steps]
    diversion = found.chain.diversion
    text = f"{match.uid}: {len(found.steps)} steps"
    if diversion is not None:
        text += f"; left the legal chain at entry {diversion.seq} ({diversion.kind}) after {diversion.last_legit_custodian}"
    return fields | {
        "item": match.uid,
        "answer_digest": sha256(canonical(summary)).hex(),
        "last_legit_custodian": None if diversion is None else diversion.last_legit_custodian,
        "diversion_seq": None if diversion is None else diversion.seq,
        "time_to_crime_days": found.chain.ttc_days,
        "summary": text,
    }
