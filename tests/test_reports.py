"""Adding reports: valid reports, idempotence on (channel, external id), grids by name, code or point, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import ARTICLE_TEXT, article_report
from workstation.models import Case, CaseEvent, Grid
from workstation.services import notices
from workstation.services.errors import ValidationError
from workstation.services.queries import get_case
from workstation.services.reports import add_report


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
    again = add_report(db, article_report(text="重复推送的同一条上报"))
    assert (again.case_id, again.created) == (first.case_id, False)
    assert first.created is True
    assert _counts(db) == (1, 1)  # one case, one event
    assert get_case(db, first.case_id)["text"] == ARTICLE_TEXT  # the first version stands
    # the same external id in another channel is another report
    other = add_report(db, article_report(channel="12345"))
    assert other.created is True and other.case_id != first.case_id
    # reports without an external id are never merged
    a, b = add_report(db, article_report(external_id=None)), add_report(db, article_report(external_id=""))
    assert a.created and b.created and a.case_id != b.case_id


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


def test_a_point_outside_the_district_is_added_without_a_grid(db):
    added = add_report(db, article_report(grid=None, lon=116.40, lat=39.90))  # Beijing
    case = get_case(db, added.case_id)
    assert added.created and case["status"] == "reported"
    assert (case["grid"], case["grid_name"], case["community"], case["street"]) == (None, None, None, None)
    assert (case["lon"], case["lat"]) == (116.40, 39.90)


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
