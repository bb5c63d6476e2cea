"""The operator queues as SQL: which cases each queue holds, in which order, page by page.

Every queue sorts and filters on indexed columns. Pages are read by keyset (``after`` the last key
of the previous page) or, for a jump into the middle, by offset. Counts come from the kept bucket
counts (``services.counts``) whenever they hold the filter, so no seat recounts a million cases; the
rest (a search, two filters at once) is counted in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workstation.domain.lifecycle import N_, RUNNING
from workstation.models import Case, CaseLease, utcnow
from workstation.services import counts as kept
from workstation.services.counts import overdue_cutoff
from workstation.services.live_driver import marked
from workstation.services.search import case_search, starts_with

QUEUES: dict[str, str] = {
    "new": N_("New"),
    "returned": N_("Returned"),
    "verify": N_("To verify"),
    "overdue": N_("Overdue"),
    "mine": N_("My recent"),
    "all": N_("All cases"),
}
_RUNNING = sorted(s.value for s in RUNNING)
DRILL_TIMES = frozenset({"received_at", "filed_at", "dispatched_at", "handled_at", "closed_at"})


@dataclass(frozen=True)
class QueueFilter:
    """What a queue view shows: the queue, a search text, and optional narrowing filters."""

    queue: str = "new"
    search: str = ""
    channel: str | None = None
    category: str | None = None  # a code or a code prefix (major category)
    grid: str | None = None
    community: str | None = None
    street: str | None = None
    actor: str = ""  # the signed-in user, for "mine"
    extra_status: tuple[str, ...] = field(default_factory=tuple)
    # A drill-down from a supervision figure: the unit, a period on one of the case's times, the states.
    unit: str | None = None
    when: tuple[str, datetime, datetime] | None = None
    states: tuple[str, ...] = ()
    title: str = ""

    def with_(self, **changes: Any) -> QueueFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The filter as saved (without the actor)."""
        skip = ("actor", "extra_status", "when", "title", "states")
        return {k: v for k, v in self.__dict__.items() if k not in skip and v}


def _order(queue: str) -> list[Any]:
    if queue == "mine":
        return [Case.last_action_at.desc(), Case.id.desc()]
    if queue == "overdue":
        return [Case.deadline_at.asc(), Case.id.asc()]
    if queue == "all":
        return [Case.received_at.desc(), Case.id.desc()]
    return [Case.priority.asc(), Case.received_at.asc(), Case.id.asc()]


def _where(f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if f.queue == "new":
        cond.append(Case.status == "reported")
    elif f.queue == "returned":
        cond.append(Case.status == "returned")
    elif f.queue == "verify":
        cond.append(Case.status.in_(["handled", "verifying"]))
    elif f.queue == "overdue":
        cond += [Case.status.in_(_RUNNING), Case.deadline_at < overdue_cutoff(now)]
    elif f.queue == "mine":
        cond.append(Case.last_actor == f.actor)
    if f.channel:
        cond.append(Case.channel == f.channel)
    if f.category:
        cond.append(
            starts_with(Case.category_code, f.category) if len(f.category) < 4 else Case.category_code == f.category
        )
    if f.grid:
        cond.append(Case.grid_code == f.grid)
    if f.community:
        cond.append(Case.community_code == f.community)
    if f.street:
        cond.append(Case.street_code == f.street)
    if f.unit:
        cond.append(Case.unit_code == f.unit)
    if f.states:
        cond.append(Case.status.in_(list(f.states)))
    if f.when is not None:
        column, start, end = f.when
        if column not in DRILL_TIMES:
            raise ValueError(f"not a case time to drill on: {column}")
        cond += [getattr(Case, column) >= start, getattr(Case, column) < end]
    found = case_search(f.search)
    if found is not None:
        cond.append(found)
    return cond


def _key_columns(queue: str) -> list[Any]:
    if queue == "mine":
        return [Case.last_action_at, Case.id]
    if queue == "overdue":
        return [Case.deadline_at, Case.id]
    if queue == "all":
        return [Case.received_at, Case.id]
    return [Case.priority, Case.received_at, Case.id]


_DIMS = {"channel": "channel", "category": "category", "grid": "grid", "community": "community", "street": "street"}


def count(s: Session, f: QueueFilter, now: datetime | None = None) -> int:
    """How many cases the queue holds: the kept count when there is one, else a count in SQL."""
    now = now or utcnow()
    drill = f.unit or f.when or f.states or f.extra_status  # narrowings no kept count knows of
    if case_search(f.search) is None and not drill:
        dims = {dim: str(getattr(f, attr)) for attr, dim in _DIMS.items() if getattr(f, attr)}
        found = kept.filter_count(s, f.queue, dims, f.actor, now)
        if found is not None:
            return found
    return real_count(s, f, now)


def real_count(s: Session, f: QueueFilter, now: datetime | None = None) -> int:
    """How many cases the queue holds, counted over the cases themselves."""
    return int(s.scalar(select(func.count()).select_from(Case).where(*_where(f, now or utcnow()))) or 0)


def page(
    s: Session,
    f: QueueFilter,
    *,
    limit: int,
    offset: int = 0,
    after: Sequence[Any] | None = None,
    from_end: bool = False,
    now: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """One page of (key..., id) tuples in queue order.

    Args:
        s: a read session.
        f: the queue and filters.
        limit: page size.
        offset: rows to skip (for a jump into the middle; ignored with ``after``); with ``from_end``,
            counted from the end.
        after: the key of the last row of the previous page (keyset paging).
        from_end: the last ``limit`` rows (for a jump to the end; before the last ``offset`` rows), still
            returned in queue order.
        now: the instant "overdue" is judged at.
    """
    cols = _key_columns(f.queue)
    order = _order(f.queue)
    query = select(*cols).where(*_where(f, now or utcnow()))
    descending = f.queue in DESCENDING
    if after is not None:
        key = tuple_(*cols)
        query = query.where(key < tuple_(*after) if descending else key > tuple_(*after))
    if from_end:
        reverse = [c.asc() if descending else c.desc() for c in cols]
        rows = s.execute(query.order_by(*reverse).limit(limit).offset(offset)).all()
        return [tuple(r) for r in reversed(rows)]
    rows = s.execute(query.order_by(*order).limit(limit).offset(0 if after is not None else offset)).all()
    return [tuple(r) for r in rows]


def block_keys(
    s: Session, f: QueueFilter, number: int, size: int, total: int, previous: Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    """The keys of rows ``number * size`` onwards (one block of a lazily read queue of ``total`` rows).

    The block after a full ``previous`` one is read by keyset; any other block by offset from the
    nearer end, so a jump to the end of a million cases reads from the end.
    """
    start = number * size
    limit = min(size, total - start)
    if limit <= 0:
        return []
    if previous and len(previous) == size:
        return page(s, f, limit=limit, after=previous[-1])
    if start > total - start - limit:
        return page(s, f, limit=limit, offset=total - start - limit, from_end=True)
    return page(s, f, limit=limit, offset=start)


DESCENDING = ("mine", "all")


def probe(s: Session, f: QueueFilter, ids: Sequence[int], now: datetime | None = None) -> dict[int, Probe]:
    """Where these cases stand in the queue now: in it or not, their sort key, their urgency (one read)."""
    if not ids:
        return {}
    now = now or utcnow()
    statement = _probe_statement(f, overdue_cutoff(now) if f.queue == "overdue" else None)
    rows = s.execute(statement, {"ids": list(ids)}).all()
    return {int(r[0]): Probe(bool(r[2]), tuple(r[3:]), int(r[1])) for r in rows}


@lru_cache(maxsize=32)
def _probe_statement(f: QueueFilter, cutoff: datetime | None) -> Any:
    """The probe of one filter (and minute, for overdue), built once: every live change runs it."""
    cond = _where(f, cutoff or utcnow())
    inside = case((and_(*cond), True), else_=False) if cond else literal(True)
    cols = _key_columns(f.queue)
    statement = select(Case.id, Case.priority, inside, *cols).where(Case.id.in_(bindparam("ids", expanding=True)))
    return marked(statement)  # the live thread runs it on the driver's connection (services.live_driver)


@dataclass(frozen=True)
class Probe:
    """A changed case as the queue sees it now."""

    inside: bool
    key: tuple[Any, ...]
    priority: int


def before_or_at(f: QueueFilter, key: tuple[Any, ...], mark: tuple[Any, ...]) -> bool:
    """Whether ``key`` sorts at or before ``mark`` in the queue's order."""
    return key >= mark if f.queue in DESCENDING else key <= mark


def counts(s: Session, actor: str, now: datetime | None = None) -> dict[str, int]:
    """The count of every queue, for the queue list and the status bar."""
    return kept.queue_counts(s, actor, now or utcnow())


def rows(s: Session, ids: Sequence[int]) -> dict[int, Case]:
    """The cases of these ids (for the visible rows only)."""
    if not ids:
        return {}
    return {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(list(ids))))}


CELLS = (
    Case.id,
    Case.version,
    Case.status,
    Case.priority,
    Case.channel,
    Case.text,
    Case.grid_code,
    Case.received_at,
    Case.filed_at,
    Case.deadline_at,
)


def cells(s: Session, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """What a queue row shows of these cases, as tuples of ``CELLS`` (columns only: no ORM objects)."""
    if not ids:
        return {}
    return {r[0]: tuple(r) for r in s.execute(select(*CELLS).where(Case.id.in_(list(ids))))}


def holders(s: Session, ids: Sequence[int], now: datetime | None = None) -> dict[int, str]:
    """Who holds a live lease on each of these cases."""
    if not ids:
        return {}
    now = now or utcnow()
    return dict(
        s.execute(
            select(CaseLease.case_id, CaseLease.holder).where(
                CaseLease.case_id.in_(list(ids)), CaseLease.expires_at > now
            )
        ).all()
    )


def position_filter(f: QueueFilter) -> ColumnElement[bool]:
    """All conditions of the filter as one expression (for tests and exports)."""
    return and_(*_where(f, utcnow()))
