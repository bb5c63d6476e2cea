"""Where a report is: the grid of a point or a name, and the concrete unit of a place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workstation.domain.geo import contains
from workstation.models import Community, Grid, Street, Unit


@dataclass(frozen=True)
class Place:
    """A grid with its community and street."""

    grid_code: str
    grid_name: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str


def place_of(s: Session, grid_code: str | None) -> Place | None:
    """The grid, community and street of a grid code."""
    if not grid_code:
        return None
    row = s.execute(
        select(Grid.code, Grid.name, Community.code, Community.name, Street.code, Street.name)
        .join(Community, Community.code == Grid.community_code)
        .join(Street, Street.code == Community.street_code)
        .where(Grid.code == grid_code)
    ).first()
    return Place(*row) if row else None


def grid_by_name_or_code(s: Session, text: str) -> Grid | None:
    """The grid whose code or exact name is ``text``."""
    text = text.strip()
    return s.scalar(select(Grid).where((Grid.code == text) | (Grid.name == text)))


def grid_at(s: Session, lon: float, lat: float) -> Grid | None:
    """The grid whose boundary contains the point (bounding boxes first, then the polygon)."""
    candidates = s.scalars(
        select(Grid).where(Grid.min_lon <= lon, Grid.max_lon >= lon, Grid.min_lat <= lat, Grid.max_lat >= lat)
    )
    for grid in candidates:
        if contains(grid.polygon, lon, lat):
            return grid
    return None


Bounds = tuple[float, float, float, float]  # min_lon, max_lon, min_lat, max_lat
MARGIN_M = 20_000  # how far outside the territory's grids a point is still taken as a place (metres)


def territory_bounds(s: Session) -> Bounds | None:
    """The box around every grid of the territory (None: no territory loaded)."""
    row = s.execute(
        select(func.min(Grid.min_lon), func.max(Grid.max_lon), func.min(Grid.min_lat), func.max(Grid.max_lat))
    ).first()
    if row is None or any(v is None for v in row):
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def within(bounds: Bounds | None, lon: float, lat: float, margin_m: float = MARGIN_M) -> bool:
    """Whether the point lies in the territory's box widened by ``margin_m`` (always, with no territory)."""
    if bounds is None:
        return True
    dlat = margin_m / 111_000.0
    dlon = dlat / max(0.1, math.cos(math.radians((bounds[2] + bounds[3]) / 2)))
    return bounds[0] - dlon <= lon <= bounds[1] + dlon and bounds[2] - dlat <= lat <= bounds[3] + dlat


def territorial_unit(s: Session, role: str, place: Place | None) -> Unit | None:
    """The concrete team, office or station that GRID, STREET or COMMUNITY means at this place."""
    if place is None:
        return None
    code = {
        "GRID": f"GRID-{place.grid_code}",
        "STREET": f"STREET-{place.street_code}",
        "COMMUNITY": f"COMMUNITY-{place.community_code}",
    }.get(role)
    return s.get(Unit, code) if code else None


_TERRITORIAL = {
    "GRID": ("GRID-", Grid.code),
    "STREET": ("STREET-", Street.code),
    "COMMUNITY": ("COMMUNITY-", Community.code),
}


def unit_at(s: Session, code: str, grid_code: str | None) -> Unit | None:
    """``resolve_unit(s, code, place_of(s, grid_code))`` in one query (none for a department's code)."""
    if code not in _TERRITORIAL:
        return s.get(Unit, code)
    if not grid_code:
        return None
    prefix, column = _TERRITORIAL[code]
    return s.scalar(
        select(Unit)
        .select_from(Grid)
        .join(Community, Community.code == Grid.community_code)
        .join(Street, Street.code == Community.street_code)
        .join(Unit, Unit.code == prefix + column)
        .where(Grid.code == grid_code)
    )


def resolve_unit(s: Session, code: str, place: Place | None) -> Unit | None:
    """A unit code as a concrete unit: departments as they are, GRID/STREET/COMMUNITY by place."""
    if code in ("GRID", "STREET", "COMMUNITY"):
        return territorial_unit(s, code, place)
    return s.get(Unit, code)
