"""The outbox: messages written in the transaction of the change that causes them, sent with retries."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select
from werkzeug import Request, Response

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.conftest import article_report
from workstation.intake import outbox, status
from workstation.intake.ingest import ingest_items
from workstation.intake.open311 import parse_requests
from workstation.intake.settings import Credentials, Settings, TargetConfig
from workstation.intake.targets import set_target, sync_targets
from workstation.models import Case, OutboxMessage, utcnow
from workstation.services import lifecycle as lc
from workstation.services.errors import NotFoundError, ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report

UNIT = "GRID-S13C01G01"  # the unit of users["gridteam"], where article_report's grid resolves


def rows(db, **where) -> list[OutboxMessage]:
    with db.read() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(s.scalars(query))


def filed_case(db, users, external_id="PDA-1") -> int:
    cid = add_report(db, article_report(external_id=external_id)).case_id
    lc.file(db, users["op1"], cid, "0201")
    return cid


@pytest.fixture
def webhook(db, httpserver, users):
    set_target(db, users["admin"], "grid-team", "webhook", httpserver.url_for("/orders"), units=[UNIT, "JJ"])
    return httpserver


def settings_for(httpserver, **cred) -> Settings:
    target = TargetConfig(
        name="grid-team",
        kind="webhook",
        url=httpserver.url_for("/orders"),
        units=(UNIT, "JJ"),
        credentials=Credentials(**cred),
    )
    return Settings(targets=(target,))


def test_dispatch_writes_its_order_in_the_same_transaction(db, users, webhook):
    cid = filed_case(db, users)
    assert rows(db) == []  # filing concerns no unit
    out = lc.dispatch(db, users["op1"], cid)
    assert (out.state, out.version) == ("dispatched", get_case(db, cid)["version"])  # hooks leave the outcome alone
    (row,) = rows(db)
    assert (row.kind, row.target, row.case_id, row.event_id, row.status) == (
        "dispatch_order",
        "grid-team",
        cid,
        out.event_id,
        "pending",
    )
    assert row.body["message_id"] == row.uuid and row.body["type"] == "dispatch_order" and row.body["unit"] == UNIT
    assert row.body["case"]["id"] == cid and row.body["case"]["status"] == "dispatched"
    assert row.body["case"]["category"]["code"] == "0201" and row.body["case"]["reporter"]["phone"] == "13812345678"
    assert row.body["event"]["action"] == "dispatch" and row.body["event"]["from"] == "filed"
    assert row.body["respond"] == {"case_id": cid, "unit": UNIT}


def test_if_the_transaction_fails_there_is_no_outbox_row(db, users, webhook, monkeypatch):
    cid = filed_case(db, users)

    def boom(s, case, event):
        raise RuntimeError("the disk filled up just before commit")

    monkeypatch.setattr(lc, "after_transition", [*lc.after_transition, boom])
    with pytest.raises(RuntimeError):
        lc.dispatch(db, users["op1"], cid)
    assert rows(db) == []
    assert get_case(db, cid)["status"] == "filed"


def test_no_target_for_the_unit_means_no_message(db, users, webhook):
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid, "CG")  # no webhook serves CG
    assert rows(db) == []


def test_sent_with_idempotency_key_and_retried_after_a_500(db, users, webhook):
    received: list[Request] = []
    answers = [Response("busy", status=500), Response("ok", status=202)]

    def handler(request: Request) -> Response:
        received.append(request)
        return answers.pop(0)

    webhook.expect_request("/orders", method="POST").respond_with_handler(handler)
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    (row,) = rows(db)
    t0 = utcnow() + timedelta(seconds=1)
    settings = settings_for(webhook, token="s3cret")
    first = outbox.send_pending(db, now=t0, settings=settings)
    assert first.retrying == [row.id]
    (row,) = rows(db)
    assert (row.status, row.attempts, row.response_code) == ("pending", 1, 500)
    assert "HTTP 500" in row.last_error and row.next_attempt_at == t0 + timedelta(seconds=30)
    assert not status.get_status(db, "outbox:grid-team").ok
    assert outbox.send_pending(db, now=t0 + timedelta(seconds=10), settings=settings).sent == []  # backing off
    later = outbox.send_pending(db, now=t0 + timedelta(seconds=31), settings=settings)
    assert later.sent == [row.id]
    (row,) = rows(db)
    assert (row.status, row.attempts, row.response_code, row.last_error) == ("sent", 2, 202, None)
    assert [r.headers["Idempotency-Key"] for r in received] == [row.uuid, row.uuid]
    assert received[0].headers["Authorization"] == "Bearer s3cret"
    assert received[0].headers["Content-Type"].startswith("application/json")
    assert json.loads(received[1].get_data(as_text=True)) == row.body
    assert status.get_status(db, "outbox:grid-team").ok


def test_a_refused_message_fails_at_once_and_can_be_retried_by_hand(db, users, webhook):
    answers = [Response('{"error": "unknown case format"}', status=422), Response("ok")]
    webhook.expect_request("/orders").respond_with_handler(lambda r: answers.pop(0))
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    report = outbox.send_pending(db, now=utcnow() + timedelta(seconds=1))
    (row,) = rows(db)
    assert report.failed == [row.id] and row.status == "failed" and "HTTP 422" in row.last_error
    with pytest.raises(ValidationError):
        outbox.list_outbox(db, "bogus")
    assert [r["id"] for r in outbox.list_outbox(db, "failed")] == [row.id]
    outbox.retry(db, users["op1"], row.id)
    assert rows(db)[0].status == "pending" and rows(db)[0].budget == 1 + outbox.DEFAULT_BUDGET
    assert outbox.send_pending(db, now=utcnow() + timedelta(seconds=1)).sent == [row.id]
    with pytest.raises(ValidationError, match="already sent"):
        outbox.retry(db, users["op1"], row.id)
    with pytest.raises(NotFoundError):
        outbox.retry(db, users["op1"], 999)


def test_the_attempt_budget_bounds_the_retries(db, users, webhook, monkeypatch):
    monkeypatch.setattr(outbox, "DEFAULT_BUDGET", 2)
    webhook.expect_request("/orders").respond_with_data("down", status=503)
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    t = utcnow() + timedelta(seconds=1)
    assert outbox.send_pending(db, now=t).retrying
    assert outbox.send_pending(db, now=t + timedelta(hours=1)).failed
    (row,) = rows(db)
    assert (row.status, row.attempts) == ("failed", 2)
    assert outbox.retry_failed(db, users["lead"]) == [row.id]
    assert rows(db)[0].status == "pending"


def test_messages_of_one_case_are_sent_in_order(db, users, webhook):
    seen: list[str] = []
    answers = [Response("no", status=500)]

    def handler(request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        seen.append(body["type"] + ":" + body["event"]["action"])
        return answers.pop(0) if answers else Response("ok")

    webhook.expect_request("/orders").respond_with_handler(handler)
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    lc.add_unit(db, users["op1"], cid, "JJ")
    lc.acknowledge(db, users["op1"], cid)  # an operator records the unit's phone call: the unit is told
    order, co_order, ack, co_ack = rows(db)
    assert (order.kind, co_order.kind, ack.kind, co_ack.kind) == (
        "dispatch_order",
        "dispatch_order",
        "status_change",
        "status_change",
    )
    assert (co_order.body["unit"], ack.body["unit"], co_ack.body["unit"]) == ("JJ", UNIT, "JJ")
    t = utcnow() + timedelta(seconds=1)
    first = outbox.send_pending(db, now=t)
    assert first.retrying == [order.id] and first.waiting == [co_order.id, ack.id, co_ack.id]
    second = outbox.send_pending(db, now=t + timedelta(minutes=5))
    assert second.sent == [order.id, co_order.id, ack.id, co_ack.id]
    assert seen == [
        "dispatch_order:dispatch",
        "dispatch_order:dispatch",
        "dispatch_order:add_unit",
        "status_change:acknowledge",
        "status_change:acknowledge",
    ]


def test_redispatch_and_undo_withdraw_the_order_from_the_previous_unit(db, users, webhook):
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    lc.dispatch(db, users["op1"], cid, "JJ")
    kinds = [(r.kind, r.body["unit"], r.body["event"]["action"]) for r in rows(db)]
    assert kinds == [
        ("dispatch_order", UNIT, "dispatch"),
        ("dispatch_order", "JJ", "dispatch"),
        ("withdrawal", UNIT, "dispatch"),
    ]
    other = filed_case(db, users, external_id="PDA-2")
    lc.dispatch(db, users["op1"], other, "JJ")
    lc.undo(db, users["op1"], other)  # a dispatch undone within the undo window
    last = rows(db)[-1]
    assert (last.kind, last.case_id, last.body["unit"], last.body["event"]["action"]) == (
        "withdrawal",
        other,
        "JJ",
        "undo",
    )


def test_event_filter_and_inactive_targets(db, users, httpserver):
    set_target(
        db, users["admin"], "orders-only", "webhook", httpserver.url_for("/o"), units=[UNIT], events=["dispatch"]
    )
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    lc.acknowledge(db, users["op1"], cid)
    assert [r.kind for r in rows(db)] == ["dispatch_order"]
    sync_targets(db, Settings())  # the settings file no longer names it
    lc.handle(db, users["op1"], cid, "已处理")
    assert len(rows(db)) == 1
    with pytest.raises(ValidationError, match="units"):
        set_target(db, users["admin"], "bad", "webhook", "ftp://x")


def test_open311_peers_get_servicerequestupdates(db, users, httpserver):
    forms: list[dict[str, list[str]]] = []

    def handler(request: Request) -> Response:
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        forms.append(parse_qs(request.get_data(as_text=True)))
        return Response('[{"update_id": "x"}]', content_type="application/json")

    httpserver.expect_request("/v2/servicerequestupdates.json", method="POST").respond_with_handler(handler)
    page = parse_requests(
        '[{"service_request_id": 638344, "service_code": "006", "service_name": "Sidewalk", "description": "d",'
        ' "requested_datetime": "2026-06-04T10:19:00+08:00"}]',
        "citizen311",
    )
    ingest_items(db, "citizen311", "open311", page.items)
    with db.read() as s:
        cid = s.scalar(select(Case.id).where(Case.external_id == "citizen311:638344"))
    target = TargetConfig(
        name="citizen311-updates",
        kind="open311",
        url=httpserver.url_for("/v2/servicerequestupdates.json"),
        source="citizen311",
        credentials=Credentials(api_key="KEY-1"),
    )
    settings = Settings(targets=(target,))
    sync_targets(db, settings)
    lc.reject(db, users["op1"], cid, "不属于本区管辖")
    (row,) = rows(db)
    assert (row.kind, row.content_type) == ("open311_update", "form")
    assert "api_key" not in row.body  # credentials never reach the database
    assert outbox.send_pending(db, now=utcnow() + timedelta(seconds=1), settings=settings).sent == [row.id]
    (form,) = forms
    assert form["service_request_id"] == ["638344"] and form["update_id"] == [row.uuid]
    assert form["status"] == ["closed"] and form["external_status_code"] == ["rejected"]
    assert form["api_key"] == ["KEY-1"] and form["description"] == ["reject: 不属于本区管辖"]
    assert form["updated_datetime"][0].endswith("+00:00")
    # a case from another source is not this peer's business
    other = add_report(db, article_report(channel="OPEN311", external_id="elsewhere:1")).case_id
    lc.reject(db, users["op1"], other, "重复")
    assert len(rows(db)) == 1


def test_every_outbox_row_belongs_to_a_committed_change(db, users, webhook):
    cid = filed_case(db, users)
    lc.dispatch(db, users["op1"], cid)
    with pytest.raises(ValidationError):  # refused before anything is written
        lc.request_extension(db, users["gridteam"], cid, "not-a-limit", "需要更多时间")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
