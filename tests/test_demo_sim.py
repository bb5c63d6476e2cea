"""The live simulation: the simulated clock, scripted arrivals at their simulated times, units that respond."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from workstation import clock
from workstation.demo.scenarios import load_scenario, parse_scenario
from workstation.demo.sim import Behaviour, SimClock, Simulation, start_for
from workstation.models import Case, CaseEvent, DemoRun, DemoRunItem, ExtensionRequest, Meta
from workstation.services import lifecycle as lc
from workstation.services.calendar import load_calendar
from workstation.services.errors import ValidationError
from workstation.services.queries import get_case

START = datetime(2026, 6, 4, 0, 30, tzinfo=UTC)  # 08:30 in Hefei, a Thursday


@pytest.fixture(autouse=True)
def _real_clock_afterwards():
    yield
    clock.set_source(None)  # a test that fails half-way must not leave simulated time behind


class FakeReal:
    """The real clock, in seconds, moved by the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_sim_clock_runs_pauses_and_changes_speed():
    real = FakeReal()
    clk = SimClock(START, speed=60, real=real)
    real.t = 2.0
    assert clk.now() == START + timedelta(minutes=2)
    clk.pause()
    real.t = 10.0
    assert clk.now() == START + timedelta(minutes=2) and clk.paused
    clk.resume()
    real.t = 11.0
    assert clk.now() == START + timedelta(minutes=3)
    clk.set_speed(1)
    real.t = 21.0
    assert clk.now() == START + timedelta(minutes=3, seconds=10)
    clk.advance(600)
    assert clk.now() == START + timedelta(minutes=13, seconds=10)
    for bad in (0.5, 61, 0):
        with pytest.raises(ValidationError):
            clk.set_speed(bad)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 6, 4), 1)


def test_scenario_start_is_its_local_time_of_day(db):
    tz = load_calendar(db).tz
    morning = load_scenario("ordinary_morning")
    assert start_for(morning, datetime(2026, 6, 3, 23, 0, tzinfo=UTC), tz) == datetime(2026, 6, 4, 0, 30, tzinfo=UTC)
    assert start_for(morning, datetime(2026, 6, 4, 1, 0, tzinfo=UTC), tz) == datetime(2026, 6, 5, 0, 30, tzinfo=UTC)
    assert start_for(None, START, tz) == START


def _run_at_60x(db, scenario, behaviour=None, trainee="op1", act=None):
    with db.write() as s:  # the simulation runs in demo mode: its verifier is a trainer, allowed only there
        if s.get(Meta, "demo.world.1") is None:
            s.add(Meta(key="demo.world.1", value="{}"))
    real = FakeReal()
    sim = Simulation(db, scenario, seed=2, clock=SimClock(START, 60, real), trainee=trainee, behaviour=behaviour)
    events = []
    steps = int(scenario.duration / 60) + 1
    for step in range(steps + 1):
        real.t = float(step)  # one real second = one simulated minute
        events += sim.tick()
        if act:
            act(sim)
    return sim, events


def test_scripted_reports_arrive_at_their_simulated_times(db):
    scenario = load_scenario("ordinary_morning")
    sim, events = _run_at_60x(db, scenario)
    run = sim.run_id
    assert [e.key for e in events if e.kind == "report"] == [r.key for r in scenario.reports]
    with db.read() as s:
        items = {i.key: i for i in s.scalars(select(DemoRunItem).where(DemoRunItem.run_id == run))}
        for report in scenario.reports:
            item = items[report.key]
            case = s.get(Case, item.case_id)
            due = START + timedelta(seconds=report.offset)
            assert case.received_at == due == item.arrival_at
            assert due <= case.created_at < due + timedelta(seconds=60)  # within one tick at 60×
            assert case.external_id == f"demo-{run}-{report.key}" and case.channel == report.channel
            assert item.expected == report.answer.to_dict()
        assert s.get(DemoRun, run).scenario == "ordinary_morning"
    assert sim.done
    assert clock.now() == sim.clock.now()  # the simulated clock is the program's clock while the run lasts
    result = sim.finish()
    assert result["items"] == len(scenario.reports) and result["acted_on"] == 0
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5  # the real clock is back


SMALL = {
    "title": "test",
    "duration": 1800,
    "speed": 60,
    "reports": [
        {"key": "a", "offset": 0, "channel": "PDA", "text": "路灯不亮", "grid": "塘西河网格",
         "answer": {"category": "0603", "unit": "CG"}},
        {"key": "b", "offset": 0, "channel": "12345", "text": "垃圾桶满了", "grid": "塘西河网格",
         "answer": {"category": "0104", "unit": "GRID"}},
        {"key": "c", "offset": 60, "channel": "PDA", "text": "井盖破损", "grid": "塘西河网格",
         "answer": {"category": "0602", "unit": "CG"}},
        {"key": "d", "offset": 60, "channel": "PDA", "text": "路面破损", "grid": "塘西河网格",
         "answer": {"category": "0701", "unit": "CG"}},
    ],
    "events": [
        {"offset": 0, "kind": "unit_return", "report": "c", "reason": "不是我们的井盖"},
        {"offset": 0, "kind": "extension_request", "report": "d", "limit": "1wd", "reason": "需要材料"},
    ],
}  # fmt: skip
FIXED = Behaviour(
    ack_delay=(120, 120),
    return_probability=1.0,
    extension_probability=0.0,
    handle_delay=(300, 300),
    sloppy_probability=0.0,
    verify_delay=(180, 180),
    fail_good=0.0,
)


def _trainee(users):
    op = users["op1"]

    def act(sim: Simulation) -> None:
        for key, wrong in (("a", None), ("b", "CG"), ("c", None), ("d", None)):
            cid = sim.case_of(key)
            if cid is None:
                continue
            status = get_case(sim.db, cid, history=False)["status"]
            answer = sim.answers()[key]
            if status == "reported":
                lc.file(sim.db, op, cid, answer.category)
                lc.dispatch(sim.db, op, cid, wrong or answer.unit)
            elif status == "returned":
                lc.dispatch(sim.db, op, cid, answer.unit)
            elif status == "handled":
                lc.verify(sim.db, op, cid, "网格员")

    return act


def test_simulated_units_and_grid_members_respond(db, users):
    scenario = parse_scenario(json.dumps(SMALL, ensure_ascii=False), "small")
    sim, events = _run_at_60x(db, scenario, FIXED, act=_trainee(users))
    a, b, c, d = (sim.case_of(k) for k in "abcd")
    kinds = [(e.key, e.kind) for e in events if e.kind != "report"]
    assert ("a", "acknowledge") in kinds and ("a", "handle") in kinds and ("a", "close") in kinds
    history_a = get_case(db, a)["history"]
    assert [h["action"] for h in history_a] == [
        "report", "file", "dispatch", "acknowledge", "handle", "verify", "close",
    ]  # fmt: skip
    times = {h["action"]: datetime.fromisoformat(h["at"]) for h in history_a}
    assert times["acknowledge"] - times["dispatch"] == timedelta(minutes=2)  # the ack delay, in simulated time
    assert times["handle"] - times["acknowledge"] == timedelta(minutes=5)
    assert times["close"] - times["verify"] == timedelta(minutes=3)
    assert history_a[3]["actor"] == "unit.CG" and history_a[6]["actor"] == "demo.verifier"
    with db.read() as s:
        case_a = s.get(Case, a)
        assert case_a.deadline_at == load_calendar(db).add(case_a.filed_at, "1wd")  # deadlines on simulated time
    # b went to the wrong unit: returned with a reason naming the right one, then dispatched again
    history_b = [h["action"] for h in get_case(db, b)["history"]]
    assert history_b[:5] == ["report", "file", "dispatch", "return", "dispatch"]
    returned = next(h for h in get_case(db, b)["history"] if h["action"] == "return")
    assert "塘西河网格综管队" in returned["reason"] and returned["actor"] == "unit.CG"
    assert get_case(db, b)["unit_code"] == "GRID-S13C01G01"
    # c: the scripted return came although the unit was right; d: the scripted extension request
    assert next(h for h in get_case(db, c)["history"] if h["action"] == "return")["reason"] == "不是我们的井盖"
    with db.read() as s:
        request = s.scalar(select(ExtensionRequest).where(ExtensionRequest.case_id == d))
        assert request is not None and request.time_limit == "1wd" and request.reason == "需要材料"
    assert sim.count_keystrokes(a, 17) and not sim.count_keystrokes(999999, 3)
    result = sim.finish()
    assert result["category"]["accuracy"] == 1.0 and result["unit"]["correct"] == 4  # b ended at the right unit
    assert result["keystrokes"]["total"] == 17 and result["acted_on"] == 4


def test_verification_failures_scripted_and_sloppy(db, users):
    data = dict(SMALL, reports=SMALL["reports"][:1], events=[
        {"offset": 0, "kind": "verification_fail", "report": "a", "reason": "现场仍然不亮"},
    ])  # fmt: skip
    scenario = parse_scenario(json.dumps(data, ensure_ascii=False), "fail")
    sloppy = Behaviour(**{**FIXED.__dict__, "sloppy_probability": 1.0, "fail_sloppy": 1.0})
    sim, _ = _run_at_60x(db, scenario, sloppy, act=_trainee(users))
    history = get_case(db, sim.case_of("a"))["history"]
    reworks = [h for h in history if h["action"] == "rework"]
    assert reworks[0]["reason"] == "现场仍然不亮"  # the scripted failure first
    assert len(reworks) >= 2 and reworks[1]["actor"] == "demo.verifier"  # then sloppy results keep failing
    assert all(h["reason"] == "已处理" for h in history if h["action"] == "handle")
    sim.finish()


def test_verdict_only_announced_when_the_verifier_does_not_act(db, users):
    data = dict(SMALL, reports=SMALL["reports"][:1], events=[])
    scenario = parse_scenario(json.dumps(data, ensure_ascii=False), "announce")
    quiet = Behaviour(**{**FIXED.__dict__, "verifier_acts": False})
    sim, events = _run_at_60x(db, scenario, quiet, act=_trainee(users))
    assert [e.kind for e in events if e.kind in ("verified", "close")] == ["verified"]
    assert get_case(db, sim.case_of("a"))["status"] == "verifying"
    sim.finish()


def test_random_mode_rate_and_injected_events(db, users):
    real = FakeReal()
    sim = Simulation(db, None, seed=5, clock=SimClock(START, 60, real), rate=6.0)
    for step in range(11):
        real.t = float(step)
        sim.tick()
    arrived = sim.answers()
    assert 30 < len(arrived) < 100  # about 6 a minute for 10 simulated minutes
    assert {a.kind for a in arrived.values()} >= {"file"}
    for key, answer in arrived.items():
        if answer.merge:
            assert answer.merge in arrived and int(answer.merge[1:]) < int(key[1:])
    sim.set_rate(0)
    real.t = 20.0
    assert [e for e in sim.tick() if e.kind == "report"] == []
    flood = sim.inject({"kind": "report", "category": "0707", "channel": "12345", "community": "S13C01"})
    key = flood[0].key
    assert sim.answers()[key].category == "0707"
    dup = sim.inject({"kind": "duplicate", "of": key})
    assert sim.answers()[dup[0].key].merge == key
    cid = sim.case_of(key)
    lc.file(db, users["op1"], cid, "0707")
    lc.dispatch(db, users["op1"], cid)
    back = sim.inject({"kind": "unit_return", "report": key, "reason": "不归我们管"})
    assert [e.kind for e in back] == ["return"] and get_case(db, cid)["status"] == "returned"
    with pytest.raises(ValidationError):
        sim.inject({"kind": "earthquake"})
    with pytest.raises(ValidationError):
        sim.inject({"kind": "unit_return", "report": "nope"})
    with db.read() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.id)).all()
        assert all(e.at >= START for e in events)
    sim.finish()
