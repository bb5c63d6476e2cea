"""The territory as one import batch reads it: grid by code or name, grid at a point, and a grid's place.

The same rules as ``services.territory`` (exact code or name; bounding box, then polygon). A large
batch reads every grid once; a small one (a post, a reprocessed item) asks the database about its
own points only: the territory's box and the grids whose box holds the point, with their places, in
one query (not one for the box, one for the grid and one for its place).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select, true
from sqlalchemy.orm import Session

from workstation.domain.geo import contains
from workstation.models import Community, Grid, Street
from workstation.services.territory import Bounds, Place, grid_at, grid_by_name_or_code, place_of, territory_bounds

SMALL = 20  # a batch smaller than this asks about its points; a larger one reads every grid

_GRIDS, _COMMUNITIES, _STREETS = Grid.__table__.c, Community.__table__.c, Street.__table__.c
_PLACE = (_GRIDS.code, _GRIDS.name, _COMMUNITIES.code, _COMMUNITIES.name, _STREETS.code, _STREETS.name)


def _around_query() -> Any:
    box = select(
        func.min(_GRIDS.min_lon).label("x0"),
        func.max(_GRIDS.max_lon).label("x1"),
        func.min(_GRIDS.min_lat).label("y0"),
        func.max(_GRIDS.max_lat).label("y1"),
    ).subquery("box")
    lon: BindParameter[float] = bindparam("lon")
    lat: BindParameter[float] = bindparam("lat")
    near = (
        select(*[c.label(f"p{i}") for i, c in enumerate(_PLACE)], _GRIDS.polygon)
        .join_from(Grid.__table__, Community.__table__, _COMMUNITIES.code == _GRIDS.community_code)
        .join(Street.__table__, _STREETS.code == _COMMUNITIES.street_code)
        .where(_GRIDS.min_lon <= lon, _GRIDS.max_lon >= lon, _GRIDS.min_lat <= lat, _GRIDS.max_lat >= lat)
        .subquery("near")
    )
    return select(box, near).select_from(box.outerjoin(near, true())).order_by(near.c.p0)


_AROUND = _around_query()  # built once: a post runs it every time


class Places:
    """The territory, read once per batch (see the module docstring)."""

    def __init__(self, s: Session, size: int) -> None:
        self.s = s
        self.small = size < SMALL
        self.loaded = False
        self.grids: list[tuple[str, float, float, float, float, list[Any]]] = []
        self.places: dict[str, Place | None] = {}
        self.names: dict[str, str | None] = {}
        self._bounds: Bounds | bool | None = False
        self._near: dict[tuple[float, float], list[tuple[str, list[Any]]]] = {}

    @property
    def bounds(self) -> Bounds | None:
        """The territory's box (None: no territory)."""
        if self._bounds is False:
            self._bounds = territory_bounds(self.s)
        return self._bounds  # type: ignore[return-value]

    def bounds_near(self, lon: float, lat: float) -> Bounds | None:
        """The territory's box; a small batch reads it together with the grids around this point."""
        if self.small and (lon, lat) not in self._near:
            near: list[tuple[str, list[Any]]] = []
            for x0, x1, y0, y1, *place, polygon in self.s.execute(_AROUND, {"lon": lon, "lat": lat}):
                if self._bounds is False:
                    self._bounds = None if None in (x0, x1, y0, y1) else (float(x0), float(x1), float(y0), float(y1))
                if place[0] is not None:
                    near.append((place[0], polygon))
                    self.places[place[0]] = Place(*place)
            self._near[(lon, lat)] = near
        return self.bounds

    def _load(self) -> None:
        if self.loaded or self.small:
            return
        self.loaded = True
        rows = self.s.execute(
            select(
                Grid.code,
                Grid.name,
                Grid.min_lon,
                Grid.max_lon,
                Grid.min_lat,
                Grid.max_lat,
                Grid.polygon,
                Community.code,
                Community.name,
                Street.code,
                Street.name,
            )
            .join(Community, Community.code == Grid.community_code)
            .join(Street, Street.code == Community.street_code)
            .order_by(Grid.code)
        )
        for code, name, x0, x1, y0, y1, polygon, ccode, cname, scode, sname in rows:
            self.names[code], self.names[name] = code, code
            self.grids.append((code, x0, x1, y0, y1, polygon))
            self.places[code] = Place(code, name, ccode, cname, scode, sname)

    def grid_code(self, text: str) -> str | None:
        """The grid whose code or exact name is ``text``."""
        self._load()
        key = text.strip()
        if key not in self.names:
            grid = grid_by_name_or_code(self.s, key)
            self.names[key] = grid.code if grid else None
        return self.names[key]

    def grid_at(self, lon: float, lat: float) -> str | None:
        """The grid whose boundary contains the point."""
        self._load()
        if (lon, lat) in self._near:
            return next((code for code, polygon in self._near[(lon, lat)] if contains(polygon, lon, lat)), None)
        if not self.grids:
            grid = grid_at(self.s, lon, lat)
            return grid.code if grid else None
        for code, x0, x1, y0, y1, polygon in self.grids:
            if x0 <= lon <= x1 and y0 <= lat <= y1 and contains(polygon, lon, lat):
                return code
        return None

    def place(self, code: str | None) -> Place | None:
        """The grid, community and street of a grid code."""
        if code is None:
            return None
        self._load()
        if code not in self.places:
            self.places[code] = place_of(self.s, code)
        return self.places[code]
