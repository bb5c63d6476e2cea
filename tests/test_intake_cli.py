"""The ``intake`` and ``outbox`` commands, run as the user would, against the test database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import article_report, run_cli
from tests.test_intake_feed import Feed, three_pages
from tests.test_intake_parsers import SPEC_REQUESTS_JSON as SPEC_JSON
from tests.test_intake_parsers import SPEC_REQUESTS_XML as SPEC_XML
from tests.test_intake_parsers import SPEC_SERVICES_JSON
from workstation.intake.settings import load_settings
from workstation.intake.targets import set_target
from workstation.models import Case
from workstation.resources import resource_path
from workstation.services import lifecycle as lc
from workstation.services.reports import add_report


def local(doc: str) -> str:
    """A specification example moved to this district and this decade: San Francisco's 2010 points and
    times lie outside the territory and the plausible window, and would be quarantined for that."""
    return (
        doc.replace("2010-04-", "2026-04-").replace("37.762221815", "31.7369032").replace("-122.4651145", "117.2665624")
    )


SPEC_REQUESTS_JSON, SPEC_REQUESTS_XML = local(SPEC_JSON), local(SPEC_XML)


@pytest.fixture(autouse=True)
def _accounts(users):
    """The accounts every command here may act as (the administrator by default)."""


def run(capsys, db_url: str, *args: str) -> tuple[int, str, str]:
    argv = [*args[:2], "--db", db_url, *args[2:]] if len(args) > 1 else [*args, "--db", db_url]
    code = run_cli(argv if "--as" in argv else [*argv, "--as", "admin"])
    out, err = capsys.readouterr()
    return code, out, err


def test_open311_file_json_imports_once_and_again_finds_them(db, db_url, capsys, tmp_path):
    doc = tmp_path / "requests.json"
    doc.write_text(SPEC_REQUESTS_JSON)
    code, out, err = run(capsys, db_url, "intake", "open311", str(doc), "--source", "sf311")
    assert code == 0, err
    assert out.startswith("638344: new case ") and "no description" in out
    assert "2 new, 0 already present, 0 quarantined" in err
    code, out, err = run(capsys, db_url, "intake", "open311", str(doc), "--source", "sf311")
    assert code == 0 and "638344: already present as case" in out
    with db.read() as s:
        assert s.scalars(select(Case.external_id).order_by(Case.id)).all() == ["sf311:638344", "sf311:638349"]


def test_open311_xml_with_sloppy_items_exits_1_naming_each_quarantined(db_url, capsys, tmp_path):
    sloppy = SPEC_REQUESTS_XML.replace("2026-04-19T06:37:38-08:00", "2026-04-19 06:37:38", 1)
    sloppy = sloppy.replace("<lat>31.7369032</lat>", "<lat>north</lat>", 1)  # the first request
    doc = tmp_path / "requests.xml"
    doc.write_text(sloppy)
    code, out, err = run(capsys, db_url, "intake", "open311", str(doc))
    assert code == 1
    assert "quarantined #1 (638344): lat/long: unreadable coordinates" in err
    assert "quarantined #2 (638349): requested_datetime: 2026-04-19 06:37:38 has no timezone" in err
    code, out, err = run(capsys, db_url, "intake", "open311", str(doc), "--assume-tz=-08:00")
    assert code == 1 and "638349: new case" in out and "(638344)" in err  # same payload: same quarantine row
    code, out, _ = run(capsys, db_url, "intake", "quarantine", "list")
    assert len(out.splitlines()) == 1 and "638344" in out and "×2" in out  # 638349 went in: its row closed
    assert "2026-04-14 22:37" in out  # the request's own time (06:37:38-08:00), in the centre's zone


def test_open311_service_map_and_a_broken_file(db, db_url, capsys, tmp_path):
    smap = tmp_path / "map.json"
    smap.write_text(json.dumps({"006": "0201"}))
    doc = tmp_path / "r.json"
    doc.write_text(SPEC_REQUESTS_JSON)
    code, _, err = run(capsys, db_url, "intake", "open311", str(doc), "--service-map", str(smap))
    assert code == 0, err
    with db.read() as s:
        assert set(s.scalars(select(Case.category_code))) == {"0201"}
    smap.write_text(json.dumps({"006": "9999"}))
    code, _, err = run(capsys, db_url, "intake", "open311", str(doc), "--service-map", str(smap))
    assert code == 1 and "unknown categories: 006 -> 9999" in err
    doc.write_text("<service_requests><request>")
    code, _, err = run(capsys, db_url, "intake", "open311", str(doc))
    assert code == 1 and "quarantined #1 (whole document): not well-formed XML" in err


def test_open311_url(db_url, capsys, httpserver):
    httpserver.expect_request("/v2/services.json").respond_with_data(
        SPEC_SERVICES_JSON, content_type="application/json"
    )
    httpserver.expect_request("/v2/requests.json").respond_with_data(
        SPEC_REQUESTS_JSON, content_type="application/json"
    )
    code, out, err = run(capsys, db_url, "intake", "open311", httpserver.url_for("/v2"))
    assert code == 0, err
    assert "2 new" in err
    code, out, _ = run(capsys, db_url, "intake", "mapping", "list", "--json")
    codes = {json.loads(line)["service_code"] for line in out.splitlines()}
    assert codes == {"001", "002", "003", "006"}
    code, out, _ = run(capsys, db_url, "intake", "mapping", "set", "open311", "006", "0201")
    assert code == 0


def test_quarantine_commands(db_url, capsys, tmp_path):
    doc = tmp_path / "r.json"
    doc.write_text(
        json.dumps([{"service_request_id": 7, "description": "x", "requested_datetime": "2026-06-04 10:00"}])
    )
    assert run(capsys, db_url, "intake", "open311", str(doc))[0] == 1
    code, out, _ = run(capsys, db_url, "intake", "quarantine", "show", "1")
    assert code == 0 and "no timezone" in out and '"service_request_id":7' in out
    code, out, err = run(capsys, db_url, "intake", "quarantine", "reprocess", "1")
    assert code == 1 and "still not importable" in err
    fixed = tmp_path / "fixed.json"
    fixed.write_text(
        json.dumps({"service_request_id": 7, "description": "x", "requested_datetime": "2026-06-04T10:00+08:00"})
    )
    code, out, err = run(capsys, db_url, "intake", "quarantine", "reprocess", "1", "--payload-file", str(fixed))
    assert code == 0 and out.startswith("reprocessed: case(s) ")
    code, out, _ = run(capsys, db_url, "intake", "quarantine", "list", "--status", "all", "--json")
    assert json.loads(out)["status"] == "reprocessed"
    doc.write_text("nonsense")
    run(capsys, db_url, "intake", "open311", str(doc))
    code, out, _ = run(capsys, db_url, "intake", "quarantine", "discard", "2", "--note", "垃圾数据")
    assert code == 0 and "discarded #2" in out
    code, _, err = run(capsys, db_url, "intake", "quarantine", "discard", "2")
    assert code == 1 and err.startswith("error: Quarantined item 2 is already discarded")


def test_outbox_commands(db, db_url, users, capsys, httpserver):
    import workstation.intake  # noqa: F401

    httpserver.expect_request("/o").respond_with_data("nope", status=400)
    set_target(db, users["admin"], "grid", "webhook", httpserver.url_for("/o"), units=["GRID-S13C01G01"])
    cid = add_report(db, article_report()).case_id
    lc.file(db, users["op1"], cid, "0201")
    lc.dispatch(db, users["op1"], cid)
    code, out, _ = run(capsys, db_url, "outbox", "list", "--status", "pending", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["kind"], row["case_id"]) == ("dispatch_order", cid)
    code, out, _ = run(capsys, db_url, "outbox", "send")
    assert code == 1 and "1 failed" in out
    code, out, _ = run(capsys, db_url, "outbox", "list")
    assert "failed" in out and "HTTP 400" in out
    code, out, _ = run(capsys, db_url, "outbox", "retry", str(row["id"]))
    assert code == 0 and f"message {row['id']} will be sent again" in out
    code, out, _ = run(capsys, db_url, "outbox", "send")
    code, out, _ = run(capsys, db_url, "outbox", "retry", "--all-failed")
    assert code == 0 and "1 message(s) will be sent again" in out


def test_intake_run_once_from_a_settings_file(db_url, capsys, httpserver, tmp_path, monkeypatch):
    httpserver.expect_request("/feed").respond_with_handler(Feed(three_pages()))
    monkeypatch.setenv("TEST_PLATFORM_TOKEN", "tok")
    config = tmp_path / "intake.json"
    config.write_text(
        json.dumps(
            {
                "defaults": {"attempts": 1},
                "sources": [
                    {
                        "name": "district",
                        "kind": "platform",
                        "url": httpserver.url_for("/feed"),
                        "credentials": {"token": "${TEST_PLATFORM_TOKEN}"},
                    }
                ],
            }
        )
    )
    code, out, err = run(capsys, db_url, "intake", "run", "--config", str(config), "--once")
    assert code == 0, err
    assert out.splitlines()[0] == "district (platform): ok — 3 page(s), 5 new, 0 already present, 0 quarantined"
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer tok"
    code, out, _ = run(capsys, db_url, "intake", "status")
    assert out.startswith("district") and "ok" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sources": [{"name": "x", "kind": "fax"}]}))
    code, _, err = run(capsys, db_url, "intake", "run", "--config", str(bad), "--once")
    assert code == 1 and "sources[0].kind: one of:" in err and "sources[0].url: required" in err


def test_the_example_settings_file_is_valid(monkeypatch):
    for name in (
        "PLATFORM_TOKEN",
        "HOTLINE_12345_PASSWORD",
        "HOTLINE_12319_TOKEN",
        "CG_TOKEN",
        "PDA_PASSWORD",
        "OPEN311_API_KEY",
    ):
        monkeypatch.setenv(name, "x")
    settings = load_settings(resource_path("intake.example.json"))
    assert [s.kind for s in settings.sources] == [
        "platform",
        "hotline12345",
        "hotline12319",
        "open311",
        "unit_responses",
    ]
    assert settings.source("hotline-12345").credentials.basic() == ("baohe-grid", "x")
    assert settings.target("citizen311-updates").credentials.api_key == "x"
    assert settings.outbox.attempts == 8
    monkeypatch.delenv("CG_TOKEN")
    with pytest.raises(Exception, match="CG_TOKEN is not set"):
        load_settings(resource_path("intake.example.json"))
    assert Path(resource_path("intake.example.json")).is_file() and os.sep
