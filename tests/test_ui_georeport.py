"""The window's background sending also posts to GeoReport v2 peers (a dispatch to a unit living there)."""

from __future__ import annotations

from tests.conftest import article_report
from tests.test_ui_integration import make_window  # noqa: F401 - the fixture
from workstation.intake import georeport_out
from workstation.services import lifecycle
from workstation.services.reports import add_report


def test_a_seat_dispatching_to_a_unit_at_a_peer_posts_the_request_there_in_the_background(
    qtbot,
    db,
    users,
    httpserver,
    make_window,  # noqa: F811 - the fixture
):
    httpserver.expect_request("/requests.json", method="POST").respond_with_json([{"service_request_id": "9"}])
    httpserver.expect_request("/requests.json", method="GET").respond_with_json(
        [{"service_request_id": "9", "status": "open", "status_notes": "已受理"}]
    )
    target = {"name": "peer", "kind": "georeport", "url": httpserver.url_for("/"), "units": ["CG"]}
    target["credentials"] = {"api_key": "k"}
    _window, ext = make_window(users["op1"], targets=[target])
    qtbot.waitUntil(lambda: "outbox 0 pending, 0 failed" in ext.label.text(), timeout=3000)  # targets synced
    cid = add_report(db, article_report()).case_id
    lifecycle.file(db, users["op1"], cid, "0105")
    lifecycle.dispatch(db, users["op1"], cid, "CG")
    qtbot.waitUntil(
        lambda: (georeport_out.list_outbound(db, cid) or [{}])[0].get("remote_status") == "open", timeout=5000
    )
    [row] = georeport_out.list_outbound(db, cid)
    assert (row["status"], row["service_request_id"], row["remote_notes"]) == ("sent", "9", "已受理")
