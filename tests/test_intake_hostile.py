"""Hostile input on every path: one bad item is quarantined alone and never blocks, blinds or duplicates.

Each test names the defect of issue 11 (and issue 10 item 5) it proves fixed.
"""

from __future__ import annotations

import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from openpyxl import Workbook
from sqlalchemy import select, text
from werkzeug import Request, Response

import workstation.intake  # noqa: F401 - registers the source kinds
from tests.georeport import GeoReportServer, Served
from tests.test_cli import cli as cli
from tests.test_intake_feed import CENTRE, Feed, feed_item, page
from tests.test_intake_outbox import filed_case, rows, settings_for
from tests.test_intake_outbox import webhook as webhook
from workstation.intake import outbox
from workstation.intake.http import FetchError, request
from workstation.intake.ingest import read_cursor
from workstation.intake.poller import Poller
from workstation.intake.responses import apply_unit_response
from workstation.intake.settings import Limits, Retry, Settings, SourceConfig
from workstation.models import Case, QuarantinedItem, utcnow
from workstation.services import lifecycle as lc
from workstation.services.care_import import _read
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

FAST = Retry(timeout_s=2.0, attempts=1, backoff_s=0.0, backoff_max_s=0.0)

# Values that reached the database (or the cursor) before: each must be quarantined alone.
HOSTILE: dict[str, dict[str, Any]] = {
    "year 1 with an offset": {"when": "0001-01-01T00:00:00+08:00"},
    "year 9999 with an offset": {"when": "9999-12-31T23:59:59-05:00"},
    "far future": {"when": "2098-01-01T00:00:00+08:00"},
    "NUL in the text": {"text": "井盖\x00缺失"},
    "lone surrogate in the text": {"text": "井盖\ud800缺失"},
    "bell in the text": {"text": "井盖\x07缺失"},
    "NUL in the time": {"when": "2026-06-04T10:19:00\x00+08:00"},
    "boolean id": {"id": True},
    "list id": {"id": [1, 2]},
    "object id": {"id": {"a": 1}},
    "huge integer id": {"id": 10**200},
    "subnormal point": {"lon": 1e-320, "lat": 1e-320},
    "longitude -91 is not here": {"lon": -91.0, "lat": 31.7},
    "a point in Beijing": {"lon": 116.40, "lat": 39.90},
    "huge integer point": {"lon": 10**400, "lat": 31.7},
}


def _platform(i: int, bad: dict[str, Any]) -> dict[str, Any]:
    item = feed_item(i)
    if "when" in bad:
        item["received_at"] = bad["when"]
    if "text" in bad:
        item["text"] = bad["text"]
    if "id" in bad:
        item["id"] = bad["id"]
    if "lon" in bad:
        item.update(grid=None, lon=bad["lon"], lat=bad["lat"])
    return item


def _hotline(i: int, bad: dict[str, Any]) -> dict[str, Any]:
    order = {
        "order_no": f"12345-{i}",
        "content": f"第{i}号：垃圾堆积",
        "address": "塘西河路88号",
        "accepted_at": "2026-06-04T09:12:00+08:00",
        "type": "投诉",
        "lon": CENTRE[0],
        "lat": CENTRE[1],
    }
    order["accepted_at"] = bad.get("when", order["accepted_at"])
    order["content"] = bad.get("text", order["content"])
    order["order_no"] = bad.get("id", order["order_no"])
    order["lon"], order["lat"] = bad.get("lon", order["lon"]), bad.get("lat", order["lat"])
    return order


def _open311(i: int, bad: dict[str, Any]) -> dict[str, Any]:
    req = {
        "service_request_id": str(i),
        "status": "open",
        "service_code": "001",
        "description": f"第{i}号：井盖缺失",
        "requested_datetime": datetime.now(UTC).isoformat(),
        "lat": CENTRE[1],
        "long": CENTRE[0],
    }
    req["requested_datetime"] = bad.get("when", req["requested_datetime"])
    req["description"] = bad.get("text", req["description"])
    req["service_request_id"] = bad.get("id", req["service_request_id"])
    req["long"], req["lat"] = bad.get("lon", req["long"]), bad.get("lat", req["lat"])
    return req


def _serve(httpserver, kind: str, items: list[dict[str, Any]]) -> SourceConfig:
    if kind == "platform":
        body = json.dumps({"items": items, "next_cursor": "c1", "has_more": False})  # \ud800 as JSON writes it
        httpserver.expect_request("/feed").respond_with_data(body, content_type="application/json")
        return SourceConfig(name="feed", kind=kind, url=httpserver.url_for("/feed"), retry=FAST)
    if kind == "hotline12345":
        body = json.dumps(
            {"code": 0, "message": "ok", "data": {"orders": items, "next_cursor": "c1", "has_more": False}}
        )
        httpserver.expect_request("/orders").respond_with_data(body, content_type="application/json")
        return SourceConfig(name="feed", kind=kind, url=httpserver.url_for("/orders"), retry=FAST)
    server = GeoReportServer()
    server.install(httpserver)
    now = datetime.now(UTC)
    server.requests = [Served(str(n), now, now, raw=raw) for n, raw in enumerate(items)]
    return SourceConfig(name="feed", kind="open311", url=server.base, retry=FAST)


@pytest.mark.parametrize("kind", ["platform", "hotline12345", "open311"])
@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_poison_item_in_the_middle_of_a_page_quarantines_alone(db, httpserver, kind, case):
    """Done-when 2; defects 7 (a date the database cannot store blocks the feed), 8, 10, 11 on every feed."""
    make = {"platform": _platform, "hotline12345": _hotline, "open311": _open311}[kind]
    items = [make(1, {}), make(2, HOSTILE[case]), make(3, {})]
    cfg = _serve(httpserver, kind, items)
    result = Poller(db, Settings(sources=(cfg,)), sleep=lambda _s: None).poll_all()[0]
    assert result.ok, result.line()
    assert (result.created, result.quarantined) == (2, 1), result.line()
    with db.read() as s:
        held = s.scalars(select(QuarantinedItem)).all()
        assert len(held) == 1 and held[0].kind == "item" and held[0].reason
        assert s.query(Case).count() == 2
    if kind != "open311":
        assert read_cursor(db, "feed") == "c1"  # the feed moved on past the poison


@pytest.fixture
def poison_refused(db: Database):
    """A real refusal by the database itself (a trigger), for a value no check of ours foresees."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON cases WHEN NEW.text LIKE '%毒%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.text LIKE '%毒%' THEN "
                    "RAISE EXCEPTION 'poison refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION poison()"))
    yield
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER poison" + (" ON cases" if db.dialect != "sqlite" else "")))


def test_an_item_the_database_refuses_is_isolated_and_quarantined_alone(db, httpserver, poison_refused):
    """Defect 7: a write that fails inside the page's transaction failed the whole round, for ever."""
    items = [feed_item(i) for i in range(1, 8)]
    items[3]["text"] = "有毒的条目"
    httpserver.expect_request("/feed").respond_with_data(page(items, "c1"), content_type="application/json")
    cfg = SourceConfig(name="feed", kind="platform", url=httpserver.url_for("/feed"), retry=FAST)
    result = Poller(db, Settings(sources=(cfg,)), sleep=lambda _s: None).poll_all()[0]
    assert result.ok and (result.created, result.quarantined) == (6, 1), result.line()
    assert read_cursor(db, "feed") == "c1"
    with db.read() as s:
        (held,) = s.scalars(select(QuarantinedItem)).all()
        assert "database refused" in held.reason or "数据库" in held.reason
        assert "有毒的条目" in held.payload and held.external_id == "P-4"


def test_report_add_keeps_going_past_bad_lines_and_database_errors(db, users, cli, tmp_path, poison_refused):
    """Defects 11 and 14: a surrogate, a boolean id, a NUL, 1e-320, -91, a line the database refuses."""
    from tests.conftest import article_report

    lines = [
        json.dumps(article_report(external_id="a"), ensure_ascii=False),
        '{"channel": "APP", "text": "\\ud800", "received_at": "2026-06-04T10:19:00+08:00"}',
        json.dumps(article_report(external_id=True), ensure_ascii=False),
        json.dumps(article_report(external_id=["x"]), ensure_ascii=False),
        json.dumps(article_report(external_id="n", received_at="2026-06-04T10:19:00\x00+08:00")),
        json.dumps(article_report(external_id="t", text="井盖\x00缺失")),
        json.dumps(article_report(external_id="c", grid=None, lon="1e-320", lat="1e-320")),
        json.dumps(article_report(external_id="w", grid=None, lon=-91, lat=31.7)),
        json.dumps(article_report(external_id="p", text="有毒的条目"), ensure_ascii=False),
        '{"external_id": ' + "9" * 5000 + "}",
        json.dumps(article_report(external_id="z"), ensure_ascii=False),
    ]
    path = tmp_path / "reports.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = cli("report", "add", str(path), "--as", "op1", code=1)
    assert [line.split(": added as case")[0] for line in out.out.splitlines()] == ["line 1", "line 11"]
    refused = [line for line in out.err.splitlines() if " refused: " in line]
    assert [line.split(" refused")[0] for line in refused] == [f"line {n}" for n in range(2, 11)]
    assert "surrogate" in refused[0] and "external_id" in refused[1] and "external_id" in refused[2]
    assert "received_at" in refused[3] and "text" in refused[4] and "lon" in refused[5] and "lon" in refused[6]
    assert "database" in refused[7]
    assert "2 added, 0 already present, 9 refused" in out.err


@pytest.mark.parametrize("case_id", [10**30, "9" * 40, -1, 2**31])
def test_a_huge_integer_case_id_in_a_unit_response_is_refused_not_raised(db, case_id):
    """Defect 10: a huge integer case_id raised inside the page (55 of 500 pages failed whole)."""
    result = apply_unit_response(
        db, {"response_id": f"r-{case_id}", "type": "acknowledge", "case_id": case_id, "unit": "CG"}
    )
    assert result.outcome != "applied" and "case_id" in result.reason


# --- bounded resources (defect 12 and done-when 4) ---------------------------------------------------


def _big(declared: bool):
    size = 400 * 1024 * 1024
    sent = {"bytes": 0}

    def handler(_request: Request) -> Response:
        def body():
            chunk = b"[" + b" " * 65535
            while sent["bytes"] < size:
                sent["bytes"] += len(chunk)
                yield chunk

        headers = {"Content-Length": str(size)} if declared else {}
        return Response(body(), content_type="application/json", headers=headers, direct_passthrough=True)

    return handler, sent


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_400_mb_response_is_refused_with_a_clear_reason_and_the_seat_keeps_working(db, httpserver, declared):
    """Done-when 4 and defect 12: a 400 MB response was read whole into memory until MemoryError."""
    handler, sent = _big(declared)
    httpserver.expect_request("/huge").respond_with_handler(handler)
    httpserver.expect_request("/feed").respond_with_handler(Feed({None: page([feed_item(1)], "c1")}))
    huge = SourceConfig(name="huge", kind="platform", url=httpserver.url_for("/huge"), retry=FAST)
    good = SourceConfig(name="good", kind="platform", url=httpserver.url_for("/feed"), retry=FAST)
    poller = Poller(db, Settings(sources=(huge, good)), sleep=lambda _s: None)
    first, second = poller.poll_all()
    assert not first.ok
    assert "larger than the limit of 20.0 MB" in first.error or "20.0 MB" in first.error
    assert sent["bytes"] < 30 * 1024 * 1024  # the rest was never asked for
    assert second.ok and second.created == 1  # the other source in the same round
    assert poller.poll_all()[1].ok  # and the next round


def test_a_trickling_server_is_cut_at_the_overall_deadline(httpserver):
    """Defect 12: one byte every 0.6 s held a poll with a 2 s timeout for 31 s."""

    def handler(_request: Request) -> Response:
        def body():
            for _ in range(15):
                yield b" "
                time.sleep(0.6)

        return Response(body(), content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(handler)
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not arrive within 2 s"):
        request(
            requests.Session(),
            "GET",
            httpserver.url_for("/slow"),
            retry=Retry(timeout_s=2.0, attempts=1),
            limits=Limits(deadline_s=2.0),
        )
    assert time.monotonic() - started < 4.0


@pytest.mark.parametrize("charset", ["undefined", "punycode", "base64", "no-such-set"])
def test_a_strange_charset_fails_the_page_with_a_reason_not_a_traceback(db, httpserver, charset):
    """Defect 12: charset=undefined (or punycode) in a Content-Type ended ``intake run`` with a traceback."""
    httpserver.expect_request("/feed").respond_with_data(
        page([feed_item(1)], "c1").encode(), content_type=f"application/json; charset={charset}"
    )
    cfg = SourceConfig(name="feed", kind="platform", url=httpserver.url_for("/feed"), retry=FAST)
    result = Poller(db, Settings(sources=(cfg,)), sleep=lambda _s: None).poll_all()[0]
    assert not result.ok and charset in result.error


def test_xml_nested_too_deep_is_refused():
    from workstation.intake.items import PageError
    from workstation.intake.open311 import parse_requests

    deep = "<requests>" + "<a>" * 100 + "</a>" * 100 + "</requests>"
    with pytest.raises(PageError, match="deeper than 32"):
        parse_requests(deep, "s")


# --- Excel rosters (defect 13) -------------------------------------------------------------------------


def _roster(path: Path, people: int) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "社区"])
    for i in range(people):
        sheet.append([f"人{i}", f"34010419800101{i:04d}", "塘西河社区"])
    book.save(path)
    return path


def _rewrite_part(path: Path, part: str, change) -> None:
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info.filename) for info in src.infolist()}
    parts[part] = change(parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_a_stale_stored_dimension_loses_nobody(tmp_path):
    path = _roster(tmp_path / "stale.xlsx", 5)
    _rewrite_part(
        path, "xl/worksheets/sheet1.xml", lambda b: b.replace(b'<dimension ref="A1:C6"/>', b'<dimension ref="A1:J2"/>')
    )
    rows = _read(path)
    assert len(rows) == 6 and rows[-1][1][0] == "人4"


def test_a_claimed_huge_dimension_is_read_as_it_is(tmp_path):
    path = _roster(tmp_path / "huge.xlsx", 2000)
    _rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda b: b.replace(b'<dimension ref="A1:C2001"/>', b'<dimension ref="A1:XFD1048576"/>'),
    )
    started = time.monotonic()
    rows = _read(path)
    assert len(rows) == 2001 and all(len(values) == 3 for _, values in rows)
    assert time.monotonic() - started < 10


def test_a_dtd_inside_a_sheet_is_refused_with_a_reason(tmp_path):
    path = _roster(tmp_path / "dtd.xlsx", 2)
    _rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda b: b.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1),
    )
    with pytest.raises(ValidationError, match="DTD"):
        _read(path)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = _roster(tmp_path / "bomb.xlsx", 2)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as out:
        out.writestr("xl/media/padding.bin", b"\0" * (300 * 1024 * 1024))
    started = time.monotonic()
    with pytest.raises(ValidationError, match="unpacks to"):
        _read(path)
    assert time.monotonic() - started < 5


def test_rows_and_columns_beyond_the_limits_are_refused(tmp_path):
    path = _roster(tmp_path / "many.xlsx", 30)
    with pytest.raises(ValidationError, match="max_excel_rows"):
        _read(path, Limits(max_excel_rows=10))
    with pytest.raises(ValidationError, match="max_excel_columns"):
        _read(path, Limits(max_excel_columns=2))


# --- the outbox never follows a redirect (issue 10 item 5) ----------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_post_is_a_failure_never_sent(db, users, webhook, status):
    """Issue 10 item 5: requests turned a redirected POST into a GET, the GET answered 200, all marked sent."""
    got: list[str] = []

    def redirect(request: Request) -> Response:
        got.append(request.method)
        return Response("", status=status, headers={"Location": webhook.url_for("/elsewhere")})

    def elsewhere(request: Request) -> Response:
        got.append("followed with " + request.method)
        return Response("{}", content_type="application/json")

    webhook.expect_request("/orders").respond_with_handler(redirect)
    webhook.expect_request("/elsewhere").respond_with_handler(elsewhere)
    lc.dispatch(db, users["op1"], filed_case(db, users))
    (row,) = rows(db)
    report = outbox.send_pending(db, now=utcnow() + timedelta(seconds=1), settings=settings_for(webhook))
    assert report.sent == [] and report.retrying == [row.id]
    (row,) = rows(db)
    assert row.status == "pending" and row.response_code == status and "redirect" in row.last_error
    assert got == ["POST"]  # never followed, with GET or otherwise


def test_a_server_trickling_its_status_line_is_cut_at_the_overall_deadline():
    """Defect 12: the deadline covers the whole request, the status line and headers too."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"x" * 100:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.3)

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="did not arrive within 2 s"):
            request(
                requests.Session(),
                "GET",
                f"http://127.0.0.1:{port}/feed",
                retry=Retry(timeout_s=2.0, attempts=1),
                limits=Limits(deadline_s=2.0),
            )
        assert time.monotonic() - started < 4.0
    finally:
        stop.set()
        listener.close()


def test_the_station_import_dialog_reads_headers_through_the_same_bounded_reader(tmp_path):
    """Defect 13 in the window: the column-mapping step opened the workbook on its own, DTD and all."""
    from workstation.ui.station.import_dialog import read_headers

    path = _roster(tmp_path / "dtd.xlsx", 2)
    assert read_headers(path)[1][:2] == ["姓名", "身份证号"]
    _rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda b: b.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1),
    )
    with pytest.raises(ValidationError, match="DTD"):
        read_headers(path)


def test_report_add_from_standard_input_after_the_password_judges_each_line_alone(db_url, users):
    """Defect 14 on standard input as a user pipes it: the password line, then a line in GBK among good ones."""
    import subprocess
    import sys

    from tests.conftest import PASSWORD, article_report

    lines = [json.dumps(article_report(external_id=x), ensure_ascii=False) for x in ("a", "g", "b")]
    data = PASSWORD.encode() + b"\n" + lines[0].encode() + b"\n" + lines[1].encode("gbk") + b"\n" + lines[2].encode()
    command = [sys.executable, "-m", "workstation", "report", "add", "-", "--as", "op1", "--password-stdin"]
    done = subprocess.run(
        [*command, "--db", db_url, "--lang", "en"],
        input=data + b"\n",
        capture_output=True,
        timeout=120,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 1, err
    assert [line.split(": added")[0] for line in out.splitlines()] == ["line 1", "line 3"]
    assert "line 2 refused: line: not UTF-8 text" in err and "2 added, 0 already present, 1 refused" in err
