"""The lifecycle services: every transition, its guards, its roles, and its history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import article_report
from workstation.domain.lifecycle import ACTIONS, State
from workstation.models import Case, CaseEvent, utcnow
from workstation.services import lifecycle as lc
from workstation.services.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from workstation.services.queries import get_case
from workstation.services.reports import add_report


def new_case(db, **overrides) -> int:
    return add_report(db, article_report(external_id=None, **overrides)).case_id


def test_file_copies_category_and_computes_deadline(db, users):
    cid = new_case(db)
    out = lc.file(db, users["op1"], cid, "0201")
    assert out.state == "filed" and out.version == 2
    case = get_case(db, cid)
    assert (case["category_code"], case["category_name"], case["time_limit"]) == ("0201", "非机动车乱停放", "2wh")
    assert case["closure_standard"]
    assert case["deadline"] is not None and case["overdue"] is False
    with db.read() as s:
        from workstation.services.calendar import calendar_from

        c = s.get(Case, cid)
        cal = calendar_from(s)
        assert c.deadline_at == cal.add(c.filed_at, "2wh")


def test_dispatch_resolves_territorial_units_to_the_place(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")  # unit GRID
    lc.dispatch(db, users["op1"], cid)
    case = get_case(db, cid)
    assert case["unit_code"] == "GRID-S13C01G01"
    assert case["unit_name"] == "塘西河网格综管队"
    # STREET and COMMUNITY resolve to the office and the station of the same place
    lc.dispatch(db, users["op1"], cid, "STREET")
    assert (get_case(db, cid)["unit_code"], get_case(db, cid)["unit_name"]) == ("STREET-S13", "方兴社区管理中心")
    lc.dispatch(db, users["op1"], cid, "COMMUNITY")
    assert (get_case(db, cid)["unit_code"], get_case(db, cid)["unit_name"]) == (
        "COMMUNITY-S13C01",
        "塘西河社区居村工作站",
    )
    lc.dispatch(db, users["op1"], cid, "JJ")
    assert get_case(db, cid)["unit_name"] == "交警大队"


def test_territorial_unit_without_a_grid_is_refused_with_a_reason(db, users):
    cid = add_report(
        db, {"channel": "12345", "text": "有人乱扔垃圾", "received_at": "2026-06-04T10:19:00+08:00"}
    ).case_id
    lc.file(db, users["op1"], cid, "0101")
    with pytest.raises(ValidationError, match="no grid"):
        lc.dispatch(db, users["op1"], cid)
    lc.dispatch(db, users["op1"], cid, "CG")  # a department needs no place
    assert get_case(db, cid)["status"] == "dispatched"


def test_whole_loop_to_closure_and_history(db, users):
    op, unit = users["op1"], users["gridteam"]
    cid = new_case(db)
    lc.file(db, op, cid, "0201")
    lc.dispatch(db, op, cid)
    lc.acknowledge(db, unit, cid)
    lc.handle(db, unit, cid, "车辆已规整", ["photo://1.jpg"])
    lc.verify(db, op, cid, verifier="网格员张伟")
    lc.rework(db, op, cid, "仍有车辆堵塞通道", limit="1wh")
    lc.handle(db, unit, cid, "再次规整")
    lc.verify(db, op, cid)
    lc.close(db, op, cid)
    case = get_case(db, cid)
    assert case["status"] == "closed" and case["closed"] is not None
    steps = [(e["action"], e["from"], e["to"], e["actor"]) for e in case["history"]]
    assert steps == [
        ("report", None, "reported", "system"),
        ("file", "reported", "filed", "op1"),
        ("dispatch", "filed", "dispatched", "op1"),
        ("acknowledge", "dispatched", "in_progress", "gridteam"),
        ("handle", "in_progress", "handled", "gridteam"),
        ("verify", "handled", "verifying", "op1"),
        ("rework", "verifying", "rework", "op1"),
        ("handle", "rework", "handled", "gridteam"),
        ("verify", "handled", "verifying", "op1"),
        ("close", "verifying", "closed", "op1"),
    ]
    assert case["history"][6]["reason"] == "仍有车辆堵塞通道"
    assert case["version"] == 10


def test_every_action_checks_the_state(db, users):
    cid = new_case(db)
    with pytest.raises(InvalidTransitionError, match="is new: close applies only to cases that are verifying"):
        lc.close(db, users["op1"], cid)
    with pytest.raises(InvalidTransitionError):
        lc.dispatch(db, users["op1"], cid)
    # nothing was written by the refused actions
    assert [e["action"] for e in get_case(db, cid)["history"]] == ["report"]


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("operator", "suspend", False),
        ("lead", "suspend", True),
        ("station", "file", False),
        ("admin", "dispatch", False),
        ("unit", "file", False),
        ("operator", "file", True),
    ],
)
def test_roles_follow_the_lifecycle_table(role, action, allowed):
    assert (role in {r.value for r in ACTIONS[action].roles}) is allowed


def test_services_enforce_roles(db, users):
    cid = new_case(db)
    with pytest.raises(PermissionDeniedError):
        lc.file(db, users["station"], cid, "0201")
    with pytest.raises(PermissionDeniedError):
        lc.reject(db, users["admin"], cid, "无效")
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(PermissionDeniedError):
        lc.suspend(db, users["op1"], cid, "短期无法解决")
    lc.suspend(db, users["lead"], cid, "需协调多部门，短期无法解决")
    assert get_case(db, cid)["status"] == "suspended"
    lc.resume(db, users["lead"], cid)
    assert get_case(db, cid)["status"] == "dispatched"


def test_unit_account_acts_only_on_its_own_cases(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0202")  # JJ
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(PermissionDeniedError, match="not dispatched to your unit"):
        lc.acknowledge(db, users["gridteam"], cid)


def test_reject_needs_a_reason_and_lead_may_reopen(db, users):
    cid = new_case(db)
    with pytest.raises(ValidationError, match="reason"):
        lc.reject(db, users["op1"], cid, "  ")
    lc.reject(db, users["op1"], cid, "信息不全，无法定位")
    assert get_case(db, cid)["status"] == "rejected"
    with pytest.raises(PermissionDeniedError):
        lc.reopen(db, users["op1"], cid, "误判")
    lc.reopen(db, users["lead"], cid, "复核后有效")
    assert get_case(db, cid)["status"] == "reported"


def test_merge_needs_the_case_it_duplicates(db, users):
    first, dup = new_case(db), new_case(db)
    with pytest.raises(ValidationError, match="itself"):
        lc.merge(db, users["op1"], dup, dup)
    with pytest.raises(ValidationError, match="no case"):
        lc.merge(db, users["op1"], dup, 99999)
    lc.merge(db, users["op1"], dup, first)
    case = get_case(db, dup)
    assert case["status"] == "merged" and case["merged_into"] == first
    third = new_case(db)
    with pytest.raises(ValidationError, match="merge into that one"):
        lc.merge(db, users["op1"], third, dup)


def test_return_needs_reason_and_redispatch_restarts_the_deadline(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(ValidationError):
        lc.return_case(db, users["gridteam"], cid, "")
    lc.return_case(db, users["gridteam"], cid, "不属于本网格，属交警职责")
    assert get_case(db, cid)["status"] == "returned"
    lc.dispatch(db, users["op1"], cid, "JJ")
    case = get_case(db, cid)
    assert case["status"] == "dispatched" and case["unit_code"] == "JJ"


def test_co_units(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    lc.add_unit(db, users["op1"], cid, "CG")
    with pytest.raises(ValidationError, match="already"):
        lc.add_unit(db, users["op1"], cid, "CG")
    with pytest.raises(ValidationError, match="already"):
        lc.add_unit(db, users["op1"], cid, "GRID")
    assert [u["code"] for u in get_case(db, cid)["co_units"]] == ["CG"]


def test_extension_approved_moves_the_deadline_refused_does_not(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    before = get_case(db, cid)["deadline"]
    with pytest.raises(ValidationError, match="no extension request"):
        lc.decide_extension(db, users["lead"], cid, True)
    lc.request_extension(db, users["gridteam"], cid, "1wd", "需调度清运车辆")
    with pytest.raises(ValidationError, match="already has"):
        lc.request_extension(db, users["gridteam"], cid, "1wd", "再次申请")
    with pytest.raises(PermissionDeniedError):
        lc.decide_extension(db, users["op1"], cid, True)
    lc.decide_extension(db, users["lead"], cid, False, "时限充足")
    assert get_case(db, cid)["deadline"] == before
    lc.request_extension(db, users["gridteam"], cid, "1wd", "需调度清运车辆")
    lc.decide_extension(db, users["lead"], cid, True)
    case = get_case(db, cid)
    assert case["deadline"] > before
    assert [x["status"] for x in case["extensions"]] == ["refused", "approved"]


def test_bad_extension_limit_is_refused(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(ValidationError, match="not a time limit"):
        lc.request_extension(db, users["gridteam"], cid, "3 days", "x")


def test_overdue_is_derived_and_supervision_needs_it(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(ValidationError, match="not overdue"):
        lc.supervise(db, users["lead"], cid)
    with db.write() as s:  # the deadline passes
        s.execute(update(Case).where(Case.id == cid).values(deadline_at=utcnow() - timedelta(minutes=1)))
    assert get_case(db, cid)["overdue"] is True
    lc.supervise(db, users["lead"], cid, "请加快处置")
    assert get_case(db, cid)["supervised"] is not None
    lc.handle(db, users["gridteam"], cid, "已处置")
    assert get_case(db, cid)["overdue"] is False  # handled: the handling deadline no longer runs


def test_undo_restores_the_previous_state_within_the_window(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    lc.undo(db, users["op1"], cid)
    case = get_case(db, cid)
    assert case["status"] == "filed" and case["unit_code"] is None and case["dispatched"] is None
    assert case["history"][-1]["action"] == "undo"
    with pytest.raises(ValidationError, match="Nothing of yours"):
        lc.undo(db, users["op2"], cid)
    with pytest.raises(ValidationError, match="Too late"):
        lc.file(db, users["op1"], new_case(db), "0201")
        lc.undo(db, users["op1"], 2, window=timedelta(seconds=-1))


def test_unknown_case_and_category(db, users):
    with pytest.raises(NotFoundError):
        lc.file(db, users["op1"], 4242, "0201")
    cid = new_case(db)
    with pytest.raises(ValidationError, match="Unknown category"):
        lc.file(db, users["op1"], cid, "9999")


def test_history_is_append_only_in_the_database(db, users):
    cid = new_case(db)
    with pytest.raises((IntegrityError, DBAPIError)), db.write() as s:
        s.execute(update(CaseEvent).where(CaseEvent.case_id == cid).values(actor="forged"))
    with pytest.raises((IntegrityError, DBAPIError)), db.write() as s:
        s.execute(text("DELETE FROM case_events"))
    with db.read() as s:
        assert s.scalars(select(CaseEvent.actor)).all() == ["system"]


def test_every_state_is_reachable_in_the_table():
    targets = {a.target for a in ACTIONS.values() if a.target} | {State.REPORTED}
    assert targets == set(State)


def test_undo_of_a_redispatch_restores_the_previous_unit_and_times(db, users):
    cid = new_case(db)
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    first = get_case(db, cid)
    lc.dispatch(db, users["op1"], cid, "JJ")
    lc.undo(db, users["op1"], cid)
    case = get_case(db, cid)
    assert (case["unit_code"], case["dispatched"], case["status"]) == (
        first["unit_code"],
        first["dispatched"],
        "dispatched",
    )
