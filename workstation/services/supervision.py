"""The supervision figures a shift lead or the director watches, each with the cases behind it.

``figures`` reads everything one screen shows in one read transaction, from the summaries (never a
scan of the cases): the headline per period, arrivals per hour today against the same weekday last
week, the queue depths, overdue by unit, the channel mix, the commonest categories, care visits due
and overdue by community, and the latest arrivals. Each number comes with the queue filter that lists
its cases (``Figure.drill``), so the window drills down through the ordinary queue view.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.channels import CHANNELS
from workstation.domain.lifecycle import N_
from workstation.models import CarePerson, Case, Community, utcnow
from workstation.services import evaluation as ev
from workstation.services import queue as q
from workstation.services.stats import TZ, day_start, local_day
from workstation.storage.db import Database

PERIODS: dict[str, str] = {
    "today": N_("Today"),
    "month": N_("This month"),
    "year": N_("This year"),
    "all": N_("Since launch"),
}
LATEST = 12


@dataclass(frozen=True)
class Figure:
    """One number on the screen and the cases behind it (None: not cases, e.g. care visits)."""

    value: float | int | None
    indicator: str = ""
    drill: q.QueueFilter | None = None

    def text(self) -> str:
        """The number as shown."""
        if self.value is None:
            return "—"
        if self.indicator and ev.INDICATORS[self.indicator].is_rate:
            return f"{self.value * 100:.1f}%"
        return f"{int(self.value):,}"


@dataclass
class Figures:
    """Everything the supervision window and the wall show, read at ``at``."""

    at: datetime
    headline: dict[str, dict[str, Figure]] = field(default_factory=dict)  # period → indicator → figure
    arrivals: list[tuple[int, Figure, Figure]] = field(default_factory=list)  # hour, today, last week
    queues: list[tuple[str, Figure]] = field(default_factory=list)
    overdue_units: list[tuple[str, Figure]] = field(default_factory=list)
    channels: list[tuple[str, Figure, Figure]] = field(default_factory=list)  # today, this month
    categories: list[tuple[str, Figure]] = field(default_factory=list)
    care: list[tuple[str, Figure, Figure]] = field(default_factory=list)  # due, overdue
    latest: list[dict[str, Any]] = field(default_factory=list)
    units: list[ev.Row] = field(default_factory=list)  # the units' evaluation this month
    grids: dict[str, dict[str, float]] = field(default_factory=dict)  # map measure → grid code → value
    points: list[tuple[float, float]] = field(default_factory=list)  # today's arrivals with a place


MEASURES: dict[str, str] = {
    "open": N_("Open cases"),
    "overdue": N_("Overdue now"),
    "density": N_("Reports per km² this month"),
    "hot": N_("Repeat hot spots: reports of repeated complaints, last 30 days"),
}


def drill_for(indicator: str, period: ev.Period, **narrow: Any) -> q.QueueFilter:
    """The queue filter listing the cases behind an indicator of a period."""
    start, end = period.bounds()
    base = q.QueueFilter(queue="all", **narrow)
    if indicator == "overdue":
        return q.QueueFilter(queue="overdue", **narrow)
    if indicator in ("received", "returned", "extensions"):  # actions: the unit's cases received in the period
        return base.with_(when=("dispatched_at", start, end))
    if indicator in ("handled", "handled_on_time", "unit_on_time_rate", "handling_rate", "rework_rate"):
        return base.with_(when=("handled_at", start, end))
    if indicator in ("filed", "closure_rate"):
        return base.with_(when=("filed_at", start, end))
    if indicator in ("closed", "on_time_rate"):
        return base.with_(when=("closed_at", start, end), states=("closed",))
    if indicator == "rejected":
        return base.with_(when=("received_at", start, end), states=("rejected",))
    return base.with_(when=("received_at", start, end))


def _headline(s: Session, now: datetime) -> dict[str, dict[str, Figure]]:
    overdue = ev.overdue(s, "all", now).get("", 0)
    out: dict[str, dict[str, Figure]] = {}
    for name in PERIODS:
        period = ev.Period.named(name, now)
        counts = ev.sums(s, "all", period).get("", {})
        counts["overdue"] = overdue
        out[name] = {
            i: Figure(ev.INDICATORS[i].value(counts), i, drill_for(i, period).with_(title=f"{name}:{i}"))
            for i in ev.HEADLINE
        }
    return out


def _arrivals(s: Session, now: datetime) -> list[tuple[int, Figure, Figure]]:
    today = date.fromisoformat(local_day(now))
    week_ago = today - timedelta(days=7)
    rows = ev.sums_by_day(s, "hour", [today, week_ago])
    out = []
    for hour in range(24):
        key = f"{hour:02d}"
        figures = []
        for day in (today, week_ago):
            start = day_start(day) + timedelta(hours=hour)
            flt = q.QueueFilter(queue="all", when=("received_at", start, start + timedelta(hours=1)))
            figures.append(Figure(rows.get((day.isoformat(), key), 0), "reported", flt))
        out.append((hour, figures[0], figures[1]))
    return out


def _care(s: Session, now: datetime) -> list[tuple[str, Figure, Figure]]:
    from workstation.domain.care import Status
    from workstation.services.care_worklist import load_facts, open_campaigns, schedule_of

    names = {code: name for code, name in s.execute(select(Community.code, Community.name))}
    facts = load_facts(s, [CarePerson.active.is_(True)])
    campaigns = open_campaigns(s)
    due: dict[str, int] = {}
    late: dict[str, int] = {}
    for f in facts.values():
        sched = schedule_of(f, campaigns, now, TZ)
        if sched is None:
            continue
        code = f.person.community_code
        if sched.status == Status.DUE:
            due[code] = due.get(code, 0) + 1
        elif sched.status == Status.OVERDUE:
            late[code] = late.get(code, 0) + 1
    codes = sorted(set(due) | set(late), key=lambda c: (-late.get(c, 0), -due.get(c, 0), c))
    return [(names.get(c, c), Figure(due.get(c, 0)), Figure(late.get(c, 0))) for c in codes]


def _latest(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(
        select(Case.id, Case.received_at, Case.channel, Case.grid_code, Case.category_name, Case.status, Case.priority)
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(LATEST)
    ).all()
    grids = ev.names(s, "grid") if rows else {}
    return [
        {
            "id": r.id,
            "received": r.received_at.astimezone(TZ),
            "channel": CHANNELS.get(r.channel, r.channel),
            "grid": grids.get(r.grid_code or "", r.grid_code or ""),
            "category": r.category_name or "",
            "status": r.status,
            "urgent": r.priority == 1,
        }
        for r in rows
    ]


def _grids(s: Session, now: datetime) -> dict[str, dict[str, float]]:
    month = ev.Period.named("month", now)
    return {
        "open": {k: float(n) for k, n in ev.open_cases(s, "grid").items()},
        "overdue": {k: float(n) for k, n in ev.overdue(s, "grid", now).items()},
        "density": {k: float(c.get("reported", 0)) for k, c in ev.sums(s, "grid", month).items()},
    }


HOT_TTL_S = 60.0  # hot spots change by the day: the map's measure is recomputed at most once a minute
_hot_cache: dict[str, tuple[float, dict[str, float]]] = {}


def _hot_grids(db: Database, now: datetime) -> dict[str, float]:
    """Per grid, how many reports belong to repeat complaints (the 4+X rule of ``assist.hotspots``)."""
    from workstation.assist.hotspots import hotspots

    key = db.url
    cached = _hot_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < HOT_TTL_S:
        return cached[1]
    by_grid: dict[str, float] = {}
    for spot in hotspots(db, now):
        by_grid[spot.grid_code] = by_grid.get(spot.grid_code, 0.0) + spot.count
    _hot_cache[key] = (time.monotonic(), by_grid)
    return by_grid


def _points(s: Session, now: datetime, limit: int = 2000) -> list[tuple[float, float]]:
    start = day_start(date.fromisoformat(local_day(now)))
    rows = s.execute(
        select(Case.lon, Case.lat)
        .where(Case.received_at >= start, Case.lon.isnot(None))
        .order_by(Case.received_at.desc())
        .limit(limit)
    )
    return [(float(lon), float(lat)) for lon, lat in rows if lon is not None and lat is not None]


def figures(db: Database, actor: str, now: datetime | None = None, *, care: bool = True, hot: bool = True) -> Figures:
    """Read every figure of the supervision window at once (one read transaction).

    Args:
        db: the database.
        actor: the user looking (for the queue "mine").
        now: the instant (default: the clock's).
        care: include the care visits by community (a roster scan; the wall leaves it out).
        hot: include the map's repeat hot spots (a scan of 30 days' cases, kept a minute).
    """
    now = now or utcnow()
    month = ev.Period.named("month", now)
    today = ev.Period.named("today", now)
    out = Figures(now)
    with db.read() as s:
        out.headline = _headline(s, now)
        out.arrivals = _arrivals(s, now)
        states = ev.open_cases(s, "status")
        counts = {
            "new": states.get("reported", 0),
            "returned": states.get("returned", 0),
            "verify": states.get("handled", 0) + states.get("verifying", 0),
            "overdue": out.headline["today"]["overdue"].value or 0,
            "mine": q.count(s, q.QueueFilter(queue="mine", actor=actor), now),
            "all": sum(states.values()),
        }
        out.queues = [(k, Figure(counts[k], drill=q.QueueFilter(queue=k, actor=actor))) for k in q.QUEUES]
        units = ev.names(s, "unit")
        late = ev.overdue(s, "unit", now)
        overdue = sorted(late.items(), key=lambda kv: (-kv[1], kv[0]))
        out.overdue_units = [
            (units.get(k, k), Figure(n, "overdue", q.QueueFilter(queue="overdue", unit=k))) for k, n in overdue
        ]
        by_day = ev.sums(s, "channel", today)
        by_month = ev.sums(s, "channel", month)
        out.channels = [
            (
                CHANNELS.get(k, k),
                Figure(by_day.get(k, {}).get("reported", 0), "reported", drill_for("reported", today, channel=k)),
                Figure(c.get("reported", 0), "reported", drill_for("reported", month, channel=k)),
            )
            for k, c in sorted(by_month.items(), key=lambda kv: -kv[1].get("reported", 0))
        ]
        cats = ev.names(s, "category")
        top = sorted(ev.sums(s, "category", month).items(), key=lambda kv: (-kv[1].get("filed", 0), kv[0]))[:10]
        out.categories = [
            (f"{k} {cats.get(k, '')}", Figure(c.get("filed", 0), "filed", drill_for("filed", month, category=k)))
            for k, c in top
            if c.get("filed")
        ]
        if care:
            out.care = _care(s, now)
        out.latest = _latest(s)
        out.grids = _grids(s, now)
        out.units = ev.table(s, "unit", month, now, late)
        out.points = _points(s, now)
    if hot:  # its own read, at most once a minute; the window asks only while the map shows
        out.grids["hot"] = _hot_grids(db, now)
    return out


def units_table(db: Database, period: ev.Period, now: datetime | None = None) -> list[ev.Row]:
    """The units' evaluation over a period (the supervision window's evaluation view)."""
    with db.read() as s:
        return ev.table(s, "unit", period, now)
