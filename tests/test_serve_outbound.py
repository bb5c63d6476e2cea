"""Outbound to GeoReport v2 peers: a dispatch to a unit living at a peer posts the request, then polls it.

The peer is this program's own ``workstation serve`` on a second database (a real GeoReport server),
or a local HTTP server behaving like a deployed one that answers tokens, redirects and errors.
"""

from __future__ import annotations

import json

import pytest
import requests
from werkzeug import Response

from tests.conftest import PASSWORD, article_report
from tests.serve_support import running
from workstation.intake import georeport_out
from workstation.intake.poller import Poller
from workstation.intake.settings import parse_settings
from workstation.intake.targets import sync_targets
from workstation.models import Case
from workstation.services import accounts, lifecycle, tokens
from workstation.services.reports import add_report

UNIT = "CG"


def _settings(url: str, key: str = "k"):
    return parse_settings(
        {
            "targets": [
                {"name": "peer", "kind": "georeport", "url": url, "units": [UNIT], "credentials": {"api_key": key}}
            ],
            "outbox": {"attempts": 3, "backoff_s": 0},
        }
    )


def _dispatched(db, users) -> int:
    case_id = add_report(db, article_report()).case_id
    lifecycle.file(db, users["op1"], case_id, "0105")
    lifecycle.dispatch(db, users["op1"], case_id, UNIT)
    return case_id


def test_a_dispatch_to_a_unit_at_a_peer_is_posted_there_once_and_its_status_learned(db, users, fresh_db):
    peer = fresh_db()
    admin = accounts.add_user(peer, None, "admin", "admin", PASSWORD)
    accounts.add_user(peer, admin, "centre", "operator", PASSWORD)
    _, key = tokens.add_token(peer, admin, "centre", "the centre's link")
    with running(peer) as (_, base):
        settings = _settings(base, key)
        sync_targets(db, settings)
        case_id = _dispatched(db, users)
        [row] = georeport_out.list_outbound(db, case_id)
        assert (row["status"], row["unit"]) == ("pending", UNIT)
        lines: list[str] = []
        Poller(db, settings).run(once=True, report=lines.append)  # the intake loop sends and polls
        [row] = georeport_out.list_outbound(db, case_id)
        assert row["status"] == "sent" and row["service_request_id"], row["last_error"]
        assert row["remote_status"] == "open"
        assert any("GeoReport" in line for line in lines), lines
        with peer.read() as s:
            [theirs] = s.query(Case).all()
            assert str(theirs.id) == row["service_request_id"]
            assert (theirs.category_code, theirs.text) == ("0105", article_report()["text"])
            assert theirs.reporter_name == "" and theirs.reporter_phone == ""  # never sent
        assert georeport_out.send_due(db, settings).sent == []  # posted once
        lifecycle.reject(peer, accounts.find_actor(peer, "centre"), theirs.id, "重复")
        polled = georeport_out.poll_status(db, settings)
        [row] = georeport_out.list_outbound(db, case_id)
        assert polled.updated == [row["id"]] and row["remote_status"] == "closed"
        assert row["remote_notes"].count("；") == 1  # two public steps: reported, rejected


def test_a_token_answer_is_followed_until_the_peer_names_the_request(db, users, httpserver):
    httpserver.expect_request("/requests.json", method="POST").respond_with_json([{"token": "abc"}])
    httpserver.expect_request("/tokens/abc.json").respond_with_json([{"service_request_id": "77", "token": "abc"}])
    httpserver.expect_request("/requests.json", method="GET", query_string="service_request_id=77").respond_with_json(
        [{"service_request_id": 77, "status": "open", "status_notes": "assigned", "updated_datetime": "2026-06-04"}]
    )
    settings = _settings(httpserver.url_for("/"))
    sync_targets(db, settings)
    case_id = _dispatched(db, users)
    assert georeport_out.send_due(db, settings).sent
    georeport_out.poll_status(db, settings)
    [row] = georeport_out.list_outbound(db, case_id)
    assert (row["token"], row["service_request_id"], row["remote_status"]) == ("abc", "77", "open")
    posted = dict(p for p in (pair.split("=") for pair in httpserver.log[0][0].get_data(as_text=True).split("&")))
    assert posted["service_code"] == "0105" and posted["api_key"] == "k" and "phone" not in posted


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [
        (Response(status=302, headers={"Location": "/elsewhere"}), "failed", "302"),
        (
            Response(json.dumps([{"code": 403, "description": "Invalid api_key"}]), status=403),
            "failed",
            "Invalid api_key",
        ),
        (Response("busy", status=503), "pending", "503"),
        (Response("[]", status=200), "failed", "service_request_id"),
    ],
)
def test_peer_failures_are_kept_with_their_reason_and_retried_only_when_it_may_help(
    db, users, httpserver, answer, status, reason
):
    httpserver.expect_request("/requests.json", method="POST").respond_with_response(answer)
    settings = _settings(httpserver.url_for("/"))
    sync_targets(db, settings)
    case_id = _dispatched(db, users)
    georeport_out.send_due(db, settings)
    [row] = georeport_out.list_outbound(db, case_id)
    assert row["status"] == status and reason in row["last_error"], row
    assert len(httpserver.log) == 1 and httpserver.log[0][0].method == "POST"  # the redirect was not followed


def test_an_unreachable_peer_is_retried_then_fails_after_the_budget(db, users):
    settings = parse_settings(  # nothing listens on port 9: the connection is refused
        {
            "targets": [
                {"name": "peer", "kind": "georeport", "url": "http://127.0.0.1:9", "units": [UNIT], "timeout_s": 0.5}
            ],
            "outbox": {"attempts": 2, "backoff_s": 0},
        }
    )
    sync_targets(db, settings)
    case_id = _dispatched(db, users)
    georeport_out.send_due(db, settings, requests.Session())
    assert georeport_out.list_outbound(db, case_id)[0]["status"] == "pending"
    georeport_out.send_due(db, settings, requests.Session())
    [row] = georeport_out.list_outbound(db, case_id)
    assert row["status"] == "failed" and row["attempts"] == 2 and row["last_error"]


def test_statuses_are_asked_for_after_a_post_and_then_only_every_poll_interval(db, users, httpserver):
    httpserver.expect_request("/requests.json", method="POST").respond_with_json([{"service_request_id": "5"}])
    httpserver.expect_request("/requests.json", method="GET").respond_with_json(
        [{"service_request_id": "5", "status": "open"}]
    )
    settings = _settings(httpserver.url_for("/"))
    sync_targets(db, settings)
    _dispatched(db, users)
    gets = lambda: sum(1 for request, _ in httpserver.log if request.method == "GET")  # noqa: E731
    first = georeport_out.exchange(db, settings, poll_every_s=60)
    assert first.sent and first.updated and gets() == 1  # posted, then asked at once
    georeport_out.exchange(db, settings, poll_every_s=60)
    assert gets() == 1  # not again within the interval
    georeport_out.exchange(db, settings, poll_every_s=0)
    assert gets() == 2
