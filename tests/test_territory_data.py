"""Checks on the generated territory data in resources/territory.json (no Qt, no application code)."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

TERRITORY_PATH = Path(__file__).resolve().parent.parent / "resources" / "territory.json"

DISTRICT_BOX = (117.26, 31.68, 117.42, 31.86)

EXPECTED_STREETS = {
    "包公街道": "street",
    "芜湖路街道": "street",
    "望湖街道": "street",
    "宁国路街道": "street",
    "常青街道": "street",
    "骆岗街道": "street",
    "烟墩街道": "street",
    "义城街道": "street",
    "同安街道": "street",
    "万年埠街道": "street",
    "大圩镇": "town",
    "滨湖世纪社区": "large_community",
    "方兴社区": "large_community",
    "高铁南站片区": "area",
}

PHONE_RE = re.compile(r"^1[35789]\d{9}$")
NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,3}$")

Point = tuple[float, float]


@cache
def _territory() -> dict[str, Any]:
    return json.loads(TERRITORY_PATH.read_text(encoding="utf-8"))


def _grids() -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Return (street, community, grid) triples."""
    return [
        (street, community, grid)
        for street in _territory()["streets"]
        for community in street["communities"]
        for grid in community["grids"]
    ]


def _signed_area(ring: list[list[float]]) -> float:
    return (
        sum(
            ring[i][0] * ring[(i + 1) % len(ring)][1] - ring[(i + 1) % len(ring)][0] * ring[i][1]
            for i in range(len(ring))
        )
        / 2
    )


def _on_boundary(point: Point, ring: list[list[float]], eps: float = 1e-9) -> bool:
    px, py = point
    for i in range(len(ring)):
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % len(ring)]
        cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
        if (
            abs(cross) <= eps
            and min(x1, x2) - eps <= px <= max(x1, x2) + eps
            and (min(y1, y2) - eps <= py <= max(y1, y2) + eps)
        ):
            return True
    return False


def _inside(point: Point, ring: list[list[float]]) -> bool:
    """Even-odd ray casting (ray towards +x)."""
    px, py = point
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > py) != (yj > py) and px < (xj - xi) * (py - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def test_district_header() -> None:
    assert _territory()["district"] == {"code": "BH", "name": "包河区"}


def test_fourteen_street_level_entries() -> None:
    streets = _territory()["streets"]
    assert len(streets) == 14
    assert {s["name"]: s["kind"] for s in streets} == EXPECTED_STREETS
    assert [s["code"] for s in streets] == [f"S{i:02d}" for i in range(1, 15)]
    for street in streets:
        assert street["office"].startswith(street["name"])
        assert 2 <= len(street["communities"]) <= 6, street["name"]


def test_communities_and_hierarchy_codes() -> None:
    seen_names: set[str] = set()
    for street in _territory()["streets"]:
        for c_index, community in enumerate(street["communities"], start=1):
            assert community["code"] == f"{street['code']}C{c_index:02d}"
            assert community["name"].endswith(("社区", "村")), community["name"]
            assert community["name"] not in seen_names
            seen_names.add(community["name"])
            assert community["station"] == f"{community['name']}居村工作站"
            assert community["roads"] and community["landmarks"]
            assert 3 <= len(community["grids"]) <= 8, community["name"]
            for g_index, grid in enumerate(community["grids"], start=1):
                assert grid["code"] == f"{community['code']}G{g_index:02d}"
    town = next(s for s in _territory()["streets"] if s["kind"] == "town")
    assert any(c["name"].endswith("村") for c in town["communities"])
    binhu = next(s for s in _territory()["streets"] if s["name"] == "滨湖世纪社区")
    assert binhu["communities"]


def test_434_grids_with_unique_codes_and_names() -> None:
    grids = [grid for _, _, grid in _grids()]
    assert len(grids) == 434
    assert len({g["code"] for g in grids}) == 434
    names = [g["name"] for g in grids]
    assert len(set(names)) == 434
    assert all(name.endswith("网格") and len(name) > 2 for name in names)


def test_polygons_valid() -> None:
    west, south, east, north = DISTRICT_BOX
    total_area = 0.0
    for _, _, grid in _grids():
        ring = grid["polygon"]
        assert len(ring) >= 4, grid["code"]
        assert ring[0] != ring[-1], f"{grid['code']}: ring must not repeat its first point"
        assert len({tuple(p) for p in ring}) == len(ring), grid["code"]
        for lon, lat in ring:
            assert west <= lon <= east and south <= lat <= north, grid["code"]
            assert round(lon, 6) == lon and round(lat, 6) == lat
        area = _signed_area(ring)
        assert area > 1e-7, f"{grid['code']}: degenerate or clockwise polygon"
        total_area += area
    # Together with the no-overlap sampling below this means the grids cover the box.
    assert total_area == pytest.approx((east - west) * (north - south), rel=1e-9)


def test_random_points_fall_in_exactly_one_grid() -> None:
    polygons = []
    for _, _, grid in _grids():
        ring = grid["polygon"]
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        polygons.append((min(xs), min(ys), max(xs), max(ys), ring, grid["code"]))
    rng = random.Random(12345)
    west, south, east, north = DISTRICT_BOX
    checked = 0
    for _ in range(1000):
        point = (rng.uniform(west, east), rng.uniform(south, north))
        candidates = [
            (ring, code) for x0, y0, x1, y1, ring, code in polygons if x0 <= point[0] <= x1 and y0 <= point[1] <= y1
        ]
        if any(_on_boundary(point, ring) for ring, _ in candidates):
            continue
        hits = [code for ring, code in candidates if _inside(point, ring)]
        assert len(hits) == 1, f"{point} is in {hits}"
        checked += 1
    assert checked > 990


def test_point_in_polygon_helper() -> None:
    square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    assert _inside((0.5, 0.5), square)
    assert not _inside((1.5, 0.5), square)
    assert _on_boundary((1.0, 0.5), square)


def test_tangxihe_grid_and_intersection() -> None:
    matches = [(s, c, g) for s, c, g in _grids() if g["name"] == "塘西河网格"]
    assert len(matches) == 1
    street, community, grid = matches[0]
    assert street["name"] == "方兴社区"
    assert community["name"] == "塘西河社区"
    assert {"洞庭湖路", "嵩山路"} <= set(community["roads"])
    intersections = grid["intersections"]
    crossing = next(i for i in intersections if set(i["roads"]) == {"洞庭湖路", "嵩山路"})
    point = tuple(crossing["point"])
    assert _inside(point, grid["polygon"])
    assert not _on_boundary(point, grid["polygon"])
    others = [g["code"] for _, _, g in _grids() if g is not grid and _inside(point, g["polygon"])]
    assert others == []


def test_staff() -> None:
    phones: list[str] = []
    for _, _, grid in _grids():
        roles = [member["role"] for member in grid["staff"]]
        assert roles.count("leader") == 1, grid["code"]
        assert roles.count("member") == 2, grid["code"]
        assert 1 <= roles.count("part_time") <= 2, grid["code"]
        assert set(roles) <= {"leader", "member", "part_time"}
        for member in grid["staff"]:
            assert NAME_RE.match(member["name"]), member["name"]
            assert PHONE_RE.match(member["phone"]), member["phone"]
            phones.append(member["phone"])
    assert len(set(phones)) == len(phones)
