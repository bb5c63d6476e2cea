"""The working calendar as stored: reading it, and the administrator's edits of a year's lists."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workstation.domain.calendar import WorkingCalendar
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.models import CalendarYear, Meta
from workstation.services.actors import Actor
from workstation.services.errors import ValidationError
from workstation.storage.db import Database


def calendar_from(s: Session) -> WorkingCalendar:
    """The working calendar stored in the database."""
    meta = s.get(Meta, "calendar.base")
    base = json.loads(meta.value) if meta else {}
    years = {str(y.year): {"holidays": y.holidays, "workdays": y.workdays} for y in s.scalars(select(CalendarYear))}
    return WorkingCalendar.from_dict({**base, "years": years})


def load_calendar(db: Database) -> WorkingCalendar:
    """The working calendar in force."""
    with db.read() as s:
        return calendar_from(s)


def set_day(db: Database, by: Actor, day: date, kind: str) -> None:
    """Mark a day as ``holiday``, ``workday`` (make-up working day) or ``normal``.

    Raises:
        ValidationError: unknown kind.
        PermissionDeniedError: not an administrator.
    """
    by.require([Role.ADMIN], tr("edit the working calendar"))
    if kind not in ("holiday", "workday", "normal"):
        raise ValidationError(tr("A day is a holiday, a workday or normal."), {"kind": kind})
    with db.write() as s:
        if kind == "workday" and day.isoweekday() in calendar_from(s).weekdays:
            raise ValidationError(
                tr("{day} is a regular working day already; a make-up working day is a weekend day.", day=day),
                {"day": tr("already a working day")},
            )
        row = s.get(CalendarYear, day.year) or CalendarYear(year=day.year, holidays=[], workdays=[])
        text = day.isoformat()
        holidays = [d for d in row.holidays if d != text]
        workdays = [d for d in row.workdays if d != text]
        if kind == "holiday":
            holidays.append(text)
        elif kind == "workday":
            workdays.append(text)
        row.holidays, row.workdays, row.source = sorted(holidays), sorted(workdays), "admin"
        s.add(row)


def year_days(db: Database, year: int) -> list[dict[str, object]]:
    """The listed days of a year, in date order: each holiday and make-up working day."""
    with db.read() as s:
        row = s.get(CalendarYear, year)
        if row is None:
            return []
        days = [(d, "holiday") for d in row.holidays] + [(d, "workday") for d in row.workdays]
        return [
            {"id": d, "date": d, "kind": kind, "weekday": date.fromisoformat(d).isoweekday(), "source": row.source}
            for d, kind in sorted(days)
        ]


def known_years(db: Database) -> list[int]:
    """The years that have a stored list of holidays and make-up days."""
    with db.read() as s:
        return sorted(s.scalars(select(CalendarYear.year)))
