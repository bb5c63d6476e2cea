"""Evaluation (考核) and the headline figures: every indicator defined once, read from the summaries.

An indicator is a count of one summary counter, or a rate of two, over a period of local days, for
one dimension (the centre, units, grids, communities, streets, categories, channels, reporters). The
README gives each formula. ``overdue`` is the one indicator of a moment rather than a period: the
running cases whose deadline has passed, read from ``stat_open`` plus today's cases.

Everything here reads ``stat_days`` and ``stat_open`` only (and today's few cases for "overdue now"),
so a month's evaluation costs the same at a thousand cases as at a million. ``naive_evaluation``
computes the period's state counters straight from the cases table, for the benchmark and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workstation.domain.channels import CHANNELS
from workstation.domain.lifecycle import N_, RUNNING
from workstation.models import Case, Category, Community, Grid, Street, Unit, utcnow
from workstation.models.stats import COUNTERS, StatDay, StatOpen
from workstation.services.stats import OPEN_TOTAL, day_start, local_day


@dataclass(frozen=True)
class Indicator:
    """One indicator: a counter, a rate of two counters, or the overdue count of the moment."""

    id: str
    name: str  # N_() source; tr() where shown
    numerator: str  # a counter of stat_days, or "overdue"
    denominator: str | None = None  # a rate when set
    subtract: str | None = None  # numerator is (numerator - subtract), e.g. valid reports
    formula: str = ""  # as in the README

    @property
    def is_rate(self) -> bool:
        """Whether this is a rate (a share in 0..1, or None when nothing to divide by)."""
        return self.denominator is not None

    def value(self, counts: Mapping[str, int]) -> float | int | None:
        """The indicator from summed counters (rates: None when the denominator is 0)."""
        top = counts.get(self.numerator, 0) - (counts.get(self.subtract, 0) if self.subtract else 0)
        if self.denominator is None:
            return top
        below = counts.get(self.denominator, 0)
        return top / below if below else None


def _i(*args: Any, **kwargs: Any) -> Indicator:
    return Indicator(*args, **kwargs)


INDICATORS: dict[str, Indicator] = {
    i.id: i
    for i in [
        _i("reported", N_("Cases reported"), "reported", formula="cases received in the period"),
        _i("filed", N_("Cases filed"), "filed", formula="cases filed (立案) in the period"),
        _i("closed", N_("Cases closed"), "closed", formula="cases closed (结案) in the period"),
        _i("rejected", N_("Reports rejected"), "rejected", formula="reports rejected in the period"),
        _i(
            "closure_rate",
            N_("Closure rate"),
            "closed_of_filed",
            "filed",
            formula="cases filed in the period and closed by now ÷ cases filed in the period",
        ),
        _i(
            "on_time_rate",
            N_("On-time rate"),
            "closed_on_time",
            "closed",
            formula="cases closed in the period whose result came by the deadline ÷ cases closed in the period",
        ),
        _i("overdue", N_("Overdue now"), "overdue", formula="running cases whose deadline has passed, now"),
        _i("received", N_("Cases received"), "dispatched", formula="cases dispatched to the unit in the period"),
        _i("handled", N_("Handled"), "handled", formula="results reported by the unit in the period"),
        _i(
            "handled_on_time",
            N_("Handled on time"),
            "handled_on_time",
            formula="results reported in the period by the deadline in force",
        ),
        _i(
            "unit_on_time_rate",
            N_("On-time rate"),
            "handled_on_time",
            "handled",
            formula="results by the deadline ÷ results reported in the period",
        ),
        _i(
            "handling_rate",
            N_("Handling rate"),
            "handled",
            "dispatched",
            formula="results reported in the period ÷ cases received in the period",
        ),
        _i(
            "rework_rate",
            N_("Rework rate"),
            "reworked",
            "handled",
            formula="results sent back for rework in the period ÷ results reported in the period",
        ),
        _i("returned", N_("Returned"), "returned", formula="cases the unit returned as not theirs in the period"),
        _i("extensions", N_("Extensions"), "extensions", formula="extension requests by the unit in the period"),
        _i("suspended", N_("Suspended"), "suspended", formula="cases suspended (挂账) in the period"),
        _i("reopened", N_("Reopened"), "reopened", formula="rejected or merged reports reopened in the period"),
        _i(
            "valid_rate",
            N_("Valid-report rate"),
            "reported",
            "reported",
            subtract="rejected",
            formula="(reports − reports rejected) ÷ reports, reports received in the period",
        ),
        _i("verified", N_("Verifications"), "verified", formula="verdicts on site (closed or rework) in the period"),
        _i(
            "verified_on_time",
            N_("Verified on time"),
            "verified_on_time",
            formula="verdicts within 24 hours of the request to verify",
        ),
    ]
}

HEADLINE = ("reported", "filed", "closed", "closure_rate", "on_time_rate", "overdue")
TABLES: dict[str, tuple[str, ...]] = {
    "unit": (
        "received",
        "handled_on_time",
        "unit_on_time_rate",
        "handling_rate",
        "rework_rate",
        "returned",
        "extensions",
        "overdue",
    ),
    "street": ("reported", "filed", "closed", "closure_rate"),
    "community": ("reported", "filed", "closed", "closure_rate"),
    "grid": ("reported", "filed", "closed", "closure_rate"),
    "reporter": ("reported", "valid_rate", "verified", "verified_on_time"),
    "category": ("filed", "closed", "closure_rate"),
    "channel": ("reported", "filed", "rejected"),
}
DIM_NAMES = {
    "unit": N_("Units"),
    "street": N_("Streets"),
    "community": N_("Communities"),
    "grid": N_("Grids"),
    "reporter": N_("Reporters"),
    "category": N_("Categories"),
    "channel": N_("Channels"),
}


@dataclass(frozen=True)
class Period:
    """Local days ``start`` (inclusive) to ``end`` (exclusive)."""

    start: date
    end: date

    @classmethod
    def month(cls, text: str) -> Period:
        """``YYYY-MM`` as a period.

        Raises:
            ValueError: not a month.
        """
        year, month = (int(p) for p in text.split("-"))
        first = date(year, month, 1)
        return cls(first, date(year + (month == 12), month % 12 + 1, 1))

    @classmethod
    def named(cls, name: str, now: datetime | None = None) -> Period:
        """``today``, ``month``, ``year`` or ``all`` (since launch), relative to now."""
        today = date.fromisoformat(local_day(now or utcnow()))
        tomorrow = today + timedelta(days=1)
        if name == "today":
            return cls(today, tomorrow)
        if name == "month":
            return cls(today.replace(day=1), tomorrow)
        if name == "year":
            return cls(today.replace(month=1, day=1), tomorrow)
        return cls(date(1970, 1, 1), tomorrow)

    @property
    def label(self) -> str:
        """``YYYY-MM-DD – YYYY-MM-DD`` (the last day included)."""
        return f"{self.start.isoformat()} – {(self.end - timedelta(days=1)).isoformat()}"

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as instants."""
        return day_start(self.start), day_start(self.end)


@dataclass
class Row:
    """One key of a dimension: its name, summed counters and indicators."""

    key: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    def value(self, indicator: str) -> float | int | None:
        """An indicator of this row."""
        return INDICATORS[indicator].value(self.counts)


def sums(s: Session, dim: str, period: Period, key: str | None = None) -> dict[str, dict[str, int]]:
    """Summed counters per key of a dimension over a period, from ``stat_days``."""
    query = select(StatDay.key, *[func.sum(getattr(StatDay, c)) for c in COUNTERS]).where(
        StatDay.dim == dim, StatDay.day >= period.start.isoformat(), StatDay.day < period.end.isoformat()
    )
    if key is not None:
        query = query.where(StatDay.key == key)
    out: dict[str, dict[str, int]] = {}
    for row in s.execute(query.group_by(StatDay.key)):
        out[row[0]] = {c: int(v or 0) for c, v in zip(COUNTERS, row[1:], strict=True)}
    return out


def sums_by_day(s: Session, dim: str, days: Sequence[date], counter: str = "reported") -> dict[tuple[str, str], int]:
    """One counter per (day, key) of a dimension on some days (e.g. arrivals per hour today and a week ago)."""
    column = getattr(StatDay, counter)
    rows = s.execute(
        select(StatDay.day, StatDay.key, column).where(
            StatDay.dim == dim, StatDay.day.in_([d.isoformat() for d in days])
        )
    )
    return {(day, key): int(n) for day, key, n in rows}


_CASE_COLUMN = {"unit": Case.unit_code, "grid": Case.grid_code}
_RUNNING = sorted(s.value for s in RUNNING)


def overdue(s: Session, dim: str = "all", now: datetime | None = None) -> dict[str, int]:
    """Running cases past their deadline now, per key (``all``: key ''), without a scan of the cases.

    Overdue = running cases in all (``stat_open``'s totals) − those due today or later (a few rows of
    ``stat_open``) + today's deadlines already passed (a narrow range of the status-and-deadline index).
    """
    now = now or utcnow()
    today = local_day(now)
    out = open_cases(s, dim)
    for key, n in s.execute(
        select(StatOpen.key, func.sum(StatOpen.n))
        .where(StatOpen.dim == dim, StatOpen.due >= today)
        .group_by(StatOpen.key)
    ):
        out[key] = out.get(key, 0) - int(n or 0)
    start = day_start(date.fromisoformat(today))
    column = _CASE_COLUMN.get(dim)
    cond = [Case.status.in_(_RUNNING), Case.deadline_at >= start, Case.deadline_at < now]
    if column is None:
        n = int(s.scalar(select(func.count()).select_from(Case).where(*cond)) or 0)
        out[""] = out.get("", 0) + n
    else:
        for found, n in s.execute(select(column, func.count()).where(*cond).group_by(column)):
            if found:
                out[found] = out.get(found, 0) + int(n)
    return {k: n for k, n in out.items() if n}


def open_cases(s: Session, dim: str = "all") -> dict[str, int]:
    """Running cases per key, whatever their deadline (``stat_open``'s totals)."""
    rows = s.execute(select(StatOpen.key, StatOpen.n).where(StatOpen.dim == dim, StatOpen.due == OPEN_TOTAL))
    return {k: int(n) for k, n in rows if n}


def names(s: Session, dim: str) -> dict[str, str]:
    """Display names of a dimension's keys."""
    if dim == "unit":
        return {k: v for k, v in s.execute(select(Unit.code, Unit.name))}
    if dim == "grid":
        return {k: v for k, v in s.execute(select(Grid.code, Grid.name))}
    if dim == "community":
        return {k: v for k, v in s.execute(select(Community.code, Community.name))}
    if dim == "street":
        return {k: v for k, v in s.execute(select(Street.code, Street.name))}
    if dim == "channel":
        return dict(CHANNELS)
    if dim == "category":
        return {k: v for k, v in s.execute(select(Category.code, Category.name))}
    return {}


def table(
    s: Session, dim: str, period: Period, now: datetime | None = None, late: Mapping[str, int] | None = None
) -> list[Row]:
    """The evaluation of every key of a dimension over a period, most reports (or cases) first.

    ``late``: the dimension's overdue counts when the caller has them already.
    """
    counted = sums(s, dim, period)
    if "overdue" in TABLES.get(dim, ()):
        for key, n in (overdue(s, dim, now) if late is None else late).items():
            counted.setdefault(key, dict.fromkeys(COUNTERS, 0))["overdue"] = n
    label = names(s, dim)
    rows = [Row(k, label.get(k, k), c) for k, c in counted.items() if any(c.values())]
    first = TABLES.get(dim, ("reported",))[0]
    rows.sort(key=lambda r: (-(r.value(first) or 0), r.key))
    return rows


def headline(s: Session, period: Period, now: datetime | None = None) -> Row:
    """The centre's figures over a period, with the overdue count of the moment."""
    counts = sums(s, "all", period).get("", dict.fromkeys(COUNTERS, 0))
    counts["overdue"] = overdue(s, "all", now).get("", 0)
    return Row("", "", counts)


@dataclass
class Evaluation:
    """A period's headline figures and its tables per dimension."""

    period: Period
    headline: Row
    tables: dict[str, list[Row]]


def evaluate(
    s: Session, period: Period, dims: Sequence[str] = tuple(TABLES), now: datetime | None = None
) -> Evaluation:
    """A period's evaluation: headline and every dimension's table."""
    return Evaluation(period, headline(s, period, now), {d: table(s, d, period, now) for d in dims})


def naive_evaluation(s: Session, period: Period) -> dict[str, dict[str, int]]:
    """The period's state counters per unit straight from the cases table (the benchmark's baseline).

    Returns:
        unit code → {dispatched, handled, handled_on_time, closed}.
    """
    start, end = period.bounds()
    out: dict[str, dict[str, int]] = {}

    def add(name: str, column: Any, *extra: Any) -> None:
        query = select(Case.unit_code, func.count()).where(column >= start, column < end, Case.unit_code.isnot(None))
        for key, n in s.execute(query.where(*extra).group_by(Case.unit_code)):
            out.setdefault(str(key), {})[name] = int(n)

    add("dispatched", Case.dispatched_at)
    add("handled", Case.handled_at)
    add("handled_on_time", Case.handled_at, Case.handled_at <= Case.deadline_at)
    add("closed", Case.closed_at, Case.status == "closed")
    return out
