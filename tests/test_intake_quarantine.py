"""The quarantine: nothing lost, nothing created twice; reprocess (after editing) or discard."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import workstation.intake  # noqa: F401
from tests.test_intake_feed import Feed, feed_item, page, poller, source, three_pages
from workstation.intake import quarantine
from workstation.intake.ingest import ingest_items, read_cursor
from workstation.intake.open311 import parse_requests
from workstation.intake.platform import PlatformSource
from workstation.intake.settings import Settings, SourceConfig
from workstation.models import Case
from workstation.services.errors import NotFoundError, PermissionDeniedError, ValidationError
from workstation.services.queries import get_case


def platform_items(*raw):
    src = PlatformSource(SourceConfig(name="district", kind="platform", url="http://x"))
    return src.parse_page(page(list(raw), "c")).items


def test_an_item_is_reprocessed_after_its_payload_is_edited(db, users):
    stored = ingest_items(db, "district", "platform", platform_items(feed_item(1, received_at="2026-06-04T10:19:00")))
    (qid,) = stored.ids("quarantined")
    (row,) = quarantine.list_items(db)
    assert (row["id"], row["status"], row["external_id"]) == (qid, "open", "P-1")
    assert "no timezone" in row["reason"]
    # as it is, it still fails: it stays open, with the reason
    again = quarantine.reprocess(db, users["op1"], qid)
    assert not again.ok and "no timezone" in again.reason
    assert quarantine.get_item(db, qid)["status"] == "open"
    # edited: the operator adds the offset the source forgot
    payload = json.loads(quarantine.get_item(db, qid)["payload"])
    payload["received_at"] = "2026-06-04T10:19:00+08:00"
    done = quarantine.reprocess(db, users["op1"], qid, json.dumps(payload, ensure_ascii=False))
    assert done.ok and len(done.case_ids) == 1
    item = quarantine.get_item(db, qid)
    assert (item["status"], item["case_id"], item["decided_by"]) == ("reprocessed", done.case_ids[0], "op1")
    assert item["note"] == "payload edited by op1" and "+08:00" in item["payload"]
    case = get_case(db, done.case_ids[0])
    assert (case["external_id"], case["received"][:19]) == ("P-1", "2026-06-04T10:19:00")
    with pytest.raises(ValidationError, match="already reprocessed"):
        quarantine.reprocess(db, users["op1"], qid)
    # the source re-delivers the original, good item later: recognised, not created again
    later = ingest_items(db, "district", "platform", platform_items(feed_item(1)))
    assert later.ids("existing") == done.case_ids


def test_an_edit_that_is_still_wrong_is_kept_with_the_new_reason(db, users):
    (qid,) = ingest_items(db, "district", "platform", platform_items(feed_item(1, text=""))).ids("quarantined")
    result = quarantine.reprocess(db, users["op1"], qid, '{"id": "P-1", "channel": "FAX"}')
    assert not result.ok and "channel: one of" in result.reason
    item = quarantine.get_item(db, qid)
    assert item["payload"] == '{"id": "P-1", "channel": "FAX"}' and item["status"] == "open"
    assert "channel" in item["reason"]
    broken = quarantine.reprocess(db, users["op1"], qid, "{oops")
    assert not broken.ok and broken.reason.startswith("not valid JSON")


def test_discard_keeps_the_row_and_says_who(db, users):
    (qid,) = ingest_items(db, "district", "platform", platform_items("junk")).ids("quarantined")
    quarantine.discard(db, users["lead"], qid, "测试数据")
    assert quarantine.list_items(db) == []
    (row,) = quarantine.list_items(db, "discarded")
    assert (row["note"], row["decided_by"]) == ("测试数据", "lead")
    assert len(quarantine.list_items(db, None)) == 1
    with pytest.raises(ValidationError):
        quarantine.discard(db, users["lead"], qid)
    with pytest.raises(NotFoundError):
        quarantine.get_item(db, 999)
    with pytest.raises(ValidationError):
        quarantine.list_items(db, "bogus")


def test_only_desk_roles_handle_the_quarantine(db, users):
    (qid,) = ingest_items(db, "district", "platform", platform_items("junk")).ids("quarantined")
    with pytest.raises(PermissionDeniedError):
        quarantine.discard(db, users["station"], qid)
    with pytest.raises(PermissionDeniedError):
        quarantine.reprocess(db, users["gridteam"], qid)


def test_a_quarantined_page_reprocessed_moves_the_cursor_past_it(db, users, httpserver):
    pages = three_pages()
    good = pages["c1"]
    pages["c1"] = good.replace('"items"', '"itemz"')
    httpserver.expect_request("/feed").respond_with_handler(Feed(pages))
    cfg = source(httpserver)
    assert not poller(db, cfg).poll_all()[0].ok
    (row,) = quarantine.list_items(db)
    assert row["kind"] == "page" and "items must be a list" in row["reason"]
    result = quarantine.reprocess(db, users["op1"], row["id"], good, Settings(sources=(cfg,)))
    assert result.ok and len(result.case_ids) == 2
    assert read_cursor(db, "district") == "c2"  # the next round asks for the page after it
    after = poller(db, cfg).poll_all()[0]
    assert after.ok and after.created == 1
    with db.read() as s:
        assert len(s.scalars(select(Case)).all()) == 5


def test_open311_times_without_zone_can_be_reprocessed_once_the_source_assumes_one(db, users):
    doc = json.dumps(
        [{"service_request_id": 5, "description": "路灯不亮", "requested_datetime": "2026-06-04 20:00:00"}],
        ensure_ascii=False,
    )
    (qid,) = ingest_items(db, "c311", "open311", parse_requests(doc, "c311").items).ids("quarantined")
    assert "assume_tz" in quarantine.get_item(db, qid)["reason"]
    cfg = SourceConfig(name="c311", kind="open311", url="http://x", options={"assume_tz": "Asia/Shanghai"})
    result = quarantine.reprocess(db, users["op1"], qid, settings=Settings(sources=(cfg,)))
    assert result.ok
    assert get_case(db, result.case_ids[0])["received"].startswith("2026-06-04T20:00:00")


def test_a_later_good_delivery_closes_the_items_quarantine_row(db):
    (qid,) = ingest_items(db, "district", "platform", platform_items(feed_item(1, received_at="10:19"))).ids(
        "quarantined"
    )
    (cid,) = ingest_items(db, "district", "platform", platform_items(feed_item(1))).ids("created")  # fixed at source
    item = quarantine.get_item(db, qid)
    assert (item["status"], item["case_id"], item["note"]) == ("reprocessed", cid, "imported from a later delivery")
    assert quarantine.list_items(db) == []


def test_a_broken_copy_next_to_a_good_one_stays_quarantined_once(db):
    items = platform_items(feed_item(1, text=""), feed_item(1))
    for _ in range(3):  # delivered three times
        ingest_items(db, "district", "platform", items)
    (row,) = quarantine.list_items(db, None)
    assert (row["status"], row["times_seen"]) == ("open", 3)
