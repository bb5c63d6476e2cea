"""Care visits: recording a visit and its needs, raising cases from needs, major changes, campaigns.

A need that another unit must solve becomes a case in the operator queue on channel VISIT,
idempotently: the case's external id is ``visit-<visit id>-<need number>`` and the need keeps the
case id. Who may do what is decided in ``care_privacy``; the schedule these records drive is read
by ``care_worklist``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.domain.care import AREAS, CAMPAIGN_KINDS, CHANGE_KINDS, MODES, OBSERVATIONS, end_of_day, is_minor
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import (
    CareCampaign,
    CareChange,
    CareGroup,
    CareMembership,
    CareVisit,
    CareVisitNeed,
    Street,
    utcnow,
)
from workstation.services.actors import Actor
from workstation.services.calendar import calendar_from
from workstation.services.care import group_codes, summary
from workstation.services.care_privacy import WRITE_ROLES, community_scope, load_person
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.notices import notify
from workstation.services.reports import add_report, parse_time
from workstation.storage.db import Database

CLOCK_SKEW: Final = timedelta(minutes=5)
"""A visit time up to this far ahead of the server's clock is accepted (seats' clocks differ a little)."""
BACKDATE_DAYS: Final = 30
"""How late a visit may be recorded by default; ``$WORKSTATION_CARE_BACKDATE_DAYS`` changes it."""
BACKDATE_ENV: Final = "WORKSTATION_CARE_BACKDATE_DAYS"
CHANGE_ROLES: Final = (*WRITE_ROLES, Role.OPERATOR)
CAMPAIGN_ROLES: Final = (Role.LEAD, Role.ADMIN)


# --- visits ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """A need found at a visit; ``raise_case`` sends it to the operator queue as a case."""

    text: str
    raise_case: bool = False
    urgent: bool = False


@dataclass(frozen=True)
class VisitRecorded:
    """The outcome of recording a visit: its id, whether it is new, and the case of each need (or None)."""

    visit_id: int
    created: bool
    case_ids: tuple[int | None, ...]


def _observations(value: Any, errors: dict[str, str]) -> dict[str, dict[str, str]]:
    if not value:
        return {}
    if not isinstance(value, Mapping):
        errors["observations"] = tr("an object of area: ok/concern")
        return {}
    out = {}
    for area, obs in value.items():
        if area not in AREAS:
            errors["observations"] = tr("unknown area {area}: use {areas}", area=area, areas=", ".join(AREAS))
            continue
        if isinstance(obs, str):
            status, note = obs, ""
        elif isinstance(obs, Mapping):
            status, note = str(obs.get("status") or ""), str(obs.get("note") or "").strip()
        elif isinstance(obs, tuple | list) and len(obs) == 2:
            status, note = str(obs[0]), str(obs[1]).strip()
        else:
            errors["observations"] = tr("{area}: ok or concern, with an optional note", area=area)
            continue
        if status not in OBSERVATIONS:
            errors["observations"] = tr("{area}: ok or concern, with an optional note", area=area)
            continue
        out[area] = {"status": status, "note": note}
    return out


def _needs(value: Sequence[Need | str | Mapping[str, Any]], errors: dict[str, str]) -> list[Need]:
    out = []
    for item in value or []:
        if isinstance(item, Need):
            need = item
        elif isinstance(item, str):
            need = Need(item)
        elif isinstance(item, Mapping):
            need = Need(str(item.get("text") or ""), bool(item.get("raise_case")), bool(item.get("urgent")))
        else:
            errors["needs"] = tr("each need is a text")
            continue
        text = need.text.strip()
        if not text:
            errors["needs"] = tr("a need cannot be empty")
        elif len(text) > 1000:
            errors["needs"] = tr("at most {n} characters", n=1000)
        out.append(Need(text, need.raise_case, need.urgent))
    return out


def backdate_limit() -> timedelta:
    """How far back a visit may be dated: ``$WORKSTATION_CARE_BACKDATE_DAYS`` (0–366), else 30 days."""
    raw = os.environ.get(BACKDATE_ENV, "").strip()
    try:
        days = int(raw) if raw else BACKDATE_DAYS
    except ValueError:
        days = BACKDATE_DAYS
    return timedelta(days=min(max(days, 0), 366))


def parse_visit_time(value: datetime | str, tz: tzinfo) -> datetime:
    """A visit's time: ISO 8601 with an offset, or a local date and time in the centre's zone ``tz``.

    ``2026-11-30 09:30``, ``2026-11-30T09:30`` and ``2026-11-30T09:30:00+08:00`` are accepted.

    Raises:
        ValueError: not a date and time (the reason says what is expected).
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            tr("not a date and time: write 2026-11-30 09:30 (local time) or 2026-11-30T09:30+08:00")
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _visit_time(db: Database, value: Any, errors: dict[str, str], now: datetime) -> datetime:
    """When the visit happened: not in the future (beyond the clock skew), not beyond the back-dating limit."""
    if value in (None, ""):
        return now
    try:
        if isinstance(value, datetime) and value.tzinfo:
            when = value
        else:
            with db.read() as s:
                tz = calendar_from(s).tz
            when = parse_visit_time(value, tz)
    except ValueError as exc:
        errors["at"] = str(exc)
        return now
    limit = backdate_limit()
    if when > now + CLOCK_SKEW:
        errors["at"] = tr("{time} is in the future", time=when.isoformat(timespec="minutes"))
    elif when < now - limit:
        errors["at"] = tr(
            "{time} is more than {days} days ago: a visit may be recorded at most {days} days late",
            time=when.isoformat(timespec="minutes"),
            days=limit.days,
        )
    return when


def _when(value: Any, key: str, errors: dict[str, str], default: datetime) -> datetime:
    if value in (None, ""):
        return default
    try:
        return parse_time(value)
    except ValueError as exc:
        errors[key] = str(exc)
        return default


def record_visit(
    db: Database,
    by: Actor,
    person_id: int,
    *,
    mode: str,
    met: bool,
    at: datetime | str | None = None,
    visitor: str = "",
    observations: Mapping[str, Any] | None = None,
    needs: Sequence[Need | str | Mapping[str, Any]] = (),
    note: str = "",
    next_due: date | datetime | None = None,
    next_due_reason: str = "",
    key: str | None = None,
) -> VisitRecorded:
    """Record a visit and its needs in one transaction, then raise a case for each need marked so.

    Args:
        db: the database.
        by: station staff (their own community), a shift lead or an administrator.
        person_id: who was visited.
        mode: ``home``, ``phone`` or ``video``.
        met: whether the person was met (only such visits count for the schedule).
        at: when it happened (aware, or local text/time in the centre's zone; default now): not
            later than :data:`CLOCK_SKEW` ahead, not earlier than :func:`backdate_limit` ago. The
            visit keeps its ``recorded_at`` (now) and ``recorded_by`` besides.
        visitor: who visited (default the actor's display name), e.g. a colleague whose visit is typed in.
        observations: area (``health``, ``living``, ``safety``, ``mood``) to ``ok``/``concern`` or
            ``{status, note}``.
        needs: texts, :class:`Need` objects or ``{text, raise_case, urgent}``.
        note: free text.
        next_due: the next visit's date (due by the end of it) or time instead of the interval; needs
            ``next_due_reason`` and a visit at which the person was met.
        next_due_reason: why.
        key: a key the caller chooses once per visit (e.g. a UUID): recording again with the same
            key returns the visit already recorded (and raises any case still missing).

    Raises:
        ValidationError: naming each bad field.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    errors: dict[str, str] = {}
    now = utcnow()
    when = _visit_time(db, at, errors, now)
    if mode not in MODES:
        errors["mode"] = tr("one of: {codes}", codes=", ".join(MODES))
    if not isinstance(met, bool):
        errors["met"] = tr("true or false")
    obs = _observations(observations, errors)
    need_list = _needs(needs, errors)
    visitor = (visitor or by.display_name or by.name).strip()
    if len(visitor) > 50:
        errors["visitor"] = tr("at most {n} characters", n=50)
    next_reason = (next_due_reason or "").strip()
    if key is not None and not 0 < len(key) <= 64:
        errors["key"] = tr("1 to 64 characters")
    values = {
        "visited_at": when,
        "visitor": visitor,
        "mode": mode,
        "met": met,
        "observations": obs,
        "note": (note or "").strip(),
        "next_due_reason": next_reason,
        "client_key": key,
        "recorded_at": now,
        "recorded_by": by.name,
    }
    try:
        with db.write() as s:
            person = load_person(s, by, person_id, tr("record care visits"), write=True)
            values["next_due_at"] = _next_due(next_due, next_reason, met, when, calendar_from(s).tz, errors)
            if errors:
                raise ValidationError(summary(errors), errors)
            existing = s.scalar(select(CareVisit).where(CareVisit.client_key == key)) if key else None
            if existing is not None and existing.person_id != person.id:
                raise ValidationError(tr("That key belongs to a visit of another person."), {"key": tr("already used")})
            created = existing is None
            visit_id = _store(s, person.id, values, need_list) if existing is None else existing.id
    except IntegrityError:  # the same key, recorded at the same moment by another seat
        found = _visit_by_key(db, key)
        if found is None:
            raise
        visit_id, created = found, False
    if created:
        notify("care_visit", [visit_id])
    return _raise_pending(db, by, visit_id, created=created)


def _next_due(
    value: date | datetime | None, reason: str, met: bool, visited: datetime, tz: tzinfo, errors: dict[str, str]
) -> datetime | None:
    if value is None:
        return None
    due = value if isinstance(value, datetime) else end_of_day(value, tz)
    if due.tzinfo is None:
        errors["next_due"] = tr("has no timezone (add +08:00)")
    elif due <= visited:
        errors["next_due"] = tr("must be after the visit")
    if not reason:
        errors["next_due_reason"] = tr("required with a next date")
    if met is False:
        errors["next_due"] = tr("only when the person was met")
    return due


def _store(s: Session, person_id: int, values: dict[str, Any], needs: list[Need]) -> int:
    visit = CareVisit(person_id=person_id, **values)
    s.add(visit)
    s.flush()
    for seq, need in enumerate(needs, start=1):
        s.add(CareVisitNeed(visit_id=visit.id, seq=seq, text=need.text, raise_case=need.raise_case, urgent=need.urgent))
    return visit.id


def _visit_by_key(db: Database, key: str | None) -> int | None:
    if not key:
        return None
    with db.read() as s:
        return s.scalar(select(CareVisit.id).where(CareVisit.client_key == key))


def _raise_pending(db: Database, by: Actor, visit_id: int, *, created: bool) -> VisitRecorded:
    with db.read() as s:
        needs = s.scalars(select(CareVisitNeed).where(CareVisitNeed.visit_id == visit_id).order_by(CareVisitNeed.seq))
        rows = [(n.seq, n.raise_case, n.case_id) for n in needs]
    case_ids: list[int | None] = []
    for seq, wanted, case_id in rows:
        if wanted and case_id is None:
            case_id = raise_case_from_need(db, by, visit_id, seq)
        case_ids.append(case_id)
    return VisitRecorded(visit_id, created, tuple(case_ids))


def raise_case_from_need(db: Database, by: Actor, visit_id: int, seq: int) -> int:
    """Send need number ``seq`` of a visit to the operator queue as a case; returns the case id.

    Idempotent: the case's external id is ``visit-<visit_id>-<seq>`` on channel VISIT, and the need
    keeps the case id. The case carries the person's grid and address and a text built from the need;
    for a minor, whose need and address are masked in every care view, the case carries only the grid
    and a text saying where the details are (the station of the person's community sees them).

    Raises:
        NotFoundError, PermissionDeniedError: no such need on the actor's roster, or the role may not.
    """
    with db.read() as s:
        row = s.execute(
            select(CareVisitNeed, CareVisit)
            .join(CareVisit, CareVisit.id == CareVisitNeed.visit_id)
            .where(CareVisitNeed.visit_id == visit_id, CareVisitNeed.seq == seq)
        ).first()
        if row is None:
            raise NotFoundError(tr("Visit {visit} has no need {n}.", visit=visit_id, n=seq))
        need, visit = row
        person = load_person(s, by, visit.person_id, tr("raise cases from care visits"), write=True)
        if need.case_id is not None:
            return need.case_id
        groups = s.execute(
            select(CareGroup.code, CareGroup.name)
            .join(CareMembership, CareMembership.group_code == CareGroup.code)
            .where(CareMembership.person_id == person.id)
            .distinct()
            .order_by(CareGroup.code)
        ).all()
        names = ", ".join(name for _, name in groups)
        minor = is_minor(person.birth_date, visit.visited_at.astimezone(calendar_from(s).tz).date())
        if minor:
            text = tr(
                "A need of a minor found at care visit {visit} of person {person} ({groups}); the details are "
                "masked: the station of the person's community sees them on the person's page.",
                visit=visit_id,
                person=person.id,
                groups=names or "-",
            )
        else:
            text = tr(
                "{need} (found at care visit {visit} of person {person}, {groups})",
                need=need.text,
                visit=visit_id,
                person=person.id,
                groups=names or "-",
            )
        report = {
            "channel": "VISIT",
            "external_id": f"visit-{visit_id}-{seq}",
            "text": text,
            "address": "" if minor else person.address,
            "grid": person.grid_code,
            "reporter_name": visit.visitor,
            "received_at": visit.visited_at,
            "urgency": "urgent" if need.urgent else "normal",
        }
    added = add_report(db, report, by)
    with db.write() as s:
        s.execute(
            update(CareVisitNeed)
            .where(CareVisitNeed.id == need.id, CareVisitNeed.case_id.is_(None))
            .values(case_id=added.case_id, raise_case=True)
            .execution_options(synchronize_session=False)
        )
    notify("care_visit", [visit_id])
    return added.case_id


# --- major changes and campaigns -------------------------------------------------------------------------------


def record_major_change(
    db: Database, by: Actor, person_id: int, kind: str, at: datetime | str | None = None, note: str = ""
) -> int:
    """Record a major change (hospital stay, bereavement, living alone, extreme weather); returns its id.

    The person is due a visit within 24 hours of ``at`` (default now) until a visit at which they
    are met is recorded at or after it. ``alone`` also sets the person's living situation.

    Raises:
        ValidationError: unknown kind, bad or future time.
        NotFoundError, PermissionDeniedError: not on the actor's roster, or the role may not.
    """
    by.require(CHANGE_ROLES, tr("record major changes"))
    errors: dict[str, str] = {}
    now = utcnow()
    when = _when(at, "at", errors, now)
    if when > now + CLOCK_SKEW:
        errors["at"] = tr("in the future")
    if kind not in CHANGE_KINDS:
        errors["kind"] = tr("one of: {codes}", codes=", ".join(CHANGE_KINDS))
    if errors:
        raise ValidationError(summary(errors), errors)
    with db.write() as s:
        person = load_person(s, by, person_id, tr("record major changes"))
        row = CareChange(person_id=person.id, kind=kind, at=when, note=(note or "").strip(), recorded_by=by.name)
        s.add(row)
        if kind == "alone" and person.living != "alone":
            person.living = "alone"
            person.version += 1
            person.updated_at, person.updated_by = now, by.name
        s.flush()
        change_id = row.id
    notify("care_person", [person_id])
    return change_id


def create_campaign(
    db: Database,
    by: Actor,
    title: str,
    kind: str,
    groups: Sequence[str],
    streets: Sequence[str],
    deadline: datetime | str,
    *,
    starts_at: datetime | str | None = None,
    note: str = "",
) -> int:
    """Ask for visits to the chosen groups in the chosen streets (all streets when empty) by a deadline.

    A person in one of the groups living in one of the streets is due by the deadline until a visit
    at which they are met is recorded at or after ``starts_at`` (default now). Returns the id.

    Raises:
        ValidationError: naming each bad field.
        PermissionDeniedError: not a shift lead or administrator.
    """
    by.require(CAMPAIGN_ROLES, tr("start visit campaigns"))
    errors: dict[str, str] = {}
    now = utcnow()
    start = _when(starts_at, "starts_at", errors, now)
    end = _when(deadline, "deadline", errors, now)
    if deadline in (None, ""):
        errors["deadline"] = tr("required")
    elif "deadline" not in errors and end <= start:
        errors["deadline"] = tr("must be after the start")
    title = (title or "").strip()
    if not title or len(title) > 100:
        errors["title"] = tr("1 to 100 characters")
    if kind not in CAMPAIGN_KINDS:
        errors["kind"] = tr("one of: {codes}", codes=", ".join(CAMPAIGN_KINDS))
    with db.write() as s:
        codes = group_codes(s)
        chosen = sorted({codes.get(str(g).strip(), "") for g in groups})
        if not groups:
            errors["groups"] = tr("choose at least one group")
        elif "" in chosen:
            errors["groups"] = tr("unknown group(s): {names}", names=", ".join(g for g in groups if g not in codes))
        street_rows = {r.code: r.code for r in s.scalars(select(Street))} | {
            r.name: r.code for r in s.scalars(select(Street))
        }
        street_codes = sorted({street_rows.get(str(x).strip(), "") for x in streets})
        if "" in street_codes:
            errors["streets"] = tr(
                "unknown street(s): {names}", names=", ".join(x for x in streets if x not in street_rows)
            )
        if errors:
            raise ValidationError(summary(errors), errors)
        row = CareCampaign(
            title=title,
            kind=kind,
            group_codes=chosen,
            street_codes=street_codes,
            starts_at=start,
            deadline=end,
            note=(note or "").strip(),
            created_at=now,
            created_by=by.name,
        )
        s.add(row)
        s.flush()
        campaign_id = row.id
    notify("care_campaign", [campaign_id])
    return campaign_id


def cancel_campaign(db: Database, by: Actor, campaign_id: int) -> None:
    """Call a campaign off: it no longer makes anybody due.

    Raises:
        NotFoundError: no such campaign.
        PermissionDeniedError: not a shift lead or administrator.
    """
    by.require(CAMPAIGN_ROLES, tr("call off visit campaigns"))
    with db.write() as s:
        row = s.get(CareCampaign, campaign_id)
        if row is None:
            raise NotFoundError(tr("There is no campaign {id}.", id=campaign_id))
        if row.cancelled_at is None:
            row.cancelled_at, row.cancelled_by = utcnow(), by.name
    notify("care_campaign", [campaign_id])


def list_campaigns(db: Database, by: Actor, *, include_cancelled: bool = False) -> list[dict[str, Any]]:
    """Campaigns, newest first.

    Each: ``id, title, kind, groups, streets, starts, deadline, note, created_by, cancelled``.

    Raises:
        PermissionDeniedError: the role may not read the care roster.
    """
    community_scope(by, tr("read the care roster"))
    with db.read() as s:
        tz = calendar_from(s).tz
        query = select(CareCampaign).order_by(CareCampaign.id.desc())
        if not include_cancelled:
            query = query.where(CareCampaign.cancelled_at.is_(None))
        return [
            {
                "id": c.id,
                "title": c.title,
                "kind": c.kind,
                "groups": list(c.group_codes),
                "streets": list(c.street_codes),
                "starts": c.starts_at.astimezone(tz).isoformat(),
                "deadline": c.deadline.astimezone(tz).isoformat(),
                "note": c.note,
                "created_by": c.created_by,
                "cancelled": c.cancelled_at.astimezone(tz).isoformat() if c.cancelled_at else None,
            }
            for c in s.scalars(query)
        ]
