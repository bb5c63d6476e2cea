"""Case handling deadlines on the district's working calendar.

A time limit is a short text: ``30m`` and ``2h`` are natural minutes and hours
that run around the clock; ``4wh`` is working hours and ``2wd`` working days,
both counted on a :class:`WorkingCalendar` (by default Monday to Friday,
08:30-12:00 and 14:30-18:00 Beijing time, with public holidays and make-up
working days from a per-year list that an administrator edits).

Working time is measured in whole seconds: ``W(t)`` is the number of working
seconds up to the instant ``t``. Adding ``n wh`` gives the earliest instant
whose ``W`` is ``n * 3600`` larger. Adding ``n wd`` works on a day position
``P(t) = k + f``: ``k`` is the index of the working day and ``f`` the exact
fraction of that day's working time elapsed; time outside working days sits at
the end of the previous working day. The result is the earliest instant whose
position is ``n`` larger. Both are exactly additive and monotone; sub-second
parts of a start are dropped for working-time limits.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["UNITS", "Limit", "LimitError", "WorkingCalendar"]

UNITS: Final = ("m", "h", "wh", "wd")
"""Accepted limit units: natural minutes, natural hours, working hours, working days."""

DEFAULT_TZ: Final = "Asia/Shanghai"
DEFAULT_HOURS: Final[tuple[tuple[time, time], ...]] = (
    (time(8, 30), time(12, 0)),
    (time(14, 30), time(18, 0)),
)
DEFAULT_WEEKDAYS: Final = (1, 2, 3, 4, 5)

_LIMIT_RE: Final = re.compile(r"([0-9]+)(m|h|wh|wd)")
_TIME_RE: Final = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEAR_RE: Final = re.compile(r"[0-9]{4}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
_DAY: Final = timedelta(days=1)
_MAX_DAYS_OFF: Final = 3660
"""Longest run of days off tolerated before a calendar is judged to have no working days."""

_TOP_KEYS: Final = ("tz", "weekdays", "hours", "years")
_YEAR_KEYS: Final = ("holidays", "workdays")


class LimitError(ValueError):
    """A text that is not a time limit."""

    def __init__(self, text: object) -> None:
        """Build the message from the rejected text.

        Args:
            text: The text (or value) that was rejected.
        """
        self.text = text
        super().__init__(
            f"{text!r} is not a time limit: use a number followed by m, h, wh or wd (e.g. 30m, 2h, 4wh, 2wd)"
        )


@dataclass(frozen=True)
class Limit:
    """A handling time limit such as ``4wh``.

    Attributes:
        amount: How many units; at least 1.
        unit: ``m`` or ``h`` (natural), ``wh`` (working hours) or ``wd`` (working days).
    """

    amount: int
    unit: str

    def __post_init__(self) -> None:
        """Reject a zero or negative amount and unknown units."""
        amount_ok = isinstance(self.amount, int) and not isinstance(self.amount, bool)
        if not amount_ok or self.amount < 1 or self.unit not in UNITS:
            raise LimitError(f"{self.amount}{self.unit}")

    @classmethod
    def parse(cls, text: str) -> Limit:
        """Parse a limit such as ``30m``, ``2h``, ``4wh`` or ``2wd``.

        Spaces are ignored, case does not matter and full-width digits and
        letters (as typed with a Chinese input method) count as ASCII ones.

        Args:
            text: The limit as written in the catalogue or typed by a user.

        Returns:
            The parsed limit.

        Raises:
            LimitError: ``text`` is empty, zero, negative, fractional or has an unknown unit.
        """
        if not isinstance(text, str):
            raise LimitError(text)
        cleaned = "".join(unicodedata.normalize("NFKC", text).split()).lower()
        match = _LIMIT_RE.fullmatch(cleaned)
        if match is None or int(match[1]) == 0:
            raise LimitError(text)
        return cls(int(match[1]), match[2])

    def __str__(self) -> str:
        """Return the canonical text, e.g. ``2wh``."""
        return f"{self.amount}{self.unit}"

    @property
    def natural(self) -> bool:
        """Whether the limit runs around the clock (``m`` or ``h``)."""
        return self.unit in ("m", "h")


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _seconds(value: datetime) -> int:
    """Whole seconds since the epoch, rounding down."""
    return (value - _EPOCH) // _SECOND


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a known time zone (e.g. Asia/Shanghai)") from exc


def _time_text(value: time) -> str:
    return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")


def _check_hours(hours: Sequence[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    checked = tuple((start, end) for start, end in hours)
    if not checked:
        raise ValueError("working hours are empty: give at least one period such as 08:30-12:00")
    previous: tuple[time, time] | None = None
    for start, end in checked:
        for value in (start, end):
            if not isinstance(value, time) or value.tzinfo is not None or value.microsecond:
                raise ValueError(f"working hours need plain times of day, got {value!r}")
        label = f"{_time_text(start)}-{_time_text(end)}"
        if start >= end:
            raise ValueError(f"working period {label} ends before it starts")
        if previous is not None:
            previous_label = f"{_time_text(previous[0])}-{_time_text(previous[1])}"
            if start < previous[0]:
                raise ValueError(f"working periods are not in order: {label} comes after {previous_label}")
            if start < previous[1]:
                raise ValueError(f"working periods {previous_label} and {label} overlap")
        previous = (start, end)
    return checked


def _check_dates(values: Iterable[date], what: str) -> frozenset[date]:
    checked = frozenset(values)
    for value in checked:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{what} must be dates, got {value!r}")
    return checked


class WorkingCalendar:
    """Working days and hours of the district, and deadline arithmetic on them.

    Instances are immutable. All datetimes passed in must be timezone-aware;
    results are aware datetimes in the calendar's time zone.
    """

    def __init__(
        self,
        tz: str | ZoneInfo = DEFAULT_TZ,
        hours: Sequence[tuple[time, time]] = DEFAULT_HOURS,
        weekdays: Iterable[int] = DEFAULT_WEEKDAYS,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        years: Iterable[int] = (),
    ) -> None:
        """Create a calendar.

        Args:
            tz: IANA time zone the working hours are given in.
            hours: Working periods of a working day, in order, not overlapping.
            weekdays: ISO weekdays (Monday 1 ... Sunday 7) that are working days.
            holidays: Days off that would otherwise be working days.
            workdays: Make-up working days (调休上班) on otherwise free days; they use ``hours``.
            years: Years whose holiday list is known. Years that have a listed
                holiday or make-up day are counted as known as well.

        Raises:
            ValueError: Bad time zone, hours or weekdays; a date that is both a
                holiday and a make-up day; a make-up day that is already a working day.
        """
        self._tz = tz if isinstance(tz, ZoneInfo) else _zone(tz)
        self._hours = _check_hours(hours)
        weekday_set = frozenset(weekdays)
        for weekday in weekday_set:
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
                raise ValueError(f"{weekday!r} is not an ISO weekday: use 1 (Monday) to 7 (Sunday)")
        self._weekdays = weekday_set
        self._holidays = _check_dates(holidays, "holidays")
        self._workdays = _check_dates(workdays, "make-up working days")
        both = sorted(self._holidays & self._workdays)
        if both:
            raise ValueError(f"{both[0]} is listed both as a holiday and as a make-up working day")
        for day in sorted(self._workdays):
            if day.isoweekday() in self._weekdays:
                raise ValueError(f"{day} is listed as a make-up working day but is already a regular working day")
        known = frozenset(years)
        for year in known:
            if isinstance(year, bool) or not isinstance(year, int):
                raise ValueError(f"{year!r} is not a year")
        self._years = known | {day.year for day in self._holidays | self._workdays}

    # ----------------------------------------------------------------- loading

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """Build a calendar from its JSON form (see ``resources/calendar.json``).

        Keys beginning with ``_`` are comments and ignored; missing ``tz``,
        ``weekdays`` and ``hours`` take the defaults.

        Args:
            data: ``{"tz", "weekdays", "hours": [["08:30", "12:00"], ...],
                "years": {"2026": {"holidays": [...], "workdays": [...]}}}``.

        Returns:
            The calendar.

        Raises:
            ValueError: The data is malformed; the message says where and why.
        """
        if not isinstance(data, Mapping):
            raise ValueError("calendar: expected an object with tz, weekdays, hours and years")
        _check_keys(data, _TOP_KEYS, "calendar")
        tz = data.get("tz", DEFAULT_TZ)
        if not isinstance(tz, str):
            raise ValueError(f"calendar tz: {tz!r} is not a time zone name (e.g. Asia/Shanghai)")
        weekdays = data.get("weekdays", list(DEFAULT_WEEKDAYS))
        if not isinstance(weekdays, list) or not all(isinstance(w, int) and not isinstance(w, bool) for w in weekdays):
            raise ValueError(f"calendar weekdays: {weekdays!r} is not a list of ISO weekdays 1-7")
        raw_hours = data.get("hours")
        if raw_hours is None:
            hours = list(DEFAULT_HOURS)
        elif isinstance(raw_hours, list):
            hours = [_parse_period(p, f"calendar hours[{i}]") for i, p in enumerate(raw_hours)]
        else:
            raise ValueError('calendar hours: expected a list such as [["08:30", "12:00"]]')
        raw_years = data.get("years", {})
        if not isinstance(raw_years, Mapping):
            raise ValueError('calendar years: expected an object such as {"2026": {...}}')
        holidays: list[date] = []
        workdays: list[date] = []
        years: list[int] = []
        for key, entry in raw_years.items():
            if not isinstance(key, str) or not _YEAR_RE.fullmatch(key):
                raise ValueError(f'calendar years: {key!r} is not a year such as "2026"')
            year = int(key)
            years.append(year)
            where = f"calendar years {key}"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where}: expected an object with holidays and workdays")
            _check_keys(entry, _YEAR_KEYS, where)
            holidays += _parse_dates(entry.get("holidays", []), year, f"{where} holidays")
            workdays += _parse_dates(entry.get("workdays", []), year, f"{where} workdays")
        try:
            return cls(tz, hours, weekdays, holidays, workdays, years)
        except ValueError as exc:
            raise ValueError(f"calendar: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> WorkingCalendar:
        """Read a calendar from a JSON file in the :meth:`from_dict` form.

        Args:
            path: The JSON file.

        Returns:
            The calendar.

        Raises:
            OSError: The file cannot be read.
            ValueError: The file is not valid JSON or not a valid calendar.
        """
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form read by :meth:`from_dict`."""
        return {
            "tz": self._tz.key,
            "weekdays": sorted(self._weekdays),
            "hours": [[_time_text(start), _time_text(end)] for start, end in self._hours],
            "years": {
                str(year): {
                    "holidays": sorted(d.isoformat() for d in self._holidays if d.year == year),
                    "workdays": sorted(d.isoformat() for d in self._workdays if d.year == year),
                }
                for year in sorted(self._years)
            },
        }

    # -------------------------------------------------------------- attributes

    @property
    def tz(self) -> ZoneInfo:
        """Time zone of the working hours and of computed deadlines."""
        return self._tz

    @property
    def hours(self) -> tuple[tuple[time, time], ...]:
        """Working periods of a working day."""
        return self._hours

    @property
    def weekdays(self) -> frozenset[int]:
        """ISO weekdays that are working days unless a holiday."""
        return self._weekdays

    @property
    def holidays(self) -> frozenset[date]:
        """Listed public holidays."""
        return self._holidays

    @property
    def workdays(self) -> frozenset[date]:
        """Listed make-up working days."""
        return self._workdays

    @property
    def years(self) -> frozenset[int]:
        """Years whose holiday list is known."""
        return self._years

    def __eq__(self, other: object) -> bool:
        """Compare by content."""
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        """Hash by content."""
        return hash(self._key())

    def __repr__(self) -> str:
        """Summarise the calendar."""
        years = ",".join(str(y) for y in sorted(self._years)) or "none"
        return (
            f"WorkingCalendar(tz={self._tz.key!r}, {len(self._holidays)} holidays,"
            f" {len(self._workdays)} make-up days, years {years})"
        )

    def _key(self) -> tuple[object, ...]:
        return (
            self._tz.key,
            self._hours,
            self._weekdays,
            self._holidays,
            self._workdays,
            self._years,
        )

    # ----------------------------------------------------------------- queries

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (a regular weekday not a holiday, or a make-up day)."""
        if d in self._workdays:
            return True
        return d.isoweekday() in self._weekdays and d not in self._holidays

    def is_working_time(self, t: datetime) -> bool:
        """Whether ``t`` lies in a working period; both ends of a period count.

        Raises:
            ValueError: ``t`` is naive.
        """
        _require_aware(t, "t")
        day = t.astimezone(self._tz).date()
        if not self.is_working_day(day):
            return False
        return any(
            datetime.combine(day, start, self._tz) <= t <= datetime.combine(day, end, self._tz)
            for start, end in self._hours
        )

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether the holiday list is known for every year from ``start`` to ``end``.

        Raises:
            ValueError: ``start`` or ``end`` is naive.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        first, last = sorted((start.astimezone(self._tz).year, end.astimezone(self._tz).year))
        return all(year in self._years for year in range(first, last + 1))

    def add(self, start: datetime, limit: Limit | str) -> datetime:
        """Return the deadline ``limit`` after ``start``.

        Args:
            start: Timezone-aware start instant.
            limit: A :class:`Limit` or its text, e.g. ``"4wh"``.

        Returns:
            The deadline as an aware datetime in the calendar's time zone. For
            ``wh`` and ``wd`` it is always working time, in whole seconds.

        Raises:
            ValueError: ``start`` is naive.
            LimitError: ``limit`` is text that is not a time limit.
        """
        parsed = limit if isinstance(limit, Limit) else Limit.parse(limit)
        _require_aware(start, "start")
        if parsed.natural:
            unit = timedelta(minutes=1) if parsed.unit == "m" else timedelta(hours=1)
            return (start.astimezone(UTC) + parsed.amount * unit).astimezone(self._tz)
        begin = _seconds(start)
        if parsed.unit == "wh":
            end = self._add_working_seconds(begin, parsed.amount * 3600)
        else:
            end = self._add_working_days(begin, parsed.amount)
        return self._datetime(end)

    def working_seconds_between(self, a: datetime, b: datetime) -> int:
        """Working seconds from ``a`` to ``b``; negative when ``b`` is before ``a``.

        Raises:
            ValueError: ``a`` or ``b`` is naive.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        first, last = _seconds(a), _seconds(b)
        if last < first:
            return -self.working_seconds_between(b, a)
        total = 0
        day, last_day = self._date(first), self._date(last)
        while day <= last_day:
            for period_start, period_end in self._periods(day):
                total += max(0, min(period_end, last) - max(period_start, first))
            day += _DAY
        return total

    # ---------------------------------------------------------------- internal

    def _datetime(self, seconds: int) -> datetime:
        return (_EPOCH + timedelta(seconds=seconds)).astimezone(self._tz)

    def _date(self, seconds: int) -> date:
        return self._datetime(seconds).date()

    def _periods(self, day: date) -> tuple[tuple[int, int], ...]:
        """Working periods of ``day`` in epoch seconds; empty on a day off."""
        if not self.is_working_day(day):
            return ()
        return tuple(
            (
                _seconds(datetime.combine(day, start, self._tz)),
                _seconds(datetime.combine(day, end, self._tz)),
            )
            for start, end in self._hours
        )

    def _working_days(self, day: date) -> Iterator[date]:
        """Yield the working days from ``day`` on (``day`` included if it is one)."""
        days_off = 0
        while True:
            if self.is_working_day(day):
                days_off = 0
                yield day
            else:
                days_off += 1
                if days_off > _MAX_DAYS_OFF:
                    raise ValueError(f"the working calendar has no working day after {day}")
            day += _DAY

    def _add_working_seconds(self, begin: int, amount: int) -> int:
        """Earliest instant with ``amount`` (> 0) more working seconds than ``begin``."""
        remaining = amount
        for day in self._working_days(self._date(begin)):
            for period_start, period_end in self._periods(day):
                start = max(period_start, begin)
                if start >= period_end:
                    continue
                if remaining <= period_end - start:
                    return start + remaining
                remaining -= period_end - start
        raise AssertionError("unreachable: working days never run out")

    def _position(self, instant: int) -> tuple[date, Fraction]:
        """Working day and elapsed fraction in [0, 1) of ``instant``."""
        day = self._date(instant)
        periods = self._periods(day)
        if periods:
            total = sum(end - start for start, end in periods)
            elapsed = sum(max(0, min(end, instant) - start) for start, end in periods)
            if elapsed < total:
                return day, Fraction(elapsed, total)
            day += _DAY
        return next(self._working_days(day)), Fraction(0)

    def _add_working_days(self, begin: int, amount: int) -> int:
        """Earliest instant whose day position is ``amount`` (> 0) after ``begin``'s."""
        day, fraction = self._position(begin)
        days = self._working_days(day)
        passed = [next(days) for _ in range(amount + 1)]
        if fraction == 0:
            return self._periods(passed[-2])[-1][1]
        periods = self._periods(passed[-1])
        total = sum(end - start for start, end in periods)
        return self._add_working_seconds(periods[0][0], math.ceil(fraction * total))


def _check_keys(data: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
    for key in data:
        if not isinstance(key, str) or (key not in allowed and not key.startswith("_")):
            raise ValueError(f"{where}: unknown key {key!r}; expected {', '.join(allowed)}")


def _parse_time(value: object, where: str) -> time:
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        try:
            return time(int(match[1]), int(match[2]), int(match[3] or 0))
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} is not a time of day: use HH:MM, e.g. 08:30")


def _parse_period(value: object, where: str) -> tuple[time, time]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'{where}: {value!r} is not a period: use ["08:30", "12:00"]')
    return _parse_time(value[0], where), _parse_time(value[1], where)


def _parse_dates(values: object, year: int, where: str) -> list[date]:
    if not isinstance(values, list):
        raise ValueError(f'{where}: expected a list of dates such as ["{year}-10-01"]')
    parsed: list[date] = []
    for value in values:
        day: date | None = None
        if isinstance(value, str) and _DATE_RE.fullmatch(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                day = None
        if day is None:
            raise ValueError(f"{where}: {value!r} is not a date: use YYYY-MM-DD")
        if day.year != year:
            raise ValueError(f"{where}: {value} is not in {year}")
        parsed.append(day)
    return parsed
