"""Layouts of the investigator's pages, computed on the server so the SVG arrives drawn.

Pure functions from a trace, a set of findings or a list of transfer links to shapes with
coordinates; the templates only print them and the small local script adds hover details.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import pycountry

from api.world_map import MapView
from ledger import Findings, parse_time

__all__ = ["TimelineDot", "timeline", "Flow", "Place", "flows", "Node", "Link", "network", "CATEGORY", "country_name"]

WIDTH = 960
LABEL_EM = 16.5
"""SVG units per character of a label at the largest size the pages draw chart text (a phone's)."""
CATEGORY = {
    "mark_firearm": "marking", "mark_specimen": "marking",
    "transfer": "custody", "receive": "custody",
    "export": "border", "import": "border", "inspect": "border",
    "report_lost": "alarm", "report_stolen": "alarm", "seize": "alarm", "hit_notice": "alarm",
    "forfeit": "disposal", "destroy": "disposal", "deactivate": "disposal",
}


@dataclass(frozen=True)
class TimelineDot:
    x: float
    y: float
    seq: int
    type: str
    category: str
    lane: str
    time: str
    summary: str
    proven: bool
    diversion: bool


def timeline(trace: dict[str, Any], lane_height: int = 44, right: int = 24) -> dict[str, Any]:
    """Steps on a time axis, one lane per acting party, the diversion step ringed.

    The lane labels' margin is as wide as the longest label at the largest text size the page uses
    (phones enlarge the chart's text), and the first and last dates are anchored inside the chart."""
    steps = trace["steps"]
    lanes = list(dict.fromkeys(step["actor"] for step in steps))
    left = 24 + round(LABEL_EM * max((len(name) for name in lanes), default=8))
    times = [parse_time(step["time"]).timestamp() for step in steps]
    first, last = (min(times), max(times)) if times else (0.0, 1.0)
    span = max(last - first, 1.0)
    diverted = (trace.get("diversion") or {}).get("seq")
    dots = [
        TimelineDot(
            x=round(left + 10 + (WIDTH - left - right - 20) * (moment - first) / span, 1),
            y=30 + lane_height * lanes.index(step["actor"]),
            seq=step["seq"], type=step["type"], category=CATEGORY.get(step["type"], "other"), lane=step["actor"],
            time=step["time"], summary=step["summary"], proven=step["proof"] is not None, diversion=step["seq"] == diverted,
        )
        for step, moment in zip(steps, times, strict=True)
    ]
    anchors = ["start", "middle", "middle", "middle", "end"]
    ticks = [{"x": round(left + (WIDTH - left - right) * i / 4, 1), "label": _date(first + span * i / 4), "anchor": anchors[i],
              "minor": i % 2 == 1} for i in range(5)] if steps else []
    axis_y = 14 + lane_height * max(len(lanes), 1)
    return {"width": WIDTH, "height": axis_y + 44, "left": left, "right": WIDTH - right, "axis_y": axis_y,
            "lanes": [{"name": name, "y": 30 + lane_height * i} for i, name in enumerate(lanes)], "dots": dots, "ticks": ticks,
            "categories": sorted({dot.category for dot in dots}, key=[*dict.fromkeys(CATEGORY.values()), "other"].index)}


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Flow:
    origin: str
    found: str
    items: int
    path: str
    width: float


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    x: float
    y: float
    role: str  # origin, found or both
    label_x: float = 0.0
    label_y: float = 0.0
    anchor: str = "middle"


def _curve(x1: float, y1: float, x2: float, y2: float, bend: float = 0.22) -> str:
    """A quadratic curve bowing to the left of its direction, so that A to B and B to A stay apart."""
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    cx = (x1 + x2) / 2 - (y2 - y1) / length * bend * length
    cy = (y1 + y2) / 2 + (x2 - x1) / length * bend * length
    return f"M{x1},{y1} Q{round(cx, 1)},{round(cy, 1)} {x2},{y2}"


Box = tuple[float, float, float, float]
Label = tuple[float, float, str]


def _unclutter(marks: list[tuple[float, float, float, str]], size: float, frame: tuple[float, float]) -> list[Label]:
    """A label position (x, y, text-anchor) for each mark (x, y, radius, text): above, below, right or
    left of it, the first that overlaps no label placed before and stays in the frame. `size` is the
    largest font size the pages draw these labels at (a phone's), so they stay apart there too."""
    placed: list[Box] = []
    chosen = []
    for x, y, r, text in marks:
        width, height = len(text) * size * 0.6, size

        def box(label: Label) -> Box:
            lx, ly, anchor = label
            left = lx - {"middle": width / 2, "start": 0, "end": width}[anchor]
            return left, ly - height * 0.8, left + width, ly + height * 0.25

        candidates: list[Label] = [(x, y - r - 6, "middle"), (x, y + r + height, "middle"),
                                   (x + r + 6, y + height / 3, "start"), (x - r - 6, y + height / 3, "end")]
        fits = [c for c in candidates if (b := box(c))[0] >= 0 and b[1] >= 0 and b[2] <= frame[0] and b[3] <= frame[1]] or candidates
        label = next((c for c in fits if not any(_overlap(box(c), other) for other in placed)), fits[0])
        placed.append(box(label))
        chosen.append((round(label[0], 1), round(label[1], 1), label[2]))
    return chosen


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def flows(findings: Findings) -> dict[str, Any]:
    """Routes of flagged items drawn on the map: an arrow from the country of last legal custody to
    the country where the item turned up, as wide as its count."""
    origins, founds = {r.origin for r in findings.routes}, {r.found for r in findings.routes}
    view = MapView.fit(origins | founds)
    most = max((r.items for r in findings.routes), default=1)
    bands, places, missing = [], {}, set()
    for route in findings.routes:
        start, end = view.anchor(route.origin), view.anchor(route.found)
        if start is None or end is None:
            missing.update(code for code, at in ((route.origin, start), (route.found, end)) if at is None)
            continue
        bands.append(Flow(route.origin, route.found, route.items, _curve(*start, *end), round(2 + 8 * route.items / most, 1)))
        for code, at in ((route.origin, start), (route.found, end)):
            role = "origin" if code in origins else "found"
            role = "both" if code in origins and code in founds else role
            places[code] = Place(code, country_name(code), *at, role)
    labelled = [replace(place, label_x=lx, label_y=ly, anchor=anchor) for place, (lx, ly, anchor) in zip(
        places.values(), _unclutter([(p.x, p.y, 6, p.name) for p in places.values()], 26, (view.width, view.height)), strict=True)]
    return {"width": view.width, "height": view.height, "shapes": view.paths(), "bands": bands, "places": labelled,
            "roles": sorted({place.role for place in labelled}), "most": most, "missing": sorted(missing),
            "names": {code: country_name(code) for code in origins | founds}}


def country_name(code: str) -> str:
    """A country's name as people say it (Bolivia, not Bolivia, Plurinational State of); the code itself when unknown."""
    known = pycountry.countries.get(alpha_2=code)
    return getattr(known, "common_name", None) or (known.name if known is not None else code)


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    country: str
    x: float
    y: float
    r: float
    diverted: int
    hotspot: bool
    label_x: float
    label_y: float
    anchor: str


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    path: str
    count: int
    width: float


def network(links: Counter[tuple[str, str]], findings: Findings, parties: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Parties on the map, gathered round their country's centre and linked by transfers; the top
    diversion hotspots drawn large and red. `parties` gives each party's (name, country)."""
    diverted = {spot.party: spot.items for spot in findings.hotspots}
    hot = {spot.party for spot in findings.hotspots[:3]}
    ids = sorted({p for pair in links for p in pair} | set(diverted))
    by_country: dict[str, list[str]] = {}
    for party in ids:
        by_country.setdefault(parties.get(party, ("", ""))[1], []).append(party)
    view = MapView.fit(set(by_country))
    nodes, missing = {}, []
    ids = sorted(ids, key=lambda party: -diverted.get(party, 0))  # the hotspots' labels are placed first
    for country in sorted(by_country):
        members = by_country[country]
        centre = view.anchor(country)
        if centre is None:
            missing.extend(members)
            continue
        ring = 0.0 if len(members) == 1 else 14 + 7 * len(members)
        for i, party in enumerate(members):
            angle = 2 * math.pi * i / len(members) - math.pi / 2
            x, y = round(centre[0] + ring * math.cos(angle), 1), round(centre[1] + ring * math.sin(angle), 1)
            r = round(6 + 4 * math.sqrt(diverted.get(party, 0)), 1)
            nodes[party] = Node(party, parties.get(party, (party, ""))[0], country, x, y, r, diverted.get(party, 0), party in hot,
                                0.0, 0.0, "middle")
    order = [party for party in ids if party in nodes]
    spots = _unclutter([(nodes[p].x, nodes[p].y, nodes[p].r, nodes[p].name) for p in order], 22, (view.width, view.height))
    nodes = {p: replace(nodes[p], label_x=lx, label_y=ly, anchor=anchor) for p, (lx, ly, anchor) in zip(order, spots, strict=True)}
    most = max(links.values(), default=1)
    edges = [Link(a, b, _curve(nodes[a].x, nodes[a].y, nodes[b].x, nodes[b].y), n, round(1 + 6 * n / most, 1))
             for (a, b), n in sorted(links.items()) if a in nodes and b in nodes]
    return {"width": view.width, "height": view.height, "shapes": view.paths(), "nodes": list(nodes.values()), "links": edges,
            "most": most, "missing": [parties.get(party, (party, ""))[0] for party in missing]}
