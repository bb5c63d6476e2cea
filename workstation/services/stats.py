"""The summaries behind supervision and evaluation, kept in the same transaction as each change.

Two kinds of counters, both in ``stat_days`` (per local day × dimension × key):

* **state counters** are a function of a case's current row (``contributions``): a case received on a
  day counts as ``reported`` on that day, a case filed counts as ``filed`` on the day of ``filed_at``,
  and so on. A change subtracts what the case counted before and adds what it counts now, so an undo,
  a re-dispatch or a re-filing moves the figures exactly, and ``rebuild`` (a sum over the cases)
  gives the same table.
* **event counters** count actions: returns, rework, extension requests, suspensions, reopenings and
  verifications, on the day they happened, for the case's unit and place at that moment. Undoing such
  an action subtracts it again on the day it was counted.

``stat_open`` counts running cases per day of their deadline, and per key in all (``due`` ''), so
"overdue now" is the total minus the few days still to come, without a scan; and every case per
state (dimension ``status``), for the queue depths.

Every writer of ``cases`` calls in here inside its transaction: ``lifecycle._write`` (every action and
undo), ``reports`` (a new report, a changed re-delivery) and the batched intake insert.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from workstation.domain.calendar import DEFAULT_TZ
from workstation.domain.lifecycle import RUNNING
from workstation.models import Case, CaseEvent
from workstation.models.stats import COUNTERS, StatDay, StatOpen

TZ = ZoneInfo(DEFAULT_TZ)
DIMS = ("all", "unit", "grid", "community", "street", "category", "channel", "reporter", "hour")
OPEN_DIMS = ("all", "unit", "grid")
# Reports from these channels come from the centre's own people (grid members, patrols, stations).
REPORTER_CHANNELS = frozenset({"PDA", "PATROL", "VISIT"})
# A verification is on time when its verdict (close or rework) follows the request within this time.
VERIFY_LIMIT = timedelta(hours=24)
EVENT_COUNTERS = {
    "return": "returned",
    "rework": "reworked",
    "request_extension": "extensions",
    "suspend": "suspended",
    "reopen": "reopened",
}
FIELDS = (
    "status",
    "channel",
    "unit_code",
    "grid_code",
    "community_code",
    "street_code",
    "category_code",
    "reporter_name",
    "received_at",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "deadline_at",
    "last_action_at",
)
_RUNNING = frozenset(s.value for s in RUNNING)

OPEN_TOTAL = ""  # the ``due`` of the row counting a key's running cases whatever their deadline
Key = tuple[str, str, str, str]  # (dim, day, key, counter)
OpenKey = tuple[str, str, str]  # (dim, due, key)


def local_day(at: datetime) -> str:
    """The centre's calendar day of an instant, as ``YYYY-MM-DD``."""
    return at.astimezone(TZ).date().isoformat()


def day_start(day: date) -> datetime:
    """The first instant of a local day."""
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def dim_keys(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (dimension, key) pairs a case counts under; empty keys (no unit yet…) only under ``all``."""
    reporter = row.get("reporter_name") if row.get("channel") in REPORTER_CHANNELS else None
    pairs = [
        ("all", ""),
        ("unit", row.get("unit_code")),
        ("grid", row.get("grid_code")),
        ("community", row.get("community_code")),
        ("street", row.get("street_code")),
        ("category", row.get("category_code")),
        ("channel", row.get("channel")),
        ("reporter", reporter),
    ]
    return [(d, k or "") for d, k in pairs if d == "all" or k]


def _on_time(done: datetime | None, deadline: datetime | None) -> bool:
    return done is not None and deadline is not None and done <= deadline


def state_counts(row: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """What a case counts by its current row alone: (counter, instant) pairs."""
    status = row["status"]
    out: list[tuple[str, datetime]] = [("reported", row["received_at"])]
    if row.get("filed_at") is not None:
        out.append(("filed", row["filed_at"]))
        if status == "closed":
            out.append(("closed_of_filed", row["filed_at"]))
    if status == "rejected":
        out.append(("rejected", row["last_action_at"]))
    if row.get("dispatched_at") is not None and row.get("unit_code"):
        out.append(("dispatched", row["dispatched_at"]))
    if row.get("handled_at") is not None:
        out.append(("handled", row["handled_at"]))
        if _on_time(row["handled_at"], row.get("deadline_at")):
            out.append(("handled_on_time", row["handled_at"]))
    if status == "closed" and row.get("closed_at") is not None:
        out.append(("closed", row["closed_at"]))
        if _on_time(row.get("handled_at"), row.get("deadline_at")):
            out.append(("closed_on_time", row["closed_at"]))
    return out


def contributions(row: Mapping[str, Any]) -> tuple[Counter[Key], Counter[OpenKey]]:
    """Everything a case adds to ``stat_days`` and ``stat_open`` by its current row."""
    days: Counter[Key] = Counter()
    opened: Counter[OpenKey] = Counter()
    pairs = dim_keys(row)
    for counter, at in state_counts(row):
        day = local_day(at)
        for dim, key in pairs:
            days[(dim, day, key, counter)] += 1
    received = row["received_at"].astimezone(TZ)  # arrivals per hour: dimension "hour", key "00".."23"
    days[("hour", received.date().isoformat(), f"{received.hour:02d}", "reported")] += 1
    opened[("status", OPEN_TOTAL, row["status"])] += 1  # cases per state, whatever their deadline
    if row["status"] in _RUNNING and row.get("deadline_at") is not None:
        due = local_day(row["deadline_at"])
        for dim, key in pairs:
            if dim in OPEN_DIMS:
                opened[(dim, due, key)] += 1
                opened[(dim, OPEN_TOTAL, key)] += 1
    return days, opened


def _events(row: Mapping[str, Any], counters: Iterable[str], at: datetime, sign: int) -> Counter[Key]:
    out: Counter[Key] = Counter()
    day = local_day(at)
    for dim, key in dim_keys(row):
        if dim == "category":
            continue  # a case's category may still change after the action: actions count by unit and place
        for counter in counters:
            out[(dim, day, key, counter)] += sign
    return out


def _verification(s: Session, case_id: int, at: datetime, sign: int, row: Mapping[str, Any]) -> Counter[Key]:
    """A verdict on a verification: counted for the centre, the case's place and unit, and the verifier."""
    found = s.execute(
        select(CaseEvent.at, CaseEvent.details)
        .where(CaseEvent.case_id == case_id, CaseEvent.action == "verify", CaseEvent.at <= at)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return Counter()
    asked, details = found
    counters = ["verified"] + (["verified_on_time"] if at - asked <= VERIFY_LIMIT else [])
    out: Counter[Key] = Counter()
    day = local_day(at)
    pairs = [p for p in dim_keys(row) if p[0] not in ("reporter", "category")]
    verifier = str((details or {}).get("verifier") or "")
    if verifier:
        pairs.append(("reporter", verifier))
    for dim, key in pairs:
        for counter in counters:
            out[(dim, day, key, counter)] += sign
    return out


def event_counts(
    s: Session, case_id: int, row: Mapping[str, Any], action: str, from_state: str | None, at: datetime, sign: int = 1
) -> Counter[Key]:
    """What one action adds to the event counters (``sign`` -1 takes it back, for an undo)."""
    out: Counter[Key] = Counter()
    counter = EVENT_COUNTERS.get(action)
    if counter:
        out.update(_events(row, [counter], at, sign))
    if action in ("close", "rework") and from_state == "verifying":
        out.update(_verification(s, case_id, at, sign, row))
    return out


def _pg_apply_sql() -> Any:
    """Both upserts in one statement on PostgreSQL: one round trip, one fixed text (prepared once)."""
    counters = ", ".join(COUNTERS)
    typed = ", ".join(f"{c} integer" for c in COUNTERS)
    moved = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in COUNTERS)
    return text(
        "WITH d AS ("
        f"INSERT INTO stat_days AS t (dim, day, key, {counters}) "
        f"SELECT dim, day, key, {counters} FROM jsonb_to_recordset(CAST(:days AS jsonb)) "
        f"AS r(dim text, day text, key text, {typed}) ORDER BY dim, day, key "
        f"ON CONFLICT (dim, day, key) DO UPDATE SET {moved}) "
        "INSERT INTO stat_open AS t (dim, due, key, n) "
        "SELECT dim, due, key, n FROM jsonb_to_recordset(CAST(:open AS jsonb)) "
        "AS r(dim text, due text, key text, n integer) ORDER BY dim, due, key "
        "ON CONFLICT (dim, due, key) DO UPDATE SET n = t.n + excluded.n"
    )


_STATEMENTS: dict[str, tuple[Any, Any]] = {}


def _upserts(dialect: str) -> tuple[Any, Any]:
    """The two upserts (built once per dialect; a statement built per change costs more than it runs)."""
    if dialect not in _STATEMENTS:
        if dialect == "postgresql":
            _STATEMENTS[dialect] = (_pg_apply_sql(), None)
        else:
            make = sqlite.insert
            stmt = make(StatDay)
            stmt = stmt.on_conflict_do_update(
                index_elements=["dim", "day", "key"],
                set_={c: getattr(StatDay, c) + getattr(stmt.excluded, c) for c in COUNTERS},
            )
            ostmt = make(StatOpen)
            ostmt = ostmt.on_conflict_do_update(
                index_elements=["dim", "due", "key"], set_={"n": StatOpen.n + ostmt.excluded.n}
            )
            _STATEMENTS[dialect] = (stmt, ostmt)
    return _STATEMENTS[dialect]


def _apply(s: Session, days: Counter[Key], opened: Counter[OpenKey]) -> None:
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (dim, day, key, counter), n in days.items():
        if n:
            row = rows.setdefault((dim, day, key), {"dim": dim, "day": day, "key": key, **dict.fromkeys(COUNTERS, 0)})
            row[counter] += n
    changes = [{"dim": d, "due": due, "key": k, "n": n} for (d, due, k), n in sorted(opened.items()) if n]
    if not rows and not changes:
        return
    conn = s.connection()
    days_stmt, open_stmt = _upserts(conn.dialect.name)
    ordered = sorted(rows.values(), key=lambda r: (r["dim"], r["day"], r["key"]))
    if open_stmt is None:  # PostgreSQL: both in one statement, the rows sorted there (lock order)
        conn.execute(days_stmt, {"days": json.dumps(ordered), "open": json.dumps(changes)})
        return
    if ordered:
        conn.execute(days_stmt, ordered)
    if changes:
        conn.execute(open_stmt, changes)


def snapshot(case: Case) -> dict[str, Any]:
    """The fields of a case the summaries depend on."""
    return {f: getattr(case, f) for f in FIELDS}


def record_change(
    s: Session,
    case_id: int,
    old: Mapping[str, Any],
    new_values: Mapping[str, Any],
    action: str,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Move the summaries for one change of one case (inside the change's transaction).

    Args:
        s: the writing session.
        case_id: the case.
        old: the case's fields before the change (``snapshot``).
        new_values: the columns the change writes.
        action: the action (``undo`` takes back the undone action's event counters).
        at: when.
        details: the event's details (an undo names the undone event).
    """
    new = {**old, **{k: v for k, v in new_values.items() if k in FIELDS}}
    before_days, before_open = contributions(old)
    after_days, after_open = contributions(new)
    days = after_days
    days.subtract(before_days)
    opened = after_open
    opened.subtract(before_open)
    if action == "undo":
        undone = s.get(CaseEvent, int((details or {}).get("undone") or 0))
        if undone is not None:
            days.update(event_counts(s, case_id, old, undone.action, undone.from_state, undone.at, -1))
    else:
        days.update(event_counts(s, case_id, old, action, old["status"], at))
    _apply(s, days, opened)


def record_update(s: Session, case_id: int, values: Mapping[str, Any], action: str, at: datetime) -> None:
    """Move the summaries for columns about to be written outside a lifecycle action (a re-delivery)."""
    if not set(values) & set(FIELDS):
        return
    found = s.execute(select(*[getattr(Case, f) for f in FIELDS]).where(Case.id == case_id)).first()
    if found is not None:
        record_change(s, case_id, dict(zip(FIELDS, found, strict=True)), values, action, at)


def record_new(s: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count new cases (one or a batch) inside the transaction that inserts them."""
    days: Counter[Key] = Counter()
    opened: Counter[OpenKey] = Counter()
    for row in rows:
        full = {f: row.get(f) for f in FIELDS}
        full["status"] = full["status"] or "reported"
        d, o = contributions(full)
        days.update(d)
        opened.update(o)
    _apply(s, days, opened)


def rebuild(s: Session, batch: int = 20_000) -> None:
    """Recompute both tables from the cases and their history (a migration, a bulk-loaded world)."""
    s.execute(delete(StatDay))
    s.execute(delete(StatOpen))
    actions = [*EVENT_COUNTERS, "close", "rework", "dispatch"]
    events = s.execute(
        select(CaseEvent.case_id, CaseEvent.action, CaseEvent.from_state, CaseEvent.at, CaseEvent.details, CaseEvent.id)
        .where(CaseEvent.action.in_([*actions, "undo"]))
        .order_by(CaseEvent.id)
    ).all()
    undone = {int((e.details or {}).get("undone") or 0) for e in events if e.action == "undo"}
    wanted = {e.case_id for e in events}  # rows kept only for cases whose actions count
    days: Counter[Key] = Counter()
    opened: Counter[OpenKey] = Counter()
    cols = [getattr(Case, f) for f in FIELDS]
    rows: dict[int, dict[str, Any]] = {}
    for values in s.execute(select(Case.id, *cols).execution_options(yield_per=batch)):
        row = dict(zip(FIELDS, values[1:], strict=True))
        d, o = contributions(row)
        days.update(d)
        opened.update(o)
        if values[0] in wanted:
            rows[values[0]] = row
    unit_then: dict[int, str] = {}  # the unit a case was with when each event happened (dispatches in order)
    for case_id, action, from_state, at, details, event_id in events:
        if action == "undo" or event_id in undone or case_id not in rows:
            continue
        if action == "dispatch":
            unit_then[case_id] = str((details or {}).get("unit") or "")
            continue
        row = {**rows[case_id], "unit_code": unit_then.get(case_id)}
        days.update(event_counts(s, case_id, row, action, from_state, at))
    _apply(s, days, opened)
