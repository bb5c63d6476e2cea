"""A demo world: users and months of historic cases, written in bulk, exactly as the services write them.

``seed_world`` plans every case in memory first (``demo.history``: its report from ``demo.texts``,
the state it ends in, and the chain of lifecycle actions that got it there, as the lifecycle
services would have applied them), then writes the rows with a handful of bulk inserts in one
transaction, and the care roster (``demo.people``) when the care module is there. Nothing reads the
real clock: every time derives from ``now``, so the same seed and ``now`` give the same world, row
for row.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from workstation import clock
from workstation.demo import pictures
from workstation.demo.history import LEADS, OPERATORS, Plan, Ref, plan_world
from workstation.demo.reference import Reference
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import Case, CaseEvent, CaseUnit, ExtensionRequest, Meta, User
from workstation.models.chain import seal_rows
from workstation.services import accounts, stats
from workstation.services.calendar import calendar_from
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

DEMO_PASSWORD = "demo-2026"
"""The password of every demo account."""
ADMIN = "demo.admin"
TRAINER = "trainer"
STATION_COMMUNITIES = ("S13C01", "S01C01", "S05C01", "S12C02")
"""Communities whose station staff, station and grid teams get accounts."""
BATCH = 4000


@dataclass(frozen=True)
class WorldSummary:
    """What ``seed_world`` wrote."""

    seed: int
    now: datetime
    cases: int
    events: int
    users: int
    people: int
    first_case_id: int | None
    last_case_id: int | None
    seconds: float
    states: dict[str, int] = field(default_factory=dict)


# -- writing ----------------------------------------------------------------------------------------


def _users(ref: Reference, seed: int, now: datetime) -> list[dict[str, Any]]:
    salt = random.Random(seed).randbytes(16)  # a fixed salt: the same seed gives the same rows
    password_hash = accounts._hasher.hash(DEMO_PASSWORD, salt=salt)
    created = now - timedelta(days=200)
    out: list[dict[str, Any]] = []

    def add(name: str, role: str, display: str, community: str | None = None, unit: str | None = None) -> None:
        out.append(
            {
                "name": name,
                "display_name": display,
                "role": role,
                "community_code": community,
                "unit_code": unit,
                "password_hash": password_hash,
                "active": True,
                "created_at": created,
            }
        )

    add(ADMIN, Role.ADMIN, "演示管理员")
    add(TRAINER, Role.TRAINER, "培训师")
    for name in OPERATORS:
        add(name, Role.OPERATOR, name)
    for name in LEADS:
        add(name, Role.LEAD, name)
    for code in sorted(ref.units):
        if "-" not in code:
            add(f"unit.{code}", Role.UNIT, ref.units[code], unit=code)
    for street in sorted(ref.streets):
        code = f"STREET-{street}"
        if code in ref.units:
            add(f"unit.{code}", Role.UNIT, ref.units[code], unit=code)
    for community in STATION_COMMUNITIES:
        comm = ref.communities.get(community)
        if comm is None:
            continue
        for n in (1, 2):
            add(f"{comm.name}站{n:02d}", Role.STATION, f"{comm.name}工作人员{n}", community=community)
        for code in (f"COMMUNITY-{community}", *(f"GRID-{g}" for g in comm.grids)):
            if code in ref.units:
                add(f"unit.{code}", Role.UNIT, ref.units[code], unit=code)
    return out


def _insert(s: Session, table: Any, rows: list[dict[str, Any]], progress: Progress | None, label: str) -> None:
    for start in range(0, len(rows), BATCH):
        s.execute(insert(table.__table__), rows[start : start + BATCH])
        if progress:
            progress(min(start + BATCH, len(rows)), len(rows), label)


def _fix_sequences(s: Session, tables: tuple[str, ...]) -> None:
    """PostgreSQL: move the id sequences past the ids written explicitly."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        s.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))")
        )


def world_exists(db: Database, seed: int) -> bool:
    """Whether the demo world of this seed was already written into the database."""
    with db.read() as s:
        return s.get(Meta, f"demo.world.{seed}") is not None


def default_now() -> datetime:
    """The real (or installed) clock's now, rounded down to the hour."""
    return clock.now().replace(minute=0, second=0, microsecond=0)


def seed_world(
    db: Database,
    seed: int = 1,
    cases: int = 20000,
    people: int = 2000,
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
    days: int = 180,
    mix: Mapping[str, float] | None = None,
) -> WorldSummary:
    """Write a demo world into any database (fresh or in use): users, historic cases, care roster.

    Args:
        db: the database (migrated, reference data loaded).
        seed: the same seed (and ``now``) gives the same world.
        cases: how many historic cases.
        people: how many people on the care roster (skipped when the care tables do not exist).
        progress: called as ``progress(done, total, label)`` while planning and writing.
        now: the instant the world ends at (aware); default: now rounded down to the hour.
        days: how far back cases were received.
        mix: the final states per 100 (default ``history.STATE_MIX``).

    Raises:
        ValidationError: this database already holds the world of this seed, or ``now`` is naive.
    """
    started = time.perf_counter()
    now = now or default_now()
    if now.tzinfo is None:
        raise ValidationError(tr("The demo world's 'now' needs a timezone."), {"now": tr("naive")})
    now = now.astimezone(UTC).replace(microsecond=0)
    marker = f"demo.world.{seed}"
    ref = Reference.from_db(db)
    with db.read() as s:
        cal = calendar_from(s)
        if s.get(Meta, marker) is not None:
            raise ValidationError(
                tr("This database already holds the demo world of seed {seed}; use another seed.", seed=seed),
                {"seed": tr("already seeded")},
            )
    plans = plan_world(ref, cal, seed, cases, now, days, progress, mix)
    users = _users(ref, seed, now)
    with db.write() as s:
        existing = set(s.scalars(select(User.name)))
        users = [u for u in users if u["name"] not in existing]
        if users:
            s.execute(insert(User), users)
        base = s.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0
        ext_base = s.scalar(select(ExtensionRequest.id).order_by(ExtensionRequest.id.desc()).limit(1)) or 0
        case_rows, events, extensions, co_units = _rows(plans, base, ext_base)
        _insert(s, Case, case_rows, progress, "writing cases")
        _insert(s, ExtensionRequest, extensions, None, "")
        _insert(s, CaseUnit, co_units, None, "")
        seal_rows(s.connection(), "case_events", events)
        _insert(s, CaseEvent, events, progress, "writing history")
        stats.rebuild(s)  # the world's cases went in by bulk insert: count them once for the summaries
        pictures.store_for_cases(s, case_rows)  # the photo:// references show made-up photos
        _fix_sequences(s, ("cases", "extension_requests"))
        states: dict[str, int] = {}
        for row in case_rows:
            states[row["status"]] = states.get(row["status"], 0) + 1
        s.add(
            Meta(
                key=marker, value=json.dumps({"seed": seed, "cases": cases, "now": now.isoformat(), "first": base + 1})
            )
        )
    added_people = seed_people(db, seed, people, now=now, progress=progress)
    return WorldSummary(
        seed=seed,
        now=now,
        cases=len(case_rows),
        events=len(events),
        users=len(users),
        people=added_people,
        first_case_id=base + 1 if case_rows else None,
        last_case_id=base + len(case_rows) if case_rows else None,
        seconds=time.perf_counter() - started,
        states=dict(sorted(states.items())),
    )


def _rows(
    plans: list[Plan], base: int, ext_base: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    for number, plan in enumerate(plans, start=base + 1):
        assert plan.case is not None
        plan.case.ref.id = number
    requests = sorted(
        (r for p in plans if p.case for r in p.case.extensions), key=lambda r: (r["requested_at"], r["case"].ref.id)
    )
    for number, request in enumerate(requests, start=ext_base + 1):
        request["ref"].id = number
    case_rows: list[dict[str, Any]] = []
    keyed: list[tuple[datetime, int, int, dict[str, Any]]] = []
    co_units: list[dict[str, Any]] = []
    for plan in plans:
        case = plan.case
        assert case is not None
        row = dict(case.row, id=case.ref.id)
        if isinstance(row["merged_into_id"], Ref):
            row["merged_into_id"] = row["merged_into_id"].id
        case_rows.append(row)
        for seq, event in enumerate(case.events):
            event["case_id"] = case.ref.id
            if event["action"] in ("merge", "decide_extension"):
                event["details"] = {k: (v.id if isinstance(v, Ref) else v) for k, v in event["details"].items()}
            keyed.append((event["at"], case.ref.id, seq, event))
        co_units.extend(dict(u, case_id=case.ref.id) for u in case.co_units)
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    events = [k[3] for k in keyed]
    extensions = [
        {
            "id": r["ref"].id,
            "case_id": r["case"].ref.id,
            **{k: v for k, v in r.items() if k not in ("ref", "case")},
        }
        for r in requests
    ]
    co_units.sort(key=lambda u: (u["added_at"], u["case_id"]))
    return case_rows, events, extensions, co_units


# -- people -----------------------------------------------------------------------------------------


def seed_people(
    db: Database, seed: int, people: int, *, now: datetime | None = None, progress: Progress | None = None
) -> int:
    """The care roster: people of the nine groups with their visit histories (see ``demo.people``).

    Skipped (with a logged message, returning 0) when the care module or its tables do not exist.
    """
    if people <= 0:
        return 0
    try:
        from workstation.demo import people as roster
    except ImportError:
        log.info("demo world: the care module is not installed; %d people skipped", people)
        return 0
    if not roster.care_tables_exist(db):
        log.info("demo world: the care tables do not exist in this database; %d people skipped", people)
        return 0
    return roster.seed(db, seed, people, now=now or default_now(), progress=progress)
