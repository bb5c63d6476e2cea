"""Repeat complaints: the same kind of problem at the same place, again and again, goes to the 4+X team.

The rule: a case is a **repeat** when, counting itself, at least ``REPEAT_COUNT`` (3) reports of the
same category came from the same place within ``REPEAT_DAYS`` (30) days. The same place is the same
grid and, when both reports have a point, within ``RADIUS_M`` (150) metres. Rejected reports do not
count; a merged duplicate does not count apart from the case it was merged into. A category is the
filed one (a report not filed yet has none and is not counted).

A repeat case is flagged with the earlier reports, and the joint enforcement team of the '4+X'
mechanism (the unit ``JOINT``: urban management, market supervision, police and traffic police,
plus the other departments the problem needs) is suggested as co-unit. ``hotspots`` lists, for the
shift lead, every place and category with a repeat in the last ``REPEAT_DAYS`` days, most reports
first. The database narrows by received time (and by category and grid for one case), so a call
reads at most a month of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from workstation.domain.geo import distance_m
from workstation.domain.lifecycle import State
from workstation.i18n import tr
from workstation.models import Case, Category, Grid
from workstation.services.errors import NotFoundError
from workstation.storage.db import Database

REPEAT_COUNT = 3
REPEAT_DAYS = 30
RADIUS_M = 150.0
JOINT_UNIT = "JOINT"
_NOT_COUNTED = (State.REJECTED.value, State.MERGED.value)


@dataclass(frozen=True)
class Repeat:
    """A case that repeats earlier complaints: the earlier case ids (oldest first) and why."""

    case_id: int
    earlier: list[int]
    category: str
    reason: str
    unit: str = JOINT_UNIT


@dataclass(frozen=True)
class Hotspot:
    """A place where one kind of problem keeps being reported."""

    grid_code: str
    grid_name: str
    category: str
    category_name: str
    case_ids: list[int]  # oldest first
    first: datetime
    last: datetime

    @property
    def count(self) -> int:
        """How many reports."""
        return len(self.case_ids)


def _same_place(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    if None in a or None in b:
        return True  # the same grid, without points to tell closer
    return distance_m((a[0], a[1]), (b[0], b[1])) <= RADIUS_M  # type: ignore[arg-type]


def repeat_of(db: Database, case_id: int, *, category: str | None = None) -> Repeat | None:
    """Whether the case repeats earlier complaints, and which.

    Args:
        db: the database.
        case_id: the case.
        category: the category to judge by instead of the case's own (one about to be filed).

    Returns:
        The repeat with the earlier cases of the same category and place within ``REPEAT_DAYS``
        days before it, or None when there are fewer than ``REPEAT_COUNT - 1`` of them, or the case
        has no category or no grid.

    Raises:
        NotFoundError: there is no such case.
    """
    with db.read() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFoundError(tr("There is no case {id}.", id=case_id))
        code = category or case.category_code
        if not code or not case.grid_code:
            return None
        rows = s.execute(
            select(Case.id, Case.lon, Case.lat)
            .where(
                Case.category_code == code,
                Case.grid_code == case.grid_code,
                Case.received_at >= case.received_at - timedelta(days=REPEAT_DAYS),
                Case.received_at <= case.received_at,
                Case.id != case.id,
                Case.status.not_in(_NOT_COUNTED),
            )
            .order_by(Case.received_at, Case.id)
        ).all()
        here = (case.lon, case.lat)
        earlier = [cid for cid, lon, lat in rows if _same_place(here, (lon, lat))]
    if len(earlier) + 1 < REPEAT_COUNT:
        return None
    reason = tr(
        "reported {n} times in {days} days at this place ({code}): co-dispatch the 4+X joint team",
        n=len(earlier) + 1,
        days=REPEAT_DAYS,
        code=code,
    )
    return Repeat(case_id, earlier, code, reason)


def hotspots(db: Database, now: datetime, *, days: int = REPEAT_DAYS, min_count: int = REPEAT_COUNT) -> list[Hotspot]:
    """Places where one category was reported at least ``min_count`` times in the last ``days`` days.

    Reports of one grid and category are grouped around their first report (within ``RADIUS_M``
    when points exist). Sorted by count, then the latest report, then grid and category.
    """
    with db.read() as s:
        rows = s.execute(
            select(Case.id, Case.grid_code, Case.category_code, Case.lon, Case.lat, Case.received_at)
            .where(
                Case.received_at >= now - timedelta(days=days),
                Case.received_at <= now,
                Case.category_code.is_not(None),
                Case.grid_code.is_not(None),
                Case.status.not_in(_NOT_COUNTED),
            )
            .order_by(Case.received_at, Case.id)
        ).all()
        grid_names = dict(s.execute(select(Grid.code, Grid.name)).all())
        cat_names = dict(s.execute(select(Category.code, Category.name)).all())
    groups: dict[tuple[str, str], list[list[tuple[int, float | None, float | None, datetime]]]] = {}
    for cid, grid, code, lon, lat, received in rows:
        clusters = groups.setdefault((str(grid), str(code)), [])
        for cluster in clusters:
            _id, lon0, lat0, _at = cluster[0]
            if _same_place((lon0, lat0), (lon, lat)):
                cluster.append((cid, lon, lat, received))
                break
        else:
            clusters.append([(cid, lon, lat, received)])
    spots = [
        Hotspot(
            grid,
            grid_names.get(grid, grid),
            code,
            cat_names.get(code, code),
            [item[0] for item in cluster],
            cluster[0][3],
            cluster[-1][3],
        )
        for (grid, code), clusters in groups.items()
        for cluster in clusters
        if len(cluster) >= min_count
    ]
    spots.sort(key=lambda h: (-h.count, -h.last.timestamp(), h.grid_code, h.category))
    return spots
