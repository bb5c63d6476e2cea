"""Loading the shipped reference data into the database, idempotently.

Each file's fingerprint is kept in ``meta``; a file is applied again only when it changed. Applying
updates rows in place and retires what disappeared (never deletes it), so history stays as it was:
a case keeps the category code, name and limit it was filed under, because the case copied them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.models import (
    CalendarYear,
    CareGroup,
    Category,
    Community,
    Grid,
    GridStaff,
    Meta,
    Street,
    Unit,
)
from workstation.resources import resource_path

TERRITORIAL = {"GRID", "STREET", "COMMUNITY"}


def _fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _load(name: str) -> Any:
    with resource_path(name).open(encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=16)
def _shipped(name: str, mtime_ns: int, size: int) -> tuple[Any, str]:
    """A shipped file and its fingerprint, read once per process (and again if the file changes)."""
    data = _load(name)
    return data, _fingerprint(data)


def _apply_catalogue(session: Session, data: dict[str, Any]) -> None:
    version = str(data.get("version", ""))
    existing = {c.code: c for c in session.scalars(select(Category))}
    seen = set()
    for major in data["majors"]:
        for minor in major["minors"]:
            code = minor["code"]
            seen.add(code)
            row = existing.get(code) or Category(code=code)
            row.major_code = major["code"]
            row.major_name = major["name"]
            row.name = minor["name"]
            row.keywords = list(minor["keywords"])
            row.unit = minor["unit"]
            row.time_limit = minor["limit"]
            row.urgency = minor["urgency"]
            row.closure_standard = minor["closure_standard"]
            row.active = True
            row.catalogue_version = version
            session.add(row)
    for code, row in existing.items():
        if code not in seen:
            row.active = False


def _apply_units(session: Session, data: dict[str, Any]) -> None:
    existing = {u.code: u for u in session.scalars(select(Unit))}
    listed = {item["code"] for item in data["units"]}
    for code, old in existing.items():
        if old.kind not in _PLACE_KINDS and code not in listed:
            old.active = False  # dropped from the list: retired, never deleted (cases name it)
    for item in data["units"]:
        if item["code"] in TERRITORIAL:
            continue  # abstract: resolved to a concrete team, office or station per place
        row = existing.get(item["code"]) or Unit(code=item["code"])
        row.name = item["name"]
        row.kind = item["kind"]
        row.joint_enforcement = item.get("joint_enforcement")
        row.note = item.get("note", "")
        row.active = True
        session.add(row)


def _apply_territory(session: Session, data: dict[str, Any]) -> None:
    streets = {s.code: s for s in session.scalars(select(Street))}
    communities = {c.code: c for c in session.scalars(select(Community))}
    grids = {g.code: g for g in session.scalars(select(Grid))}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.kind.in_(_PLACE_KINDS)))}

    seen: set[str] = set()

    def unit(code: str, name: str, kind: str, **where: str | None) -> None:
        seen.add(code)
        row = units.get(code) or Unit(code=code)
        row.name, row.kind, row.active = name, kind, True
        row.street_code = where.get("street")
        row.community_code = where.get("community")
        row.grid_code = where.get("grid")
        session.add(row)

    for s in data["streets"]:
        street = streets.get(s["code"]) or Street(code=s["code"])
        street.name, street.kind, street.office = s["name"], s["kind"], s["office"]
        session.add(street)
        session.flush()
        unit(f"STREET-{s['code']}", s["office"], "street_office", street=s["code"])
        for c in s["communities"]:
            comm = communities.get(c["code"]) or Community(code=c["code"])
            comm.street_code = s["code"]
            comm.name, comm.station = c["name"], c["station"]
            comm.roads, comm.landmarks = list(c.get("roads", [])), list(c.get("landmarks", []))
            session.add(comm)
            session.flush()
            unit(f"COMMUNITY-{c['code']}", c["station"], "community_station", street=s["code"], community=c["code"])
            for g in c["grids"]:
                grid = grids.get(g["code"]) or Grid(code=g["code"])
                lons = [p[0] for p in g["polygon"]]
                lats = [p[1] for p in g["polygon"]]
                grid.community_code = c["code"]
                grid.name = g["name"]
                grid.polygon = [list(p) for p in g["polygon"]]
                grid.min_lon, grid.max_lon = min(lons), max(lons)
                grid.min_lat, grid.max_lat = min(lats), max(lats)
                grid.details = {k: v for k, v in g.items() if k not in {"code", "name", "polygon", "staff"}}
                session.add(grid)
                session.flush()
                unit(
                    f"GRID-{g['code']}",
                    f"{g['name']}综管队",
                    "grid_team",
                    street=s["code"],
                    community=c["code"],
                    grid=g["code"],
                )
                for old in session.scalars(select(GridStaff).where(GridStaff.grid_code == g["code"])):
                    session.delete(old)
                for person in g.get("staff", []):
                    session.add(
                        GridStaff(grid_code=g["code"], name=person["name"], role=person["role"], phone=person["phone"])
                    )
    for code, row in units.items():
        if code not in seen:
            row.active = False  # its place is no longer in the territory: retired, never deleted


_PLACE_KINDS = ("street_office", "community_station", "grid_team")


def _apply_care_groups(session: Session, data: dict[str, Any]) -> None:
    existing = {g.code: g for g in session.scalars(select(CareGroup))}
    for item in data["groups"]:
        row = existing.get(item["code"]) or CareGroup(code=item["code"])
        row.name, row.english = item["name"], item["english"]
        row.interval_days, row.window_open_days = int(item["interval_days"]), int(item["window_open_days"])
        row.note = item.get("note", "")
        session.add(row)


def _apply_calendar(session: Session, data: dict[str, Any]) -> None:
    base = {k: v for k, v in data.items() if k != "years"}
    _set_meta(session, "calendar.base", json.dumps(base, ensure_ascii=False))
    existing = {y.year: y for y in session.scalars(select(CalendarYear))}
    for year_text, lists in data.get("years", {}).items():
        year = int(year_text)
        row = existing.get(year)
        if row is not None and row.source != "resources":
            continue  # an administrator edited this year: the shipped list does not overwrite it
        row = row or CalendarYear(year=year)
        row.holidays = sorted(lists.get("holidays", []))
        row.workdays = sorted(lists.get("workdays", []))
        row.source = "resources"
        session.add(row)


def _set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


# Order matters: units before territory (territorial units reference places), calendar anywhere.
FILES: list[tuple[str, Callable[[Session, Any], None]]] = [
    ("catalogue.json", _apply_catalogue),
    ("units.json", _apply_units),
    ("territory.json", _apply_territory),
    ("care_groups.json", _apply_care_groups),
    ("calendar.json", _apply_calendar),
]


def sync(session: Session, force: bool = False, load: Callable[[str], Any] = _load) -> list[str]:
    """Apply every shipped reference file that changed since it was last applied.

    Args:
        session: the write session.
        force: apply every file even when unchanged.
        load: reads one file by name (tests hand in edited versions).

    Returns:
        The names of the files applied.
    """
    applied = []
    for name, apply in FILES:
        if load is _load:
            stat = resource_path(name).stat()
            data, fp = _shipped(name, stat.st_mtime_ns, stat.st_size)
        else:
            data = load(name)
            fp = _fingerprint(data)
        key = f"refdata.{name}"
        row = session.get(Meta, key)
        if not force and row is not None and row.value == fp:
            continue
        apply(session, data)
        session.flush()
        _set_meta(session, key, fp)
        applied.append(name)
    return applied
