"""Units' responses: applied through the lifecycle services, idempotent, safe late and out of order."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.conftest import article_report
from tests.test_intake_feed import page, poller, source
from workstation.intake.ingest import read_cursor
from workstation.intake.responses import apply_unit_response
from workstation.intake.targets import set_target
from workstation.models import CaseEvent, ExtensionRequest, OutboxMessage, QuarantinedItem, UnitResponse
from workstation.services import lifecycle as lc
from workstation.services.errors import ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage.db import Database

UNIT = "GRID-S13C01G01"


def dispatched(db, users, external_id="PDA-1") -> int:
    cid = add_report(db, article_report(external_id=external_id)).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    return cid


def response(rid: str, case_id: int, kind: str, **extra) -> dict:
    return {"response_id": rid, "case_id": case_id, "unit": UNIT, "type": kind, **extra}


def events(db, cid) -> list[str]:
    return [e["action"] for e in get_case(db, cid)["history"]]


def test_acknowledge_is_applied_once_however_often_it_arrives(db, users):
    cid = dispatched(db, users)
    first = apply_unit_response(db, response("R1", cid, "acknowledge", at="2026-06-04T11:00:00+08:00", by="王五"))
    assert (first.outcome, first.duplicate, first.case_id) == ("applied", False, cid)
    case = get_case(db, cid)
    assert case["status"] == "in_progress"
    assert case["history"][-1]["actor"] == f"unit-system:{UNIT}" and case["history"][-1]["role"] == "unit"
    again = apply_unit_response(db, response("R1", cid, "acknowledge"))
    assert (again.outcome, again.duplicate, again.event_id) == ("applied", True, first.event_id)
    assert events(db, cid).count("acknowledge") == 1
    with db.read() as s:
        row = s.get(UnitResponse, "R1")
        assert (row.outcome, row.event_id, row.payload["by"]) == ("applied", first.event_id, "王五")
        assert row.responded_at.isoformat() == "2026-06-04T03:00:00+00:00"


def test_handled_before_acknowledge_is_applied_and_the_late_acknowledge_ignored(db, users):
    cid = dispatched(db, users)
    handled = apply_unit_response(db, response("R2", cid, "handled", result="车辆已规整", photos=["photo://1.jpg"]))
    assert handled.outcome == "applied"
    case = get_case(db, cid)
    assert (case["status"], case["result"]) == ("handled", "车辆已规整")
    late = apply_unit_response(db, response("R1", cid, "acknowledge"))
    assert (late.outcome, late.reason) == ("ignored", "arrived late: the case is already handled")
    assert get_case(db, cid)["status"] == "handled"
    again = apply_unit_response(db, response("R3", cid, "handled", result="再报一次"))
    assert again.outcome == "ignored" and get_case(db, cid)["result"] == "车辆已规整"


def test_incompatible_responses_are_recorded_with_their_reason(db, users):
    cid = dispatched(db, users)
    apply_unit_response(db, response("A", cid, "acknowledge"))
    ret = apply_unit_response(db, response("B", cid, "return", reason="不属于我单位"))
    assert ret.outcome == "refused" and "applies only to cases that are dispatched" in ret.reason
    other = dispatched(db, users, "PDA-2")
    lc.dispatch(db, users["op1"], other, "JJ")
    wrong = apply_unit_response(db, response("C", other, "acknowledge"))
    assert wrong.outcome == "refused" and wrong.reason == f"Case {other} is not dispatched to your unit."
    missing = apply_unit_response(db, response("D", 9999, "acknowledge"))
    assert missing.outcome == "refused" and "There is no case 9999" in missing.reason
    unknown_unit = apply_unit_response(db, {**response("E", cid, "acknowledge"), "unit": "NOPE"})
    assert (unknown_unit.outcome, unknown_unit.reason) == ("refused", "unknown unit NOPE")
    bad = apply_unit_response(db, response("F", cid, "handled"))  # no result
    assert bad.outcome == "refused" and bad.reason.startswith("result: required")
    assert apply_unit_response(db, response("F", cid, "handled", result="补上了")).duplicate  # the id is spent
    with pytest.raises(ValidationError, match="response_id"):
        apply_unit_response(db, {"case_id": cid, "unit": UNIT, "type": "acknowledge"})
    with pytest.raises(ValidationError):
        apply_unit_response(db, ["not", "an", "object"])  # type: ignore[arg-type]
    assert get_case(db, cid)["status"] == "in_progress"
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(UnitResponse)) == 6  # A to F


def test_return_and_extension_go_through_the_lifecycle(db, users):
    cid = dispatched(db, users)
    ext = apply_unit_response(db, response("X1", cid, "extension", limit="2wd", reason="需协调物业"))
    assert ext.outcome == "applied"
    with db.read() as s:
        (req,) = s.scalars(select(ExtensionRequest).where(ExtensionRequest.case_id == cid))
        assert (req.time_limit, req.reason, req.requested_by) == ("2wd", "需协调物业", f"unit-system:{UNIT}")
    twice = apply_unit_response(db, response("X2", cid, "extension", limit="1wd", reason="再延"))
    assert twice.outcome == "refused" and "already has an extension request" in twice.reason
    ret = apply_unit_response(db, response("X3", cid, "return", reason="非本单位职责"))
    assert ret.outcome == "applied" and get_case(db, cid)["status"] == "returned"


def test_the_same_response_applied_by_two_seats_at_once_is_applied_once(db, db_url, users):
    cid = dispatched(db, users)
    seats = [Database(db_url), Database(db_url)]
    barrier = threading.Barrier(2)
    results = []

    def run(seat: Database) -> None:
        barrier.wait()
        results.append(apply_unit_response(seat, response("SAME", cid, "acknowledge")))

    threads = [threading.Thread(target=run, args=(seat,)) for seat in seats]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for seat in seats:
        seat.dispose()
    assert sorted(r.duplicate for r in results) == [False, True]
    assert {r.outcome for r in results} == {"applied"}
    assert events(db, cid).count("acknowledge") == 1


def test_a_units_own_responses_are_not_echoed_back_to_it(db, users, httpserver):
    set_target(db, users["admin"], "grid", "webhook", httpserver.url_for("/o"), units=[UNIT])
    cid = dispatched(db, users)
    apply_unit_response(db, response("R1", cid, "acknowledge"))
    apply_unit_response(db, response("R2", cid, "handled", result="已处理"))
    lc.verify(db, users["op1"], cid)  # the desk's action: the unit is told
    with db.read() as s:
        sent = [
            (m.kind, m.body["event"]["action"]) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    assert sent == [("dispatch_order", "dispatch"), ("status_change", "verify")]


def test_a_unit_systems_feed_of_responses(db, users, httpserver):
    cid = dispatched(db, users)
    items = [
        response("U1", cid, "handled", result="已清理"),
        response("U2", cid, "acknowledge"),  # late: ignored
        {"type": "acknowledge"},  # no id: nothing to remember it by
        "garbage",
    ]
    body = page(items, "u1")
    httpserver.expect_request("/responses").respond_with_data(body, content_type="application/json")
    cfg = source(httpserver, "/responses", name="grid-system", kind="unit_responses", options={"units": [UNIT]})
    result = poller(db, cfg).poll_all()[0]
    assert result.ok and (result.applied, result.ignored, result.quarantined) == (1, 1, 2), result.line()
    assert read_cursor(db, "grid-system") == "u1"
    assert get_case(db, cid)["status"] == "handled"
    with db.read() as s:
        reasons = sorted(q.reason for q in s.scalars(select(QuarantinedItem)))
    assert reasons == [
        "A unit response needs a response_id (text, at most 100 characters).",
        "a unit response must be a JSON object",
    ]
    again = poller(db, cfg).poll_all()[0]  # the same page again (say the cursor had not been stored)
    assert (again.applied, again.existing) == (0, 2)  # recognised by their ids
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == cid)) == 4
    assert json.loads(body)["next_cursor"] == "u1"
