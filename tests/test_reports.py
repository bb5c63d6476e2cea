"""Adding reports: valid reports, idempotence on (channel, external id), grids by name, code or point, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import ARTICLE_TEXT, article_report
from workstation.models import Case, CaseEvent, Grid
from workstation.services import notices
from workstation.services.errors import ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.services.territory import territory_bounds


def _counts(db) -> tuple[int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Case)),
            s.scalar(select(func.count()).select_from(CaseEvent)),
        )


def test_a_valid_report_is_added_to_the_queue(db):
    heard: list[tuple[str, list[int]]] = []
    notices.subscribe(lambda kind, ids: heard.append((kind, list(ids))))
    added = add_report(db, article_report(photos=["photo://a.jpg"], address="洞庭湖路与嵩山路交口", urgency="urgent"))
    assert added.created is True
    case = get_case(db, added.case_id)
    assert case["status"] == "reported" and case["version"] == 1
    assert (case["channel"], case["external_id"], case["text"]) == ("PDA", "PDA-20200604-1019", ARTICLE_TEXT)
    assert (case["grid"], case["grid_name"], case["community"], case["street"]) == (
        "S13C01G01",
        "塘西河网格",
        "塘西河社区",
        "方兴社区",
    )
    assert case["received"] == "2026-06-04T10:19:00+08:00"
    assert (case["reporter_name"], case["reporter_phone"]) == ("方兴社区信息员", "13812345678")
    assert case["photos"] == ["photo://a.jpg"] and case["priority"] == 1
    assert case["category_code"] is None and case["unit_code"] is None and case["deadline"] is None
    assert [(e["action"], e["from"], e["to"], e["actor"]) for e in case["history"]] == [
        ("report", None, "reported", "system")
    ]
    assert heard == [("case", [added.case_id])]
    with db.read() as s:
        assert s.get(Case, added.case_id).received_at == datetime(2026, 6, 4, 2, 19, tzinfo=UTC)


def test_same_external_id_twice_gives_the_same_case(db):
    first = add_report(db, article_report())
    again = add_report(db, article_report(received_at="2026-06-04T02:19:00Z"))  # the same time, written otherwise
    assert (again.case_id, again.created, again.updated) == (first.case_id, False, False)
    assert first.created is True and first.updated is False
    assert _counts(db) == (1, 1)  # one case, one event, nothing written
    assert get_case(db, first.case_id)["version"] == 1
    # the same external id in another channel is another report
    other = add_report(db, article_report(channel="12345"))
    assert other.created is True and other.case_id != first.case_id
    # reports without an external id are never merged
    a, b = add_report(db, article_report(external_id=None)), add_report(db, article_report(external_id=""))
    assert a.created and b.created and a.case_id != b.case_id


def _update_events(db, case_id: int) -> list[CaseEvent]:
    with db.read() as s:
        return list(
            s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.action == "report_update")
                .order_by(CaseEvent.id)
            )
        )


def test_a_changed_redelivery_before_triage_updates_the_case(db):
    heard: list[tuple[str, list[int]]] = []
    first = add_report(db, article_report())
    notices.subscribe(lambda kind, ids: heard.append((kind, list(ids))))
    again = add_report(db, article_report(text="更正：井盖已丢失两个", urgency="urgent"))
    assert (again.case_id, again.created, again.updated) == (first.case_id, False, True)
    case = get_case(db, first.case_id)
    assert (case["text"], case["priority"], case["version"], case["status"]) == (
        "更正：井盖已丢失两个",
        1,
        2,
        "reported",
    )
    assert case["grid"] == "S13C01G01"  # unchanged columns stay
    (event,) = _update_events(db, first.case_id)
    assert (event.from_state, event.to_state, event.reason) == ("reported", "reported", "")
    assert event.details["changed"] == {"text": [ARTICLE_TEXT, "更正：井盖已丢失两个"], "priority": [2, 1]}
    assert heard == [("case", [first.case_id])]
    assert _counts(db) == (1, 2)
    # the same changed copy again writes nothing more
    third = add_report(db, article_report(text="更正：井盖已丢失两个", urgency="urgent"))
    assert (third.created, third.updated) == (False, False)
    assert _counts(db) == (1, 2) and get_case(db, first.case_id)["version"] == 2


def test_a_changed_redelivery_after_filing_is_recorded_not_applied(db, users):
    from workstation.services import lifecycle

    first = add_report(db, article_report())
    lifecycle.file(db, users["op1"], first.case_id, "0105")
    filed = get_case(db, first.case_id)
    again = add_report(db, article_report(text="来源改了文字", address="嵩山路"))
    assert (again.created, again.updated) == (False, True)
    case = get_case(db, first.case_id)
    assert case["version"] == filed["version"] + 1
    for key in ("text", "address", "status", "category_code", "deadline", "last_actor", "priority"):
        assert case[key] == filed[key], key
    (event,) = _update_events(db, first.case_id)
    assert (event.from_state, event.to_state) == ("filed", "filed")
    assert event.reason == "the source sent a changed report after triage"
    assert event.details["changed"] == {"text": [ARTICLE_TEXT, "来源改了文字"], "address": ["", "嵩山路"]}
    # the same change delivered again is not recorded twice; a further change is
    assert add_report(db, article_report(text="来源改了文字", address="嵩山路")).updated is False
    assert add_report(db, article_report(text="再改一次", address="嵩山路")).updated is True
    events = _update_events(db, first.case_id)
    assert [e.details["changed"] for e in events][1] == {"text": ["来源改了文字", "再改一次"]}
    assert get_case(db, first.case_id)["version"] == filed["version"] + 2


def test_report_add_cli_prints_updated_cases(db_url, db, users, tmp_path, capsys):
    from tests.conftest import run_cli

    path = tmp_path / "r.jsonl"
    lines = [
        json.dumps(article_report(), ensure_ascii=False),
        json.dumps(article_report(text="改了"), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_cli(["report", "add", str(path), "--as", "op1", "--db", db_url]) == 0
    out = capsys.readouterr()
    with db.read() as s:
        (cid,) = s.scalars(select(Case.id)).all()
    assert out.out.splitlines() == [f"line 1: added as case {cid}", f"line 2: updated case {cid}"]
    assert out.err.strip().endswith("1 added, 1 updated, 0 already present, 0 refused")


def test_channel_is_case_insensitive(db):
    first = add_report(db, article_report(channel="pda"))
    assert get_case(db, first.case_id)["channel"] == "PDA"
    again = add_report(db, article_report(channel=" Pda "))
    assert (again.case_id, again.created) == (first.case_id, False)
    assert get_case(db, add_report(db, article_report(channel="wechat", external_id=None)).case_id)["channel"] == (
        "WECHAT"
    )


@pytest.mark.parametrize("grid", ["塘西河网格", "S13C01G01", " S13C01G01 "])
def test_grid_by_exact_name_or_code(db, grid):
    case = get_case(db, add_report(db, article_report(grid=grid)).case_id)
    assert (case["grid"], case["grid_name"], case["community"]) == ("S13C01G01", "塘西河网格", "塘西河社区")


def test_grid_from_the_point(db):
    with db.read() as s:
        crossings = s.get(Grid, "S13C01G01").details["intersections"]
    lon, lat = next(c["point"] for c in crossings if set(c["roads"]) == {"洞庭湖路", "嵩山路"})
    case = get_case(db, add_report(db, article_report(grid=None, lon=lon, lat=lat)).case_id)
    assert (case["grid"], case["grid_name"], case["community"], case["street"]) == (
        "S13C01G01",
        "塘西河网格",
        "塘西河社区",
        "方兴社区",
    )
    assert (case["lon"], case["lat"]) == (lon, lat)
    # numbers given as text are read too
    as_text = get_case(
        db, add_report(db, article_report(external_id=None, grid=None, lon=str(lon), lat=str(lat))).case_id
    )
    assert as_text["grid"] == "S13C01G01"


def test_a_point_just_outside_the_district_is_added_without_a_grid_and_a_far_one_is_refused(db):
    with db.read() as s:
        _x0, x1, y0, y1 = territory_bounds(s)
    near = (x1 + 0.05, (y0 + y1) / 2)  # about 5 km east of the last grid: within the margin
    added = add_report(db, article_report(grid=None, lon=near[0], lat=near[1]))
    case = get_case(db, added.case_id)
    assert added.created and case["status"] == "reported"
    assert (case["grid"], case["grid_name"], case["community"], case["street"]) == (None, None, None, None)
    assert (case["lon"], case["lat"]) == near
    with pytest.raises(ValidationError, match="outside the territory") as refused:
        add_report(db, article_report(external_id="far", grid=None, lon=116.40, lat=39.90))  # Beijing
    assert set(refused.value.fields) == {"lon"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"channel": "FAX"}, "channel", "one of: PDA, PATROL, 12345"),
        ({"channel": None}, "channel", "one of:"),
        ({"text": "   "}, "text", "required"),
        ({"text": 42}, "text", "required"),
        ({"received_at": None}, "received_at", "required"),
        ({"received_at": "2026-06-04T10:19:00"}, "received_at", "has no timezone"),
        ({"received_at": "yesterday"}, "received_at", "not an ISO 8601 time"),
        ({"lon": "east", "lat": 31.7}, "lon", "must be numbers"),
        ({"lon": 117.26, "lat": "north"}, "lon", "must be numbers"),
        ({"lon": float("nan"), "lat": 31.7}, "lon", "must be numbers"),
        ({"lon": 117.26}, "lat", "give both lon and lat"),
        ({"lat": 31.73}, "lon", "give both lon and lat"),
        ({"lon": 317.0, "lat": 31.7}, "lon", "not a longitude/latitude pair"),
        ({"grid": "不存在网格"}, "grid", "no grid with code or name 不存在网格"),
        ({"photos": "photo://a.jpg"}, "photos", "a list of photo references"),
        ({"photos": [1, 2]}, "photos", "a list of photo references"),
        ({"colour": "red"}, "fields", "unknown field(s): colour"),
        ({"urgency": "whenever"}, "urgency", "one of: urgent, normal, low"),
        ({"reporter_phone": "call me"}, "reporter_phone", "digits only"),
        ({"address": "路" * 301}, "address", "at most 300 characters"),
        ({"external_id": "x" * 101}, "external_id", "at most 100 characters"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_written(db, change, field, words):
    report = article_report(**change)
    with pytest.raises(ValidationError) as caught:
        add_report(db, report)
    assert field in caught.value.fields, caught.value.fields
    assert words in caught.value.fields[field]
    assert f"{field}: " in caught.value.message
    assert _counts(db) == (0, 0)


def test_all_bad_fields_are_named_together(db):
    report = article_report(channel="FAX", text="", received_at="2026-06-04 10:19", grid="不存在网格", colour="red")
    with pytest.raises(ValidationError) as caught:
        add_report(db, report)
    assert set(caught.value.fields) == {"channel", "text", "received_at", "grid", "fields"}
    assert _counts(db) == (0, 0)


def test_a_report_that_is_not_an_object_is_refused(db):
    with pytest.raises(ValidationError) as caught:
        add_report(db, ["PDA", ARTICLE_TEXT])  # type: ignore[arg-type]
    assert caught.value.fields == {"report": "must be a JSON object"}
    assert _counts(db) == (0, 0)


def test_a_refused_duplicate_is_still_refused(db):
    """A bad resend of a known external id is refused, not taken as the existing case."""
    add_report(db, article_report())
    with pytest.raises(ValidationError):
        add_report(db, article_report(received_at="2026-06-04T10:19:00"))
    assert _counts(db) == (1, 1)


def test_time_in_utc_and_other_zones_is_kept_as_the_same_instant(db):
    z = get_case(db, add_report(db, article_report(external_id="z", received_at="2026-06-04T02:19:00Z")).case_id)
    assert z["received"] == "2026-06-04T10:19:00+08:00"
