"""Parsers of incoming feeds: Open311 GeoReport v2 (spec examples, sloppy endpoints), platform, hotline.

Pure functions, no database. Fuzzed with hypothesis: whatever bytes arrive, a parser either reads
the page (every input item coming out as exactly one item, understood or with its reason) or refuses
the page with a PageError; it never raises anything else.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.intake.formats import decode, loads_lenient, parse_xml, read_time, zone
from workstation.intake.hotline import Hotline12345Source
from workstation.intake.items import PageError
from workstation.intake.open311 import parse_requests, parse_services
from workstation.intake.platform import PlatformSource
from workstation.intake.settings import SourceConfig
from workstation.intake.unitfeed import UnitResponseSource

# The examples of the GeoReport v2 specification, as published (note the unquoted 001/006: not strict JSON).
SPEC_SERVICES_JSON = """[
  {
    "service_code":001,
    "service_name":"Cans left out 24x7",
    "description":"Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.",
    "metadata":true,
    "type":"realtime",
    "keywords":"lorem, ipsum, dolor",
    "group":"sanitation"
  },
  {
    "service_code":002,
    "metadata":true,
    "type":"realtime",
    "keywords":"lorem, ipsum, dolor",
    "group":"street",
    "service_name":"Construction plate shifted",
    "description":"Metal construction plate covering the street or sidewalk has been moved."
  },
  {
    "service_code":003,
    "metadata":true,
    "type":"realtime",
    "keywords":"lorem, ipsum, dolor",
    "group":"street",
    "service_name":"Curb or curb ramp defect",
    "description":"Sidewalk curb or ramp has problems such as cracking, missing pieces, holes, and/or chipped curb."
  }
]"""  # noqa: E501 - verbatim from the specification

SPEC_SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
  <service>
    <service_code>001</service_code>
    <service_name>Cans left out 24x7</service_name>
    <description>Garbage or recycling cans that have been left out for more than 24 hours after collection. Violators will be cited.</description>
    <metadata>true</metadata>
    <type>realtime</type>
    <keywords>lorem, ipsum, dolor</keywords>
    <group>sanitation</group>
  </service>
  <service>
    <service_code>002</service_code>
    <metadata>true</metadata>
    <type>realtime</type>
    <keywords>lorem, ipsum, dolor</keywords>
    <group>street</group>
    <service_name>Construction plate shifted</service_name>
    <description>Metal construction plate covering the street or sidewalk has been moved.</description>
  </service>
  <service>
    <service_code>003</service_code>
    <metadata>true</metadata>
    <type>realtime</type>
    <keywords>lorem, ipsum, dolor</keywords>
    <group>street</group>
    <service_name>Curb or curb ramp defect</service_name>
    <description>Sidewalk curb or ramp has problems such as cracking, missing pieces, holes, and/or chipped curb.</description>
  </service>
</services>"""  # noqa: E501 - verbatim from the specification

SPEC_REQUESTS_JSON = """[
  {
    "service_request_id":638344,
    "status":"closed",
    "status_notes":"Duplicate request.",
    "service_name":"Sidewalk and Curb Issues",
    "service_code":006,
    "description":null,
    "agency_responsible":null,
    "service_notice":null,
    "requested_datetime":"2010-04-14T06:37:38-08:00",
    "updated_datetime":"2010-04-14T06:37:38-08:00",
    "expected_datetime":"2010-04-15T06:37:38-08:00",
    "address":"8TH AVE and JUDAH ST",
    "address_id":545483,
    "zipcode":94122,
    "lat":37.762221815,
    "long":-122.4651145,
    "media_url":"http://city.gov.s3.amazonaws.com/requests/media/638344.jpg "
  },
  {
    "service_request_id":638349,
    "status":"open",
    "status_notes":null,
    "service_name":"Sidewalk and Curb Issues",
    "service_code":006,
    "description":null,
    "agency_responsible":null,
    "service_notice":null,
    "requested_datetime":"2010-04-19T06:37:38-08:00",
    "updated_datetime":"2010-04-19T06:37:38-08:00",
    "expected_datetime":"2010-04-19T06:37:38-08:00",
    "address":"8TH AVE and JUDAH ST",
    "address_id":545483,
    "zipcode":94122,
    "lat":37.762221815,
    "long":-122.4651145,
    "media_url":"http://city.gov.s3.amazonaws.com/requests/media/638349.jpg"
  }
]"""

SPEC_REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request>
    <service_request_id>638344</service_request_id>
    <status>closed</status>
    <status_notes>Duplicate request.</status_notes>
    <service_name>Sidewalk and Curb Issues</service_name>
    <service_code>006</service_code>
    <description></description>
    <agency_responsible></agency_responsible>
    <service_notice></service_notice>
    <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
    <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
    <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
    <address>8TH AVE and JUDAH ST</address>
    <address_id>545483</address_id>
    <zipcode>94122</zipcode>
    <lat>37.762221815</lat>
    <long>-122.4651145</long>
    <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg</media_url>
  </request>
  <request>
    <service_request_id>638349</service_request_id>
    <status>open</status>
    <status_notes></status_notes>
    <service_name>Sidewalk and Curb Issues</service_name>
    <service_code>006</service_code>
    <description></description>
    <agency_responsible></agency_responsible>
    <service_notice></service_notice>
    <requested_datetime>2010-04-19T06:37:38-08:00</requested_datetime>
    <updated_datetime>2010-04-19T06:37:38-08:00</updated_datetime>
    <expected_datetime>2010-04-19T06:37:38-08:00</expected_datetime>
    <address>8TH AVE and JUDAH ST</address>
    <address_id>545483</address_id>
    <zipcode>94122</zipcode>
    <lat>37.762221815</lat>
    <long>-122.4651145</long>
    <media_url>http://city.gov.s3.amazonaws.com/requests/media/638349.jpg</media_url>
  </request>
</service_requests>"""

SPEC_ERRORS_JSON = '[{"code":403,"description":"Invalid api_key received -- can\'t proceed with create_request."}]'
SPEC_ERRORS_XML = (
    '<?xml version="1.0" encoding="utf-8"?><errors><error><code>403</code>'
    "<description>Invalid api_key received -- can't proceed with create_request.</description></error></errors>"
)

PST = timezone(timedelta(hours=-8))


# -- Open311: the specification's own examples ------------------------------------------------------------


@pytest.mark.parametrize("doc", [SPEC_SERVICES_JSON, SPEC_SERVICES_XML], ids=["json", "xml"])
def test_spec_services_list_parses_with_codes_kept_as_text(doc):
    services, notes = parse_services(doc)
    assert services == [
        ("001", "Cans left out 24x7"),
        ("002", "Construction plate shifted"),
        ("003", "Curb or curb ramp defect"),
    ]
    assert notes == []


@pytest.mark.parametrize("doc", [SPEC_REQUESTS_JSON, SPEC_REQUESTS_XML], ids=["json", "xml"])
def test_spec_requests_parse_into_reports(doc):
    page = parse_requests(doc, "sf311")
    assert [i.key for i in page.items] == ["638344", "638349"]
    first = page.items[0]
    assert first.ok, first.reason
    assert first.report == {
        "channel": "OPEN311",
        "external_id": "sf311:638344",
        "text": "Sidewalk and Curb Issues",  # no description: the service name stands for it
        "address": "8TH AVE and JUDAH ST",
        "lon": -122.4651145,
        "lat": 37.762221815,
        "received_at": datetime(2010, 4, 14, 6, 37, 38, tzinfo=PST).isoformat(),
        "photos": ["http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"],
    }
    assert (first.service_code, first.service_name) == ("006", "Sidewalk and Curb Issues")
    assert any("no description" in n for n in first.notes)
    assert (first.status, first.status_notes) == ("closed", "Duplicate request.")  # recorded on the case at ingest
    assert first.updated_at == datetime(2010, 4, 14, 14, 37, 38, tzinfo=UTC)
    assert not any("closed" in n for n in page.items[1].notes)
    # the original payload of each item is kept
    assert "638344" in first.payload and "638349" not in first.payload


def test_spec_json_payload_is_the_item_and_xml_payload_is_the_element():
    j = parse_requests(SPEC_REQUESTS_JSON, "s").items[0]
    assert json.loads(j.payload)["service_request_id"] == 638344 and j.original["zipcode"] == 94122
    x = parse_requests(SPEC_REQUESTS_XML, "s").items[1]
    assert x.payload.startswith("<request>") and "<service_request_id>638349</service_request_id>" in x.payload
    # a kept payload reads back alone (quarantine reprocessing)
    assert parse_requests(x.payload, "s").items[0].report == x.report


@pytest.mark.parametrize("doc", [SPEC_ERRORS_JSON, SPEC_ERRORS_XML], ids=["json", "xml"])
def test_spec_error_answers_are_a_page_error_not_items(doc):
    with pytest.raises(PageError, match="403 Invalid api_key"):
        parse_requests(doc, "s")
    with pytest.raises(PageError, match="403"):
        parse_services(doc)


# -- Open311: sloppy endpoints ------------------------------------------------------------------------------


def _one(fields: dict, assume=None):
    page = parse_requests(json.dumps([fields]), "src", assume)
    assert len(page.items) == 1
    return page.items[0]


BASE = {"service_request_id": "A1", "service_code": "01", "service_name": "Potholes", "description": "路面坑洼"}


def test_strings_for_numbers_aliases_extra_fields_and_empty_strings():
    item = _one(
        {
            **BASE,
            "requested_datetime": "2026-06-04T10:19:00+0800",
            "lat": " 31.7369 ",
            "lng": "117.2665",
            "address": "",
            "media_url": "",
            "vendor_extra": {"x": 1},
            "zipcode": "",
        }
    )
    assert item.ok, item.reason
    assert (item.report["lat"], item.report["lon"]) == (31.7369, 117.2665)
    assert item.report["photos"] == [] and item.report["address"] == ""
    assert datetime.fromisoformat(item.report["received_at"]) == datetime(2026, 6, 4, 2, 19, tzinfo=UTC)
    assert any("vendor_extra" in n for n in item.notes)


def test_numeric_ids_and_codes_keep_their_digits():
    item = _one({**BASE, "service_request_id": 12.0, "service_code": 7, "requested_datetime": "2026-06-04T10:19:00Z"})
    assert item.report["external_id"] == "src:12" and item.service_code == "7"


def test_time_without_timezone_is_quarantined_unless_the_source_assumes_one():
    bad = _one({**BASE, "requested_datetime": "2026-06-04 10:19:00"})
    assert not bad.ok
    assert "requested_datetime" in bad.reason and "no timezone" in bad.reason and "assume_tz" in bad.reason
    good = _one({**BASE, "requested_datetime": "2026-06-04 10:19:00"}, assume=zone("Asia/Shanghai"))
    assert good.ok
    assert datetime.fromisoformat(good.report["received_at"]) == datetime(2026, 6, 4, 2, 19, tzinfo=UTC)
    assert any("assume_tz" in n for n in good.notes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lat": "north", "long": "117.2"}, "lat/long: unreadable coordinates"),
        ({"lat": "31.7", "long": ""}, "only one of lat and long"),
        ({"service_request_id": None}, "service_request_id: missing"),
        ({"service_request_id": ""}, "service_request_id: missing"),
        ({"description": "", "service_name": None}, "description: missing"),
        ({"requested_datetime": "yesterday"}, "not an ISO 8601 time"),
        ({"requested_datetime": None}, "requested_datetime: missing"),
    ],
)
def test_what_cannot_be_understood_is_said(change, reason):
    item = _one({**BASE, "requested_datetime": "2026-06-04T10:19:00+08:00", "lat": 31.7, "long": 117.2, **change})
    assert not item.ok
    assert reason in item.reason


def test_token_only_request_and_zero_coordinates():
    item = _one(
        {
            "token": "T-9",
            "description": "x",
            "requested_datetime": "2026-06-04T10:19:00+08:00",
            "lat": 0,
            "long": 0,
        }
    )
    assert item.ok and item.report["external_id"] == "src:token-T-9"
    assert item.report["lat"] is None and any("0,0" in n for n in item.notes)


def test_wrapped_lists_and_single_objects_are_accepted():
    req = {**BASE, "requested_datetime": "2026-06-04T10:19:00+08:00"}
    for doc in (
        json.dumps({"service_requests": [req]}),
        json.dumps({"requests": [req]}),
        json.dumps(req),
        "<request><service_request_id>A1</service_request_id><description>d</description>"
        "<requested_datetime>2026-06-04T10:19:00+08:00</requested_datetime></request>",
    ):
        assert [i.key for i in parse_requests(doc, "s").items] == ["A1"]


def test_xml_nested_and_repeated_elements_are_noted():
    doc = (
        "<service_requests><request><service_request_id>1</service_request_id><description>d</description>"
        "<description>again</description><attributes><a>1</a></attributes>"
        "<requested_datetime>2026-06-04T10:19:00+08:00</requested_datetime></request><junk/></service_requests>"
    )
    page = parse_requests(doc, "s")
    item = page.items[0]
    assert item.report["text"] == "d"
    assert any("<attributes>" in n for n in item.notes) and any("repeated" in n for n in item.notes)
    assert any("junk" in n for n in page.notes)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("[{", "not valid JSON"),
        ("<service_requests><request>", "not well-formed XML"),
        ("hello", "neither JSON nor XML"),
        ('{"foo": 1}', "expected a list of service requests"),
        ("<foo/>", "unexpected XML document <foo>"),
        ("<foo><bar>1</bar></foo>", "unexpected XML document <foo>"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><service_requests>&x;</service_requests>',
            "DTD",
        ),
        (
            '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><service_requests>&x;</service_requests>',
            "DTD",
        ),
        ("<service_requests>&undefined;</service_requests>", "undefined entity"),
    ],
)
def test_malformed_documents_are_page_errors_with_reason(doc, reason):
    with pytest.raises(PageError, match=reason):
        parse_requests(doc, "s")


def test_billion_laughs_is_refused_before_any_expansion():
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    doc = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{lol}]><service_requests>&l9;</service_requests>'
    with pytest.raises(PageError, match="DTD"):
        parse_xml(doc)


def test_lenient_json_and_times():
    assert loads_lenient('{"a": 001, "b": "001", "c": -02.5, "d": 0, "e": 0.5}') == {
        "a": "001",
        "b": "001",
        "c": "-02.5",
        "d": 0,
        "e": 0.5,
    }
    assert read_time("2026-06-04T10:19:00Z")[0] == datetime(2026, 6, 4, 10, 19, tzinfo=UTC)
    with pytest.raises(ValueError, match="no timezone"):
        read_time("2026-06-04T10:19:00")
    text, problem = decode("<?xml version='1.0' encoding='gbk'?><a>塘西河</a>".encode("gbk"))
    assert "塘西河" in text and problem is None
    _, problem = decode(b"\xff\xfe{", "application/json; charset=utf-8")
    assert "not valid utf-8" in problem


# -- platform and hotline items -----------------------------------------------------------------------------


def _platform() -> PlatformSource:
    return PlatformSource(SourceConfig(name="district", kind="platform", url="http://x"))


def test_platform_page_and_items():
    page = _platform().parse_page(
        json.dumps(
            {
                "items": [
                    {
                        "id": 7,
                        "channel": "APP",
                        "text": "井盖缺失",
                        "received_at": "2026-06-04T10:19:00+08:00",
                        "reporter": {"name": "张三", "phone": "13812345678", "wechat": "z3"},
                        "score": 5,
                    },
                    {"channel": "APP", "text": "no id"},
                    "not an object",
                ],
                "next_cursor": "c1",
                "has_more": True,
            }
        )
    )
    assert (page.next_cursor, page.has_more) == ("c1", True)
    first, second, third = page.items
    assert first.ok and first.report["external_id"] == "7" and first.report["reporter_name"] == "张三"
    assert any("score" in n for n in first.notes) and any("wechat" in n for n in first.notes)
    assert second.reason.startswith("id:") and third.reason == "an item must be a JSON object"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ('{"items": [], "has_more": "yes"}', "has_more must be true or false"),
        ('{"items": {}}', "items must be a list"),
        ('[{"id": 1}]', "a page must be a JSON object"),
        ('{"items": [{"id": 1}], "has_more": false}', "next_cursor is missing"),
        ('{"items": [], "next_cursor": NaN}', "NaN is not a JSON value"),
        ('{"items": [], "next_cursor": {"a": 1}}', "next_cursor must be text"),
    ],
)
def test_platform_page_errors(doc, reason):
    with pytest.raises(PageError, match=reason):
        _platform().parse_page(doc)


def test_hotline_orders_in_english_or_chinese_fields():
    src = Hotline12345Source(SourceConfig(name="h", kind="hotline12345", url="http://x"))
    page = src.parse_page(
        json.dumps(
            {
                "code": 0,
                "message": "ok",
                "data": {
                    "orders": [
                        {
                            "工单编号": "12345-1",
                            "诉求内容": "噪音扰民",
                            "来电号码": 13912345678,
                            "受理时间": "2026-06-04T09:12:00+08:00",
                            "诉求类型": "投诉",
                        },
                        {"order_no": "12345-2", "content": "路灯不亮", "accepted_at": "2026-06-04 09:12:00"},
                    ],
                    "next_cursor": "n",
                    "has_more": False,
                },
            },
            ensure_ascii=False,
        )
    )
    a, b = page.items
    assert a.report["channel"] == "12345" and a.report["external_id"] == "12345-1"
    assert a.report["reporter_phone"] == "13912345678" and a.service_name == "投诉"
    assert b.report["received_at"] == "2026-06-04 09:12:00"  # refused at ingest: no timezone, not assumed
    with pytest.raises(PageError, match="answered code 401: token expired"):
        src.parse_page('{"code": 401, "message": "token expired"}')


# -- fuzzing --------------------------------------------------------------------------------------------------

VALID_PLATFORM = json.dumps(
    {
        "items": [
            {"id": i, "channel": "APP", "text": f"t{i}", "received_at": "2026-06-04T10:19:00+08:00"} for i in range(3)
        ],
        "next_cursor": "c",
        "has_more": False,
    }
)
SEEDS = [SPEC_REQUESTS_JSON, SPEC_REQUESTS_XML, SPEC_SERVICES_JSON, SPEC_SERVICES_XML, VALID_PLATFORM]


def _parsers():
    unit = UnitResponseSource(SourceConfig(name="u", kind="unit_responses", url="http://x"))
    hot = Hotline12345Source(SourceConfig(name="h", kind="hotline12345", url="http://x"))
    return [
        lambda t: parse_requests(t, "s"),
        lambda t: parse_requests(t, "s", zone("+08:00")),
        parse_services,
        _platform().parse_page,
        hot.parse_page,
        unit.parse_page,
    ]


def _only_page_errors(text: str) -> None:
    for parse in _parsers():
        with contextlib.suppress(PageError):
            parse(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_a_parser(data):
    text, _ = decode(data)
    _only_page_errors(text)


@st.composite
def mutated(draw):
    doc = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(doc)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(
            st.sampled_from(
                [
                    "<",
                    ">",
                    "&",
                    '"',
                    "{",
                    "}",
                    "[",
                    "]",
                    ",",
                    ":",
                    "0",
                    "\x00",
                    "\ud800",
                    "é",
                    "<!DOCTYPE x>",
                    "&#0;",
                    "&amp;",
                    "null",
                    "NaN",
                    "1e999",
                    "\\u0000",
                ]
            )
        )
        if op == "insert":
            doc = doc[:pos] + piece + doc[pos:]
        elif op == "delete":
            doc = doc[:pos] + doc[pos + draw(st.integers(1, 20)) :]
        else:
            doc = doc[:pos] + piece + doc[pos + 1 :]
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_never_crash_a_parser(doc):
    _only_page_errors(doc)
    try:
        page = parse_requests(doc, "s")
    except PageError:
        return
    for item in page.items:  # every item is understood or says why not, and can be kept
        assert item.ok == (item.report is not None)
        assert item.ok or item.reason
        item.payload.encode("utf-8")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "service_request_id": st.one_of(st.integers(), st.text(max_size=10), st.none()),
        "description": st.one_of(st.text(max_size=30), st.none(), st.integers()),
        "service_name": st.one_of(st.text(max_size=10), st.none()),
        "service_code": st.one_of(st.integers(), st.text(max_size=5)),
        "requested_datetime": st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            st.datetimes().map(lambda d: d.isoformat()),
            st.text(max_size=12),
        ),
        "lat": st.one_of(st.floats(allow_nan=False), st.text(max_size=6), st.none()),
        "long": st.one_of(st.floats(allow_nan=False), st.text(max_size=6), st.none()),
        "extra": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(request_like, json_values), max_size=6))
def test_every_input_item_comes_out_as_exactly_one_item(entries):
    doc = json.dumps(entries)
    try:
        page = parse_requests(doc, "s")
    except PageError as exc:
        # only a list that reads as an Open311 error answer may be refused whole
        assert "errors" in exc.message or not entries or "expected" in exc.message
        return
    assert len(page.items) == len(entries)
    for entry, item in zip(entries, page.items, strict=True):
        assert item.ok or item.reason
        if item.ok:
            assert isinstance(entry, dict) and item.report["channel"] == "OPEN311"
