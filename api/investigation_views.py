"""Layouts of the investigator's pages, computed on the server so the SVG arrives drawn.

Pure functions from a trace, a set of findings or a list of transfer links to shapes with
coordinates; the templates only print them and the small local script adds hover details.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ledger.investigation.hotspots import Findings
from ledger.log.codec import parse_time

__all__ = ["TimelineDot", "timeline", "Flow", "flows", "Node", "Link", "network", "CATEGORY"]

WIDTH = 960
CATEGORY = {
    "mark_firearm": "marking", "mark_specimen": "marking",
    "transfer": "custody", "receive": "custody",
    "export": "border", "import": "border", "inspect": "border",
    "report_lost": "alarm", "report_stolen": "alarm", "seize": "alarm",
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


def timeline(trace: dict[str, Any], lane_height: int = 44, left: int = 170, right: int = 30) -> dict[str, Any]:
    """Steps on a time axis, one lane per acting party, the diversion step ringed."""
    steps = trace["steps"]
    lanes = list(dict.fromkeys(step["actor"] for step in steps))
    times = [parse_time(step["time"]).timestamp() for step in steps]
    first, last = (min(times), max(times)) if times else (0.0, 1.0)
    span = max(last - first, 1.0)
    diverted = (trace.get("diversion") or {}).get("seq")
    dots = [
        TimelineDot(
            x=round(left + (WIDTH - left - right) * (moment - first) / span, 1),
            y=30 + lane_height * lanes.index(step["actor"]),
            seq=step["seq"], type=step["type"], category=CATEGORY.get(step["type"], "other"), lane=step["actor"],
            time=step["time"], summary=step["summary"], proven=step["proof"] is not None, diversion=step["seq"] == diverted,
        )
        for step, moment in zip(steps, times, strict=True)
    ]
    ticks = [{"x": left + (WIDTH - left - right) * i / 4, "label": _date(first + span * i / 4)} for i in range(5)] if steps else []
    return {"width": WIDTH, "height": 60 + lane_height * max(len(lanes), 1), "left": left,
            "lanes": [{"name": name, "y": 30 + lane_height * i} for i, name in enumerate(lanes)], "dots": dots, "ticks": ticks}


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Flow:
    origin: str
    found: str
    items: int
    path: str
    width: float


def flows(findings: Findings, height_per_row: int = 56) -> dict[str, Any]:
    """Origins on the left, countries where flagged items turned up on the right: one ribbon per route, as wide as its count."""
    origins = sorted({r.origin for r in findings.routes})
    founds = sorted({r.found for r in findings.routes})
    left_x, right_x = 140, WIDTH - 140
    y_of = lambda names, name: 40 + height_per_row * names.index(name)  # noqa: E731
    most = max((r.items for r in findings.routes), default=1)
    bands = []
    for route in findings.routes:
        y1, y2 = y_of(origins, route.origin), y_of(founds, route.found)
        mid, half = (left_x + right_x) / 2, round(1 + 7 * route.items / most, 1)
        ribbon = (f"M{left_x},{y1 - half} C{mid},{y1 - half} {mid},{y2 - half} {right_x},{y2 - half} "
                  f"L{right_x},{y2 + half} C{mid},{y2 + half} {mid},{y1 + half} {left_x},{y1 + half} Z")
        bands.append(Flow(route.origin, route.found, route.items, ribbon, 2 * half))
    rows = max(len(origins), len(founds), 1)
    return {"width": WIDTH, "height": 40 + height_per_row * rows, "left_x": left_x, "right_x": right_x, "bands": bands,
            "origins": [{"name": n, "y": y_of(origins, n)} for n in origins], "founds": [{"name": n, "y": y_of(founds, n)} for n in founds]}


@dataclass(frozen=True)
class Node:
    id: str
    x: float
    y: float
    r: float
    diverted: int
    hotspot: bool


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    x1: float
    y1: float
    x2: float
    y2: float
    count: int
    width: float


def network(links: Counter[tuple[str, str]], findings: Findings, size: int = 640) -> dict[str, Any]:
    """Parties on a circle linked by transfers; the top diversion hotspots drawn large and red."""
    diverted = {spot.party: spot.items for spot in findings.hotspots}
    hot = {spot.party for spot in findings.hotspots[:3]}
    parties = sorted({p for pair in links for p in pair} | set(diverted))
    centre, radius = size / 2, size / 2 - 70
    place = {
        party: (round(centre + radius * math.cos(2 * math.pi * i / len(parties) - math.pi / 2), 1),
                round(centre + radius * math.sin(2 * math.pi * i / len(parties) - math.pi / 2), 1))
        for i, party in enumerate(parties)
    }
    most = max(links.values(), default=1)
    edges = [Link(a, b, *place[a], *place[b], n, round(1 + 7 * n / most, 1)) for (a, b), n in sorted(links.items())]
    nodes = [Node(p, *place[p], r=8 + 4 * math.sqrt(diverted.get(p, 0)), diverted=diverted.get(p, 0), hotspot=p in hot) for p in parties]
    return {"size": size, "nodes": nodes, "links": edges}
