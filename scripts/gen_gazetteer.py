"""Generate the district gazetteer ``resources/assist/gazetteer.json`` from ``resources/territory.json``.

The territory names each community's roads and landmarks but places only grids. This script gives
every named place a point and its grid, the way a geocoding base would:

- roads: each community's roads cross its box, alternately east-west and north-south (the roads
  pinned by a grid's ``intersections``, 洞庭湖路 × 嵩山路 in 塘西河网格, pass through their point);
  a road's house numbers run along its segments, one number per ``METRES_PER_NUMBER`` metres;
  every segment inside a grid is an entry with its range of numbers;
- intersections: every east-west road of a community with every north-south one, once per pair
  of roads (where they first meet; the pinned crossings where they are pinned);
- doorplates: every ``DOORPLATE_STEP``-th house number of every road;
- landmarks (residential compounds, schools, markets, clinics, parks): inside the grid named after
  them, or a grid of their community drawn at random.

Deterministic (seeded ``random.Random``)::

    python scripts/gen_gazetteer.py
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workstation.domain.geo import contains  # noqa: E402

TERRITORY = ROOT / "resources" / "territory.json"
OUTPUT = ROOT / "resources" / "assist" / "gazetteer.json"
SEED = 5500
METRES_PER_NUMBER = 10.0
DOORPLATE_STEP = 10
M_PER_DEG_LAT = 111_194.9


def kind_of(name: str) -> str:
    """What a landmark is, from its name."""
    for suffix, kind in (
        ("小学", "school"),
        ("中学", "school"),
        ("幼儿园", "school"),
        ("学校", "school"),
        ("市场", "market"),
        ("菜场", "market"),
        ("卫生服务站", "clinic"),
        ("卫生服务中心", "clinic"),
        ("医院", "clinic"),
        ("公园", "park"),
        ("广场", "square"),
    ):
        if name.endswith(suffix):
            return kind
    return "compound"


def bbox(polygon: list[list[float]]) -> tuple[float, float, float, float]:
    lons = [p[0] for p in polygon]
    lats = [p[1] for p in polygon]
    return min(lons), min(lats), max(lons), max(lats)


def grid_at(grids: list[dict], lon: float, lat: float) -> dict | None:
    for g in grids:
        if contains(g["polygon"], lon, lat):
            return g
    return None


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * M_PER_DEG_LAT * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (b[1] - a[1]) * M_PER_DEG_LAT
    return math.hypot(dx, dy)


def build() -> dict:
    territory = json.loads(TERRITORY.read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    all_grids = [g for s in territory["streets"] for c in s["communities"] for g in c["grids"]]
    segments: dict[str, list[dict]] = {}
    intersections: list[dict] = []
    landmarks: list[dict] = []
    # two roads cross once: the pinned crossings first, then the first community where a pair meets
    pinned = {frozenset(crossing["roads"]) for g in all_grids for crossing in g.get("intersections", [])}
    crossed: set[frozenset[str]] = set(pinned)
    for street in territory["streets"]:
        for community in street["communities"]:
            grids = community["grids"]
            boxes = [bbox(g["polygon"]) for g in grids]
            west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
            east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
            pins: dict[str, tuple[str, float]] = {}
            for g in grids:
                for crossing in g.get("intersections", []):
                    (ew, ns), (lon, lat) = crossing["roads"], crossing["point"]
                    pins[ew] = ("ew", lat)
                    pins[ns] = ("ns", lon)
            roads = list(community["roads"])
            free = [r for r in roads if r not in pins]
            ew_free = free[0::2]
            ns_free = free[1::2]
            lines: dict[str, tuple[str, float]] = dict(pins)
            for i, road in enumerate(ew_free):
                lines[road] = ("ew", south + (north - south) * (i + 1) / (len(ew_free) + 1) + rng.uniform(-1, 1) * 1e-4)
            for i, road in enumerate(ns_free):
                lines[road] = ("ns", west + (east - west) * (i + 1) / (len(ns_free) + 1) + rng.uniform(-1, 1) * 1e-4)
            for road in roads:
                axis, at = lines[road]
                start, end = ((west, at), (east, at)) if axis == "ew" else ((at, south), (at, north))
                segments.setdefault(road, []).append(
                    {"community": community["code"], "axis": axis, "start": start, "end": end}
                )
            ews = [r for r in roads if lines[r][0] == "ew"]
            nss = [r for r in roads if lines[r][0] == "ns"]
            for a in ews:
                for b in nss:
                    pair = frozenset((a, b))
                    is_pin = pair in pinned and a in pins and b in pins
                    if pair in crossed and not is_pin:
                        continue
                    crossed.add(pair)
                    lon, lat = lines[b][1], lines[a][1]
                    g = grid_at(grids, lon, lat)
                    if g is not None:
                        intersections.append(
                            {"roads": [a, b], "point": [round(lon, 6), round(lat, 6)], "grid": g["code"]}
                        )
            for name in community["landmarks"]:
                home = next((g for g in grids if g["name"].startswith(name)), None) or rng.choice(grids)
                w, s_, e, n = bbox(home["polygon"])
                lon = w + (e - w) * rng.uniform(0.3, 0.7)
                lat = s_ + (n - s_) * rng.uniform(0.3, 0.7)
                landmarks.append(
                    {"name": name, "kind": kind_of(name), "point": [round(lon, 6), round(lat, 6)], "grid": home["code"]}
                )
    road_entries: list[dict] = []
    doorplates: list[list] = []
    for road in sorted(segments):
        number = 1
        for seg in sorted(segments[road], key=lambda s: (s["start"][0] + s["start"][1], s["community"])):
            (x0, y0), (x1, y1) = seg["start"], seg["end"]
            length = metres(seg["start"], seg["end"])
            count = max(2, int(length / METRES_PER_NUMBER))
            first = number
            pieces: list[tuple[str, int, int, tuple[float, float], tuple[float, float]]] = []
            for k in range(count):
                f = (k + 0.5) / count
                lon, lat = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
                g = grid_at(all_grids, lon, lat)
                code = g["code"] if g else ""
                n = first + k
                if pieces and pieces[-1][0] == code:
                    c, a, _b, p0, _p1 = pieces[-1]
                    pieces[-1] = (c, a, n, p0, (lon, lat))
                else:
                    pieces.append((code, n, n, (lon, lat), (lon, lat)))
                if n % DOORPLATE_STEP == 0 and code:
                    doorplates.append([road, n, round(lon, 6), round(lat, 6), code])
            for code, a, b, p0, p1 in pieces:
                if code:
                    road_entries.append(
                        {
                            "road": road,
                            "numbers": [a, b],
                            "from": [round(p0[0], 6), round(p0[1], 6)],
                            "to": [round(p1[0], 6), round(p1[1], 6)],
                            "grid": code,
                        }
                    )
            number = first + count
    return {
        "source": "scripts/gen_gazetteer.py from resources/territory.json",
        "roads": road_entries,
        "intersections": intersections,
        "landmarks": landmarks,
        "doorplates": doorplates,
    }


def main() -> None:
    gaz = build()
    OUTPUT.write_text(json.dumps(gaz, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    total = sum(len(gaz[k]) for k in ("roads", "intersections", "landmarks", "doorplates"))
    print(
        f"{total} entries: {len(gaz['roads'])} road sections, {len(gaz['intersections'])} intersections, "
        f"{len(gaz['landmarks'])} landmarks, {len(gaz['doorplates'])} doorplates -> {OUTPUT.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
