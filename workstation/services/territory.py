"""Where a report is: the grid of a point or a name, and the concrete unit of a place."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
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


def resolve_unit(s: Session, code: str, place: Place | None) -> Unit | None:
    """A unit code as a concrete unit: departments as they are, GRID/STREET/COMMUNITY by place."""
    if code in ("GRID", "STREET", "COMMUNITY"):
        return territorial_unit(s, code, place)
    return s.get(Unit, code)
