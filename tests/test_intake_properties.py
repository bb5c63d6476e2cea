"""Property-based tests (hypothesis) of every parser and of ``report add`` with hostile values (issue 11).

The strategies mix what real feeds send with what broke them: times a database cannot store, far
futures, NUL bytes, control characters, lone surrogates, huge integers, booleans and lists as ids,
points outside the territory. The properties: nothing raises but the documented errors; whatever is
accepted can be stored and lies within the domain's bounds; every line or item has one outcome.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import workstation.intake  # noqa: F401 - registers the source kinds
from tests.conftest import run_cli
from tests.test_intake_feed import CENTRE
from workstation.intake.formats import decode, parse_xml, read_time
from workstation.intake.hotline import hotline_item
from workstation.intake.ingest import ingest_items
from workstation.intake.items import PageError
from workstation.intake.open311 import parse_requests, request_item
from workstation.intake.platform import platform_item
from workstation.intake.responses import apply_unit_response
from workstation.models import Case, QuarantinedItem
from workstation.services.errors import ConflictError, ValidationError
from workstation.services.reports import WINDOW, unstorable, validate

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DB = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_run = itertools.count()

hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["井盖\x00缺失", "井盖\ud800缺失", "\x07", "a\u202eb", "\ufeff", "", " ", "x" * 400]),
)
hostile_time = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00+08:00",
            "9999-12-31T23:59:59-05:00",
            "2098-01-01T00:00:00+08:00",
            "2026-06-04T10:19:00\x00+08:00",
            "2026-06-04T10:19:00",
            "2026-06-04T10:19:00.123456+08:00",
            "昨天",
            "",
        ]
    ),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.integers(),
    st.booleans(),
)
hostile_id = st.one_of(
    st.integers(),
    st.integers(10**30, 10**300),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    hostile_text,
    st.none(),
)
hostile_number = st.one_of(
    st.floats(),
    st.integers(-(10**400), 10**400),
    st.sampled_from([1e-320, -91.0, 181.0, "1e-320", "north", CENTRE[0], CENTRE[1], True]),
    st.none(),
)


def _storable(value: object) -> bool:
    if isinstance(value, str):
        return unstorable(value) is None
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


report_like = st.fixed_dictionaries(
    {"channel": st.sampled_from(["APP", "12345", "OPEN311", "FAX", "", 7, None])},
    optional={
        "external_id": hostile_id,
        "text": hostile_text,
        "address": st.one_of(hostile_text, st.integers()),
        "lon": hostile_number,
        "lat": hostile_number,
        "grid": st.one_of(st.sampled_from(["S13C01G01", "无此网格"]), hostile_id),
        "reporter_name": hostile_text,
        "reporter_phone": st.one_of(st.sampled_from(["13812345678", "+86 138"]), hostile_text),
        "received_at": hostile_time,
        "photos": st.one_of(st.lists(hostile_text, max_size=3), hostile_text),
        "urgency": st.one_of(st.sampled_from(["urgent", "low", "normal", "URGENT"]), hostile_id),
    },
)


@FAST
@given(report_like)
def test_validate_never_raises_and_what_it_accepts_can_be_stored(data):
    now = datetime.now(UTC)
    clean, errors = validate(data, now)
    if errors:
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())
        return
    assert clean["text"] and _storable(clean["text"]) and _storable(clean["address"])
    assert clean["external_id"] is None or (len(clean["external_id"]) <= 100 and _storable(clean["external_id"]))
    when = clean["received_at"].astimezone(UTC)  # never an OverflowError
    assert now - WINDOW.past <= when <= now + WINDOW.future
    if clean["lon"] is not None:
        assert math.isfinite(clean["lon"]) and -180 <= clean["lon"] <= 180 and -90 <= clean["lat"] <= 90
    assert _storable(clean["photos"]) and clean["priority"] in (1, 2, 3)


@FAST
@given(hostile_time)
def test_read_time_gives_an_aware_time_or_a_value_error(value):
    try:
        when, _ = read_time(value)
    except ValueError:
        return
    assert when.tzinfo is not None


@FAST
@given(st.binary(max_size=200), st.text(max_size=30))
def test_decode_takes_any_charset_name(body, charset):
    text, problem = decode(body, f"application/json; charset={charset}")
    assert isinstance(text, str) and (problem is None or isinstance(problem, str))


@FAST
@given(st.integers(1, 80), st.integers(1, 80))
def test_xml_depth_is_bounded(depth, limit):
    doc = "<a>" * depth + "</a>" * depth
    try:
        parse_xml(doc, limit)
    except PageError:
        assert depth > limit
        return
    assert depth <= limit


feed_like = st.fixed_dictionaries(
    {"id": hostile_id, "channel": st.sampled_from(["APP", "12345", 7]), "text": hostile_text},
    optional={"received_at": hostile_time, "lon": hostile_number, "lat": hostile_number, "grid": hostile_id},
)
order_like = st.fixed_dictionaries(
    {"order_no": hostile_id, "content": hostile_text, "accepted_at": hostile_time},
    optional={"lon": hostile_number, "lat": hostile_number, "phone": hostile_text},
)
request_like = st.fixed_dictionaries(
    {"service_request_id": hostile_id, "description": hostile_text, "requested_datetime": hostile_time},
    optional={
        "token": hostile_id,
        "status": st.sampled_from(["open", "closed", "CLOSED", "weird", ""]),
        "updated_datetime": hostile_time,
        "lat": hostile_number,
        "long": hostile_number,
        "service_code": hostile_id,
    },
)


@FAST
@given(st.one_of(feed_like, order_like, request_like, hostile_id))
def test_every_item_parser_understands_an_item_or_says_why_not(raw):
    for item in (
        platform_item(raw),
        hotline_item(raw, "12345"),
        request_item(raw, "s", None, "{}", raw) if isinstance(raw, dict) else None,
    ):
        if item is None:
            continue
        assert item.ok == (item.reason is None) and (item.ok or item.reason)
        item.payload.encode("utf-8")  # what quarantine keeps is storable text
        if item.ok:
            assert item.report is not None


@FAST
@given(st.lists(request_like, max_size=5), st.sampled_from(["requests", "service_requests", "root", "data"]))
def test_open311_json_and_xml_pages_never_raise_but_page_errors(requests_, key):
    doc = json.dumps({key: requests_}, default=str)
    try:
        page = parse_requests(doc, "s")
    except PageError:
        return
    assert len(page.items) == len(requests_)


@DB
@given(st.lists(feed_like, min_size=1, max_size=6))
def test_hostile_platform_items_are_each_imported_or_quarantined_and_the_cursor_moves(db, raws):
    run = next(_run)
    items = [platform_item(raw) for raw in raws]
    before = _counts(db)
    stored = ingest_items(db, f"feed{run}", "platform", items)
    assert len(stored.outcomes) == len(items)
    created = stored.count("created")
    after = _counts(db)
    assert after[0] - before[0] == created
    for outcome in stored.outcomes:
        assert outcome.status in ("created", "existing", "updated", "quarantined")
        if outcome.status == "quarantined":
            assert outcome.id is not None and outcome.reason


def _counts(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Case)), s.scalar(
            select(func.count()).select_from(QuarantinedItem)
        )


@DB
@given(
    st.fixed_dictionaries(
        {"response_id": st.one_of(hostile_id, st.just("r")), "type": hostile_id, "case_id": hostile_id},
        optional={"unit": hostile_text, "at": hostile_time, "reason": hostile_text, "photos": hostile_id},
    )
)
def test_hostile_unit_responses_are_recorded_or_refused_never_raised(db, payload):
    if isinstance(payload.get("response_id"), str):
        payload["response_id"] = f"{payload['response_id']}-{next(_run)}"
    try:
        result = apply_unit_response(db, payload)
    except (ValidationError, ConflictError):
        return
    assert result.outcome in ("applied", "refused", "ignored")
    assert result.outcome != "refused" or result.reason


line_like = st.one_of(
    report_like.map(lambda r: json.dumps(r, default=str)),
    report_like.map(lambda r: json.dumps(r, default=str, ensure_ascii=False)),
    hostile_text.map(lambda t: t.replace("\n", " ")),
    st.just('{"external_id": ' + "9" * 5000 + "}"),
    st.just("[" * 5000),
)


def _judged(line: bytes) -> bool:
    """Whether report add takes the line as a line to judge (it skips blank ones)."""
    try:
        return bool(line.decode("utf-8").strip())
    except UnicodeDecodeError:
        return True


@DB
@given(st.lists(line_like, min_size=1, max_size=6))
def test_report_add_gives_every_line_one_outcome(db_url, users, capsys, tmp_path_factory, lines):
    """Defect 14 as a property: whatever a line holds, it has its own outcome and the run goes on."""
    path = tmp_path_factory.mktemp("lines") / "reports.jsonl"
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    path.write_bytes(data)
    code = run_cli(["report", "add", str(path), "--db", db_url, "--as", "op1"])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    said = [line.split(":")[0].split(" refused")[0] for line in (out.out + out.err).splitlines()]
    numbered = [
        n for n, line in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n")[:-1], start=1) if _judged(line)
    ]
    assert [n for n in numbered if said.count(f"line {n}") != 1] == [], out
    assert code == (1 if any(" refused: " in line for line in out.err.splitlines()) else 0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.integers(-1000, 1000), st.text(alphabet="ab 张三1", max_size=8)),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["A1:B2", "A1:XFD1048576", "A1", "C3:D4"]),
)
def test_an_excel_sheet_is_read_as_it_is_whatever_its_stored_dimension_says(tmp_path_factory, rows, dimension):
    """Defect 13 as a property: the rows read are the rows written, never those a stale dimension claims."""
    import re
    import zipfile

    from openpyxl import Workbook

    from workstation.services.care_import import _read

    path = tmp_path_factory.mktemp("xlsx") / "sheet.xlsx"
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), parts[sheet])
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    read = _read(path)

    def norm(v):
        if isinstance(v, str):
            v = v.strip()
        return None if v in ("", None) else v

    expected = [[norm(v) for v in row] for row in rows]
    while expected and all(v is None for v in expected[-1]):
        expected.pop()
    got = [[norm(v) for v in values] for _, values in read]
    width = max((len(r) for r in got), default=0)
    for row in expected:
        row += [None] * (width - len(row))
        while len(row) > width and row[-1] is None:
            row.pop()
    assert got == expected
