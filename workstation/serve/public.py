"""The public view of cases and of the catalogue, as GeoReport v2 shows them.

A case shows only what a resident may see: its status (``open``/``closed``, with the workstation's
state as ``external_status``), its category, the public steps of its history as ``status_notes``
(the step and its time: never a reason, a name or an actor), the unit responsible as
``agency_responsible``, its times, and a coarse place: the centre of its grid's bounding box and the
grid's and community's names (about 300 m); a case outside every grid gets its point rounded to
two decimals (about 1 km). The description a resident wrote, the address, photos and the reporter's
name and phone are never shown: free text can name people. Cases of channel VISIT (raised from
visits, the care visits among them) are never shown at all.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from workstation.domain.lifecycle import ACTION_NAMES, FINAL, STATE_NAMES
from workstation.models import Case, CaseCount, CaseCountDelta, CaseEvent, Category, Community, Grid
from workstation.serve.lang import Lang
from workstation.storage.db import Database

HIDDEN_CHANNELS = ("VISIT",)
# Steps of the history a resident sees (internal steps such as returns, extensions or undo are not).
PUBLIC_ACTIONS = (
    "report",
    "file",
    "reject",
    "merge",
    "dispatch",
    "add_unit",
    "acknowledge",
    "handle",
    "close",
    "rework",
    "suspend",
    "resume",
    "reopen",
)
FINAL_STATES = tuple(str(s) for s in FINAL)
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Filters:
    """What ``GET requests`` asks for (already checked)."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None  # open or closed
    updated_after: datetime | None = None


@dataclass(frozen=True)
class GridPlace:
    """A grid's public place: the centre of its bounding box and its names."""

    lon: float
    lat: float
    name: str


class Places:
    """Grid places, read once per database (reference data changes only with a new release)."""

    def __init__(self) -> None:
        self._by_db: dict[int, dict[str, GridPlace]] = {}
        self._lock = threading.Lock()

    def get(self, db: Database, s: Session) -> dict[str, GridPlace]:
        """Every grid's public place."""
        key = id(db)
        with self._lock:
            found = self._by_db.get(key)
        if found is not None:
            return found
        names = {code: name for code, name in s.execute(select(Community.code, Community.name))}
        places = {
            g.code: GridPlace(
                round((g.min_lon + g.max_lon) / 2, 4),
                round((g.min_lat + g.max_lat) / 2, 4),
                f"{names.get(g.community_code, '')}{g.name}",
            )
            for g in s.scalars(select(Grid))
        }
        with self._lock:
            self._by_db[key] = places
        return places


PLACES = Places()


class Counter:
    """Totals of filtered listings: a count over a million cases is not free.

    A total younger than ``ttl_s`` is used as it is; an older one (up to ``max_age_s``) is used while
    one background thread counts again; only a filter never counted (or counted long ago) waits.
    """

    def __init__(self, ttl_s: float = 2.0, max_age_s: float = 60.0) -> None:
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s
        self._cache: dict[tuple[Any, ...], tuple[float, int]] = {}
        self._running: set[tuple[Any, ...]] = set()
        self._lock = threading.Lock()

    def total(self, key: tuple[Any, ...], count: Callable[[], int]) -> int:
        """The total for ``key``, counted by ``count`` when none fresh enough is kept."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            refresh = bool(hit) and now - hit[0] >= self.ttl_s and key not in self._running  # type: ignore[index]
            if refresh:
                self._running.add(key)
        if hit and now - hit[0] < self.max_age_s:
            if refresh:
                threading.Thread(target=self._refresh, args=(key, count), daemon=True).start()
            return hit[1]
        total = count()
        self._put(key, total)
        return total

    def _refresh(self, key: tuple[Any, ...], count: Callable[[], int]) -> None:
        try:
            with contextlib.suppress(Exception):  # a failed recount keeps the old total; a later request retries
                self._put(key, count())
        finally:
            with self._lock:
                self._running.discard(key)

    def _put(self, key: tuple[Any, ...], total: int) -> None:
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (time.monotonic(), total)


class Deadline:
    """A time limit on one read: ``statement_timeout`` on PostgreSQL, a progress check on SQLite.

    A read past its limit fails with the driver's own "canceled"/"interrupted" error.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @contextmanager
    def applied(self, s: Session) -> Iterator[None]:
        """Apply the limit to the session's transaction while the block runs."""
        conn = s.connection()
        if conn.dialect.name == "postgresql":
            s.execute(text(f"SET LOCAL statement_timeout = {max(1, int(self.seconds * 1000))}"))
            yield
            return
        raw = conn.connection.driver_connection
        if conn.dialect.name != "sqlite" or raw is None:
            yield
            return
        end = time.monotonic() + self.seconds
        raw.set_progress_handler(lambda: 1 if time.monotonic() > end else 0, 10_000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)


def public_where() -> ColumnElement[bool]:
    """Cases the public may see at all."""
    return Case.channel.not_in(HIDDEN_CHANNELS)


def _where(f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [public_where()]
    if f.ids:
        where.append(Case.id.in_(f.ids))
    if f.service_codes:
        where.append(Case.category_code.in_(f.service_codes))
    if f.start is not None:
        where.append(Case.received_at >= f.start)
    if f.end is not None:
        where.append(Case.received_at <= f.end)
    if f.status == "closed":
        where.append(Case.status.in_(FINAL_STATES))
    elif f.status == "open":
        where.append(Case.status.not_in(FINAL_STATES))
    if f.updated_after is not None:
        where.append(Case.last_action_at > f.updated_after)
    return where


_COLUMNS = (
    Case.id,
    Case.status,
    Case.category_code,
    Case.category_name,
    Case.unit_name,
    Case.received_at,
    Case.last_action_at,
    Case.deadline_at,
    Case.grid_code,
    Case.lon,
    Case.lat,
)


def list_requests(
    db: Database,
    f: Filters,
    page: int,
    size: int,
    lang: Lang,
    counter: Counter | None = None,
    deadline: Deadline | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of public requests, newest first, and the total that match (within ``deadline``)."""
    where = _where(f)
    with db.read() as s, deadline.applied(s) if deadline else nullcontext():
        rows = s.execute(
            select(*_COLUMNS)
            .where(*where)
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        ).all()
        answer = _public(db, s, rows, lang)
        kept = kept_total(s, f)
        if kept is not None:  # read in the page's own transaction: the total and the page agree
            return answer, kept
        if counter is None:
            return answer, _count(s, where)

    def count() -> int:
        with db.read() as s:
            return _count(s, where)

    return answer, counter.total((id(db), f), count)


_KEPT: list[Any] = []


def _kept_statement() -> Any:
    """The buckets of every status and of the hidden channels, folded and pending (built once)."""
    if not _KEPT:
        parts = [
            select(t.status, t.dim, t.n).where(
                or_(and_(t.dim == "", t.value == ""), and_(t.dim == "channel", t.value.in_(HIDDEN_CHANNELS)))
            )
            for t in (CaseCount, CaseCountDelta)
        ]
        both = union_all(*parts).subquery()
        _KEPT.append(select(both.c.status, both.c.dim, func.sum(both.c.n)).group_by(both.c.status, both.c.dim))
    return _KEPT[0]


def kept_total(s: Session, f: Filters) -> int | None:
    """The total of a listing narrowed by status at most, from the kept queue counts (None: other filters).

    The counting triggers keep a bucket per status and per channel (``storage.count_buckets``): the
    public total is the statuses' cases less the hidden channels' ones, exact in any transaction,
    without counting a million rows. A filter by category, date or id is counted by ``Counter``.
    """
    if f.ids or f.service_codes or f.start is not None or f.end is not None or f.updated_after is not None:
        return None
    total = 0
    for status, dim, n in s.execute(_kept_statement()):
        if not status:
            continue
        if f.status is not None and (status in FINAL_STATES) != (f.status == "closed"):
            continue
        total += int(n or 0) if dim == "" else -int(n or 0)
    return total


def _count(s: Session, where: list[ColumnElement[bool]]) -> int:
    return int(s.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


def get_request(db: Database, case_id: int, lang: Lang) -> dict[str, Any] | None:
    """One public request, or None (no such case, or not public)."""
    with db.read() as s:
        rows = s.execute(select(*_COLUMNS).where(Case.id == case_id, public_where())).all()
        return _public(db, s, rows, lang)[0] if rows else None


def _notes(rows: list[tuple[str, datetime]], lang: Lang) -> str:
    return "；".join(f"{at.astimezone(LOCAL):%Y-%m-%d %H:%M} {lang.tr(ACTION_NAMES.get(a, a))}" for a, at in rows)


_STEPS_SQL = (
    "SELECT case_id, action, at FROM case_events WHERE case_id IN ({ids}) AND action IN ("
    + ", ".join(f"'{a}'" for a in PUBLIC_ACTIONS)
    + ") ORDER BY case_id, id"
)


def _public(db: Database, s: Session, rows: Sequence[Any], lang: Lang) -> list[dict[str, Any]]:
    if not rows:
        return []
    ids = ", ".join(str(int(r.id)) for r in rows)  # integers from the database: literal, cheaper than binds
    steps: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    query = text(_STEPS_SQL.format(ids=ids)).columns(CaseEvent.case_id, CaseEvent.action, CaseEvent.at)
    for case_id, action, at in s.execute(query):
        steps[case_id].append((action, at))
    places = PLACES.get(db, s)
    pending = lang.tr("Report awaiting triage")
    states = {str(state): lang.tr(name) for state, name in STATE_NAMES.items()}
    out = []
    for r in rows:
        place = places.get(r.grid_code or "")
        lat: float | None
        lon: float | None
        if place is not None:
            lat, lon, address = place.lat, place.lon, place.name
        elif r.lon is not None and r.lat is not None:
            lat, lon, address = round(r.lat, 2), round(r.lon, 2), ""
        else:
            lat = lon = None
            address = ""
        out.append(
            {
                "service_request_id": str(r.id),
                "status": "closed" if r.status in FINAL_STATES else "open",
                "external_status": states.get(r.status, r.status),
                "status_notes": _notes(steps.get(r.id, []), lang),
                "service_name": r.category_name or "",
                "service_code": r.category_code or "",
                "description": r.category_name or pending,
                "agency_responsible": r.unit_name or "",
                "service_notice": "",
                "requested_datetime": _iso(r.received_at),
                "updated_datetime": _iso(r.last_action_at),
                "expected_datetime": _iso(r.deadline_at),
                "address": address,
                "address_id": "",
                "zipcode": "",
                "lat": lat,
                "long": lon,
                "media_url": "",
            }
        )
    return out


def _iso(value: datetime | None, tz: tzinfo = LOCAL) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def services(db: Database, lang: Lang) -> list[dict[str, Any]]:
    """The catalogue's active categories, grouped by major category (``group``), by code."""
    with db.read() as s:
        cats = list(s.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)))
    return [_service(c) for c in cats]


def service(db: Database, code: str) -> dict[str, Any] | None:
    """One category's service definition (no category needs attributes: the list is empty)."""
    with db.read() as s:
        cat = s.scalar(select(Category).where(Category.code == code, Category.active.is_(True)))
    if cat is None:
        return None
    return {**_service(cat), "attributes": []}


def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": f"{c.major_name}·{c.name}：{c.closure_standard}" if c.closure_standard else c.name,
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(c.keywords or []),
        "group": c.major_name,
    }


_codes: dict[int, tuple[float, dict[str, str]]] = {}


def known_codes(db: Database, ttl_s: float = 60.0) -> dict[str, str]:
    """Active category codes and their names (read again after ``ttl_s``: the catalogue changes by release)."""
    hit = _codes.get(id(db))
    if hit and time.monotonic() - hit[0] < ttl_s:
        return hit[1]
    with db.read() as s:
        codes = {c: n for c, n in s.execute(select(Category.code, Category.name).where(Category.active.is_(True)))}
    _codes[id(db)] = (time.monotonic(), codes)
    return codes
