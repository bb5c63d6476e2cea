"""The visit schedule rules (pure): properties over generated memberships, visits, changes, campaigns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.care_support import valid_id, wrong_check
from workstation.domain.care import (
    ELDERLY_ALONE_DAYS,
    URGENT_WITHIN,
    Ask,
    IdNumberError,
    Membership,
    Reason,
    Status,
    birth_of_id,
    effective_rule,
    gender_of_id,
    id_check_digit,
    is_minor,
    normalise_id,
    schedule,
)

GROUPS = {"G1": (30, 7), "G2": (7, 2), "G3": (14, 3), "G4": (30, 7), "G5": (90, 14)}
GROUPS |= {"G6": (30, 7), "G7": (7, 2), "G8": (14, 3), "G9": (30, 7)}
T0 = datetime(2026, 1, 1, tzinfo=UTC)

ANY_RISK = st.sampled_from(["normal", "high"])
times = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@st.composite
def memberships(draw: st.DrawFn, risk: st.SearchStrategy[str] = ANY_RISK) -> Membership:
    if draw(st.booleans()):
        code = draw(st.sampled_from(sorted(GROUPS)))
        interval, window = GROUPS[code]
    else:  # any interval, so the rules are not just right for the nine shipped ones
        code = draw(st.sampled_from(["X1", "X2", "X3"]))
        interval = draw(st.integers(1, 400))
        window = draw(st.integers(0, interval))
    return Membership(code, interval, window, draw(risk), since=date(2024, 1, 1))


def expected_days(m: Membership, alone: bool) -> int:
    """The rule written out independently of the implementation."""
    days = m.interval_days
    if m.risk == "high" or (m.group == "G1" and alone):
        days = max(1, days // 2)
    if m.group == "G1" and alone:
        days = min(days, ELDERLY_ALONE_DAYS)
    return days


@given(st.lists(memberships(st.just("normal")), min_size=1, max_size=6))
def test_shortest_interval_wins(ms):
    rule = effective_rule(ms)
    assert rule is not None
    assert rule.interval_days == min(m.interval_days for m in ms)
    assert rule.interval_days in {m.interval_days for m in ms if m.group == rule.group}


@given(memberships(st.just("normal")))
def test_high_risk_halves_the_interval_in_whole_days_at_least_one(m):
    high = Membership(m.group, m.interval_days, m.window_open_days, "high", m.since)
    rule = effective_rule([high])
    assert rule is not None and rule.high_risk
    assert rule.interval_days == max(1, m.interval_days // 2)
    assert 0 <= rule.window_days < rule.interval_days


@given(st.lists(memberships(), min_size=1, max_size=6), st.booleans())
def test_effective_interval_is_the_shortest_after_risk(ms, alone):
    rule = effective_rule(ms, living_alone=alone)
    assert rule is not None
    assert rule.interval_days == min(expected_days(m, alone) for m in ms)
    assert rule.interval_days >= 1 and 0 <= rule.window_days < rule.interval_days


def test_elderly_living_alone_is_high_risk_and_visited_every_7_days():
    g1 = Membership("G1", 30, 7, "normal", date(2024, 1, 1))
    rule = effective_rule([g1], living_alone=True)
    assert rule is not None and rule.high_risk and rule.interval_days == 7
    assert effective_rule([g1], living_alone=False).interval_days == 30  # type: ignore[union-attr]
    g5 = Membership("G5", 90, 14, "normal", date(2024, 1, 1))
    assert not effective_rule([g5], living_alone=True).high_risk  # type: ignore[union-attr]  # only G1


@given(
    st.lists(memberships(), min_size=1, max_size=4),
    times,
    st.lists(times, max_size=3),
    st.lists(st.tuples(times, st.integers(1, 30)), max_size=2),
    st.integers(0, 400 * 24),
    st.booleans(),
)
@settings(max_examples=200)
def test_nothing_recorded_is_due_again_before_its_interval(ms, visit, earlier, asks, hours_later, alone):
    """After a visit at t, with no change or campaign after t, the next due time is t + the interval."""
    changes = [min(e, visit) for e in earlier]  # all at or before the visit: answered by it
    campaigns = [Ask(i, min(s, visit), min(s, visit) + timedelta(days=d)) for i, (s, d) in enumerate(asks)]
    now = visit + timedelta(hours=hours_later)
    sched = schedule(ms, now=now, last_visit=visit, urgent=changes, campaigns=campaigns, living_alone=alone)
    assert sched is not None
    interval = timedelta(days=sched.rule.interval_days)
    assert sched.due == visit + interval
    assert sched.reason is Reason.INTERVAL and not sched.urgent and not sched.campaigns
    assert sched.window_opens == sched.due - timedelta(days=sched.rule.window_days) > visit
    if now < sched.window_opens:
        assert sched.status is Status.SCHEDULED


@given(st.lists(memberships(), min_size=1, max_size=4), times, st.integers(1, 200 * 24), st.integers(0, 72))
def test_an_urgent_event_asks_for_a_visit_within_24_hours_until_a_visit_after_it(ms, visit, after_h, now_h):
    change = visit + timedelta(hours=after_h)
    now = change + timedelta(hours=now_h)
    sched = schedule(ms, now=now, last_visit=visit, urgent=[change])
    regular = schedule(ms, now=now, last_visit=visit)
    assert sched is not None and regular is not None
    assert sched.urgent == (change,)
    assert sched.due == min(change + URGENT_WITHIN, regular.due)
    if change + URGENT_WITHIN < regular.due:
        assert sched.reason is Reason.URGENT
        assert sched.status is (Status.OVERDUE if now_h > 24 else Status.DUE)  # the window opens at once
    # a visit at or after the change answers it: back to the interval from that visit
    answered = schedule(ms, now=now, last_visit=change, urgent=[change])
    assert answered is not None and not answered.urgent
    assert answered.due == change + timedelta(days=answered.rule.interval_days)


@given(st.lists(memberships(), min_size=1, max_size=4), times, st.integers(1, 60), st.integers(1, 30))
def test_a_campaign_asks_for_a_visit_by_its_deadline_until_a_visit_after_its_start(ms, visit, start_d, days):
    start = visit + timedelta(days=start_d)
    ask = Ask(7, start, start + timedelta(days=days))
    sched = schedule(ms, now=start, last_visit=visit, campaigns=[ask])
    regular = schedule(ms, now=start, last_visit=visit)
    assert sched is not None and regular is not None
    assert sched.due == min(ask.deadline, regular.due) and sched.campaigns == (7,)
    later = schedule(ms, now=start, last_visit=start, campaigns=[ask])
    assert later is not None and later.campaigns == () and later.reason is Reason.INTERVAL


@given(st.lists(memberships(), min_size=1, max_size=4), times, st.integers(1, 400))
def test_an_override_sets_the_next_due_time(ms, visit, days):
    override = visit + timedelta(days=days)
    sched = schedule(ms, now=visit, last_visit=visit, override=override)
    assert sched is not None and sched.due == override and sched.reason is Reason.OVERRIDE


def test_never_visited_is_due_by_the_end_of_the_day_the_membership_began():
    m = Membership("G2", 7, 2, "normal", since=date(2026, 3, 10))
    sched = schedule([m], now=datetime(2026, 3, 10, 9, tzinfo=UTC))
    assert sched is not None and sched.reason is Reason.FIRST
    assert sched.due == datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC) and sched.status is Status.DUE
    later = schedule([m], now=datetime(2026, 3, 12, tzinfo=UTC))
    assert later is not None and later.status is Status.OVERDUE


def test_status_overdue_due_scheduled_and_no_schedule_without_an_active_membership():
    m = Membership("G3", 14, 3, "normal", since=date(2025, 1, 1), until=date(2026, 6, 30))
    visit = datetime(2026, 3, 1, 10, tzinfo=UTC)

    def status(now: datetime) -> Status:
        sched = schedule([m], now=now, last_visit=visit)
        assert sched is not None
        return sched.status

    assert status(visit + timedelta(days=10)) is Status.SCHEDULED
    assert status(visit + timedelta(days=11)) is Status.DUE  # window opens 3 days before
    assert status(visit + timedelta(days=14)) is Status.DUE
    assert status(visit + timedelta(days=14, seconds=1)) is Status.OVERDUE
    assert schedule([m], now=datetime(2026, 7, 1, tzinfo=UTC), last_visit=visit) is None  # membership ended


# --- identity numbers ------------------------------------------------------------------------------------------


def test_check_digit_of_the_standard_example():
    assert id_check_digit("11010519491231002") == "X"  # GB 11643 example
    assert normalise_id("11010519491231002x") == "11010519491231002X"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 999))
def test_valid_numbers_pass_and_every_single_wrong_check_character_fails(birth, seq):
    number = valid_id(birth.strftime("%Y%m%d"), f"{seq:03d}")
    assert normalise_id(number) == number
    assert birth_of_id(number) == birth
    assert gender_of_id(number) == ("male" if seq % 2 else "female")
    for ch in "0123456789X":
        if ch != number[-1]:
            with pytest.raises(IdNumberError) as err:
                normalise_id(number[:-1] + ch)
            assert err.value.kind == "check"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("12345", "format"), ("34010419400305123A", "format"), ("340104194002301234", "date")],
)
def test_bad_numbers_say_why(text, kind):
    with pytest.raises(IdNumberError) as err:
        normalise_id(text)
    assert err.value.kind == kind
    with pytest.raises(IdNumberError):
        normalise_id(wrong_check(valid_id()))


def test_minor_is_under_18():
    assert is_minor(date(2010, 5, 2), date(2028, 5, 1))
    assert not is_minor(date(2010, 5, 2), date(2028, 5, 2))
    assert not is_minor(None, date(2028, 5, 2))
