"""Tests for time limits and deadlines on the working calendar."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.domain.calendar import Limit, LimitError, WorkingCalendar

RESOURCE = Path(__file__).resolve().parents[1] / "resources" / "calendar.json"
SH = ZoneInfo("Asia/Shanghai")
ZONES = [SH, ZoneInfo("UTC"), ZoneInfo("Europe/Berlin")]
HOURS = ((time(8, 30), time(12, 0)), (time(14, 30), time(18, 0)))
DAY_SECONDS = 7 * 3600


def _days(first: str, last: str) -> list[date]:
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    out = []
    while day <= end:
        out.append(day)
        day += timedelta(days=1)
    return out


HOLIDAYS = frozenset(
    _days("2026-01-01", "2026-01-03")
    + _days("2026-02-15", "2026-02-23")
    + _days("2026-05-01", "2026-05-05")
    + _days("2026-10-01", "2026-10-07")
)
MAKE_UP = frozenset(
    date.fromisoformat(d) for d in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10")
)
CAL = WorkingCalendar(holidays=HOLIDAYS, workdays=MAKE_UP, years=[2026])
PLAIN = WorkingCalendar(workdays=MAKE_UP, years=[2026])


def sh(text: str) -> datetime:
    """An instant given as Shanghai wall time, e.g. ``2026-11-27 17:30``."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


# ------------------------------------------------------------------ strategies

any_instant = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2027, 1, 31),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)


def _on_day(days: st.SearchStrategy[date]) -> st.SearchStrategy[datetime]:
    """Instants at period boundaries and other telling times, shown in any zone."""
    times = st.sampled_from(
        [
            time(0),
            time(8, 30),
            time(10),
            time(12),
            time(13),
            time(14, 30),
            time(17, 30),
            time(18),
            time(20),
            time(23, 59, 59),
        ]
    )
    return st.builds(
        lambda d, t, z: datetime.combine(d, t, SH).astimezone(z),
        days,
        times,
        st.sampled_from(ZONES),
    )


boundary_instant = _on_day(st.dates(date(2025, 12, 1), date(2027, 1, 31)))
near_holiday = _on_day(
    st.sampled_from(
        _days("2025-12-24", "2026-01-05")
        + _days("2026-02-05", "2026-03-02")
        + _days("2026-04-25", "2026-05-11")
        + _days("2026-09-15", "2026-10-12")
    )
)
starts = st.one_of(any_instant, boundary_instant, near_holiday)
wh_limits = st.integers(1, 200).map(lambda n: Limit(n, "wh"))
wd_limits = st.integers(1, 30).map(lambda n: Limit(n, "wd"))
working_limits = st.one_of(wh_limits, wd_limits)
natural_limits = st.builds(Limit, st.integers(1, 10_000), st.sampled_from(["m", "h"]))
any_limit = st.one_of(working_limits, natural_limits)

PROPERTY = settings(max_examples=200, deadline=None)


# ---------------------------------------------------- independent reference


def _ref_working_day(d: date) -> bool:
    return d in MAKE_UP or (d.isoweekday() <= 5 and d not in HOLIDAYS)


def _ref_elapsed(t: datetime) -> int:
    """Working seconds elapsed on t's (Shanghai) day up to t."""
    clock = t.hour * 3600 + t.minute * 60 + t.second
    total = 0
    for start, end in HOURS:
        lo = start.hour * 3600 + start.minute * 60
        hi = end.hour * 3600 + end.minute * 60
        total += max(0, min(clock, hi) - lo)
    return total


def _ref_at(d: date, elapsed: int) -> datetime:
    """Earliest instant of working day d with ``elapsed`` (> 0) working seconds done."""
    morning = 3 * 3600 + 1800
    if elapsed <= morning:
        return datetime.combine(d, time(8, 30), SH) + timedelta(seconds=elapsed)
    return datetime.combine(d, time(14, 30), SH) + timedelta(seconds=elapsed - morning)


def _ref_next_working(d: date) -> date:
    d += timedelta(days=1)
    while not _ref_working_day(d):
        d += timedelta(days=1)
    return d


def ref_add_wh(start: datetime, n: int) -> datetime:
    """Walk working time minute by minute (start must be on a whole minute)."""
    t = start.astimezone(SH)
    remaining = n * 60
    while True:
        if not _ref_working_day(t.date()):
            t = datetime.combine(t.date() + timedelta(days=1), time(0), SH)
            continue
        following = t + timedelta(minutes=1)
        inside = following.date() == t.date() and any(s <= t.time() and following.time() <= e for s, e in HOURS)
        if inside:
            remaining -= 1
            if remaining == 0:
                return following
        t = following


def ref_add_wd(start: datetime, n: int) -> datetime:
    """Count working days on a calendar whose working days all have the same hours."""
    t = start.astimezone(SH).replace(microsecond=0)
    day, elapsed = t.date(), _ref_elapsed(t)
    if not _ref_working_day(day) or elapsed == DAY_SECONDS:
        day, elapsed = _ref_next_working(day), 0
    days = [day]
    for _ in range(n):
        days.append(_ref_next_working(days[-1]))
    if elapsed == 0:
        return datetime.combine(days[-2], time(18), SH)
    return _ref_at(days[-1], elapsed)


# -------------------------------------------------------------- the examples


def test_friday_evening_examples() -> None:
    friday = sh("2026-11-27 17:30")
    assert CAL.add(friday, "2wh") == sh("2026-11-30 10:00")
    assert CAL.add(friday, "2h") == sh("2026-11-27 19:30")
    assert CAL.add(friday, "2wd") == sh("2026-12-01 17:30")
    assert CAL.add(friday, "30m") == sh("2026-11-27 18:00")


def test_results_are_in_calendar_zone_whatever_the_start_zone() -> None:
    friday_utc = datetime(2026, 11, 27, 9, 30, tzinfo=ZoneInfo("UTC"))
    deadline = CAL.add(friday_utc, Limit(2, "wh"))
    assert deadline == sh("2026-11-30 10:00")
    assert deadline.tzinfo == SH
    assert CAL.add(friday_utc, "2h").tzinfo == SH


def test_deadline_stops_at_the_end_of_a_period() -> None:
    assert CAL.add(sh("2026-11-25 11:00"), "1wh") == sh("2026-11-25 12:00")
    assert CAL.add(sh("2026-11-25 17:00"), "1wh") == sh("2026-11-25 18:00")


def test_lunch_start_begins_in_the_afternoon() -> None:
    assert CAL.add(sh("2026-11-25 12:30"), "1wh") == sh("2026-11-25 15:30")
    assert CAL.add(sh("2026-11-25 12:30"), "1h") == sh("2026-11-25 13:30")


def test_weekend_and_night_starts_begin_at_the_next_period() -> None:
    assert CAL.add(sh("2026-11-28 10:00"), "1wh") == sh("2026-11-30 09:30")
    assert CAL.add(sh("2026-11-25 20:00"), "1wh") == sh("2026-11-26 09:30")
    assert CAL.add(sh("2026-11-26 06:00"), "4wh") == sh("2026-11-26 15:00")


def test_working_days() -> None:
    assert CAL.add(sh("2026-11-28 10:00"), "1wd") == sh("2026-11-30 18:00")
    assert CAL.add(sh("2026-11-25 10:00"), "1wd") == sh("2026-11-26 10:00")
    assert CAL.add(sh("2026-11-25 12:00"), "1wd") == sh("2026-11-26 12:00")
    assert CAL.add(sh("2026-11-25 13:00"), "1wd") == sh("2026-11-26 12:00")
    assert CAL.add(sh("2026-11-30 08:00"), "1wd") == sh("2026-11-30 18:00")
    assert CAL.add(sh("2026-11-27 18:00"), "1wd") == sh("2026-11-30 18:00")


def test_holidays_are_skipped() -> None:
    assert CAL.add(sh("2026-09-30 17:00"), "2wh") == sh("2026-10-08 09:30")
    assert PLAIN.add(sh("2026-09-30 17:00"), "2wh") == sh("2026-10-01 09:30")
    assert CAL.add(sh("2026-02-13 17:00"), "2wd") == sh("2026-02-24 17:00")


def test_make_up_days_are_working_days() -> None:
    assert CAL.is_working_day(date(2026, 2, 14))
    assert CAL.is_working_time(sh("2026-02-14 10:00"))
    assert not CAL.is_working_day(date(2026, 10, 1))
    assert not CAL.is_working_time(sh("2026-10-01 10:00"))
    assert not CAL.is_working_day(date(2026, 2, 15))
    assert not CAL.is_working_day(date(2026, 11, 28))
    assert CAL.is_working_day(date(2026, 11, 27))
    assert CAL.add(sh("2026-02-13 17:00"), "1wd") == sh("2026-02-14 17:00")


@pytest.mark.parametrize(
    ("before", "make_up"),
    [
        ("2025-12-31", "2026-01-04"),
        ("2026-02-13", "2026-02-14"),
        ("2026-02-27", "2026-02-28"),
        ("2026-05-08", "2026-05-09"),
        ("2026-09-18", "2026-09-20"),
        ("2026-10-09", "2026-10-10"),
    ],
)
def test_deadline_falls_on_make_up_day(before: str, make_up: str) -> None:
    start = sh(f"{before} 17:30")
    assert CAL.add(start, "1wh") == sh(f"{make_up} 09:00")
    assert CAL.add(start, "1wd") == sh(f"{make_up} 17:30")
    assert CAL.is_working_time(sh(f"{make_up} 08:30"))


def test_working_time_intervals_are_closed() -> None:
    assert CAL.is_working_time(sh("2026-11-25 08:30"))
    assert CAL.is_working_time(sh("2026-11-25 12:00"))
    assert CAL.is_working_time(sh("2026-11-25 14:30"))
    assert CAL.is_working_time(sh("2026-11-25 18:00"))
    assert not CAL.is_working_time(sh("2026-11-25 08:29:59"))
    assert not CAL.is_working_time(sh("2026-11-25 12:00:01"))
    assert not CAL.is_working_time(sh("2026-11-25 18:00:00.000001"))
    assert CAL.is_working_time(datetime(2026, 11, 25, 4, 0, tzinfo=ZoneInfo("UTC")))


def test_sub_second_start_is_truncated() -> None:
    start = sh("2026-11-25 10:00:00.900000")
    assert CAL.add(start, "1wh") == sh("2026-11-25 11:00")
    assert CAL.add(start, "1wd") == sh("2026-11-26 10:00")
    assert CAL.add(start, "1h") == sh("2026-11-25 11:00:00.900000")


def test_working_seconds_between() -> None:
    friday, monday = sh("2026-11-27 17:30"), sh("2026-11-30 10:00")
    assert CAL.working_seconds_between(friday, monday) == 7200
    assert CAL.working_seconds_between(monday, friday) == -7200
    assert CAL.working_seconds_between(friday, friday) == 0
    week = CAL.working_seconds_between(sh("2026-11-30 00:00"), sh("2026-12-07 00:00"))
    assert week == 5 * DAY_SECONDS


def test_covers() -> None:
    assert CAL.covers(sh("2026-01-01 00:00"), sh("2026-12-31 23:59"))
    assert not CAL.covers(sh("2026-12-30 10:00"), sh("2027-01-04 10:00"))
    assert not CAL.covers(sh("2025-12-30 10:00"), sh("2026-01-04 10:00"))
    assert CAL.covers(sh("2026-12-31 10:00"), sh("2026-06-01 10:00"))
    # 2026-12-31 17:00 UTC is already 2027 in Shanghai.
    assert not CAL.covers(sh("2026-06-01 10:00"), datetime(2026, 12, 31, 17, tzinfo=ZoneInfo("UTC")))


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 27, 17, 30)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add(naive, "2wh")
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add(naive, "2h")
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_working_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_seconds_between(naive, sh("2026-11-27 17:30"))


def test_calendar_without_working_days_fails_clearly() -> None:
    with pytest.raises(ValueError, match="no working day"):
        WorkingCalendar(weekdays=()).add(sh("2026-11-27 17:30"), "1wh")


# ------------------------------------------------------------------ limits


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("30m", 30, "m"),
        ("2h", 2, "h"),
        ("4wh", 4, "wh"),
        ("2wd", 2, "wd"),
        ("2WD", 2, "wd"),
        (" 4 wh ", 4, "wh"),
        ("10wd", 10, "wd"),
        ("\uff12\uff57\uff44", 2, "wd"),
    ],
)
def test_limit_parse(text: str, amount: int, unit: str) -> None:
    limit = Limit.parse(text)
    assert limit == Limit(amount, unit)
    assert str(limit) == f"{amount}{unit}"
    assert Limit.parse(str(limit)) == limit
    assert limit.natural == (unit in ("m", "h"))


@pytest.mark.parametrize("text", ["", "   ", "0h", "0wd", "-2h", "1.5h", "2d", "3x", "wh", "2", "2hh", "h2", "1/2wd"])
def test_limit_parse_rejects(text: str) -> None:
    with pytest.raises(LimitError) as caught:
        Limit.parse(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "30m, 2h, 4wh, 2wd" in message
    assert isinstance(caught.value, ValueError)


def test_limit_error_message() -> None:
    with pytest.raises(LimitError, match=r"^'3x' is not a time limit: use a number followed by"):
        Limit.parse("3x")
    with pytest.raises(LimitError):
        CAL.add(sh("2026-11-27 17:30"), "3x")


@pytest.mark.parametrize(("amount", "unit"), [(0, "h"), (-1, "wh"), (2, "d")])
def test_limit_constructor_validates(amount: int, unit: str) -> None:
    with pytest.raises(LimitError):
        Limit(amount, unit)


# ------------------------------------------------------------ the JSON form


def _resource() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RESOURCE.read_text(encoding="utf-8"))
    return data


def test_resource_calendar_acceptance_example() -> None:
    calendar = WorkingCalendar.from_dict(_resource())
    start = datetime.fromisoformat("2026-11-27T17:30:00+08:00")
    assert calendar.add(start, "2wh") == datetime.fromisoformat("2026-11-30T10:00:00+08:00")
    assert calendar.add(start, "2h") == datetime.fromisoformat("2026-11-27T19:30:00+08:00")
    assert WorkingCalendar.load(RESOURCE) == calendar


def test_resource_calendar_content() -> None:
    calendar = WorkingCalendar.from_dict(_resource())
    assert calendar.years == {2025, 2026}
    assert calendar.tz == SH
    assert calendar.is_working_day(date(2026, 2, 14))
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2025, 10, 8))
    assert calendar.is_working_day(date(2025, 10, 11))
    assert all(d.isoweekday() in (6, 7) for d in calendar.workdays)
    assert calendar.holidays >= HOLIDAYS
    assert calendar.workdays >= MAKE_UP
    # Days off in a row around Spring Festival 2026: Feb 15 (Sun) .. Feb 23 (Mon).
    assert calendar.add(sh("2026-02-14 17:30"), "1wh") == sh("2026-02-24 09:00")


def test_round_trip() -> None:
    data = _resource()
    calendar = WorkingCalendar.from_dict(data)
    again = WorkingCalendar.from_dict(json.loads(json.dumps(calendar.to_dict())))
    assert again == calendar
    assert calendar.to_dict()["hours"] == [["08:30", "12:00"], ["14:30", "18:00"]]
    assert WorkingCalendar.from_dict({}) == WorkingCalendar()


def _with(change: dict[str, Any]) -> dict[str, Any]:
    data = {
        "tz": "Asia/Shanghai",
        "weekdays": [1, 2, 3, 4, 5],
        "hours": [["08:30", "12:00"], ["14:30", "18:00"]],
        "years": {"2026": {"holidays": ["2026-10-01"], "workdays": ["2026-10-10"]}},
    }
    data.update(change)
    return data


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"tz": "Mars/Olympus"}, "not a known time zone"),
        ({"tz": 8}, "not a time zone name"),
        ({"weekdays": [0, 1]}, "not an ISO weekday"),
        ({"weekdays": "12345"}, "weekdays"),
        ({"hours": [["8h30", "12:00"]]}, "'8h30' is not a time of day"),
        ({"hours": [["08:30", "24:00"]]}, "'24:00' is not a time of day"),
        ({"hours": [["08:30"]]}, "is not a period"),
        ({"hours": []}, "working hours are empty"),
        ({"hours": [["12:00", "08:30"]]}, "ends before it starts"),
        ({"hours": [["08:30", "12:00"], ["11:00", "18:00"]]}, "overlap"),
        ({"hours": [["14:30", "18:00"], ["08:30", "12:00"]]}, "not in order"),
        ({"hours": "08:30-18:00"}, "calendar hours"),
        ({"years": ["2026"]}, "calendar years"),
        ({"years": {"twenty": {}}}, "not a year"),
        ({"years": {"2026": {"holiday": ["2026-10-01"]}}}, "unknown key 'holiday'"),
        ({"years": {"2026": {"holidays": ["2026-02-30"]}}}, "'2026-02-30' is not a date"),
        ({"years": {"2026": {"holidays": ["20261001"]}}}, "'20261001' is not a date"),
        ({"years": {"2026": {"holidays": "2026-10-01"}}}, "expected a list of dates"),
        ({"years": {"2026": {"holidays": ["2025-10-01"]}}}, "2025-10-01 is not in 2026"),
        (
            {"years": {"2026": {"holidays": ["2026-02-14"], "workdays": ["2026-02-14"]}}},
            "2026-02-14 is listed both as a holiday and as a make-up working day",
        ),
        ({"years": {"2026": {"workdays": ["2026-02-13"]}}}, "already a regular working day"),
        ({"timezone": "UTC"}, "unknown key 'timezone'"),
    ],
)
def test_from_dict_errors(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        WorkingCalendar.from_dict(_with(change))
    assert fragment in str(caught.value)


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match="expected an object"):
        WorkingCalendar.from_dict([])  # type: ignore[arg-type]


def test_from_dict_ignores_comment_keys() -> None:
    data = _with({"_note": "comment"})
    data["years"]["2026"]["_names"] = "国庆"
    assert WorkingCalendar.from_dict(data) == WorkingCalendar.from_dict(_with({}))


# ------------------------------------------------------------------ properties


@PROPERTY
@given(start=starts, limit=working_limits)
def test_deadline_is_working_time_after_start(start: datetime, limit: Limit) -> None:
    deadline = CAL.add(start, limit)
    assert deadline.tzinfo == SH
    assert deadline >= start
    assert CAL.is_working_time(deadline)
    assert deadline.date() not in HOLIDAYS
    assert CAL.is_working_day(deadline.date())
    assert deadline.microsecond == 0


@PROPERTY
@given(start=starts, a=st.integers(1, 100), b=st.integers(1, 100))
def test_working_hours_are_additive(start: datetime, a: int, b: int) -> None:
    assert CAL.add(CAL.add(start, Limit(a, "wh")), Limit(b, "wh")) == CAL.add(start, Limit(a + b, "wh"))


@PROPERTY
@given(start=starts, a=st.integers(1, 15), b=st.integers(1, 15))
def test_working_days_are_additive(start: datetime, a: int, b: int) -> None:
    assert CAL.add(CAL.add(start, Limit(a, "wd")), Limit(b, "wd")) == CAL.add(start, Limit(a + b, "wd"))


@PROPERTY
@given(
    start=starts,
    unit=st.sampled_from(["m", "h"]),
    a=st.integers(1, 10_000),
    b=st.integers(1, 10_000),
)
def test_natural_limits_are_additive(start: datetime, unit: str, a: int, b: int) -> None:
    total = CAL.add(start, Limit(a + b, unit))
    assert CAL.add(CAL.add(start, Limit(a, unit)), Limit(b, unit)) == total
    step = timedelta(minutes=1) if unit == "m" else timedelta(hours=1)
    assert total - start == (a + b) * step


@PROPERTY
@given(start=starts, limit=wh_limits)
def test_working_hours_count_exactly(start: datetime, limit: Limit) -> None:
    deadline = CAL.add(start, limit)
    assert CAL.working_seconds_between(start, deadline) == limit.amount * 3600
    assert CAL.working_seconds_between(deadline, start) == -limit.amount * 3600
    # The earliest such instant: one second less is not enough.
    before = deadline - timedelta(seconds=1)
    assert CAL.working_seconds_between(start, before) < limit.amount * 3600


@PROPERTY
@given(start=starts, limit=wh_limits)
def test_holidays_add_exactly_their_working_time(start: datetime, limit: Limit) -> None:
    with_holidays, without = CAL.add(start, limit), PLAIN.add(start, limit)
    assert with_holidays >= without
    holiday_time = 0
    for holiday in HOLIDAYS:
        lo = max(start, datetime.combine(holiday, time(0), SH))
        hi = min(with_holidays, datetime.combine(holiday + timedelta(days=1), time(0), SH))
        if lo < hi:
            holiday_time += PLAIN.working_seconds_between(lo, hi)
    assert PLAIN.working_seconds_between(without, with_holidays) == holiday_time


@PROPERTY
@given(first=starts, second=starts, limit=any_limit)
def test_deadlines_are_monotone(first: datetime, second: datetime, limit: Limit) -> None:
    early, late = sorted((first, second))
    assert CAL.add(early, limit) <= CAL.add(late, limit)


@settings(max_examples=60, deadline=None)
@given(
    start=st.one_of(boundary_instant, near_holiday).filter(lambda t: t.second == 0),
    n=st.integers(1, 8),
)
def test_working_hours_match_minute_walk(start: datetime, n: int) -> None:
    assert CAL.add(start, Limit(n, "wh")) == ref_add_wh(start, n)


@PROPERTY
@given(start=starts, limit=wd_limits)
def test_working_days_match_day_count(start: datetime, limit: Limit) -> None:
    assert CAL.add(start, limit) == ref_add_wd(start, limit.amount)


@PROPERTY
@given(day=st.dates(date(2025, 12, 1), date(2027, 1, 31)))
def test_working_day_rule(day: date) -> None:
    assert CAL.is_working_day(day) == _ref_working_day(day)
    noon = datetime.combine(day, time(10), SH)
    assert CAL.is_working_time(noon) == _ref_working_day(day)
