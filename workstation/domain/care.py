"""Care visits to the nine priority population groups: identity numbers and the visit schedule.

Pure rules, no database. The schedule of one person follows from

* the groups the person is in (each with its visit interval and how many days before the due date
  the visit window opens): the shortest interval wins; a high-risk membership halves its interval
  (whole days, at least one); an elderly person of advanced age (G1) living alone counts as high
  risk and is visited at least every 7 days;
* the last visit at which the person was met: the next visit is due one interval later, or at the
  time the visitor set instead (with a reason); never visited: due by the end of the day the
  membership began;
* major changes (hospital stay, bereavement, living alone from now on, extreme weather) not yet
  answered by a visit: each asks for a visit within 24 hours of it;
* campaigns (heat wave, cold snap, rainstorm) that ask for a visit by their deadline.

The earliest of these obligations is the due time. Overdue is derived from the time of asking,
never stored: past the due time the person is overdue; from the window's opening the person is due.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final

from workstation.domain.lifecycle import N_

RISK_NORMAL: Final = "normal"
RISK_HIGH: Final = "high"
RISKS: Final = (RISK_NORMAL, RISK_HIGH)

ALONE: Final = "alone"
ELDERLY_GROUP: Final = "G1"
ELDERLY_ALONE_DAYS: Final = 7
"""An elderly person of advanced age living alone is high risk and visited at least this often."""

URGENT_WITHIN: Final = timedelta(hours=24)
"""A major change asks for a visit within this time."""

ADULT_AGE: Final = 18


GENDERS: Final = {"male": N_("male"), "female": N_("female")}
LIVING: Final = {
    "alone": N_("lives alone"),
    "spouse": N_("with spouse only"),
    "family": N_("with family"),
    "grandparents": N_("with grandparents"),
    "institution": N_("in a care institution"),
    "other": N_("other"),
}
MODES: Final = {"home": N_("home visit"), "phone": N_("phone call"), "video": N_("video call")}
AREAS: Final = {"health": N_("health"), "living": N_("living conditions"), "safety": N_("safety"), "mood": N_("mood")}
OBSERVATIONS: Final = {"ok": N_("ok"), "concern": N_("concern")}
CHANGE_KINDS: Final = {
    "hospital": N_("hospital stay"),
    "bereavement": N_("bereavement"),
    "alone": N_("living alone from now on"),
    "weather": N_("extreme weather"),
    "other": N_("other major change"),
}
CAMPAIGN_KINDS: Final = {
    "heat": N_("heat wave"),
    "cold": N_("cold snap"),
    "rain": N_("rainstorm"),
    "other": N_("other"),
}
STATUS_NAMES: Final = {"overdue": N_("overdue"), "due": N_("due"), "scheduled": N_("scheduled")}


class Status(StrEnum):
    """Where a person stands in the visit schedule at a given instant."""

    OVERDUE = "overdue"
    DUE = "due"
    SCHEDULED = "scheduled"


REASON_NAMES: Final = {
    "first": N_("first visit since joining the group"),
    "interval": N_("every {days} days after the last visit"),
    "override": N_("date set at the last visit"),
    "urgent": N_("major change: visit within 24 hours"),
    "campaign": N_("visit campaign"),
}


def schedule_reason(row: dict[str, Any]) -> str:
    """Why a person is due when they are (a worklist row or a schedule), in the language in force."""
    from workstation.i18n import tr

    reason = row.get("reason")
    if reason not in REASON_NAMES:
        return ""
    return tr(REASON_NAMES[reason], days=row.get("interval_days") or "-")


class Reason(StrEnum):
    """Which obligation sets the due time."""

    FIRST = "first"
    INTERVAL = "interval"
    OVERRIDE = "override"
    URGENT = "urgent"
    CAMPAIGN = "campaign"


# --- identity numbers (GB 11643, check digit ISO 7064 MOD 11-2) --------------------------------------

_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK: Final = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The check character of the 17 leading digits of an identity number.

    Raises:
        ValueError: not 17 digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("17 digits expected")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


class IdNumberError(ValueError):
    """An identity number that is not valid; ``kind`` is ``format``, ``date`` or ``check``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def normalise_id(text: str) -> str:
    """An identity number as stored: stripped, upper-case ``X``.

    Raises:
        IdNumberError: wrong length or characters (``format``), impossible birth date (``date``), or
            a wrong check digit (``check``).
    """
    number = (text or "").strip().upper()
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit() or number[17] not in _CHECK:
        raise IdNumberError("format")
    try:
        birth_of_id(number)
    except ValueError:
        raise IdNumberError("date") from None
    if id_check_digit(number[:17]) != number[17]:
        raise IdNumberError("check")
    return number


def birth_of_id(number: str) -> date:
    """The birth date encoded in an identity number (characters 7 to 14).

    Raises:
        ValueError: not a date.
    """
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of_id(number: str) -> str:
    """``male`` or ``female`` from the 17th character (odd: male)."""
    return "male" if int(number[16]) % 2 else "female"


def age_on(birth: date, day: date) -> int:
    """Whole years of age on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(birth: date | None, day: date) -> bool:
    """Under 18 on ``day``; unknown birth dates count as adult."""
    return birth is not None and age_on(birth, day) < ADULT_AGE


# --- the schedule ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """A person's membership of one group, with the group's interval and window."""

    group: str
    interval_days: int
    window_open_days: int
    risk: str = RISK_NORMAL
    since: date | None = None
    until: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the membership is in force on ``day``."""
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)


@dataclass(frozen=True)
class Rule:
    """The interval in force for a person and the group that sets it."""

    interval_days: int
    window_days: int
    group: str
    high_risk: bool


@dataclass(frozen=True)
class Ask:
    """A campaign's request: visit by ``deadline``; a visit from ``starts_at`` on answers it."""

    campaign_id: int
    starts_at: datetime
    deadline: datetime


@dataclass(frozen=True)
class Schedule:
    """When a person is next due, from when the visit window is open, and why."""

    due: datetime
    window_opens: datetime
    status: Status
    reason: Reason
    rule: Rule
    urgent: tuple[datetime, ...] = field(default=())
    campaigns: tuple[int, ...] = field(default=())

    def overdue_by(self, now: datetime) -> timedelta:
        """How long past due at ``now`` (zero when not overdue)."""
        return max(now - self.due, timedelta(0))


def membership_rule(m: Membership, *, living_alone: bool = False) -> Rule:
    """The interval one membership asks for, after its risk level."""
    elderly_alone = m.group == ELDERLY_GROUP and living_alone
    high = m.risk == RISK_HIGH or elderly_alone
    days = max(1, m.interval_days // 2) if high else max(1, m.interval_days)
    if elderly_alone:
        days = min(days, ELDERLY_ALONE_DAYS)
    window = max(0, m.window_open_days)
    if days < m.interval_days:
        window = math.ceil(window * days / m.interval_days)
    return Rule(days, min(window, days - 1), m.group, high)


def effective_rule(
    memberships: Iterable[Membership], *, living_alone: bool = False, on: date | None = None
) -> Rule | None:
    """The rule in force: the shortest interval of the memberships active on ``on`` (all if None)."""
    rules = [membership_rule(m, living_alone=living_alone) for m in memberships if on is None or m.active_on(on)]
    if not rules:
        return None
    return min(rules, key=lambda r: (r.interval_days, r.window_days, r.group))


def pending_urgent(events: Iterable[datetime], last_visit: datetime | None) -> tuple[datetime, ...]:
    """The major changes a visit has not answered yet (a visit at or after a change answers it)."""
    return tuple(sorted(e for e in events if last_visit is None or last_visit < e))


def status_at(due: datetime, window_opens: datetime, now: datetime) -> Status:
    """Overdue past the due time, due from the window's opening, otherwise scheduled."""
    if now > due:
        return Status.OVERDUE
    if now >= window_opens:
        return Status.DUE
    return Status.SCHEDULED


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The last second of ``day`` in ``tz``: a visit due on a date is due by the end of it."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def schedule(
    memberships: Sequence[Membership],
    *,
    now: datetime,
    last_visit: datetime | None = None,
    override: datetime | None = None,
    urgent: Iterable[datetime] = (),
    campaigns: Iterable[Ask] = (),
    living_alone: bool = False,
    tz: tzinfo = UTC,
) -> Schedule | None:
    """A person's next visit; None when no membership is active on the local date of ``now``.

    Args:
        memberships: the person's memberships (inactive ones are ignored).
        now: the instant of asking (aware).
        last_visit: the last visit at which the person was met.
        override: the next due time the visitor set at that last visit (instead of the interval).
        urgent: times of major changes; those after ``last_visit`` are pending.
        campaigns: campaign requests that apply to the person; those not answered by ``last_visit``
            (a visit at or after the campaign's start) are pending.
        living_alone: the person lives alone (makes G1 high risk).
        tz: the district's timezone, for membership dates.
    """
    today = now.astimezone(tz).date()
    active = [m for m in memberships if m.active_on(today)]
    rule = effective_rule(active, living_alone=living_alone)
    if rule is None:
        return None
    window = timedelta(days=rule.window_days)
    if last_visit is not None and override is not None:
        candidates = [(override, override - window, Reason.OVERRIDE)]
    elif last_visit is not None:
        due = last_visit + timedelta(days=rule.interval_days)
        candidates = [(due, due - window, Reason.INTERVAL)]
    else:
        starts = [m.since for m in active if m.since is not None]
        due = end_of_day(min(starts), tz) if starts else now
        candidates = [(due, due - window, Reason.FIRST)]
    pending = pending_urgent(urgent, last_visit)
    candidates += [(e + URGENT_WITHIN, e, Reason.URGENT) for e in pending]
    asks = sorted((a for a in campaigns if last_visit is None or last_visit < a.starts_at), key=lambda a: a.deadline)
    candidates += [(a.deadline, a.starts_at, Reason.CAMPAIGN) for a in asks]
    due, _, reason = min(candidates, key=lambda c: c[0])
    opens = min(min(c[1] for c in candidates), due)
    return Schedule(
        due=due,
        window_opens=opens,
        status=status_at(due, opens, now),
        reason=reason,
        rule=rule,
        urgent=pending,
        campaigns=tuple(a.campaign_id for a in asks),
    )
