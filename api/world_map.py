"""A map of the world's countries drawn as SVG paths on the server, from the shipped Natural Earth file.

`api/maps/countries-110m.json` is Natural Earth's 1:110m countries as TopoJSON (see api/maps/LICENSE):
nothing is fetched at run time, no tiles, no script. `MapView.fit` frames the countries a chart is
about and projects longitude and latitude onto it (equirectangular, its x scaled for the middle
latitude so that the framed region keeps its shape).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

__all__ = ["Country", "MapView", "countries", "MAP_FILE"]

MAP_FILE = Path(__file__).resolve().parent / "maps" / "countries-110m.json"
Ring = list[tuple[float, float]]
Polygon = list[Ring]


@dataclass(frozen=True)
class Country:
    """A country of the map: its ISO alpha-2 code (or its map name when it has none), name and outline."""

    code: str
    name: str
    polygons: list[Polygon]

    @property
    def centre(self) -> tuple[float, float]:
        """(longitude, latitude) of the centroid of the country's largest polygon's outer ring."""
        return _centroid(max(self.polygons, key=lambda polygon: abs(_area(polygon[0])))[0])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the largest polygon: far islands do not stretch a frame."""
        ring = max(self.polygons, key=lambda polygon: abs(_area(polygon[0])))[0]
        return min(x for x, _ in ring), min(y for _, y in ring), max(x for x, _ in ring), max(y for _, y in ring)


@lru_cache(maxsize=1)
def countries() -> dict[str, Country]:
    """Every country of the map, by ISO alpha-2 code."""
    topology = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    found: dict[str, Country] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        parts = geometry.get("arcs", [])
        polygons = [[_ring(arcs, ring) for ring in polygon] for polygon in (parts if geometry["type"] == "MultiPolygon" else [parts])]
        known = pycountry.countries.get(numeric=geometry.get("id", "")) if geometry.get("id") else None
        code = known.alpha_2 if known is not None else geometry["properties"]["name"]
        found[code] = Country(code, geometry["properties"]["name"], polygons)
    return found


def _arcs(topology: dict) -> list[Ring]:
    """The topology's arcs in degrees: quantized positions are deltas from the previous point (TopoJSON 2.1.5)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(arcs: list[Ring], indexes: list[int]) -> Ring:
    """A closed ring from arc indexes; a negative index ~i is arc i reversed, and each arc after the
    first starts where the previous one ended."""
    ring: Ring = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def _area(ring: Ring) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def _centroid(ring: Ring) -> tuple[float, float]:
    area = _area(ring)
    if area == 0:
        return ring[0]
    cx = sum((x1 + x2) * (x1 * y2 - x2 * y1) for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))
    cy = sum((y1 + y2) * (x1 * y2 - x2 * y1) for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))
    return cx / (6 * area), cy / (6 * area)


@dataclass(frozen=True)
class MapView:
    """A frame on the map: `width` x `height` SVG units over longitudes west..east and latitudes south..north."""

    west: float
    south: float
    east: float
    north: float
    width: float
    height: float

    @classmethod
    def fit(cls, codes: set[str], width: int = 960, min_span: float = 24.0, margin: float = 0.18,
            aspect: tuple[float, float] = (0.5, 0.85)) -> MapView:
        """A frame around the countries named by `codes` (the whole world when none is on the map),
        with a margin, at least `min_span` degrees wide and tall, its height/width ratio within `aspect`."""
        known = countries()
        boxes = [known[code].bounds for code in codes if code in known]
        if not boxes:
            return cls(-170, -58, 190, 84, width, round(width * 0.5))
        west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
        east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
        lon_pad = max((east - west) * margin, (min_span - (east - west)) / 2)
        lat_pad = max((north - south) * margin, (min_span - (north - south)) / 2)
        west, east, south, north = west - lon_pad, east + lon_pad, max(south - lat_pad, -80), min(north + lat_pad, 84)
        stretch = math.cos(math.radians((south + north) / 2))
        ratio = (north - south) / ((east - west) * stretch)
        low, high = aspect
        if ratio < low:  # too flat: show more latitude
            grow = ((east - west) * stretch * low - (north - south)) / 2
            south, north = south - grow, north + grow
        elif ratio > high:  # too tall: show more longitude
            grow = ((north - south) / (high * stretch) - (east - west)) / 2
            west, east = west - grow, east + grow
        ratio = (north - south) / ((east - west) * stretch)
        return cls(west, south, east, north, width, round(width * ratio))

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """SVG (x, y) of a point, y growing southwards."""
        return (round((lon - self.west) / (self.east - self.west) * self.width, 1),
                round((self.north - lat) / (self.north - self.south) * self.height, 1))

    def anchor(self, code: str) -> tuple[float, float] | None:
        """Where a country's marks go: its centre, or None when the map has no such country."""
        country = countries().get(code)
        return None if country is None else self.project(*country.centre)

    def paths(self) -> list[dict[str, str]]:
        """An SVG path for each country that reaches into the frame (remembered per frame: a page's
        frame changes only when the countries it shows do)."""
        return _paths(self)

    def reaches(self, ring: Ring) -> bool:
        """Whether any of the ring's box lies in the frame."""
        xs, ys = [x for x, _ in ring], [y for _, y in ring]
        return max(xs) >= self.west and min(xs) <= self.east and max(ys) >= self.south and min(ys) <= self.north


@lru_cache(maxsize=64)
def _paths(view: MapView) -> list[dict[str, str]]:
    shapes = []
    for country in countries().values():
        rings = [ring for polygon in country.polygons for ring in polygon if view.reaches(ring)]
        if rings:
            d = " ".join("M" + "L".join(f"{x},{y}" for x, y in (view.project(*point) for point in ring)) + "Z" for ring in rings)
            shapes.append({"code": country.code, "name": country.name, "d": d})
    return shapes
