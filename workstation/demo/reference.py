"""The reference data demo generation draws on, read once from a database into plain objects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import select

from workstation.domain.geo import contains
from workstation.models import Category, Community, Grid, GridStaff, Street, Unit
from workstation.storage.db import Database

TERRITORIAL = ("GRID", "STREET", "COMMUNITY")


@dataclass(frozen=True)
class CategoryRef:
    """One active minor category."""

    code: str
    major_code: str
    major_name: str
    name: str
    keywords: tuple[str, ...]
    unit: str
    time_limit: str
    urgency: str
    closure_standard: str


@dataclass(frozen=True)
class GridRef:
    """One grid: its polygon, its place and its team."""

    code: str
    name: str
    community_code: str
    street_code: str
    polygon: tuple[tuple[float, float], ...]
    bbox: tuple[float, float, float, float]
    staff: tuple[str, ...]

    def random_point(self, rng: random.Random) -> tuple[float, float]:
        """A point inside the polygon (rejection sampling in the bounding box)."""
        min_lon, min_lat, max_lon, max_lat = self.bbox
        for _ in range(200):
            lon = round(rng.uniform(min_lon, max_lon), 6)
            lat = round(rng.uniform(min_lat, max_lat), 6)
            if contains(self.polygon, lon, lat):
                return lon, lat
        return round((min_lon + max_lon) / 2, 6), round((min_lat + max_lat) / 2, 6)


@dataclass(frozen=True)
class CommunityRef:
    """One community with its roads, landmarks and grids."""

    code: str
    name: str
    street_code: str
    roads: tuple[str, ...]
    landmarks: tuple[str, ...]
    grids: tuple[str, ...]


@dataclass
class Reference:
    """Categories, territory and units, ordered by code so generation is deterministic."""

    categories: dict[str, CategoryRef] = field(default_factory=dict)
    communities: dict[str, CommunityRef] = field(default_factory=dict)
    grids: dict[str, GridRef] = field(default_factory=dict)
    streets: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_db(cls, db: Database) -> Reference:
        """Read the active catalogue, the territory and the units."""
        ref = cls()
        with db.read() as s:
            for c in s.scalars(select(Category).where(Category.active).order_by(Category.code)):
                ref.categories[c.code] = CategoryRef(
                    c.code,
                    c.major_code,
                    c.major_name,
                    c.name,
                    tuple(c.keywords),
                    c.unit,
                    c.time_limit,
                    c.urgency,
                    c.closure_standard,
                )
            ref.streets = {st.code: st.name for st in s.scalars(select(Street).order_by(Street.code))}
            staff: dict[str, list[str]] = {}
            for person in s.scalars(select(GridStaff).order_by(GridStaff.grid_code, GridStaff.id)):
                staff.setdefault(person.grid_code, []).append(person.name)
            comm_street = {c.code: c.street_code for c in s.scalars(select(Community))}
            grids_of: dict[str, list[str]] = {}
            for g in s.scalars(select(Grid).order_by(Grid.code)):
                ref.grids[g.code] = GridRef(
                    g.code,
                    g.name,
                    g.community_code,
                    comm_street[g.community_code],
                    tuple((float(p[0]), float(p[1])) for p in g.polygon),
                    (g.min_lon, g.min_lat, g.max_lon, g.max_lat),
                    tuple(staff.get(g.code, [])),
                )
                grids_of.setdefault(g.community_code, []).append(g.code)
            for comm in s.scalars(select(Community).order_by(Community.code)):
                if comm.code in grids_of:
                    ref.communities[comm.code] = CommunityRef(
                        comm.code,
                        comm.name,
                        comm.street_code,
                        tuple(comm.roads),
                        tuple(comm.landmarks),
                        tuple(grids_of[comm.code]),
                    )
            ref.units = {u.code: u.name for u in s.scalars(select(Unit).where(Unit.active).order_by(Unit.code))}
        return ref

    def unit_at(self, unit: str, grid_code: str | None) -> str | None:
        """The concrete unit code a catalogue unit means at a grid (GRID/STREET/COMMUNITY resolved)."""
        if unit not in TERRITORIAL:
            return unit if unit in self.units else None
        grid = self.grids.get(grid_code or "")
        if grid is None:
            return None
        place = {"GRID": grid.code, "STREET": grid.street_code, "COMMUNITY": grid.community_code}[unit]
        return f"{unit}-{place}"
