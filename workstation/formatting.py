"""How times, durations, limits and days read in the language in force: one place for all of them.

``55m43s`` or ``-2d14h`` are fine for a log but not for a seat operator; in Chinese they read
``55分43秒`` and ``超期2天14小时``, in English ``55 min 43 s`` and ``2 d 14 h overdue``. Time limits as
stored (``4wh``, ``2wd``) read ``4工作小时`` and ``2工作日``. Qt-free: the command line and the window
both use it.
"""

from __future__ import annotations

from datetime import date, datetime

from workstation.domain.lifecycle import N_
from workstation.i18n import tr

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))

# A limit's unit -> how an amount of it reads.
LIMIT_UNITS = {
    "m": N_("{n} min"),
    "h": N_("{n} h"),
    "wh": N_("{n} working hours"),
    "wd": N_("{n} working days"),
}


def weekday(day: date | datetime) -> str:
    """The name of the day of the week."""
    return tr(WEEKDAYS[day.weekday()])


def limit_text(limit: object) -> str:
    """A time limit as stored (``4wh``, or a :class:`~workstation.domain.calendar.Limit`) in words.

    Text that is not a limit is returned as it is.
    """
    from workstation.domain.calendar import Limit, LimitError

    try:
        parsed = limit if isinstance(limit, Limit) else Limit.parse(str(limit))
    except LimitError:
        return str(limit)
    return tr(LIMIT_UNITS[parsed.unit], n=parsed.amount)


def _parts(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return tr("{d} d {h} h", d=days, h=hours)
    if hours:
        return tr("{h} h {m} min", h=hours, m=minutes)
    if minutes:
        return tr("{m} min {s} s", m=minutes, s=secs)
    return tr("{s} s", s=secs)


def duration(seconds: float | None) -> str:
    """A length of time in its two largest units: ``1 h 05 min`` / ``1小时5分`` (``—`` when unknown)."""
    if seconds is None:
        return "—"
    return _parts(abs(round(seconds)))


def countdown(deadline: datetime, now: datetime) -> str:
    """The time left to a deadline, or how long it is overdue: ``1小时5分`` / ``超期2天14小时``."""
    seconds = int((deadline - now).total_seconds())
    if seconds < 0:
        return tr("{time} overdue", time=_parts(-seconds))
    return _parts(seconds)


def yes_no(value: object) -> str:
    """``yes`` / ``no`` in the language in force."""
    return tr("yes") if value else tr("no")


# The details of a history event: key -> label. Keys not listed are not shown to users.
DETAIL_LABELS = {
    "channel": N_("channel"),
    "external_id": N_("source number"),
    "category": N_("category"),
    "limit": N_("time limit"),
    "deadline": N_("deadline"),
    "unit": N_("unit"),
    "into": N_("merged into"),
    "photos": N_("photos"),
    "approved": N_("approved"),
    "verifier": N_("verifier"),
    "undone_action": N_("undone"),
    "source": N_("source"),
    "service_code": N_("service code"),
    "changed": N_("changed"),
    "not_understood": N_("not understood"),
}
# The fields of a report, as named when a source changed them.
REPORT_FIELDS = {
    "text": N_("text"),
    "address": N_("address"),
    "received_at": N_("received"),
    "reporter_name": N_("reporter"),
    "reporter_phone": N_("reporter's phone"),
    "lon": N_("longitude"),
    "lat": N_("latitude"),
    "grid": N_("grid"),
    "grid_code": N_("grid"),
    "photos": N_("photos"),
    "priority": N_("priority"),
}


def local_time(value: object) -> str:
    """An ISO time (as stored in histories) as ``2026-12-01 10:30``; other values as they are."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def detail_value(key: str, value: object, details: dict[str, object]) -> str:
    """One detail of a history event, in words."""
    from workstation.i18n import action_label, channel_label

    if key == "channel":
        return channel_label(str(value))
    if key == "limit":
        return limit_text(value)
    if key == "deadline":
        return local_time(value)
    if key == "approved":
        return yes_no(value)
    if key == "undone_action":
        return action_label(str(value))
    if key == "category":
        return f"{value} {details.get('category_name') or ''}".strip()
    if key == "unit":
        return str(details.get("unit_name") or value)
    if key == "into":
        return f"#{value}"
    if key in ("photos", "not_understood") and isinstance(value, list):
        return tr(", ").join(str(v) for v in value) if key == "not_understood" else str(len(value))
    if key == "changed" and isinstance(value, dict):
        return tr(", ").join(tr(REPORT_FIELDS[k]) if k in REPORT_FIELDS else k for k in value)
    return str(value)


def details_text(details: dict[str, object]) -> str:
    """The details of a history event users care about: ``时限：2工作小时；截止：2026-12-01 10:30``."""
    parts = []
    for key, label in DETAIL_LABELS.items():
        value = details.get(key)
        if value is None or value == "" or value == []:
            continue
        parts.append(tr("{label}: {value}", label=tr(label), value=detail_value(key, value, details)))
    return tr("; ").join(parts)
