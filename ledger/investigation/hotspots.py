"""Across many items: diversion hotspots, routes of flagged items, permits whose specimens were seized.

Every answer is a grouped query over the indexed `diversion` projection (kept at append time by
`ledger.investigation.diversion`), never a scan of the log, so it stays well under a second on millions of events.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select

from ledger.domain import codes
from ledger.domain.custody import DIVERSION_KINDS
from ledger.domain.events import json_object
from ledger.errors import EventInvalid
from ledger.log.codec import format_time, parse_time
from ledger.store.ledger import Ledger
from ledger.store.narrowing import not_null
from ledger.store.tables import Diversion, Entry, Party

__all__ = ["ITEM_KINDS", "Hotspot", "Route", "SeizedPermit", "Findings", "investigate", "transfer_links"]

ITEM_KINDS = ("firearm", "specimen")
ITEMS_PER_PARTY = 50


@dataclass(frozen=True)
class Hotspot:
    party: str
    items: int
    median_time_to_crime_days: float | None
    uids: list[str]  # the first ITEMS_PER_PARTY of them, oldest diversion first


@dataclass(frozen=True)
class Route:
    origin: str
    found: str
    items: int


@dataclass(frozen=True)
class SeizedPermit:
    permit: str
    seized: int


@dataclass(frozen=True)
class Findings:
    hotspots: list[Hotspot]
    routes: list[Route]
    permits: list[SeizedPermit]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def investigate(
    ledger: Ledger, since: str | None = None, country: str | None = None, kind: str | None = None, limit: int = 20
) -> Findings:
    """Rank last legitimate custodians of diverted items, with routes and seized permits.

    `since` keeps diversions at or after an RFC 3339 time; `country` keeps items diverted from or
    found in that country; `kind` is an item kind (firearm, specimen) or a diversion kind (theft, ...).
    """
    where = _filters(since, country, kind)
    d = Diversion
    custodian, origin, found, permit = col(d.last_legit_custodian), col(d.origin_country), col(d.found_country), col(d.permit_number)
    count = func.count().label("n")
    with ledger.reading() as session:
        ranked = [
            (not_null(party, "last_legit_custodian"), n)
            for party, n in session.exec(
                select(custodian, count).where(*where, custodian.is_not(None))
                .group_by(custodian).order_by(count.desc(), custodian).limit(limit)
            ).all()
        ]
        parties = [party for party, _ in ranked]
        members: dict[str, list[tuple[str, int | None]]] = {party: [] for party in parties}
        for party, uid, ttc in session.exec(
            select(custodian, d.uid, d.time_to_crime_days).where(*where, custodian.in_(parties))
            .order_by(col(d.diverted_seq))
        ):
            members[not_null(party, "last_legit_custodian")].append((uid, ttc))
        routes = session.exec(
            select(origin, found, count)
            .where(*where, found.is_not(None), origin.is_not(None), origin != found)
            .group_by(origin, found).order_by(count.desc(), origin, found).limit(limit)
        ).all()
        permits = session.exec(
            select(permit, count).where(*where, col(d.seized_seq).is_not(None), permit.is_not(None))
            .group_by(permit).order_by(count.desc(), permit).limit(limit)
        ).all()
    hotspots = [
        Hotspot(
            party=party,
            items=n,
            median_time_to_crime_days=_median([ttc for _, ttc in members[party] if ttc is not None]),
            uids=[uid for uid, _ in members[party][:ITEMS_PER_PARTY]],
        )
        for party, n in ranked
    ]
    return Findings(
        hotspots=hotspots,
        routes=[Route(not_null(o, "origin_country"), not_null(f, "found_country"), n) for o, f, n in routes],
        permits=[SeizedPermit(not_null(p, "permit_number"), n) for p, n in permits],
    )


def transfer_links(ledger: Ledger, limit: int = 20_000, country: str | None = None) -> Counter[tuple[str, str]]:
    """How often each party shipped to another, over the newest `limit` transfers between parties;
    with `country`, only the links with a party of that country at either end."""
    links: Counter[tuple[str, str]] = Counter()
    with ledger.reading() as session:
        rows = session.exec(select(Entry.actor, Entry.event).where(Entry.event_type == "transfer").order_by(col(Entry.seq).desc()).limit(limit))
        for actor, raw in rows:
            receiver = json_object(raw).get("to")
            if receiver is not None:
                links[(actor, receiver)] += 1
        if country is not None:
            local = set(session.exec(select(Party.id).where(Party.country == country)))
            links = Counter({link: n for link, n in links.items() if local.intersection(link)})
    return links


def _median(values: list[int]) -> float | None:
    return float(median(values)) if values else None


def _filters(since: str | None, country: str | None, kind: str | None) -> list[ColumnElement[bool]]:
    d = Diversion
    where: list[ColumnElement[bool]] = [col(d.diverted_seq).is_not(None)]
    if since is not None:
        where.append(col(d.diversion_time) >= format_time(parse_time(since, "since")))
    if country is not None:
        country = codes.country(country, "country")
        where.append(or_(col(d.origin_country) == country, col(d.found_country) == country))
    if kind is not None:
        if kind in ITEM_KINDS:
            where.append(col(d.item_kind) == kind)
        elif kind in DIVERSION_KINDS:
            where.append(col(d.diversion_kind) == kind)
        else:
            raise EventInvalid(f"{kind!r} is neither an item kind {list(ITEM_KINDS)} nor a diversion kind {list(DIVERSION_KINDS)}", "kind")
    return where
