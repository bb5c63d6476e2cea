"""The demo world: deterministic, fast, every state, and exactly what the services would have written."""

from __future__ import annotations

import importlib.util
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from workstation import clock
from workstation.demo.reference import Reference
from workstation.demo.world import OPERATORS, TRAINER, plan_world, seed_world
from workstation.domain.lifecycle import ACTIONS, RUNNING, State
from workstation.models import Case, CaseEvent, CaseUnit, ExtensionRequest, User
from workstation.services import accounts
from workstation.services import lifecycle as lc
from workstation.services.accounts import authenticate
from workstation.services.actors import Actor
from workstation.services.calendar import load_calendar
from workstation.services.errors import ValidationError
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database

NOW = datetime(2026, 6, 4, 2, 0, tzinfo=UTC)
CARE: tuple[tuple[Any, tuple[Any, ...], tuple[str, ...]], ...] = ()
if importlib.util.find_spec("workstation.models.care") is not None:
    from workstation.domain.care import birth_of_id, gender_of_id, normalise_id
    from workstation.models import CareMembership, CarePerson, CareVisit
    from workstation.services.care_worklist import worklist

    CARE = (
        (CarePerson, (CarePerson.id,), ()),
        (CareMembership, (CareMembership.id,), ("id",)),
        (CareVisit, (CareVisit.id,), ("id",)),
    )


def _rows(db, model, order, skip=()) -> list[dict[str, Any]]:
    columns = [c.key for c in inspect(model).columns if c.key not in skip]
    with db.read() as s:
        return [{k: getattr(r, k) for k in columns} for r in s.scalars(select(model).order_by(*order))]


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_server):
    """One seeded world for the tests that only read it."""
    url = pg_server.create() if pg_server else f"sqlite:///{tmp_path_factory.mktemp('world') / 'world.sqlite'}"
    db = open_database(url)
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:  # the cheap hashing the other tests get from conftest
        mp.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        summary = seed_world(db, seed=1, cases=800, people=60, now=NOW)
    print(f"\nseeded {summary.cases} cases, {summary.events} events in {time.perf_counter() - started:.2f} s")
    yield db, summary
    db.dispose()


def test_same_seed_same_world(world, fresh_db):
    a, summary = world
    b = fresh_db()
    seed_world(b, seed=1, cases=800, people=60, now=NOW)
    assert summary.cases == 800 and summary.first_case_id == 1 and summary.last_case_id == 800
    for model, order, skip in (
        (Case, (Case.id,), ()),
        (CaseEvent, (CaseEvent.id,), ()),
        (ExtensionRequest, (ExtensionRequest.id,), ()),
        (CaseUnit, (CaseUnit.id,), ()),
        (User, (User.name,), ("id",)),
        *CARE,
    ):
        left, right = _rows(a, model, order, skip), _rows(b, model, order, skip)
        assert left == right, model.__name__
        assert left, model.__name__
    ref, cal = Reference.from_db(a), load_calendar(a)
    other = plan_world(ref, cal, 2, 100, NOW)
    assert [p.report.text for p in other] != [p.report.text for p in plan_world(ref, cal, 1, 100, NOW)]


def test_every_state_with_consistent_histories(world):
    db, summary = world
    assert set(summary.states) == {s.value for s in State}
    assert summary.states["closed"] > 0.6 * summary.cases
    cal = load_calendar(db)
    cases = {c["id"]: c for c in _rows(db, Case, (Case.id,))}
    events: dict[int, list[dict[str, Any]]] = {}
    for e in _rows(db, CaseEvent, (CaseEvent.id,)):
        events.setdefault(e["case_id"], []).append(e)
    overdue = 0
    for cid, case in cases.items():
        history = events[cid]
        assert history[0]["action"] == "report" and history[0]["from_state"] is None
        assert case["version"] == len(history)
        assert case["received_at"] <= case["created_at"] == history[0]["at"]
        assert case["received_at"] >= NOW - timedelta(days=181)
        state = "reported"
        for n, e in enumerate(history[1:], start=2):
            spec = ACTIONS[e["action"]]
            assert e["from_state"] == state and State(state) in spec.sources, (cid, e["action"], state)
            assert e["actor_role"] in {str(r) for r in spec.roles}
            assert e["to_state"] == (spec.target.value if spec.target else state)
            assert e["details"]["version"] == n and e["details"]["before"]["status"] == state
            state = e["to_state"]
        assert all(x["at"] < y["at"] for x, y in itertools.pairwise(history)), cid
        assert history[-1]["at"] < NOW
        assert case["status"] == state
        assert (case["last_actor"], case["last_action_at"]) == (history[-1]["actor"], history[-1]["at"])
        if case["status"] == "merged":
            target = cases[case["merged_into_id"]]
            assert target["id"] < cid and target["status"] not in ("merged", "rejected")
        actions = [e["action"] for e in history]
        if "file" in actions and not {"decide_extension", "rework", "return"} & set(actions):
            assert case["deadline_at"] == cal.add(case["filed_at"], case["time_limit"])
        if State(case["status"]) in RUNNING and case["deadline_at"] < NOW:
            overdue += 1
    assert overdue > 0
    assert len({c["category_code"] for c in cases.values() if c["category_code"]}) == 118
    assert len({e["actor"] for h in events.values() for e in h} & set(OPERATORS)) == len(OPERATORS)


def test_care_roster_with_visit_histories(world):
    db, summary = world
    assert summary.people == 60
    people = _rows(db, CarePerson, (CarePerson.id,))
    memberships = _rows(db, CareMembership, (CareMembership.id,))
    visits = _rows(db, CareVisit, (CareVisit.id,))
    assert {m["person_id"] for m in memberships} == {p["id"] for p in people}
    assert len({m["group_code"] for m in memberships}) >= 6
    for person in people:
        assert normalise_id(person["id_number"]) == person["id_number"]
        assert birth_of_id(person["id_number"]) == person["birth_date"]
        assert gender_of_id(person["id_number"]) == person["gender"]
    assert {v["person_id"] for v in visits} == {p["id"] for p in people}
    assert all(NOW - timedelta(days=181) <= v["visited_at"] < NOW and v["recorded_at"] <= NOW for v in visits)
    station = accounts.find_actor(db, "塘西河社区站01")
    listed = worklist(db, station, now=NOW)
    assert listed and {r["community"] for r in listed} == {"S13C01"}
    assert {r["status"] for r in listed} >= {"scheduled"}


def test_seed_into_a_database_in_use(fresh_db):
    db = fresh_db()
    first = add_report(db, {"channel": "PDA", "text": "已有的案件", "received_at": "2026-06-01T09:00:00+08:00"})
    world = seed_world(db, seed=2, cases=200, people=0, now=NOW)
    assert world.first_case_id == first.case_id + 1
    after = add_report(db, {"channel": "PDA", "text": "之后的案件", "received_at": "2026-06-04T10:00:00+08:00"})
    assert after.case_id == world.last_case_id + 1  # the id sequence moved past the bulk-written ids
    assert authenticate(db, TRAINER, "demo-2026").role == "trainer"
    assert authenticate(db, "坐席01", "demo-2026").role == "operator"
    with pytest.raises(ValidationError, match="seed 2"):
        seed_world(db, seed=2, cases=10, people=0, now=NOW)
    seed_world(db, seed=3, cases=50, people=0, now=NOW)  # another seed: users already there are kept


# -- replay through the services ----------------------------------------------------------------------


def _replay_event(db, e: dict[str, Any], case: dict[str, Any], ids: dict[int, int], requests: dict[int, int]):
    d, reason, action = e["details"], e["reason"], e["action"]
    unit = e["actor"][5:] if e["actor_role"] == "unit" else None
    by = Actor(e["actor"], e["actor_role"], unit_code=unit)
    cid = ids.get(case["id"])
    if action == "report":
        file_before = case.get("_file_before")
        priority = file_before["priority"] if file_before else case["priority"]
        data = {
            "channel": case["channel"],
            "external_id": case["external_id"],
            "text": case["text"],
            "address": case["address"],
            "lon": case["lon"],
            "lat": case["lat"],
            "reporter_name": case["reporter_name"],
            "reporter_phone": case["reporter_phone"],
            "photos": case["photos"],
            "received_at": case["received_at"].isoformat(),
            "urgency": "urgent" if priority == 1 else "normal",
        }
        ids[case["id"]] = add_report(db, data, by).case_id
        return
    calls = {
        "file": lambda: lc.file(db, by, cid, d["category"], note=reason),
        "dispatch": lambda: lc.dispatch(db, by, cid, d["unit"], note=reason),
        "add_unit": lambda: lc.add_unit(db, by, cid, d["unit"], note=reason),
        "reject": lambda: lc.reject(db, by, cid, reason),
        "merge": lambda: lc.merge(db, by, cid, ids[d["into"]], note=reason),
        "return": lambda: lc.return_case(db, by, cid, reason),
        "acknowledge": lambda: lc.acknowledge(db, by, cid),
        "handle": lambda: lc.handle(db, by, cid, reason, d["photos"]),
        "request_extension": lambda: lc.request_extension(db, by, cid, d["limit"], reason),
        "decide_extension": lambda: lc.decide_extension(db, by, cid, d["approved"], reason),
        "verify": lambda: lc.verify(db, by, cid, d["verifier"]),
        "close": lambda: lc.close(db, by, cid, reason),
        "rework": lambda: lc.rework(db, by, cid, reason, d.get("limit")),
        "supervise": lambda: lc.supervise(db, by, cid, reason),
        "suspend": lambda: lc.suspend(db, by, cid, reason),
    }
    calls[action]()
    if action == "request_extension":
        with db.read() as s:
            mine = s.scalar(select(ExtensionRequest.id).order_by(ExtensionRequest.id.desc()).limit(1))
        requests[mine] = mine


def _sample(cases, events) -> list[int]:
    wanted: list[int] = []
    for state in State:
        wanted += [cid for cid, c in cases.items() if c["status"] == state][:2]
    for action in ("return", "add_unit", "request_extension", "rework", "supervise", "decide_extension"):
        wanted += [cid for cid, h in events.items() if action in {e["action"] for e in h}][:2]
    refused = [cid for cid, h in events.items() if any(e["details"].get("approved") is False for e in h)]
    wanted += refused[:1]
    wanted += [cases[cid]["merged_into_id"] for cid in wanted if cases[cid]["status"] == "merged"]
    return sorted(set(wanted))


def test_world_is_what_the_services_write(world, fresh_db):
    world_db, replay_db = world[0], fresh_db()
    cases = {c["id"]: c for c in _rows(world_db, Case, (Case.id,))}
    events: dict[int, list[dict[str, Any]]] = {}
    for e in _rows(world_db, CaseEvent, (CaseEvent.id,)):
        events.setdefault(e["case_id"], []).append(e)
    sample = _sample(cases, events)
    assert len(sample) > 25
    ids: dict[int, int] = {}
    requests: dict[int, int] = {}
    for cid in sample:  # originals have smaller ids than the reports merged into them
        case = cases[cid]
        file_event = next((e for e in events[cid] if e["action"] == "file"), None)
        case["_file_before"] = file_event["details"]["before"] if file_event else None
        for e in events[cid]:
            with clock.using(lambda at=e["at"]: at):
                _replay_event(replay_db, e, case, ids, requests)
    back = {c["id"]: c for c in _rows(replay_db, Case, (Case.id,))}
    replayed: dict[int, list[dict[str, Any]]] = {}
    for e in _rows(replay_db, CaseEvent, (CaseEvent.id,)):
        replayed.setdefault(e["case_id"], []).append(e)
    world_requests = {r["case_id"]: r for r in _rows(world_db, ExtensionRequest, (ExtensionRequest.id,))}
    replay_requests = {r["case_id"]: r for r in _rows(replay_db, ExtensionRequest, (ExtensionRequest.id,))}
    request_ids = {world_requests[c]["id"]: replay_requests[ids[c]]["id"] for c in sample if c in world_requests}
    for cid in sample:
        expected = {k: v for k, v in cases[cid].items() if k not in ("id", "_file_before")}
        if expected["merged_into_id"] is not None:
            expected["merged_into_id"] = ids[expected["merged_into_id"]]
        got = {k: v for k, v in back[ids[cid]].items() if k != "id"}
        assert got == expected, cid
        own = ("id", "case_id", "chain_hash")  # the hash seals the case id, which differs in the replay
        mine = [{k: v for k, v in e.items() if k not in own} for e in events[cid]]
        for e in mine:
            if e["action"] == "merge":
                e["details"] = dict(e["details"], into=ids[e["details"]["into"]])
            if e["action"] == "decide_extension":
                e["details"] = dict(e["details"], request=request_ids[e["details"]["request"]])
        theirs = [{k: v for k, v in e.items() if k not in own} for e in replayed[ids[cid]]]
        assert theirs == mine, cid
        if cid in world_requests:
            strip = ("id", "case_id")
            assert {k: v for k, v in world_requests[cid].items() if k not in strip} == {
                k: v for k, v in replay_requests[ids[cid]].items() if k not in strip
            }
