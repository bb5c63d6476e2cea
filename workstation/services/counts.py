"""Kept queue counts: read from the bucket table in O(1), folded now and then, proven against a real count.

The triggers of ``storage.count_buckets`` append a ``+1``/``-1`` row per bucket to ``case_count_deltas``
in the transaction of every change of a case. A count is the bucket's folded value in ``case_counts``
plus its pending deltas; :func:`compact` folds the deltas (one seat at a time on PostgreSQL, by an
advisory lock), and :func:`check` compares every bucket with a count of ``cases`` itself (and can
repair it), for ``workstation db check``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, text, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workstation.models import CaseCount, CaseCountDelta
from workstation.services.live_driver import marked
from workstation.storage import count_buckets
from workstation.storage.db import Database

COMPACT_EVERY = 30.0  # seconds between folds tried by one process
_last_compact: dict[str, float] = {}

# which statuses each status queue counts
STATUSES: dict[str, tuple[str, ...]] = {
    "new": ("reported",),
    "returned": ("returned",),
    "verify": ("handled", "verifying"),
}


def overdue_cutoff(now: datetime) -> datetime:
    """The instant overdue is judged at: the start of the current minute (the kept counts' precision)."""
    return now.replace(second=0, microsecond=0)


def _stamps(now: datetime) -> tuple[str, str]:
    utc = now.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H"), utc.strftime("%Y-%m-%d %H:%M")


def _read(s: Session, cond: Any, by_value: bool = False) -> list[tuple[Any, ...]]:
    parts = [select(t.status, t.dim, t.value, t.n).where(cond(t)) for t in (CaseCount, CaseCountDelta)]
    both = union_all(*parts).subquery()
    keys = [both.c.status, both.c.dim] + ([both.c.value] if by_value else [])
    return [tuple(r) for r in s.execute(select(*keys, func.sum(both.c.n)).group_by(*keys)).all()]


def _queue_counts_cond(t: Any) -> ColumnElement[bool]:
    hour: Any = bindparam("hour")
    minute: Any = bindparam("minute")
    return or_(
        t.dim == "",
        and_(t.dim == "actor", t.value == bindparam("actor")),
        and_(t.dim == "due_h", t.value < hour),
        and_(t.dim == "due_m", t.value >= hour, t.value < minute),
    )


_QUEUE_COUNTS: list[Any] = []  # the statement, built once (every live change runs it)


def queue_counts(s: Session, actor: str, now: datetime) -> dict[str, int]:
    """The count of every queue (new, returned, to verify, overdue, mine, all) from the kept buckets."""
    hour, minute = _stamps(overdue_cutoff(now))
    if not _QUEUE_COUNTS:
        parts = [
            select(t.status, t.dim, t.value, t.n).where(_queue_counts_cond(t)) for t in (CaseCount, CaseCountDelta)
        ]
        both = union_all(*parts).subquery()
        statement = select(both.c.status, both.c.dim, func.sum(both.c.n)).group_by(both.c.status, both.c.dim)
        _QUEUE_COUNTS.append(marked(statement))  # the live thread runs it on the driver (services.live_driver)
    rows = s.execute(_QUEUE_COUNTS[0], {"actor": actor, "hour": hour, "minute": minute}).all()

    by_status: dict[str, int] = {}
    mine = overdue = 0
    for status, dim, n in rows:
        n = int(n or 0)
        if dim == "":
            by_status[status] = by_status.get(status, 0) + n
        elif dim == "actor":
            mine += n
        else:
            overdue += n
    out = {q: sum(by_status.get(st, 0) for st in sts) for q, sts in STATUSES.items()}
    out.update(overdue=overdue, mine=mine, all=sum(by_status.values()))
    return out


def filter_count(s: Session, queue: str, dims: dict[str, str], actor: str, now: datetime) -> int | None:
    """The kept count of a queue narrowed by at most one filter (a category prefix included).

    Returns None when the counts do not keep this combination (two filters at once, or overdue and
    mine narrowed by a filter): the caller counts the cases instead.
    """
    if not dims:
        return queue_counts(s, actor, now)[queue] if queue in ("overdue", "mine", "all", *STATUSES) else None
    if len(dims) > 1 or queue not in ("all", *STATUSES):
        return None
    ((dim, value),) = dims.items()

    def cond(t: Any) -> ColumnElement[bool]:
        by_value = (
            and_(t.value >= value, t.value < value + "\uffff")
            if dim == "category" and len(value) < 4
            else t.value == value
        )
        narrowed = and_(t.dim == dim, by_value)
        if queue == "all":
            return and_(narrowed, t.status != "")
        return and_(narrowed, t.status.in_(STATUSES[queue]))

    return sum(int(n or 0) for _, _, n in _read(s, cond))


def compact(db: Database) -> int:
    """Fold the pending deltas into one row per bucket; returns how many delta rows were folded.

    On PostgreSQL only one process folds at a time (the others return 0 at once); writers are never
    blocked: they only append deltas, and rows committed during the fold stay for the next one.
    """
    with db.write() as s:
        if db.dialect == "postgresql":  # the owner's function: a seat role may not write counts itself
            return int(s.scalar(text("SELECT case_counts_fold()")) or 0)
        pending = int(s.scalar(select(func.count()).select_from(CaseCountDelta)) or 0)
        if pending:
            s.execute(
                text(
                    "INSERT INTO case_counts (status, dim, value, n) "
                    "SELECT status, dim, value, sum(n) FROM case_count_deltas WHERE true GROUP BY status, dim, value "
                    "ON CONFLICT (dim, value, status) DO UPDATE SET n = n + excluded.n"
                )
            )
            s.execute(text("DELETE FROM case_count_deltas"))
        return pending


def compact_if_due(db: Database, every: float = COMPACT_EVERY) -> int:
    """:func:`compact`, at most once per ``every`` seconds in this process."""
    now = time.monotonic()
    if now - _last_compact.get(db.url, 0.0) < every:
        return 0
    _last_compact[db.url] = now
    return compact(db)


@dataclass(frozen=True)
class Mismatch:
    """A bucket whose kept count differs from the real count of cases."""

    status: str
    dim: str
    value: str
    kept: int
    real: int


def _mismatch_sql(dialect: str) -> str:
    return (
        "SELECT status, dim, value, sum(kept), sum(actual) FROM ("
        "SELECT status, dim, value, n AS kept, 0 AS actual FROM case_counts "
        "UNION ALL SELECT status, dim, value, n, 0 FROM case_count_deltas "
        f"UNION ALL SELECT status, dim, value, 0, n FROM ({count_buckets.truth_sql(dialect)}) AS truth"
        ") AS every_bucket GROUP BY status, dim, value HAVING sum(kept) <> sum(actual) "
        "ORDER BY dim, value, status"
    )


def check(db: Database, repair: bool = False) -> list[Mismatch]:
    """Compare every kept count with a real count of the cases (one statement, one snapshot).

    Args:
        db: the database.
        repair: also replace the kept counts by the real ones (writers wait meanwhile, so nothing is
            lost between the count and the replacement).

    Returns:
        The buckets that differed (before any repair).
    """
    dialect = db.dialect
    with db.write() as s:
        if repair and dialect == "postgresql":
            s.execute(text("LOCK TABLE cases IN SHARE MODE"))  # writers wait; readers go on
        found = [
            Mismatch(str(a), str(b), str(c), int(d or 0), int(e or 0))
            for a, b, c, d, e in s.execute(text(_mismatch_sql(dialect))).all()
        ]
        if repair:
            s.execute(text("DELETE FROM case_count_deltas"))
            s.execute(text("DELETE FROM case_counts"))
            s.execute(
                text(
                    "INSERT INTO case_counts (status, dim, value, n) "
                    f"SELECT status, dim, value, n FROM ({count_buckets.truth_sql(dialect)}) AS truth"
                )
            )
    return found
