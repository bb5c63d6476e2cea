"""Intake against a server that behaves like a deployed GeoReport v2 server (tests/georeport.py).

Each test names the defect of issue 11 it proves fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import workstation.intake  # noqa: F401 - registers the source kinds
from tests.conftest import run_cli
from tests.georeport import GeoReportServer, Served
from workstation.intake.ingest import read_cursor
from workstation.intake.open311 import Open311Source, Position
from workstation.intake.poller import Poller
from workstation.intake.settings import Retry, Settings, SourceConfig, parse_settings
from workstation.models import Case, CaseEvent, QuarantinedItem
from workstation.services import lifecycle as lc
from workstation.services.errors import ValidationError
from workstation.storage.db import Database

FAST = Retry(timeout_s=5.0, attempts=2, backoff_s=0.01, backoff_max_s=0.02)


def config(url: str, name: str = "city311", max_pages: int = 50, **options: Any) -> SourceConfig:
    return SourceConfig(name=name, kind="open311", url=url, retry=FAST, max_pages=max_pages, options=options)


def poll(db: Database, cfg: SourceConfig):
    return Poller(db, Settings(sources=(cfg,)), sleep=lambda _s: None).poll_all()[0]


def ids(db: Database) -> set[str]:
    with db.read() as s:
        return {e.split(":", 1)[1] for e in s.scalars(select(Case.external_id).where(Case.channel == "OPEN311"))}


def case_of(db: Database, rid: str, source: str = "city311") -> Case:
    with db.read() as s:
        case = s.scalar(select(Case).where(Case.external_id == f"{source}:{rid}"))
        assert case is not None
        return case


def events(db: Database, case_id: int) -> list[CaseEvent]:
    with db.read() as s:
        return list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


@pytest.fixture
def server(httpserver) -> GeoReportServer:
    geo = GeoReportServer()
    geo.install(httpserver)
    return geo


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_120_requests_newest_first_without_page_size_all_arrive(db, server, fmt):
    """Done-when 1 and defect 1 (paging loses requests) and 5 (<requests> root)."""
    server.add(120)
    result = poll(db, config(server.base, format=fmt))
    assert result.ok, result.line()
    assert result.created == 120 and ids(db) == {str(i) for i in range(1, 121)}
    asked = [c["page"] for c in server.calls]
    assert asked == ["1", "2"]  # 100 (the server's default) + 20 (a short page: the end)
    assert all("page_size" not in c for c in server.calls)
    newest = server.find("120").updated.astimezone(UTC)
    assert Position.read(read_cursor(db, "city311")).since == newest.isoformat().replace("+00:00", "Z")


def test_an_exact_multiple_of_the_page_size_ends_at_the_404_and_the_next_round_works(db, server):
    """Defect 2: after a full last page the server answers 404 "Invalid page."."""
    server.add(200)
    first = poll(db, config(server.base))
    assert first.ok and first.created == 200, first.line()
    assert [c["page"] for c in server.calls] == ["1", "2", "3"]  # page 3: 404, the end
    server.add(3, start=201)
    second = poll(db, config(server.base))
    assert second.ok and second.created == 3, second.line()
    assert ids(db) == {str(i) for i in range(1, 204)}


def test_max_pages_never_moves_the_position_past_an_unread_page(db, server):
    """Defect 1: reaching max_pages jumped past everything unread; now the next round goes on."""
    server.add(250)
    cfg = config(server.base, max_pages=1, page_size=50)
    rounds = []
    for _ in range(6):
        rounds.append(poll(db, cfg))
        position = Position.read(read_cursor(db, "city311"))
        if len(ids(db)) < 250:
            assert position.since is None and position.page == len(rounds) + 1
    assert all(r.ok for r in rounds)
    assert "more pages remain" in rounds[0].line()
    assert ids(db) == {str(i) for i in range(1, 251)}
    assert Position.read(read_cursor(db, "city311")).page == 1


def test_result_count_and_link_headers_end_the_sweep(db, server):
    server.add(120)
    server.result_count = server.link_next = True
    server.default_page_size = 60  # two full pages: no short page to say it ends
    result = poll(db, config(server.base))
    assert result.ok and result.created == 120
    assert len(server.calls) == 2  # no third request: the count was reached and no next link given


def test_a_request_closed_at_the_server_shows_the_closure_after_the_next_poll(db, server, users):
    """Done-when 3 and defect 3: an untriaged case is set aside; a triaged one is flagged for the operator."""
    server.add(3)
    cfg = config(server.base)
    assert poll(db, cfg).created == 3
    lc.file(db, users["op1"], case_of(db, "2").id, "0201")  # triaged
    server.touch(server.find("1"), status="closed")
    server.touch(server.find("2"), status="closed")
    result = poll(db, cfg)
    assert result.ok and result.updated == 2, result.line()
    untriaged, triaged = case_of(db, "1"), case_of(db, "2")
    assert untriaged.status == "rejected"
    last = events(db, untriaged.id)[-1]
    assert (last.action, last.from_state, last.to_state) == ("source_status", "reported", "rejected")
    assert last.details["status"] == "closed" and last.details["status_notes"] == "已处理"
    assert triaged.status == "filed"  # the operator's decision stands ...
    flag = events(db, triaged.id)[-1]
    assert (flag.action, flag.to_state, flag.details["status"]) == ("source_status", "filed", "closed")
    assert "check" in flag.reason or "核" in flag.reason  # ... and the case says to check it
    before = len(events(db, untriaged.id)) + len(events(db, triaged.id))
    again = poll(db, cfg)  # the same status served again records nothing more
    assert again.updated == 0 and len(events(db, untriaged.id)) + len(events(db, triaged.id)) == before


def test_a_request_already_closed_when_first_seen_arrives_closed(db, server):
    server.add(1)[0].status = "closed"
    poll(db, config(server.base))
    case = case_of(db, "1")
    assert case.status == "rejected"
    first, closed = events(db, case.id)
    assert first.details["source_status"] == "closed" and first.details["source_updated_at"]
    assert closed.action == "source_status"


def test_a_late_arrival_with_an_old_time_is_not_lost(db, server):
    """Defect 4: a request posted with its own past time (or a clock that is off)."""
    server.add(5)
    cfg = config(server.base)
    poll(db, cfg)
    now = datetime.now(UTC)
    server.requests.append(Served("late", now - timedelta(days=3), now))  # requested 3 days ago, posted now
    result = poll(db, cfg)
    assert result.created == 1 and "late" in ids(db)
    assert "updated_after" in server.calls[-1]


def test_a_quarantined_request_is_imported_when_the_server_serves_it_corrected(db, server):
    """Defect 4b: a quarantined item that the server later serves correctly is asked for again."""
    bad = server.add(2)[1]
    bad.extra = {"requested_datetime": "0001-01-01T00:00:00+08:00"}
    cfg = config(server.base)
    first = poll(db, cfg)
    assert (first.created, first.quarantined) == (1, 1)
    server.touch(bad, extra={})
    second = poll(db, cfg)
    assert second.created == 1 and ids(db) == {"1", "2"}
    with db.read() as s:
        row = s.scalar(select(QuarantinedItem))
        assert row is not None and row.status == "reprocessed" and row.case_id == case_of(db, "2").id


def test_a_far_future_request_is_quarantined_and_does_not_move_the_position(db, server):
    """Defect 8: one request dated 2098 moved the cursor past every real report after it."""
    future = server.add(1)[0]
    future.requested = future.updated = datetime(2098, 1, 1, tzinfo=UTC)
    server.add(2, start=2)
    cfg = config(server.base)
    first = poll(db, cfg)
    assert (first.created, first.quarantined) == (2, 1)
    since = Position.read(read_cursor(db, "city311")).since
    assert since is not None and since < "2027"
    server.add(1, start=10)
    assert poll(db, cfg).created == 1  # a real report after it still arrives


def test_a_request_first_seen_by_token_keeps_its_case_when_its_id_arrives(db, server):
    """Defect 9: one request, two cases."""
    first = server.add(1)[0]
    first.rid, first.token = None, "tok-7"
    cfg = config(server.base)
    poll(db, cfg)
    assert ids(db) == {"token-tok-7"}
    server.touch(first, rid="4711")
    result = poll(db, cfg)
    assert result.created == 0 and ids(db) == {"4711"}, result.line()
    case = case_of(db, "4711")
    rename = [e for e in events(db, case.id) if e.action == "report_update"][-1]
    assert rename.details["changed"]["external_id"] == ["city311:token-tok-7", "city311:4711"]
    server.touch(first)
    assert poll(db, cfg).created == 0  # delivered again under its id: the same case
    late_copy = Served(None, first.requested, datetime.now(UTC), token="tok-7")  # a stale copy by its token alone
    server.requests.append(late_copy)
    result = poll(db, cfg)
    assert result.created == 0 and ids(db) == {"4711"}, result.line()


def test_the_position_keeps_sub_second_precision(db, server):
    """Defect 6: the cursor was cut to whole seconds, so the last second's items came back each round."""
    made = server.add(1)[0]
    made.updated = made.updated.replace(microsecond=123456)
    poll(db, config(server.base))
    assert read_cursor(db, "city311").endswith(".123456Z")


def test_a_query_string_in_the_url_is_kept_and_the_one_shot_command_pages(db, db_url, server, capsys, users):
    """Defect 6 and 1: ``intake open311 URL?x=y`` built ``requests.json?x=y/services.json`` and never paged."""
    server.add(130)
    code = run_cli(["intake", "open311", "--db", db_url, server.base + "?jurisdiction_id=baohe", "--as", "admin"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "130 new" in err and len(ids(db)) == 130
    assert all(c.get("jurisdiction_id") == "baohe" for c in server.calls)


def test_an_html_error_page_is_one_short_line_in_the_status(db, httpserver):
    """Defect 6: a failed round's status line carried a whole HTML page with newlines."""
    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad Gateway</h1>\n" + "x" * 3000
    httpserver.expect_request("/v2/services.json").respond_with_json([])
    httpserver.expect_request("/v2/requests.json").respond_with_data(page, status=502, content_type="text/html")
    result = poll(db, config(httpserver.url_for("/v2")))
    assert not result.ok
    line = result.line()
    assert "\n" not in line and "<" not in line and "Bad Gateway" in line and len(line) < 400


def test_a_bad_start_date_option_is_refused_when_the_settings_are_read():
    """Defect 6: a bad start_date was accepted and then failed every round at the server."""
    data = {"sources": [{"name": "c", "kind": "open311", "url": "http://x", "options": {"start_date": "昨天"}}]}
    settings = parse_settings(data)
    with pytest.raises(ValidationError, match="start_date"):
        Open311Source(settings.sources[0])
    data["sources"][0]["options"] = {"start_date": "2026-01-01T00:00:00+08:00"}
    assert Open311Source(parse_settings(data).sources[0]).options["start_date"] == "2025-12-31T16:00:00Z"
