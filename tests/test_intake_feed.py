"""Polling feeds over real HTTP on localhost: pages, cursors, restarts, failures, retries, quarantine."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

import workstation.intake  # noqa: F401 - registers the source kinds and the lifecycle hooks
from workstation.intake import status
from workstation.intake.base import RoundResult
from workstation.intake.ingest import read_cursor
from workstation.intake.mappings import list_mappings, set_mapping
from workstation.intake.open311 import Position
from workstation.intake.poller import Poller
from workstation.intake.settings import Retry, Settings, SourceConfig
from workstation.models import Case, CaseEvent, QuarantinedItem
from workstation.services.queries import get_case
from workstation.storage.db import Database

CENTRE = (117.2665624, 31.7369032)  # inside 塘西河网格 S13C01G01
FAST = Retry(timeout_s=2.0, attempts=3, backoff_s=0.01, backoff_max_s=0.05)


def feed_item(i: int | str, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"P-{i}",
        "channel": "APP",
        "text": f"第{i}号：井盖缺失",
        "address": "洞庭湖路",
        "grid": "S13C01G01",
        "reporter": {"name": "张三", "phone": "13812345678"},
        "received_at": "2026-06-04T10:19:00+08:00",
        "photos": [f"https://platform.example/media/{i}.jpg"],
    }
    item.update(overrides)
    return item


def page(items: list[Any], cursor: str | None, more: bool = False) -> str:
    return json.dumps({"items": items, "next_cursor": cursor, "has_more": more}, ensure_ascii=False)


class Feed:
    """A platform feed served by cursor; ``failures`` answers come first, one per request."""

    def __init__(self, pages: dict[str | None, str]) -> None:
        self.pages = pages
        self.failures: list[Callable[[], Response]] = []
        self.cursors: list[str | None] = []

    def __call__(self, request: Request) -> Response:
        self.cursors.append(request.args.get("cursor"))
        if self.failures:
            return self.failures.pop(0)()
        cursor = request.args.get("cursor")
        body = self.pages.get(cursor)
        if body is None:
            body = page([], cursor)
        return Response(body, content_type="application/json; charset=utf-8")


def source(server: HTTPServer, path: str = "/feed", name: str = "district", kind: str = "platform", **kw: Any):
    return SourceConfig(name=name, kind=kind, url=server.url_for(path), retry=kw.pop("retry", FAST), **kw)


def poller(db: Database, *configs: SourceConfig, sleeps: list[float] | None = None) -> Poller:
    return Poller(db, Settings(sources=configs), sleep=(sleeps if sleeps is not None else []).append)


def cases(db: Database, channel: str | None = None) -> list[Case]:
    with db.read() as s:
        query = select(Case).order_by(Case.id)
        if channel:
            query = query.where(Case.channel == channel)
        return list(s.scalars(query))


def held(db: Database, source_name: str | None = None) -> list[QuarantinedItem]:
    with db.read() as s:
        query = select(QuarantinedItem).order_by(QuarantinedItem.id)
        if source_name:
            query = query.where(QuarantinedItem.source == source_name)
        return list(s.scalars(query))


def three_pages() -> dict[str | None, str]:
    return {
        None: page([feed_item(1), feed_item(2)], "c1", True),
        "c1": page([feed_item(3), feed_item(4, grid=None, lon=CENTRE[0], lat=CENTRE[1])], "c2", True),
        "c2": page([feed_item(5)], "c3", False),
    }


def test_a_feed_over_several_pages_is_imported_and_the_cursor_stored(db, httpserver):
    feed = Feed(three_pages())
    httpserver.expect_request("/feed").respond_with_handler(feed)
    p = poller(db, source(httpserver, page_limit=2))
    result = p.poll_all()[0]
    assert result.ok and (result.pages, result.created, result.existing) == (3, 5, 0)
    assert feed.cursors == [None, "c1", "c2"]
    assert read_cursor(db, "district") == "c3"
    rows = cases(db)
    assert [c.external_id for c in rows] == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert {c.grid_code for c in rows} == {"S13C01G01"}  # by code, and from the point for P-4
    case = get_case(db, rows[0].id)
    assert (case["channel"], case["status"], case["reporter_name"], case["community"]) == (
        "APP",
        "reported",
        "张三",
        "塘西河社区",
    )
    assert case["history"][0]["details"]["source"] == "district"
    assert case["history"][0]["details"]["payload"]["id"] == "P-1"  # the original item is kept
    # the next round asks from the stored cursor and finds nothing new
    again = p.poll_all()[0]
    assert again.ok and again.created == 0 and feed.cursors[-1] == "c3"
    assert status.get_status(db, "district").ok
    assert httpserver.log[0][0].args.get("limit") == "2"


def test_a_restart_in_the_middle_resumes_from_the_stored_cursor(db, httpserver):
    pages = three_pages()
    feed = Feed(pages)
    httpserver.expect_request("/feed").respond_with_handler(feed)
    # the first seat reads one page and then "crashes" (its round stops after max_pages=1)
    first = poller(db, source(httpserver, max_pages=1)).poll_all()[0]
    assert first.created == 2 and read_cursor(db, "district") == "c1"
    # the platform re-delivers P-2 after the crash (at-least-once): it must not be created twice
    pages["c1"] = page([feed_item(2), feed_item(3), feed_item(4)], "c2", True)
    second = poller(db, source(httpserver)).poll_all()[0]  # a brand-new poller: state comes from the DB
    assert feed.cursors[1] == "c1"
    assert (second.created, second.existing) == (3, 1)
    assert [c.external_id for c in cases(db)] == ["P-1", "P-2", "P-3", "P-4", "P-5"]
    assert read_cursor(db, "district") == "c3"


def _status(code: int) -> Callable[[], Response]:
    return lambda: Response("upstream trouble", status=code)


def test_server_errors_are_retried_with_backoff_then_succeed(db, httpserver):
    feed = Feed(three_pages())
    feed.failures = [_status(500), _status(503)]
    httpserver.expect_request("/feed").respond_with_handler(feed)
    sleeps: list[float] = []
    result = poller(db, source(httpserver, retry=Retry(2.0, 3, 0.01, 1.0)), sleeps=sleeps).poll_all()[0]
    assert result.ok and result.created == 5
    assert sleeps == [0.01, 0.02]  # exponential back-off between the three attempts of page 1
    assert feed.cursors[:3] == [None, None, None]


def test_retries_exhausted_record_the_failure_and_apply_nothing_half_way(db, httpserver):
    pages = three_pages()
    feed = Feed(pages)
    httpserver.expect_request("/feed").respond_with_handler(feed)
    feed.failures = [lambda: Response(pages[None], content_type="application/json")] + [_status(502)] * 3
    result = poller(db, source(httpserver)).poll_all()[0]
    assert not result.ok and "HTTP 502" in (result.error or "")
    assert result.created == 2  # page 1 was whole and is kept; page 2 applied nothing
    assert read_cursor(db, "district") == "c1"
    st = status.get_status(db, "district")
    assert st is not None and not st.ok and st.failures == 1 and "HTTP 502" in (st.last_error or "")
    assert "district ✗" in status.status_line(db)
    # the server recovers: the next round catches up from the cursor, nothing twice
    again = poller(db, source(httpserver)).poll_all()[0]
    assert again.ok and again.created == 3 and len(cases(db)) == 5
    assert status.get_status(db, "district").ok


def test_client_errors_are_not_retried(db, httpserver):
    httpserver.expect_request("/feed").respond_with_data("bad token", status=401)
    sleeps: list[float] = []
    result = poller(db, source(httpserver), sleeps=sleeps).poll_all()[0]
    assert not result.ok and "HTTP 401" in result.error and "bad token" in result.error
    assert sleeps == [] and len(httpserver.log) == 1


def test_timeouts_and_slow_responses_are_retried(db):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        calls: list[float] = []

        def slow_then_fast(request: Request) -> Response:
            calls.append(time.monotonic())
            if len(calls) == 1:
                time.sleep(0.8)  # longer than the read timeout
            return Response(page([feed_item(1)], "c1"), content_type="application/json")

        server.expect_request("/feed").respond_with_handler(slow_then_fast)
        cfg = source(server, retry=Retry(timeout_s=0.3, attempts=3, backoff_s=0.0, backoff_max_s=0.0))
        result = poller(db, cfg).poll_all()[0]
        assert result.ok and result.created == 1 and len(calls) == 2
        # every attempt times out: a recorded failure, nothing applied
        calls.clear()
        server.clear()
        server.expect_request("/feed").respond_with_handler(lambda r: (time.sleep(0.5), Response("{}"))[1])
        cfg2 = source(server, name="slow", retry=Retry(timeout_s=0.2, attempts=2, backoff_s=0.0, backoff_max_s=0.0))
        failed = poller(db, cfg2).poll_all()[0]
        assert not failed.ok and failed.error == "timed out"
        assert status.get_status(db, "slow").last_error == "timed out"
    finally:
        server.clear()
        server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_network_down_fails_gracefully_and_catches_up_when_back(db):
    port = _free_port()
    server = HTTPServer(host="127.0.0.1", port=port)
    cfg = SourceConfig(name="district", kind="platform", url=f"http://127.0.0.1:{port}/feed", retry=FAST)
    down = poller(db, cfg).poll_all()[0]  # nothing listens yet
    assert not down.ok and "cannot connect" in down.error
    assert status.get_status(db, "district").failures == 1
    server.expect_request("/feed").respond_with_handler(Feed(three_pages()))
    server.start()
    try:
        back = poller(db, cfg).poll_all()[0]
    finally:
        server.clear()
        server.stop()
    assert back.ok and back.created == 5
    st = status.get_status(db, "district")
    assert st.ok and st.failures == 0 and st.last_failure_at is not None


def test_a_malformed_page_is_quarantined_whole_and_the_cursor_does_not_move(db, httpserver):
    pages = three_pages()
    pages["c1"] = '{"items": [ {"id": "P-3", '
    httpserver.expect_request("/feed").respond_with_handler(Feed(pages))
    p = poller(db, source(httpserver))
    result = p.poll_all()[0]
    assert not result.ok and "page quarantined: not valid JSON" in result.error
    assert result.created == 2 and read_cursor(db, "district") == "c1"
    (row,) = held(db)
    assert (row.kind, row.status, row.cursor, row.payload) == ("page", "open", "c1", pages["c1"])
    assert row.reason.startswith("not valid JSON")
    p.poll_all()  # the same broken page again: counted, not stored twice
    (row,) = held(db)
    assert row.times_seen == 2 and read_cursor(db, "district") == "c1"


def test_bad_items_are_quarantined_one_by_one_with_their_reason(db, httpserver):
    items = [
        feed_item("ok"),
        feed_item("notz", received_at="2026-06-04T10:19:00"),
        feed_item("coords", grid=None, lon="east", lat=31.7),
        feed_item("channel", channel="FAX"),
        feed_item("grid", grid="无此网格"),
        feed_item("text", text=""),
        feed_item("noid", id=None),
        "not an object",
    ]
    feed = Feed({None: page(items, "c1")})
    httpserver.expect_request("/feed").respond_with_handler(feed)
    result = poller(db, source(httpserver)).poll_all()[0]
    assert result.ok and (result.created, result.quarantined) == (1, 7)
    reasons = {r.external_id: r.reason for r in held(db)}
    assert reasons["P-notz"].startswith("received_at:") and "has no timezone" in reasons["P-notz"]
    assert reasons["P-coords"] == "lon: lon and lat must be numbers"
    assert reasons["P-channel"].startswith("channel: one of")
    assert reasons["P-grid"] == "grid: no grid with code or name 无此网格"
    assert reasons["P-text"].startswith("text: required")
    assert reasons[None] in ("id: required (text or number)", "an item must be a JSON object")
    assert all(r.kind == "item" and r.source_kind == "platform" for r in held(db))
    kept = {r.external_id: json.loads(r.payload) for r in held(db) if r.external_id}
    assert kept["P-notz"]["received_at"] == "2026-06-04T10:19:00"  # verbatim, nothing assumed
    # the same page delivered again: nothing new anywhere
    feed.pages["c1"] = page(items, "c2")
    again = poller(db, source(httpserver)).poll_all()[0]
    assert (again.created, again.existing, again.quarantined) == (0, 1, 7)
    assert len(held(db)) == 7 and all(r.times_seen == 2 for r in held(db))
    assert len(cases(db)) == 1


def test_duplicate_deliveries_never_create_a_report_twice(db, httpserver):
    pages = {
        None: page([feed_item(1), feed_item(1), feed_item(2)], "c1", True),
        "c1": page([feed_item(2), feed_item(1, text="改过的文字")], "c2"),
    }
    httpserver.expect_request("/feed").respond_with_handler(Feed(pages))
    result = poller(db, source(httpserver)).poll_all()[0]
    assert (result.created, result.existing, result.updated) == (2, 2, 1)  # the changed copy updates
    assert [(c.external_id, c.text, c.version) for c in cases(db)] == [
        ("P-1", "改过的文字", 2),
        ("P-2", "第2号：井盖缺失", 1),
    ]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == 3
    assert "1 updated" in result.line()


def test_a_changed_redelivery_updates_a_new_case_and_is_only_recorded_after_triage(db, users):
    from workstation.intake.ingest import ingest_items
    from workstation.intake.items import Item
    from workstation.services import lifecycle

    def item(i: int, **kw: Any) -> Item:
        report = {"channel": "APP", "external_id": f"P-{i}", "text": f"第{i}号", "grid": "S13C01G01"}
        return Item(payload=f"P-{i}", key=f"P-{i}", report={**report, "received_at": "2026-06-04T10:19:00+08:00", **kw})

    first = ingest_items(db, "district", "platform", [item(1), item(2), item(3)])
    one, two, three = first.ids("created")
    lifecycle.file(db, users["op1"], two, "0105")
    filed = get_case(db, two)
    again = ingest_items(db, "district", "platform", [item(1, text="改1"), item(2, text="改2"), item(3)])
    assert [o.status for o in again.outcomes] == ["updated", "updated", "existing"]
    assert (get_case(db, one)["text"], get_case(db, one)["version"]) == ("改1", 2)
    after = get_case(db, two)
    assert (after["text"], after["status"], after["category_code"]) == ("第2号", "filed", filed["category_code"])
    assert after["version"] == filed["version"] + 1
    assert get_case(db, three)["version"] == 1
    with db.read() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.action == "report_update").order_by(CaseEvent.case_id))
        got = [(e.case_id, e.from_state, e.to_state, e.details["changed"]) for e in events]
    assert got == [
        (one, "reported", "reported", {"text": ["第1号", "改1"]}),
        (two, "filed", "filed", {"text": ["第2号", "改2"]}),
    ]
    # delivered once more, unchanged: nothing is written
    third = ingest_items(db, "district", "platform", [item(1, text="改1"), item(2, text="改2")])
    assert [o.status for o in third.outcomes] == ["existing", "existing"]
    assert get_case(db, two)["version"] == filed["version"] + 1


def test_hotline_work_orders_over_http(db, httpserver):
    body = {
        "code": 0,
        "message": "ok",
        "data": {
            "orders": [
                {
                    "order_no": "12345-0001",
                    "content": "小区门口垃圾堆积三天无人清运",
                    "address": "包河区塘西河路88号",
                    "caller": "李女士",
                    "phone": "13912345678",
                    "accepted_at": "2026-06-04T09:12:00+08:00",
                    "type": "投诉",
                    "lon": CENTRE[0],
                    "lat": CENTRE[1],
                },
                {"order_no": "12345-0002", "content": "路灯不亮", "accepted_at": "2026-06-04 09:12:00"},
            ],
            "next_cursor": "h1",
            "has_more": False,
        },
    }
    httpserver.expect_request("/orders").respond_with_json(body)
    cfg = source(httpserver, "/orders", name="hotline", kind="hotline12345")
    result = poller(db, cfg).poll_all()[0]
    assert (result.created, result.quarantined) == (1, 1)
    (case,) = cases(db)
    assert (case.channel, case.external_id, case.source_service, case.grid_code) == (
        "12345",
        "12345-0001",
        "投诉",
        "S13C01G01",
    )
    assert (case.reporter_name, case.reporter_phone) == ("李女士", "13912345678")
    (row,) = held(db)
    assert "received_at" in row.reason and "no timezone" in row.reason


SERVICES = [
    {"service_code": "001", "service_name": "暴露垃圾"},
    {"service_code": "002", "service_name": "共享单车乱停"},
]


def _request(rid: int, code: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "service_request_id": rid,
        "service_code": code,
        "service_name": {"001": "暴露垃圾", "002": "共享单车乱停"}.get(code, "其他"),
        "description": f"市民反映 {rid}",
        "requested_datetime": when,
        "lat": str(CENTRE[1]),
        "long": str(CENTRE[0]),
        **extra,
    }


def test_open311_polling_maps_service_codes_and_keeps_unmapped_ones_uncategorised(db, httpserver, users):
    requests_seen: list[dict[str, str]] = []
    batch = [_request(1, "001", "2026-06-04T10:00:00+08:00"), _request(2, "002", "2026-06-04T11:00:00+08:00")]

    def requests_handler(request: Request) -> Response:
        requests_seen.append(dict(request.args))
        return Response(json.dumps(batch, ensure_ascii=False), content_type="application/json")

    httpserver.expect_request("/v2/services.json").respond_with_json(SERVICES)
    httpserver.expect_request("/v2/requests.json").respond_with_handler(requests_handler)
    cfg = source(
        httpserver,
        "/v2",
        name="citizen311",
        kind="open311",
        options={"service_map": {"001": "0101"}, "jurisdiction_id": "baohe"},
    )
    p = poller(db, cfg)
    result = p.poll_all()[0]
    assert result.ok and result.created == 2, result.line()
    first, second = cases(db, "OPEN311")
    assert (first.external_id, first.category_code, first.category_name) == ("citizen311:1", "0101", "暴露垃圾")
    assert (first.status, first.source_service) == (
        "reported",
        "暴露垃圾",
    )  # categorised, still for an operator to file
    assert (second.category_code, second.source_service) == (None, "共享单车乱停")  # uncategorised, name kept
    assert {(m["service_code"], m["category_code"]) for m in list_mappings(db, "citizen311")} == {
        ("001", "0101"),
        ("002", None),
    }
    assert requests_seen[0] == {"jurisdiction_id": "baohe", "page": "1"}
    # the server does not page: page 2 answers page 1 again, which ends the sweep
    assert [r["page"] for r in requests_seen] == ["1", "2"]
    assert read_cursor(db, "citizen311") == "2026-06-04T03:00:00Z"
    # the mapping is completed later: later requests of that code arrive categorised
    set_mapping(db, users["admin"], "citizen311", "002", "0201")
    batch[:] = [_request(2, "002", "2026-06-04T11:00:00+08:00"), _request(3, "002", "2026-06-04T12:00:00+08:00")]
    again = p.poll_all()[0]
    assert (again.created, again.existing) == (1, 1)
    assert requests_seen[2]["updated_after"] == "2026-06-04T02:55:00Z"  # the position less the overlap window
    third = cases(db, "OPEN311")[2]
    assert (third.external_id, third.category_code, third.category_name) == ("citizen311:3", "0201", "非机动车乱停放")
    assert cases(db, "OPEN311")[1].category_code is None  # what came earlier is not rewritten
    assert read_cursor(db, "citizen311") == "2026-06-04T04:00:00Z"


def test_open311_xml_endpoint_with_paging_stores_the_cursor_only_after_the_last_page(db, httpserver):
    def xml(reqs: list[dict[str, Any]]) -> str:
        body = "".join("<request>" + "".join(f"<{k}>{v}</{k}>" for k, v in r.items()) + "</request>" for r in reqs)
        return f'<?xml version="1.0" encoding="utf-8"?><service_requests>{body}</service_requests>'

    newest_first = [
        _request(13, "001", "2026-06-04T13:00:00+08:00"),
        _request(12, "001", "2026-06-04T12:00:00+08:00"),
        _request(11, "001", "2026-06-04T11:00:00+08:00"),
    ]
    fail_page_2 = [True]

    def handler(request: Request) -> Response:
        number = int(request.args["page"])
        if number == 2 and fail_page_2[0]:
            return Response("maintenance", status=503)
        chunk = newest_first[(number - 1) * 2 : number * 2]
        return Response(xml(chunk), content_type="text/xml; charset=utf-8")

    httpserver.expect_request("/v2/services.xml").respond_with_data("<services/>", content_type="text/xml")
    httpserver.expect_request("/v2/requests.xml").respond_with_handler(handler)
    cfg = source(httpserver, "/v2", name="x311", kind="open311", options={"format": "xml", "page_size": 2})
    first = poller(db, cfg).poll_all()[0]
    assert not first.ok and first.created == 2  # page 1 kept ...
    position = Position.read(read_cursor(db, "x311"))
    assert (position.since, position.page) == (None, 2)  # the position waits for the whole sweep; page 2 is next
    fail_page_2[0] = False
    second = poller(db, cfg).poll_all()[0]
    assert second.ok and (second.created, second.existing, second.pages) == (1, 0, 1)  # resumed at page 2
    assert read_cursor(db, "x311") == "2026-06-04T05:00:00Z"
    assert [c.external_id for c in cases(db)] == ["x311:13", "x311:12", "x311:11"]


def test_a_poll_that_hits_a_programming_or_database_error_is_recorded_not_raised(db, httpserver, monkeypatch):
    httpserver.expect_request("/feed").respond_with_handler(Feed(three_pages()))
    p = poller(db, source(httpserver))

    def broken(ctx):
        raise OSError("disk full")

    monkeypatch.setattr(p.sources[0], "poll", broken)
    result: RoundResult = p.poll_all()[0]
    assert not result.ok and "disk full" in result.error
    assert not status.get_status(db, "district").ok


def test_run_once_polls_each_source_and_prints_one_line_each(db, httpserver):
    httpserver.expect_request("/feed").respond_with_handler(Feed(three_pages()))
    lines: list[str] = []
    p = poller(db, source(httpserver), source(httpserver, "/down", name="other"))
    results = p.run(once=True, report=lines.append)
    assert [r.source for r in results] == ["district", "other"]
    assert lines[0].startswith("district (platform): ok — 3 page(s), 5 new")
    assert lines[1].startswith("other (platform): FAILED: HTTP 500")
    assert lines[2].startswith("outbox:")


@pytest.mark.parametrize("kind", ["platform", "hotline12345", "hotline12319", "open311", "unit_responses"])
def test_every_kind_is_pluggable_through_the_registry(kind):
    from workstation.intake.base import REGISTRY, build_source

    assert build_source(SourceConfig(name="n", kind=kind, url="http://x")).kind == kind
    assert REGISTRY[kind].kind == kind
