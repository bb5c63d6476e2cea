"""Reading the care roster with its schedule: the worklist, one person's page, and coverage per grid.

Every read is confined to what the actor may see (station staff: their own community) and masked
(see ``care_privacy``). The schedule is derived at the time of asking from the stored facts
(memberships, the last visit at which the person was met, unanswered major changes, campaigns) by
``domain.care.schedule``; nothing about being due or overdue is stored. Facts are read in a few
set-based queries, not per person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from workstation.domain.care import (
    LIVING,
    RISK_HIGH,
    STATUS_NAMES,
    Ask,
    Membership,
    Schedule,
    age_on,
    schedule,
)
from workstation.i18n import tr
from workstation.models import (
    CareCampaign,
    CareChange,
    CareGroup,
    CareMembership,
    CarePerson,
    CareVisit,
    Community,
    Grid,
    utcnow,
)
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.care_privacy import (
    check_community,
    load_person,
    may_reveal,
    person_fields,
    resolve_community,
    scope_filter,
    visits_of,
)
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

READ: Final = "read the care roster"
_RANK: Final = {"overdue": 0, "due": 1, "scheduled": 2, None: 3}
_DAY: Final = 86400


@dataclass
class Facts:
    """What the schedule of one person is derived from, read in bulk."""

    person: CarePerson
    grid_name: str
    community_name: str
    street_code: str
    memberships: list[tuple[CareMembership, CareGroup]] = field(default_factory=list)
    last_visit: CareVisit | None = None
    changes: list[CareChange] = field(default_factory=list)


def _latest_met() -> Any:
    return (
        select(CareVisit.person_id.label("pid"), func.max(CareVisit.visited_at).label("at"))
        .where(CareVisit.met.is_(True))
        .group_by(CareVisit.person_id)
        .subquery()
    )


def load_facts(s: Session, where: Sequence[ColumnElement[bool]]) -> dict[int, Facts]:
    """The facts of every person matching ``where`` (conditions on ``CarePerson``), by person id."""
    facts: dict[int, Facts] = {}
    for person, grid_name, community_name, street in s.execute(
        select(CarePerson, Grid.name, Community.name, Community.street_code)
        .join(Grid, Grid.code == CarePerson.grid_code)
        .join(Community, Community.code == CarePerson.community_code)
        .where(*where)
        .order_by(CarePerson.id)
    ):
        facts[person.id] = Facts(person, grid_name, community_name, street)
    if not facts:
        return facts
    for m, g in s.execute(
        select(CareMembership, CareGroup)
        .join(CareGroup, CareGroup.code == CareMembership.group_code)
        .join(CarePerson, CarePerson.id == CareMembership.person_id)
        .where(*where)
        .order_by(CareMembership.group_code, CareMembership.since)
    ):
        facts[m.person_id].memberships.append((m, g))
    latest = _latest_met()
    for visit in s.scalars(
        select(CareVisit)
        .join(latest, and_(CareVisit.person_id == latest.c.pid, CareVisit.visited_at == latest.c.at))
        .join(CarePerson, CarePerson.id == CareVisit.person_id)
        .where(CareVisit.met.is_(True), *where)
        .order_by(CareVisit.id)
    ):
        facts[visit.person_id].last_visit = visit
    for change in s.scalars(
        select(CareChange)
        .join(CarePerson, CarePerson.id == CareChange.person_id)
        .outerjoin(latest, latest.c.pid == CareChange.person_id)
        .where(or_(latest.c.at.is_(None), CareChange.at > latest.c.at), *where)
        .order_by(CareChange.at)
    ):
        facts[change.person_id].changes.append(change)
    return facts


def open_campaigns(s: Session) -> list[CareCampaign]:
    """Campaigns not called off."""
    return list(s.scalars(select(CareCampaign).where(CareCampaign.cancelled_at.is_(None)).order_by(CareCampaign.id)))


def schedule_of(f: Facts, campaigns: Sequence[CareCampaign], now: datetime, tz: tzinfo) -> Schedule | None:
    """The person's schedule at ``now`` (None when no membership is in force)."""
    today = now.astimezone(tz).date()
    mems = [Membership(g.code, g.interval_days, g.window_open_days, m.risk, m.since, m.until) for m, g in f.memberships]
    groups = {m.group for m in mems if m.active_on(today)}
    asks = [
        Ask(c.id, c.starts_at, c.deadline)
        for c in campaigns
        if groups & set(c.group_codes) and (not c.street_codes or f.street_code in c.street_codes)
    ]
    last = f.last_visit
    return schedule(
        mems,
        now=now,
        last_visit=last.visited_at if last else None,
        override=last.next_due_at if last else None,
        urgent=[c.at for c in f.changes],
        campaigns=asks,
        living_alone=f.person.living == "alone",
        tz=tz,
    )


def _iso(value: datetime | None, tz: tzinfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def schedule_fields(f: Facts, sched: Schedule | None, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """The schedule as plain values (all None when the person is in no group now)."""
    last = f.last_visit
    out: dict[str, Any] = {
        "last_visit": _iso(last.visited_at, tz) if last else None,
        "last_visitor": last.visitor if last else None,
    }
    if sched is None:
        keys = ("due", "window_opens", "status", "status_label", "reason", "interval_days", "window_days")
        return out | dict.fromkeys(keys) | {"overdue_days": 0, "due_today": False, "urgent": [], "campaigns": []}
    late = sched.overdue_by(now).total_seconds()
    return out | {
        "due": _iso(sched.due, tz),
        "window_opens": _iso(sched.window_opens, tz),
        "status": sched.status.value,
        "status_label": tr(STATUS_NAMES[sched.status.value]),
        "reason": sched.reason.value,
        "interval_days": sched.rule.interval_days,
        "window_days": sched.rule.window_days,
        "overdue_days": math.ceil(late / _DAY) if late > 0 else 0,
        "due_today": sched.due.astimezone(tz).date() == now.astimezone(tz).date(),
        "urgent": [{"kind": c.kind, "at": _iso(c.at, tz)} for c in f.changes],
        "campaigns": list(sched.campaigns),
    }


def summary_fields(f: Facts, today: date) -> dict[str, Any]:
    """A person's line on the worklist, masked."""
    p = f.person
    masked = person_fields(p, today)
    minor = masked["minor"]
    active = [(m, g) for m, g in f.memberships if m.since <= today and (m.until is None or today <= m.until)]
    high = any(m.risk == RISK_HIGH for m, _ in active) or (
        p.living == "alone" and any(g.code == "G1" for _, g in active)
    )
    return {
        "person_id": p.id,
        "name": masked["name"],
        "gender": p.gender,
        "age": None if minor or p.birth_date is None else age_on(p.birth_date, today),
        "minor": minor,
        "phone": masked["phone"],
        "address": masked["address"],
        "grid": p.grid_code,
        "grid_name": f.grid_name,
        "community": p.community_code,
        "community_name": f.community_name,
        "living": p.living,
        "living_label": tr(LIVING[p.living]) if p.living in LIVING else "",
        "visitor": p.visitor,
        "groups": sorted({g.code for _, g in active}),
        "group_names": [g.name for g in sorted({g for _, g in active}, key=lambda g: g.code)],
        "risk": RISK_HIGH if high else "normal",
    }


def _where(s: Session, by: Actor, community: str | None, grid: str | None) -> list[ColumnElement[bool]]:
    where = [scope_filter(by, tr(READ)), CarePerson.active.is_(True)]
    code = resolve_community(s, by, community, tr(READ))
    if code:
        where.append(CarePerson.community_code == code)
    if grid:
        row = s.scalar(select(Grid).where((Grid.code == grid) | (Grid.name == grid)))
        if row is None:
            raise ValidationError(tr("Unknown grid {name}.", name=grid), {"grid": tr("unknown grid")})
        check_community(by, row.community_code, tr(READ))
        where.append(CarePerson.grid_code == row.code)
    return where


def worklist(
    db: Database,
    by: Actor,
    community: str | None = None,
    grid: str | None = None,
    visitor: str | None = None,
    *,
    status: str | None = None,
    everyone: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Whom to visit, overdue first (most overdue first), then due (window open), then scheduled.

    Within due and scheduled, the soonest due comes first.

    Args:
        db: the database.
        by: any desk role (every community) or station staff (their own community only).
        community: a community code or name (station staff: only their own).
        grid: a grid code or name.
        visitor: only people whose responsible visitor is this name.
        status: only ``overdue``, ``due`` or ``scheduled``.
        everyone: also people in no group now (status None, listed last).
        now: the instant of asking (default now).

    Returns:
        One dict per person: ``person_id, name, gender, age, minor, phone, address, grid, grid_name,
        community, community_name, living, living_label, visitor, groups, group_names, risk,
        last_visit, last_visitor, due, window_opens, status, status_label, reason, interval_days,
        window_days, overdue_days, due_today, urgent, campaigns`` (masked; times ISO 8601 local).

    Raises:
        PermissionDeniedError: the role may not read the roster, or another community.
        ValidationError: unknown community, grid or status.
    """
    if status is not None and status not in STATUS_NAMES:
        raise ValidationError(
            tr("Unknown status {status}: use one of {states}.", status=status, states=", ".join(STATUS_NAMES)),
            {"status": status},
        )
    now = now or utcnow()
    with db.read() as s:
        tz = calendar_from(s).tz
        today = now.astimezone(tz).date()
        where = _where(s, by, community, grid)
        if visitor:
            where.append(CarePerson.visitor == visitor)
        facts = load_facts(s, where)
        campaigns = open_campaigns(s)
    rows = []
    for f in facts.values():
        sched = schedule_of(f, campaigns, now, tz)
        if sched is None and not everyone:
            continue
        if status is not None and (sched is None or sched.status != status):
            continue
        rows.append((sched, summary_fields(f, today) | schedule_fields(f, sched, now, tz)))
    rows.sort(key=lambda r: (_RANK[r[1]["status"]], r[0].due.timestamp() if r[0] else math.inf, r[1]["person_id"]))
    return [row for _, row in rows]


def person_page(db: Database, by: Actor, person_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything about one person, masked: fields, memberships, schedule, visits, major changes.

    Returns:
        The person's fields (``id, version, name, gender, age, minor, birth_date, id_number, phone,
        address, contacts, notes, health_notes, masked, grid, grid_name, community, community_name,
        living, living_label, visitor, active, created, updated, updated_by, can_reveal``) and
        ``memberships`` (``id, group, group_name, since, until, risk, source, active``),
        ``schedule`` (as in a worklist row, or None), ``visits`` (newest first: ``id, at, visitor,
        mode, met, observations, note, needs [seq, text, raise_case, urgent, case_id], next_due,
        next_due_reason, recorded_by, recorded_at``) and ``changes`` (``id, kind, at, note,
        recorded_by, pending``).

    Raises:
        NotFoundError: no such person on the actor's roster.
        PermissionDeniedError: the role may not read the roster.
    """
    now = now or utcnow()
    with db.read() as s:
        person = load_person(s, by, person_id, tr(READ))
        tz = calendar_from(s).tz
        today = now.astimezone(tz).date()
        f = load_facts(s, [CarePerson.id == person.id])[person.id]
        sched = schedule_of(f, open_campaigns(s), now, tz)
        fields = person_fields(person, today)
        pending = {c.id for c in f.changes}
        changes = [
            {
                "id": c.id,
                "kind": c.kind,
                "at": _iso(c.at, tz),
                "note": c.note,
                "recorded_by": c.recorded_by,
                "pending": c.id in pending,
            }
            for c in s.scalars(select(CareChange).where(CareChange.person_id == person.id).order_by(CareChange.at))
        ]
        visits = visits_of(s, person.id, tz, minor=fields["minor"])
    summary = summary_fields(f, today)
    return {
        "id": person.id,
        "version": person.version,
        **fields,
        "gender": person.gender,
        "age": summary["age"],
        "grid": person.grid_code,
        "grid_name": f.grid_name,
        "community": person.community_code,
        "community_name": f.community_name,
        "living": person.living,
        "living_label": summary["living_label"],
        "visitor": person.visitor,
        "active": person.active,
        "risk": summary["risk"],
        "created": _iso(person.created_at, tz),
        "updated": _iso(person.updated_at, tz),
        "updated_by": person.updated_by,
        "can_reveal": may_reveal(by, person.community_code),
        "memberships": [
            {
                "id": m.id,
                "group": g.code,
                "group_name": g.name,
                "since": m.since.isoformat(),
                "until": m.until.isoformat() if m.until else None,
                "risk": m.risk,
                "source": m.source,
                "active": m.since <= today and (m.until is None or today <= m.until),
            }
            for m, g in f.memberships
        ],
        "schedule": None if sched is None else schedule_fields(f, sched, now, tz),
        "visits": visits,
        "changes": changes,
    }


def coverage(db: Database, by: Actor, community: str | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """How well a community's people are visited, per grid.

    A person counts as visited on time when met at a visit within their interval before ``now``.

    Returns:
        ``community, community_name, people, on_time, share_on_time, overdue`` for the community and
        ``grids``: the same per grid (every grid of the community, also those with nobody on the
        roster; ``share_on_time`` is None there).

    Raises:
        ValidationError: no community named (desk roles) or unknown.
        PermissionDeniedError: the role may not read the roster, or another community.
    """
    now = now or utcnow()
    with db.read() as s:
        code = resolve_community(s, by, community, tr(READ))
        if code is None:
            raise ValidationError(tr("Name the community."), {"community": tr("required")})
        tz = calendar_from(s).tz
        name = s.scalar(select(Community.name).where(Community.code == code))
        grids = s.execute(select(Grid.code, Grid.name).where(Grid.community_code == code).order_by(Grid.code)).all()
        facts = load_facts(
            s, [scope_filter(by, tr(READ)), CarePerson.active.is_(True), CarePerson.community_code == code]
        )
        campaigns = open_campaigns(s)
    per_grid: dict[str, dict[str, Any]] = {
        g: {"grid": g, "grid_name": n, "people": 0, "on_time": 0, "overdue": 0} for g, n in grids
    }
    for f in facts.values():
        sched = schedule_of(f, campaigns, now, tz)
        if sched is None:
            continue
        row = per_grid[f.person.grid_code]
        row["people"] += 1
        last = f.last_visit
        if last is not None and now - last.visited_at <= timedelta(days=sched.rule.interval_days):
            row["on_time"] += 1
        if sched.status == "overdue":
            row["overdue"] += 1

    def share(row: dict[str, Any]) -> float | None:
        return round(row["on_time"] / row["people"], 4) if row["people"] else None

    rows = [r | {"share_on_time": share(r)} for r in per_grid.values()]
    total = {k: sum(r[k] for r in rows) for k in ("people", "on_time", "overdue")}
    return {"community": code, "community_name": name, **total, "share_on_time": share(total), "grids": rows}
