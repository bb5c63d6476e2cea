"""Where a report happened, from its words: the district gazetteer and a tolerant address matcher.

The gazetteer (``resources/assist/gazetteer.json``, made by ``scripts/gen_gazetteer.py``) holds
road sections with their house numbers, intersections, doorplates and landmarks (residential
compounds, schools, markets, clinics, parks), each with a point and its grid. ``locate(text)``
reads an address out of free text, in the forms people use:

- an intersection: two roads joined by 与/和/跟/、// or simply written one after the other, with
  or without 交口/路口/交叉口/十字路口, roads also in short form (洞庭湖 for 洞庭湖路);
- a house number: 洞庭湖路88号, 嵩山路 120-3 号;
- a landmark: 华润蓝海北门, 塘西河小学门口 (a compound's 小区 suffix optional);
- a grid by name: 塘西河网格;
- then an offset: 向西10米, 往北 200m, 东侧50米, 南100米 (moves the point; the grid is where the
  point falls).

The most specific reading wins: grid name, then intersection, house number, landmark. The result
carries the grid, the point and the reason an operator sees.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from workstation.domain.geo import contains
from workstation.i18n import tr
from workstation.resources import load_json

M_PER_DEG_LAT = 111_194.9
_ROAD_SUFFIXES = ("大道", "路", "街", "巷")
_JOIN = r"(?:与|和|跟|同|及|、|/|／|\+|交|,|，)?"
_CROSS = r"(?:交叉口|交汇处|交口|路口|十字路口|丁字路口|十字|口)?"
_DIRS = {
    "东": (1, 0),
    "西": (-1, 0),
    "南": (0, -1),
    "北": (0, 1),
    "东南": (1, -1),
    "东北": (1, 1),
    "西南": (-1, -1),
    "西北": (-1, 1),
}
_OFFSET = re.compile(
    r"(?:向|往|朝)?(东南|东北|西南|西北|东|西|南|北)(?:侧|边|面|方向|方)?(?:约|大概)?"
    r"(\d+(?:\.\d+)?)\s*(米|m|公里|km)"
)
_GATE = re.compile(r"(东南|东北|西南|西北|东|西|南|北)(?:大)?门")
_GATE_M = 80.0
_NUMBER = re.compile(r"(\d+)(?:-\d+)?\s*号")


@dataclass(frozen=True)
class PlaceMatch:
    """Where the text says the problem is: the grid, a point, what was read and the reason."""

    grid_code: str
    grid_name: str
    lon: float
    lat: float
    kind: str  # grid | intersection | doorplate | landmark
    place: str
    reason: str


@dataclass(frozen=True)
class _Gazetteer:
    grids: dict[str, tuple[str, list[list[float]]]]  # code -> (name, polygon)
    grid_names: dict[str, str]  # name -> code
    roads: dict[str, list[dict[str, Any]]]  # road -> sections
    crossings: dict[frozenset[str], list[dict[str, Any]]]
    landmarks: dict[str, dict[str, Any]]  # name or alias -> landmark
    road_pattern: re.Pattern[str]
    road_alias: dict[str, str]
    landmark_pattern: re.Pattern[str]
    grid_pattern: re.Pattern[str]

    def grid_at(self, lon: float, lat: float) -> str | None:
        for code, (_name, polygon) in self.grids.items():
            if contains(polygon, lon, lat):
                return code
        return None


def _short(road: str) -> str | None:
    for suffix in _ROAD_SUFFIXES:
        if road.endswith(suffix) and len(road) - len(suffix) >= 2:
            return road[: -len(suffix)]
    return None


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=lambda n: (-len(n), n)))


@lru_cache(maxsize=1)
def gazetteer() -> _Gazetteer:
    """The shipped gazetteer with its indexes (read once per process)."""
    territory = load_json("territory.json")
    grids = {
        g["code"]: (g["name"], g["polygon"]) for s in territory["streets"] for c in s["communities"] for g in c["grids"]
    }
    data = load_json("assist", "gazetteer.json")
    roads: dict[str, list[dict[str, Any]]] = {}
    for section in data["roads"]:
        roads.setdefault(section["road"], []).append(section)
    crossings: dict[frozenset[str], list[dict[str, Any]]] = {}
    for crossing in data["intersections"]:
        crossings.setdefault(frozenset(crossing["roads"]), []).append(crossing)
    alias: dict[str, str] = {}
    for road in roads:
        alias[road] = road
        short = _short(road)
        if short and short not in alias:
            alias[short] = road
    landmarks: dict[str, dict[str, Any]] = {}
    for mark in data["landmarks"]:
        landmarks.setdefault(mark["name"], mark)
        for suffix in ("小区", "花园", "家园"):
            if mark["name"].endswith(suffix) and len(mark["name"]) - len(suffix) >= 2:
                landmarks.setdefault(mark["name"][: -len(suffix)], mark)
    grid_names = {name: code for code, (name, _p) in grids.items()}
    return _Gazetteer(
        grids=grids,
        grid_names=grid_names,
        roads=roads,
        crossings=crossings,
        landmarks=landmarks,
        road_pattern=re.compile(_alternation(list(alias))),
        road_alias=alias,
        landmark_pattern=re.compile(_alternation(list(landmarks))),
        grid_pattern=re.compile(_alternation(list(grid_names))),
    )


def _clean(text: str) -> str:
    folded = "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)
    return re.sub(r"\s+", "", folded).lower()


def _move(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
        lat + north_m / M_PER_DEG_LAT,
    )


def _offset(text: str, after: int) -> tuple[float, float, str]:
    """The first distance-and-direction after position ``after``: (east m, north m, as written)."""
    found = _OFFSET.search(text, after)
    if found is None or found.start() - after > 6:
        return 0.0, 0.0, ""
    direction, amount, unit = found.groups()
    metres = float(amount) * (1000.0 if unit in ("公里", "km") else 1.0)
    dx, dy = _DIRS[direction]
    norm = math.hypot(dx, dy)
    return dx / norm * metres, dy / norm * metres, found.group(0)


def _roads_in(gaz: _Gazetteer, text: str) -> list[tuple[int, int, str]]:
    """Road mentions: (start, end, canonical road), left to right, without overlaps."""
    found = []
    for m in gaz.road_pattern.finditer(text):
        road = gaz.road_alias[m.group(0)]
        short_form = m.group(0) != road
        # a short form counts only where an address reads on (a joiner, a crossing, a number, another road)
        if short_form:
            rest = text[m.end() : m.end() + 4]
            if not re.match(r"(与|和|跟|、|/|交|路口|口|\d|十字)", rest) and not any(
                text[: m.start()].endswith(j) for j in ("与", "和", "跟", "、", "/")
            ):
                continue
        found.append((m.start(), m.end(), road))
    return found


def _crossing(
    gaz: _Gazetteer, text: str, mentions: list[tuple[int, int, str]]
) -> tuple[dict[str, Any], int, str] | None:
    for (s1, e1, r1), (s2, e2, r2) in pairwise(mentions):
        if r1 == r2:
            continue
        between = text[e1:s2]
        if not re.fullmatch(_JOIN + r"(?:路)?", between):
            continue
        options = gaz.crossings.get(frozenset((r1, r2)))
        if not options:
            continue
        tail = re.match(_CROSS, text[e2:])
        end = e2 + (tail.end() if tail else 0)
        return options[0], end, text[s1:end]
    return None


def _doorplate(
    gaz: _Gazetteer, text: str, mentions: list[tuple[int, int, str]]
) -> tuple[float, float, int, str] | None:
    for start, end, road in mentions:
        num = _NUMBER.match(text, end)
        if num is None:
            continue
        number = int(num.group(1))
        for section in gaz.roads.get(road, []):
            a, b = section["numbers"]
            if a <= number <= b:
                f = 0.0 if b == a else (number - a) / (b - a)
                lon = section["from"][0] + (section["to"][0] - section["from"][0]) * f
                lat = section["from"][1] + (section["to"][1] - section["from"][1]) * f
                return lon, lat, num.end(), text[start : num.end()]
    return None


def _landmark(gaz: _Gazetteer, text: str) -> tuple[dict[str, Any], int, str, float, float] | None:
    best = None
    for m in gaz.landmark_pattern.finditer(text):
        if best is None or len(m.group(0)) > len(best.group(0)):
            best = m
    if best is None:
        return None
    mark = gaz.landmarks[best.group(0)]
    end = best.end()
    tail = re.match(r"(?:小区)?(?:的)?", text[end:])
    end += tail.end() if tail else 0
    gate = _GATE.match(text, end)
    east = north = 0.0
    if gate is not None:
        dx, dy = _DIRS[gate.group(1)]
        norm = math.hypot(dx, dy)
        east, north = dx / norm * _GATE_M, dy / norm * _GATE_M
        end = gate.end()
    return mark, end, text[best.start() : end], east, north


def locate(text: str) -> PlaceMatch | None:
    """The grid (and point) an address in the text names, or None when it names no known place."""
    if not text or not text.strip():
        return None
    gaz = gazetteer()
    clean = _clean(text)
    named = gaz.grid_pattern.search(clean)
    if named is not None:
        code = gaz.grid_names[named.group(0)]
        polygon = gaz.grids[code][1]
        lon = sum(p[0] for p in polygon) / len(polygon)
        lat = sum(p[1] for p in polygon) / len(polygon)
        return PlaceMatch(
            code, named.group(0), lon, lat, "grid", named.group(0), tr("grid named: {grid}", grid=named.group(0))
        )
    mentions = _roads_in(gaz, clean)
    crossing = _crossing(gaz, clean, mentions)
    if crossing is not None:
        entry, end, written = crossing
        return _result(gaz, "intersection", written, entry["point"][0], entry["point"][1], clean, end)
    plate = _doorplate(gaz, clean, mentions)
    if plate is not None:
        lon, lat, end, written = plate
        return _result(gaz, "doorplate", written, lon, lat, clean, end)
    mark = _landmark(gaz, clean)
    if mark is not None:
        entry, end, written, east, north = mark
        lon, lat = _move(entry["point"][0], entry["point"][1], east, north)
        return _result(gaz, "landmark", written, lon, lat, clean, end)
    return None


def _result(gaz: _Gazetteer, kind: str, written: str, lon: float, lat: float, text: str, end: int) -> PlaceMatch | None:
    east, north, offset = _offset(text, end)
    lon, lat = _move(lon, lat, east, north)
    code = gaz.grid_at(lon, lat)
    if code is None:
        return None
    name = gaz.grids[code][0]
    label = {
        "intersection": tr("intersection"),
        "doorplate": tr("house number"),
        "landmark": tr("landmark"),
    }[kind]
    where = written + offset
    reason = tr("address {place} ({kind}) lies in {grid}", place=where, kind=label, grid=name)
    return PlaceMatch(code, name, round(lon, 6), round(lat, 6), kind, where, reason)
