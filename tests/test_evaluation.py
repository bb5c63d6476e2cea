"""Evaluation and the summaries behind it, on a hand-made history of a week in November 2026.

Every figure asserted below was counted by hand from the story told in ``world``; the summaries kept
by each action must also equal a rebuild from the cases and their history.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import article_report
from workstation import clock
from workstation.models import StatDay, StatOpen
from workstation.services import evaluation as ev
from workstation.services import lifecycle as lc
from workstation.services import stats
from workstation.services.reports import add_report

TZ = ZoneInfo("Asia/Shanghai")
GRID_UNIT = "GRID-S13C01G01"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, hh: int, mm: int, ss: int = 0) -> None:
        self.now = datetime(2026, 11, day, hh, mm, ss, tzinfo=TZ)


def report(db, tick: Clock, day: int, hh: int, mm: int) -> int:
    tick.at(day, hh, mm)
    received = tick.now.isoformat()
    return add_report(db, article_report(external_id=None, received_at=received)).case_id


@pytest.fixture
def world(db, users):
    """Five cases: closed on time; returned, extension refused, reworked, closed late; rejected;
    rejected, reopened, suspended, resumed and overdue; closed and the closing undone."""
    tick = Clock()
    op, lead, unit = users["op1"], users["lead"], users["gridteam"]
    with clock.using(tick):
        a = report(db, tick, 2, 9, 0)
        tick.at(2, 9, 10), lc.file(db, op, a, "0201")  # deadline 11:10
        tick.at(2, 9, 15), lc.dispatch(db, op, a)
        tick.at(2, 10, 0), lc.handle(db, unit, a, "done")
        tick.at(2, 10, 30), lc.verify(db, op, a, "网格员甲")
        tick.at(2, 11, 0), lc.close(db, op, a)

        b = report(db, tick, 3, 9, 0)
        tick.at(3, 9, 10), lc.file(db, op, b, "0201")
        tick.at(3, 9, 15), lc.dispatch(db, op, b)
        tick.at(3, 9, 30), lc.return_case(db, unit, b, "not ours")
        tick.at(3, 9, 40), lc.dispatch(db, op, b)  # fresh deadline 11:40
        tick.at(3, 9, 50), lc.request_extension(db, unit, b, "1wd", "need parts")
        tick.at(3, 10, 0), lc.decide_extension(db, lead, b, False, "no")
        tick.at(3, 15, 0), lc.handle(db, unit, b, "done late")
        tick.at(3, 15, 10), lc.verify(db, op, b, "网格员乙")
        tick.at(3, 16, 0), lc.rework(db, op, b, "not fixed")
        tick.at(3, 16, 30), lc.handle(db, unit, b, "fixed")
        tick.at(3, 16, 40), lc.verify(db, op, b, "网格员乙")
        tick.at(4, 9, 0), lc.close(db, op, b)

        c = report(db, tick, 4, 10, 0)
        tick.at(4, 10, 5), lc.reject(db, op, c, "not a case")

        d = report(db, tick, 5, 10, 0)
        tick.at(5, 10, 5), lc.reject(db, op, d, "unclear")
        tick.at(5, 10, 10), lc.reopen(db, lead, d, "it is a case")
        tick.at(5, 10, 20), lc.file(db, op, d, "0201")  # deadline 14:50
        tick.at(5, 10, 25), lc.dispatch(db, op, d)
        tick.at(5, 10, 30), lc.suspend(db, lead, d, "waiting for the owner")
        tick.at(5, 11, 0), lc.resume(db, lead, d)

        e = report(db, tick, 6, 9, 0)
        tick.at(6, 9, 5), lc.file(db, op, e, "0201")
        tick.at(6, 9, 10), lc.dispatch(db, op, e)
        tick.at(6, 9, 20), lc.handle(db, unit, e, "done")
        tick.at(6, 9, 25), lc.verify(db, op, e, "网格员甲")
        tick.at(6, 9, 30), lc.close(db, op, e)
        tick.at(6, 9, 30, 10), lc.undo(db, op, e)
        tick.at(6, 10, 0)
    return tick.now


def test_headline_of_the_month_counted_by_hand(db, world):
    with db.read() as s:
        row = ev.headline(s, ev.Period.month("2026-11"), world)
    assert row.counts["reported"] == 5
    assert row.counts["filed"] == 4  # A, B, D (after reopening), E
    assert row.counts["rejected"] == 1  # C; D was reopened
    assert row.counts["closed"] == 2  # A, B; E's closing was undone
    assert row.value("closure_rate") == pytest.approx(2 / 4)
    assert row.value("on_time_rate") == pytest.approx(1 / 2)  # A's result by 11:10; B's after 11:40
    assert row.value("overdue") == 1  # D: deadline 14:50 on the 5th, running again after resume
    assert row.counts["reopened"] == 1 and row.counts["suspended"] == 1


def test_units_evaluation_counted_by_hand(db, world):
    with db.read() as s:
        rows = {r.key: r for r in ev.table(s, "unit", ev.Period.month("2026-11"), world)}
    unit = rows[GRID_UNIT]
    assert unit.name == "塘西河网格综管队"
    assert unit.value("received") == 4
    assert unit.value("handled_on_time") == 2  # A and E
    assert unit.value("unit_on_time_rate") == pytest.approx(2 / 3)
    assert unit.value("handling_rate") == pytest.approx(3 / 4)
    assert unit.value("rework_rate") == pytest.approx(1 / 3)
    assert unit.value("returned") == 1
    assert unit.value("extensions") == 1
    assert unit.value("overdue") == 1


def test_places_and_reporters_counted_by_hand(db, world):
    month = ev.Period.month("2026-11")
    with db.read() as s:
        grids = {r.key: r for r in ev.table(s, "grid", month, world)}
        reporters = {r.key: r for r in ev.table(s, "reporter", month, world)}
    grid = grids["S13C01G01"]
    assert (grid.name, grid.value("reported"), grid.value("filed"), grid.value("closed")) == ("塘西河网格", 5, 4, 2)
    assert grid.value("closure_rate") == pytest.approx(0.5)
    member = reporters["方兴社区信息员"]
    assert member.value("reported") == 5 and member.value("valid_rate") == pytest.approx(4 / 5)
    assert (reporters["网格员甲"].value("verified"), reporters["网格员甲"].value("verified_on_time")) == (1, 1)
    assert (reporters["网格员乙"].value("verified"), reporters["网格员乙"].value("verified_on_time")) == (2, 2)


def test_periods_split_by_local_day(db, world):
    with db.read() as s:
        third = ev.headline(s, ev.Period(*(datetime(2026, 11, d).date() for d in (3, 4))), world)
        october = ev.headline(s, ev.Period.month("2026-10"), world)
    assert (third.counts["reported"], third.counts["filed"], third.counts["closed"]) == (1, 1, 0)
    assert third.counts["returned"] == 1 and third.counts["reworked"] == 1 and third.counts["extensions"] == 1
    assert october.counts["reported"] == 0 and october.value("closure_rate") is None


def _tables(db):
    with db.read() as s:
        days = {
            (r.dim, r.day, r.key): tuple(getattr(r, c) for c in stats.COUNTERS)
            for r in s.scalars(select(StatDay))
            if any(getattr(r, c) for c in stats.COUNTERS)
        }
        opened = {(r.dim, r.due, r.key): r.n for r in s.scalars(select(StatOpen)) if r.n}
    return days, opened


def test_summaries_kept_by_each_action_equal_a_rebuild(db, world):
    kept = _tables(db)
    with db.write() as s:
        stats.rebuild(s)
    rebuilt = _tables(db)
    assert {k: v for k, v in rebuilt[0].items() if kept[0].get(k) != v} == {}
    assert rebuilt == kept
    late = {("all", ""): 1, ("unit", GRID_UNIT): 1, ("grid", "S13C01G01"): 1}  # D, due on the 5th
    states = {k[2]: n for k, n in kept[1].items() if k[0] == "status"}
    assert states == {"closed": 2, "rejected": 1, "dispatched": 1, "verifying": 1}
    assert {k: n for k, n in kept[1].items() if k[0] != "status"} == {
        (d, "2026-11-05", k): n for (d, k), n in late.items()
    } | {(d, "", k): n for (d, k), n in late.items()}


def test_naive_group_by_agrees_with_the_summaries(db, world):
    month = ev.Period.month("2026-11")
    with db.read() as s:
        naive = ev.naive_evaluation(s, month)[GRID_UNIT]
        unit = {r.key: r for r in ev.table(s, "unit", month, world)}[GRID_UNIT]
    assert naive == {k: unit.counts[k] for k in naive}


def test_queue_depths_from_the_summaries_equal_the_queues(db, world):
    from workstation.services import queue as q
    from workstation.services import supervision as sup

    shown = {k: f.value for k, f in sup.figures(db, "op1", world).queues}
    with db.read() as s:
        assert shown == q.counts(s, "op1", world)
    assert shown["all"] == 5 and shown["verify"] == 1 and shown["overdue"] == 1


def test_the_maps_hot_spot_measure_counts_the_repeat_complaints_of_a_grid(db, users):
    """The map's "repeat hot spots" follow the 4+X rule: 3 reports of one kind at one place in 30 days."""
    from datetime import timedelta

    from workstation.services import supervision as sup

    t0 = datetime.fromisoformat("2026-06-01T20:00:00+08:00")

    def filed(text: str, days: int, code: str, grid: str) -> None:
        at = (t0 + timedelta(days=days)).isoformat()
        cid = add_report(db, {"channel": "12345", "text": text, "grid": grid, "received_at": at}).case_id
        lc.file(db, users["op1"], cid, code)

    for n, text in enumerate(["楼下烧烤摊油烟太大", "又在楼下露天烧烤了", "烧烤摊天天冒烟"]):
        filed(text, n * 5, "0207", "塘西河网格")  # three of one kind in one grid: a hot spot
    filed("路灯不亮", 1, "0301", "塘西河网格")  # another kind, once
    for n in range(2):
        filed("占道经营", n, "0204", "华润蓝海网格")  # twice only: not yet a repeat
    sup._hot_cache.clear()
    hot = sup.figures(db, "lead", t0 + timedelta(days=12)).grids["hot"]
    assert hot == {"S13C01G01": 3.0}
