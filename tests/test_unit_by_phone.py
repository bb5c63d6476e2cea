"""A unit's answer phoned in and recorded at a seat: same checks and lifecycle calls, both names kept."""

from __future__ import annotations

import pytest

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.conftest import article_report
from tests.test_cli import cli  # noqa: F401 - the fixture
from workstation.i18n import set_language
from workstation.intake.responses import record_for_unit
from workstation.services import lifecycle as lc
from workstation.services.errors import InvalidTransitionError, ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report

UNIT = "GRID-S13C01G01"


def dispatched(db, users) -> int:
    cid = add_report(db, article_report(external_id=None)).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    return cid


def test_acknowledge_and_result_recorded_for_the_unit_keep_both_names(db, users):
    cid = dispatched(db, users)
    record_for_unit(db, users["op1"], cid, "acknowledge")
    record_for_unit(db, users["op1"], cid, "handled", result="车辆已规整", photos=["photo://after/1.jpg"])
    case = get_case(db, cid)
    assert case["status"] == "handled" and case["result"] == "车辆已规整"
    ack, handled = case["history"][-2:]
    for event in (ack, handled):
        assert (event["actor"], event["role"]) == ("op1", "operator")  # nobody acts as someone else
        assert event["details"]["for_unit"] == UNIT
        assert event["who"] == "recorded by op1 for 塘西河网格综管队"
    assert handled["details"]["photos"] == ["photo://after/1.jpg"]


def test_the_history_says_it_in_chinese(db, users):
    cid = dispatched(db, users)
    record_for_unit(db, users["lead"], cid, "return", reason="不属于本单位职责")
    set_language("zh_CN")
    try:
        event = get_case(db, cid)["history"][-1]
    finally:
        set_language("en")
    assert event["who"] == "由 lead 代 塘西河网格综管队 录入"
    assert event["reason"] == "不属于本单位职责" and event["to"] == "returned"


def test_bad_answers_are_refused_and_nothing_is_written(db, users):
    cid = dispatched(db, users)
    with pytest.raises(ValidationError) as no_reason:
        record_for_unit(db, users["op1"], cid, "return")
    assert "reason" in no_reason.value.fields
    with pytest.raises(ValidationError) as no_result:
        record_for_unit(db, users["op1"], cid, "handled", result="  ")
    assert "result" in no_result.value.fields
    with pytest.raises(ValidationError) as other_unit:
        record_for_unit(db, users["op1"], cid, "acknowledge", unit="CG")
    assert "unit" in other_unit.value.fields
    record_for_unit(db, users["op1"], cid, "acknowledge")
    with pytest.raises(InvalidTransitionError):
        record_for_unit(db, users["op1"], cid, "acknowledge")  # already acknowledged
    case = get_case(db, cid)
    assert [e["action"] for e in case["history"]][-1] == "acknowledge"


def test_a_co_unit_can_be_named(db, users):
    cid = dispatched(db, users)
    lc.add_unit(db, users["op1"], cid, "CG")
    record_for_unit(db, users["op1"], cid, "acknowledge", unit="CG")
    event = get_case(db, cid)["history"][-1]
    assert event["details"]["for_unit"] == "CG" and event["actor"] == "op1"


def test_the_units_own_account_is_not_marked(db, users):
    cid = dispatched(db, users)
    lc.acknowledge(db, users["gridteam"], cid)
    event = get_case(db, cid)["history"][-1]
    assert "for_unit" not in event["details"] and event["who"] == "gridteam"


def test_on_the_command_line_a_seat_user_records_for_the_cases_unit(db, users, cli):  # noqa: F811
    cid = dispatched(db, users)
    cli("case", "acknowledge", str(cid), "--as", "op1")
    out = cli("case", "show", str(cid), "--as", "op2").out
    assert "recorded by op1 for 塘西河网格综管队" in out and "for_unit=" not in out
    assert get_case(db, cid)["history"][-1]["details"]["for_unit"] == UNIT
