"""``workstation serve``: GeoReport v2 over HTTP, tested with a real client against the running server."""

from __future__ import annotations

import contextlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.care_support import add as care_add
from tests.conftest import article_report, run_cli
from tests.serve_support import running
from tests.test_intake_parsers import SPEC_ERRORS_JSON, SPEC_REQUESTS_JSON, SPEC_REQUESTS_XML, SPEC_SERVICES_XML
from workstation.intake.formats import loads_lenient
from workstation.intake.open311 import parse_requests, parse_services
from workstation.models import Case, QuarantinedItem
from workstation.services import care_visits, lifecycle, tokens
from workstation.services.care_visits import Need
from workstation.services.reports import add_report

NAME, PHONE = "方兴社区信息员", "13812345678"
CLIENT_NAME, CLIENT_PHONE = "李秀英", "13955501234"


@pytest.fixture
def world(db, users):
    """A new report, a dispatched one, a rejected (closed) one, and a visit's case that must never show."""
    new = add_report(db, article_report(external_id="A1")).case_id
    sent = add_report(db, article_report(external_id="A2", received_at="2026-06-04T11:00:00+08:00")).case_id
    lifecycle.file(db, users["op1"], sent, "0105")
    lifecycle.dispatch(db, users["op1"], sent)
    closed = add_report(db, article_report(external_id="A3", received_at="2026-06-04T12:00:00+08:00")).case_id
    lifecycle.reject(db, users["op1"], closed, f"{NAME} 打错了电话 {PHONE}")
    visit = care_visits.record_visit(  # a care visit's need, raised as a case and even dispatched
        db,
        users["station"],
        care_add(db, users["station"], groups=["G3"]),
        mode="home",
        met=True,
        visitor="周敏军",
        needs=[Need("卫生间需要安装扶手", raise_case=True)],
        key="visit-key-1",
    ).case_ids[0]
    lifecycle.file(db, users["op1"], visit, "0105")
    lifecycle.dispatch(db, users["op1"], visit)
    return {"new": new, "sent": sent, "closed": closed, "visit": visit}


@pytest.fixture
def client_key(db, users):
    """An API key of an integration account, as an administrator makes it."""
    _, key = tokens.add_token(db, users["admin"], "op2", "wechat app")
    return key


def _json(r: requests.Response):
    assert r.headers["Content-Type"].startswith("application/json"), r.headers["Content-Type"]
    return r.json()


def _xml(r: requests.Response) -> ET.Element:
    assert r.headers["Content-Type"].startswith("text/xml"), r.headers["Content-Type"]
    return ET.fromstring(r.content)


def test_every_get_endpoint_in_both_formats(db, world):
    with running(db) as (_, base):
        # services: the 118 categories grouped by major category, in Chinese
        services = _json(requests.get(f"{base}/services.json", timeout=5))
        assert len(services) == 118
        first = next(s for s in services if s["service_code"] == "0101")
        assert (first["service_name"], first["group"]) == ("暴露垃圾", "市容环境")
        assert len({s["group"] for s in services}) > 1
        root = _xml(requests.get(f"{base}/services.xml", timeout=5))
        assert root.tag == "services" and len(root.findall("service")) == 118
        assert requests.get(f"{base}/services", headers={"Accept": "text/xml"}, timeout=5).content.startswith(b"<?xml")
        one = _json(requests.get(f"{base}/services/0105.json", timeout=5))
        assert one["service_code"] == "0105" and one["attributes"] == []
        assert _xml(requests.get(f"{base}/services/0105.xml", timeout=5)).tag == "service_definition"
        # requests: newest first, the visit's case never
        listed = _json(requests.get(f"{base}/requests.json", timeout=5))
        assert [r["service_request_id"] for r in listed] == [str(world[k]) for k in ("closed", "sent", "new")]
        by_id = {r["service_request_id"]: r for r in listed}
        sent = by_id[str(world["sent"])]
        assert sent["status"] == "open" and sent["service_code"] == "0105" and sent["agency_responsible"]
        assert "派遣" in sent["status_notes"] and "立案" in sent["status_notes"]
        assert by_id[str(world["closed"])]["status"] == "closed"
        xml = _xml(requests.get(f"{base}/requests.xml", timeout=5))
        assert xml.tag == "service_requests"
        assert [e.findtext("service_request_id") for e in xml.findall("request")] == list(by_id)
        # one request, both formats; the visit's case is not found
        assert _json(requests.get(f"{base}/requests/{world['sent']}.json", timeout=5))[0] == sent
        assert _xml(requests.get(f"{base}/requests/{world['sent']}.xml", timeout=5)).find("request") is not None
        assert requests.get(f"{base}/requests/{world['visit']}.json", timeout=5).status_code == 404
        assert requests.get(f"{base}/requests.json?service_request_id={world['visit']}", timeout=5).json() == []


def test_filters_paging_and_headers(db, world):
    with running(db) as (_, base):
        get = lambda q: requests.get(f"{base}/requests.json?{q}", timeout=5)  # noqa: E731
        assert [r["service_request_id"] for r in get("status=closed").json()] == [str(world["closed"])]
        assert {r["service_request_id"] for r in get("status=open").json()} == {str(world["new"]), str(world["sent"])}
        assert [r["service_request_id"] for r in get("service_code=0105").json()] == [str(world["sent"])]
        window = "start_date=2026-06-04T10:30:00%2B08:00&end_date=2026-06-04T11:30:00%2B08:00"
        assert [r["service_request_id"] for r in get(window).json()] == [str(world["sent"])]
        ids = f"service_request_id={world['new']},{world['closed']}&status=open"  # other filters ignored
        assert {r["service_request_id"] for r in get(ids).json()} == {str(world["new"]), str(world["closed"])}
        assert get("updated_after=2999-01-01T00:00:00Z").json() == []
        first = get("page_size=2")
        assert first.headers["X-Total-Count"] == "3" and first.headers["X-Result-Count"] == "3"  # both the total
        link = re.match(r"<([^>]+)>; rel=\"next\"", first.headers["Link"])
        assert link
        second = requests.get(link.group(1), timeout=5)
        assert "Link" not in second.headers and len(second.json()) == 1
        seen = [r["service_request_id"] for r in first.json() + second.json()]
        assert seen == [str(world[k]) for k in ("closed", "sent", "new")]


def test_totals_by_status_are_exact_at_once_and_never_count_the_visits(db, users, world):
    from workstation.services import counts

    with running(db) as (_, base):

        def total(q: str) -> int:
            return int(requests.get(f"{base}/requests.json?{q}", timeout=5).headers["X-Total-Count"])

        assert (total(""), total("status=open"), total("status=closed")) == (3, 2, 1)  # the visit's case: not at all
        lifecycle.reject(db, users["op1"], world["new"], "重复上报")
        assert (total(""), total("status=open"), total("status=closed")) == (3, 1, 2)  # no wait for a recount
        counts.compact(db)  # the pending deltas folded, as a seat does: the same totals
        add_report(db, article_report(external_id="T1", received_at="2026-06-05T10:00:00+08:00"))
        assert (total(""), total("status=open"), total("status=closed")) == (4, 2, 2)
        assert total("service_code=0105") == 1  # other filters are counted


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page_size=1001", 400),
        ("page=0", 400),
        ("page_size=x", 400),
        ("status=pending", 400),
        ("start_date=yesterday", 400),
        ("start_date=2026-06-04T10:00:00", 400),  # no timezone
        ("service_request_id=abc", 400),
    ],
)
def test_bad_queries_get_the_spec_error_format(db, query, status):
    with running(db) as (_, base):
        r = requests.get(f"{base}/requests.json?{query}", timeout=5)
        assert r.status_code == status
        [error] = r.json()
        assert error["code"] == status and error["description"]
        x = requests.get(f"{base}/requests.xml?{query}", timeout=5)
        assert x.status_code == status and _xml(x).tag == "errors"
        assert _xml(x).find("error/code").text == str(status)


def test_a_jurisdiction_other_than_ours_is_not_found(db, world):
    with running(db, jurisdiction_id="baohe.hefei.gov.cn") as (_, base):
        assert len(requests.get(f"{base}/requests.json?jurisdiction_id=baohe.hefei.gov.cn", timeout=5).json()) == 3
        other = requests.get(f"{base}/services.xml?jurisdiction_id=sf.gov", timeout=5)
        assert other.status_code == 404 and "sf.gov" in _xml(other).findtext("error/description")


def test_errors_are_chinese_unless_the_client_prefers_english(db):
    with running(db) as (_, base):
        zh = requests.get(f"{base}/requests/99999.json", timeout=5).json()[0]["description"]
        en = requests.get(f"{base}/requests/99999.json", headers={"Accept-Language": "en-US,en;q=0.9"}, timeout=5)
        assert "未找到" in zh or "不存在" in zh, zh
        assert en.json()[0]["description"] == "service_request_id 99999 not found"
        assert requests.get(f"{base}/nothing.json", timeout=5).status_code == 404
        r = requests.delete(f"{base}/requests.json", timeout=5)
        assert r.status_code == 405 and r.headers["Allow"] == "GET, POST" and r.json()[0]["code"] == 405


def test_our_documents_have_the_shape_of_the_spec_examples_and_the_intake_reads_them(db, world):
    spec_keys = set(loads_lenient(SPEC_REQUESTS_JSON)[0])
    spec_xml_keys = {c.tag for c in ET.fromstring(SPEC_REQUESTS_XML.encode()).find("request")}
    spec_service_keys = {c.tag for c in ET.fromstring(SPEC_SERVICES_XML.encode()).find("service")}
    with running(db) as (_, base):
        ours = requests.get(f"{base}/requests.json", timeout=5)
        assert spec_keys <= set(ours.json()[0]), spec_keys - set(ours.json()[0])
        xml = requests.get(f"{base}/requests.xml", timeout=5)
        assert spec_xml_keys <= {c.tag for c in _xml(xml).find("request")}
        services = requests.get(f"{base}/services.xml", timeout=5)
        assert spec_service_keys <= {c.tag for c in _xml(services).find("service")}
        for r in (ours, xml):
            page = parse_requests(r.text, "peer")
            assert all(i.ok for i in page.items) and len(page.items) == 3
        assert len(parse_services(services.text)[0]) == 118
        error = requests.get(f"{base}/requests/99999.json", timeout=5).json()
        assert set(error[0]) == set(json.loads(SPEC_ERRORS_JSON)[0])


def test_post_creates_a_case_in_the_operator_queue_idempotently(db, users, client_key):
    from workstation.services import queue

    with running(db) as (_, base):
        form = {
            "api_key": client_key,
            "service_code": "0105",
            "lat": "31.7395",
            "long": "117.2903",
            "description": "小区门口共享单车乱停",
            "first_name": "秀英",
            "last_name": "李",
            "phone": CLIENT_PHONE,
            "client_request_id": "wx-42",
        }
        began = time.monotonic()
        r = requests.post(f"{base}/requests.json", data=form, timeout=5)
        assert r.status_code == 201, r.text
        [answer] = r.json()
        rid = int(answer["service_request_id"])
        with db.read() as s:  # the operator queue sees it within 2 s
            ids = [row[-1] for row in queue.page(s, queue.QueueFilter(queue="new"), limit=50)]
        assert rid in ids and time.monotonic() - began < 2
        with db.read() as s:
            case = s.get(Case, rid)
            assert (case.channel, case.category_code, case.reporter_phone) == ("OPEN311", "0105", CLIENT_PHONE)
            assert case.reporter_name == CLIENT_NAME and case.last_actor == "op2"
        again = requests.post(f"{base}/requests.json", data=form, timeout=5)
        assert again.status_code == 200 and again.json()[0]["service_request_id"] == str(rid)
        assert again.json()[0]["token"] == answer["token"]
        token = requests.get(f"{base}/tokens/{answer['token']}.xml", timeout=5)
        assert _xml(token).find("request/service_request_id").text == str(rid)
        with db.read() as s:
            assert s.query(Case).filter(Case.channel == "OPEN311").count() == 1


def test_a_bad_post_is_quarantined_and_its_token_follows_it(db, users, client_key):
    from workstation.intake import quarantine

    with running(db) as (_, base):
        form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
        r = requests.post(f"{base}/requests.xml", data={**form, "phone": "call me maybe"}, timeout=5)
        assert r.status_code == 202, r.text
        answer = _xml(r).find("request")
        token = answer.findtext("token")
        assert answer.findtext("service_request_id") == "" and "reporter_phone" in answer.findtext("service_notice")
        with db.read() as s:
            [item] = s.query(QuarantinedItem).all()
            assert item.source == "api.op2" and "reporter_phone" in item.reason
        pending = requests.get(f"{base}/tokens/{token}.json", timeout=5).json()
        assert pending == [{"service_request_id": "", "token": token}]
        done = quarantine.reprocess(db, users["op1"], item.id)  # the operator lets it in (the phone is dropped)
        assert done.ok
        resolved = requests.get(f"{base}/tokens/{token}.json", timeout=5).json()[0]
        assert resolved["service_request_id"] == str(done.case_ids[0])
        assert requests.get(f"{base}/tokens/nope.json", timeout=5).status_code == 404


def test_a_held_post_sent_again_answers_the_first_ones_hold_and_is_kept_once(db, users, client_key):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    form.update(phone="call me maybe", client_request_id="wx-held")
    with running(db) as (_, base):
        first = requests.post(f"{base}/requests.json", data=form, timeout=5)
        again = requests.post(f"{base}/requests.json", data=form, timeout=5)
    assert first.status_code == again.status_code == 202, again.text
    [answer] = again.json()
    assert answer["token"] == first.json()[0]["token"] == "api.op2:wx-held" and answer["service_request_id"] == ""
    assert "reporter_phone" in answer["service_notice"]
    with db.read() as s:
        [item] = s.query(QuarantinedItem).all()
        assert (item.external_id, item.times_seen) == ("wx-held", 1)


def test_an_address_that_sent_many_wrong_keys_is_locked_out_even_with_the_right_one(db, users, client_key):
    from workstation.services import lockout

    form = {"service_code": "0105", "lat": "31.74", "long": "117.29"}
    with running(db) as (_, base):
        for i in range(lockout.SOURCE_LIMIT):
            wrong = requests.post(f"{base}/requests.json", data={**form, "api_key": f"wst_guess{i}"}, timeout=5)
            assert wrong.status_code == 403
        refused = requests.post(f"{base}/requests.json", data={**form, "api_key": client_key}, timeout=5)
        assert refused.status_code == 403 and "api_key" in refused.json()[0]["description"]
        lockout.unlock(db, users["admin"], source="serve:127.0.0.1")
        let_in = requests.post(f"{base}/requests.json", data={**form, "api_key": client_key}, timeout=5)
        assert let_in.status_code == 201, let_in.text
    with db.read() as s:
        assert s.query(Case).filter(Case.channel == "OPEN311").count() == 1


def test_the_same_post_sent_by_eight_clients_at_once_makes_one_case(db, users, client_key):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    form.update(description="路灯不亮", client_request_id="wx-8")
    with running(db, threads=8) as (_, base), ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.post(f"{base}/requests.json", data=form, timeout=10), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    with db.read() as s:
        [case] = s.query(Case).filter(Case.channel == "OPEN311").all()
        assert (case.version, case.text) == (1, "路灯不亮")


@pytest.mark.parametrize(
    ("change", "status", "word"),
    [
        ({"api_key": ""}, 403, "api_key"),
        ({"api_key": "wst_wrong"}, 403, "api_key"),
        ({"service_code": "9999"}, 404, "9999"),
        ({"service_code": ""}, 400, "service_code"),
        ({"lat": "", "long": ""}, 400, "lat"),
        ({"description": "长" * 4001}, 400, "description"),
        ({"client_request_id": "x" * 61}, 400, "client_request_id"),
        ({"client_request_id": "a/b"}, 400, "client_request_id"),
    ],
)
def test_post_refusals(db, users, client_key, change, status, word):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29", **change}
    with running(db) as (_, base):
        r = requests.post(f"{base}/requests.json", data=form, headers={"Accept-Language": "en"}, timeout=5)
        assert r.status_code == status, r.text
        assert r.json()[0]["code"] == status and word in r.json()[0]["description"]
    with db.read() as s:
        assert s.query(Case).count() == 0


def test_a_revoked_key_no_longer_posts(db, users, client_key):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    with running(db) as (_, base):
        assert requests.post(f"{base}/requests.json", data=form, timeout=5).status_code == 201
        [info] = tokens.list_tokens(db, users["admin"])
        tokens.revoke_token(db, users["admin"], info.id)
        assert requests.post(f"{base}/requests.json", data=form, timeout=5).status_code == 403


def test_only_the_clients_the_settings_name_may_post(db, users, client_key):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    with running(db, clients=("wechat",)) as (_, base):
        r = requests.post(f"{base}/requests.json", data=form, timeout=5)
        assert r.status_code == 403 and r.json()[0]["code"] == 403


def test_limits_body_size_rate_per_key_and_per_address(db, users, client_key):
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    with running(db, max_body_bytes=1024, rate_per_key=2, rate_per_address=6, rate_window_s=60) as (_, base):
        big = requests.post(f"{base}/requests.json", data={**form, "description": "x" * 2000}, timeout=5)
        assert big.status_code == 413 and big.json()[0]["code"] == 413
        codes = [requests.post(f"{base}/requests.json", data=form, timeout=5).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        limited = requests.post(f"{base}/requests.xml", data=form, timeout=5)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert _xml(limited).find("error/code").text == "429"
        # the address has spent 5 of its 6: one more read, then 429 for everyone from here
        assert requests.get(f"{base}/services.json", timeout=5).status_code == 200
        r = requests.get(f"{base}/services.json", timeout=5)
        assert r.status_code == 429 and r.json()[0]["code"] == 429


def test_a_slow_query_is_cut_off_with_503(db, users):
    from workstation.intake import ingest
    from workstation.intake.items import Item

    items = [
        Item(payload="{}", report=article_report(external_id=f"bulk-{i}", received_at="2026-06-04T10:19:00+08:00"))
        for i in range(3000)
    ]
    ingest.ingest_items(db, "bulk", "open311", items)
    with running(db, query_timeout_s=0.001) as (_, base):
        r = requests.get(f"{base}/requests.json?status=open&page=20&page_size=100", timeout=10)
        assert r.status_code == 503, r.text[:200]
        assert r.json()[0]["code"] == 503
    with running(db) as (_, base):
        assert requests.get(f"{base}/requests.json?page=20&page_size=100", timeout=10).status_code == 200


def test_a_slow_client_is_disconnected(db):
    import socket

    with running(db, timeout_s=0.5) as (server, _):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /services.json HTTP/1.1\r\nHost: x\r\n")  # and never finishes
        began = time.monotonic()
        with contextlib.suppress(ConnectionResetError):  # closed by the server, abruptly
            assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - began < 4
        sock.close()


def test_no_response_ever_carries_the_reporters_name_phone_address_or_the_visit(db, users, world, client_key):
    secret_address = "幸福里小区3栋502室"
    add_report(db, article_report(external_id="A5", address=secret_address, received_at="2026-06-04T14:00:00+08:00"))
    form = {"api_key": client_key, "service_code": "0105", "lat": "31.7395", "long": "117.2903"}
    form.update(first_name="秀英", last_name="李", phone=CLIENT_PHONE, address_string=secret_address)
    form["description"] = f"我是{CLIENT_NAME}，电话{CLIENT_PHONE}"
    bodies: list[str] = []
    with running(db) as (_, base):
        posted = requests.post(f"{base}/requests.json", data=form, timeout=5)
        bodies.append(posted.text)
        rid = posted.json()[0]["service_request_id"]
        with db.read() as s:
            ids = [c.id for c in s.query(Case)]
        for fmt in ("json", "xml"):
            bodies.append(requests.get(f"{base}/requests.{fmt}?page_size=1000", timeout=5).text)
            for case_id in ids:
                bodies.append(requests.get(f"{base}/requests/{case_id}.{fmt}", timeout=5).text)
            bodies.append(requests.get(f"{base}/tokens/{posted.json()[0]['token']}.{fmt}", timeout=5).text)
            bodies.append(requests.get(f"{base}/services.{fmt}", timeout=5).text)
    assert rid and len(bodies) > 10
    for body in bodies:
        for secret in (NAME, PHONE, CLIENT_NAME, "秀英", CLIENT_PHONE, secret_address, "31.7395", "117.2903"):
            assert secret not in body, (secret, body[:300])
        assert f'"{world["visit"]}"' not in body and f">{world['visit']}<" not in body
        for secret in ("周敏军", "卫生间需要安装扶手", "方兴大道1号3栋502", "visit-"):
            assert secret not in body, (secret, body[:300])


def test_round_trip_our_own_open311_intake_reads_every_request_once(db, users, world, fresh_db):
    import requests as http

    from workstation.intake import ingest
    from workstation.intake.base import PollContext, build_source
    from workstation.intake.items import Item
    from workstation.intake.settings import SourceConfig
    from workstation.models import CaseEvent

    items = [
        Item(
            payload="{}",
            report=article_report(
                external_id=f"bulk-{i}", received_at=f"2026-06-0{1 + i % 3}T08:{i % 60:02d}:00+08:00"
            ),
        )
        for i in range(230)
    ]
    ingest.ingest_items(db, "bulk", "open311", items)
    other = fresh_db()
    with running(db) as (_, base):
        expected = {
            r["service_request_id"]: r for r in http.get(f"{base}/requests.json?page_size=1000", timeout=10).json()
        }
        source = build_source(SourceConfig(name="centre", kind="open311", url=base, options={"page_size": 50}))
        result = source.poll(PollContext(other, http.Session()))
        assert result.ok, result.error
        again = source.poll(PollContext(other, http.Session()))
        assert again.ok and again.created == 0
    assert len(expected) == 233 and result.created == 233 and result.quarantined == 0
    with other.read() as s:
        cases = {c.external_id: c for c in s.query(Case)}
        assert set(cases) == {f"centre:{rid}" for rid in expected}  # every request, once
        for rid, public in expected.items():
            case = cases[f"centre:{rid}"]
            assert case.text == public["description"]
            assert (
                case.received_at.isoformat()
                == datetime.fromisoformat(public["requested_datetime"]).astimezone(UTC).isoformat()
            )
            assert (case.lat, case.lon) == (public["lat"], public["long"])
            assert case.reporter_name == "" and case.reporter_phone == ""
            first = s.query(CaseEvent).filter(CaseEvent.case_id == case.id).order_by(CaseEvent.id).first()
            assert first.details["payload"]["status"] == public["status"]
            # a request closed at the source when first read is set aside, never left in the new queue
            assert (case.status == "rejected") == (public["status"] == "closed"), (case.status, public["status"])
        assert cases[f"centre:{world['closed']}"].text == "待分拣的报告"
        with db.read() as ours:
            category = ours.get(Case, world["sent"]).category_name
        assert category and cases[f"centre:{world['sent']}"].source_service == category


def test_workstation_serve_as_the_readme_says_curl_post_reaches_the_queue_and_sigterm_stops_it(
    db, db_url, users, world, client_key
):
    import os
    import shutil
    import signal
    import subprocess
    import sys

    from workstation.services import queue

    _, admin_token = tokens.add_token(db, users["admin"], "admin", "serve")
    env = {**os.environ, "WORKSTATION_LANG": "zh_CN", "PYTHONUNBUFFERED": "1", "WORKSTATION_TOKEN": admin_token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation", "serve", "--db", db_url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert port, (line, proc.stderr.read() if proc.poll() is not None else "still running")
        base = f"http://127.0.0.1:{port.group(1)}"
        listed = requests.get(f"{base}/requests.json?status=open", timeout=5).json()
        assert {r["service_request_id"] for r in listed} == {str(world["new"]), str(world["sent"])}
        curl = shutil.which("curl")
        assert curl, "curl is needed for this test"
        form = ["-d", "service_code=0105", "-d", "lat=31.74", "-d", "long=117.29", "-d", f"phone={CLIENT_PHONE}"]
        began = time.monotonic()
        out = subprocess.run(
            [curl, "-s", "-X", "POST", f"{base}/requests.json", "-d", f"api_key={client_key}", *form],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        rid = int(json.loads(out.stdout)[0]["service_request_id"])
        with db.read() as s:
            ids = [row[-1] for row in queue.page(s, queue.QueueFilter(queue="new"), limit=50)]
        assert rid in ids and time.monotonic() - began < 2
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "服务已停止" in stdout
    lines = [ln for ln in stderr.splitlines() if "workstation.serve" in ln and " /" in ln]
    assert len(lines) == 2, stderr  # one line per request
    assert "POST /requests.json 201" in lines[1] and "client=op2" in lines[1]
    assert CLIENT_PHONE not in stderr and client_key not in stderr and "127.0.0.1" not in "\n".join(lines)


def test_public_answers_are_kept_for_cache_s_and_a_post_clears_them(db, users, client_key):
    add_report(db, article_report(external_id="C1"))
    with running(db, cache_s=60) as (_, base):
        first = requests.get(f"{base}/requests.json", timeout=5).json()
        add_report(db, article_report(external_id="C2", received_at="2026-06-05T10:00:00+08:00"))
        assert requests.get(f"{base}/requests.json", timeout=5).json() == first  # kept
        form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
        rid = requests.post(f"{base}/requests.json", data=form, timeout=5).json()[0]["service_request_id"]
        after = [r["service_request_id"] for r in requests.get(f"{base}/requests.json", timeout=5).json()]
        assert len(after) == 3 and rid in after


def test_the_readme_settings_example_is_valid_and_bad_settings_are_named():
    from pathlib import Path

    from workstation.serve.config import parse_serve
    from workstation.services.errors import ValidationError

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r'\n("serve": \{.*?\n\})\n', readme, re.S)
    assert block, "the README shows the serve settings"
    settings = parse_serve(json.loads("{" + block.group(1) + "}")["serve"])
    assert (settings.port, settings.clients, settings.max_page_size, settings.cache_s) == (
        8311,
        ("wechat-app",),
        1000,
        5,
    )
    with pytest.raises(ValidationError) as bad:
        parse_serve({"port": "eighty", "page_size": 0, "colour": "red", "clients": [1]})
    assert set(bad.value.fields) >= {"serve.port", "serve.page_size", "serve", "serve.clients"}


def test_a_stale_total_is_used_while_one_thread_counts_again():
    from workstation.serve.public import Counter

    counter = Counter(ttl_s=0, max_age_s=60)
    calls: list[int] = []

    def count(n: int):
        def run() -> int:
            calls.append(n)
            return n

        return run

    assert counter.total(("k",), count(1)) == 1  # never counted: counted now
    assert counter.total(("k",), count(2)) == 1  # stale: the old total, a recount in the background
    deadline = time.monotonic() + 5
    while counter.total(("k",), count(3)) == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls[:2] == [1, 2]
    assert Counter(ttl_s=0, max_age_s=0).total(("k",), count(4)) == 4  # too old: counted again at once


def test_the_admin_sees_each_key_with_what_its_account_posted_and_can_revoke_it(db, users, client_key):
    from workstation.serve.clients import list_clients
    from workstation.services.errors import PermissionDeniedError

    form = {"api_key": client_key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    with running(db) as (_, base):
        assert requests.post(f"{base}/requests.json", data=form, timeout=5).status_code == 201
        assert requests.post(f"{base}/requests.json", data={**form, "phone": "x"}, timeout=5).status_code == 202
    [client] = list_clients(db, users["admin"])
    assert (client.token.owner, client.posted, client.held) == ("op2", 1, 1)
    assert client.token.last_used_at is not None and client.token.revoked_at is None
    tokens.revoke_token(db, users["admin"], client.token.id)
    assert list_clients(db, users["admin"])[0].token.revoked_at is not None
    with pytest.raises(PermissionDeniedError):
        list_clients(db, users["op1"])


def test_serve_is_an_administrators_act_and_a_bad_address_is_refused_in_a_sentence(db_url, users, capsys):
    assert run_cli(["serve", "--as", "op1", "--port", "0", "--db", db_url]) == 1
    assert "administrator" in capsys.readouterr().err
    assert run_cli(["serve", "--as", "admin", "--host", "256.0.0.1", "--db", db_url]) == 1
    err = capsys.readouterr().err
    assert "Cannot listen on 256.0.0.1" in err and "Traceback" not in err


def test_a_page_many_clients_ask_for_at_once_is_read_once(db, users, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from workstation.serve import public as public_view

    add_report(db, article_report(external_id="F1"))
    reads = []
    real = public_view.list_requests

    def counted(*args, **kwargs):
        reads.append(1)
        time.sleep(0.2)  # a slow page: the others arrive while it is read
        return real(*args, **kwargs)

    monkeypatch.setattr(public_view, "list_requests", counted)
    with running(db, cache_s=60, threads=8) as (_, base), ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(f"{base}/requests.json", timeout=10), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.text for a in answers}) == 1
    assert len(reads) == 1  # seven waited for the first and got its answer
