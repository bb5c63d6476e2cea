"""Fuzzed ingest against the database: every input item ends up imported or quarantined, never lost, never twice."""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import workstation.intake  # noqa: F401
from tests.test_intake_feed import CENTRE
from workstation.intake.formats import decode
from workstation.intake.ingest import ingest_items, quarantine_page
from workstation.intake.items import PageError
from workstation.intake.open311 import parse_requests
from workstation.intake.platform import PlatformSource
from workstation.intake.settings import SourceConfig
from workstation.models import Case, QuarantinedItem

_run = itertools.count()
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
feed_like = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(0, 50), st.sampled_from(["a", "b", ""]), st.none(), st.booleans()),
        "channel": st.sampled_from(["APP", "12345", "FAX", "", None, 7]),
        "text": st.one_of(text, st.just("井盖缺失"), st.none(), st.integers()),
        "received_at": st.sampled_from(
            ["2026-06-04T10:19:00+08:00", "2026-06-04T10:19:00", "昨天", "", None, 12, "2026-06-04T02:19:00Z"]
        ),
    },
    optional={
        "grid": st.sampled_from(["S13C01G01", "塘西河网格", "无此网格", "", 5]),
        "lon": st.one_of(st.just(CENTRE[0]), st.floats(allow_nan=False, allow_infinity=False), text),
        "lat": st.one_of(st.just(CENTRE[1]), st.floats(allow_nan=False, allow_infinity=False), text),
        "photos": st.one_of(st.lists(text, max_size=2), text, st.lists(st.integers(), max_size=2)),
        "reporter": st.one_of(st.fixed_dictionaries({"name": maybe(text), "phone": maybe(text)}), text),
        "urgency": st.sampled_from(["urgent", "low", "weird", 3]),
        "extra": text,
    },
)


def _accounted(db, source: str, channel_of, raw_items, stored) -> None:
    """Each input item is a case (by its key) or an open quarantine row holding its payload."""
    assert len(stored.outcomes) == len(raw_items)
    with db.read() as s:
        payloads = set(s.scalars(select(QuarantinedItem.payload).where(QuarantinedItem.source == source)))
        keys = set(s.execute(select(Case.channel, Case.external_id)).all())
    for item, outcome in zip(raw_items, stored.outcomes, strict=True):
        if outcome.status == "quarantined":
            assert outcome.id is not None and item.payload in payloads and outcome.reason
        else:
            assert (channel_of(item), item.report["external_id"]) in keys


@FUZZ
@given(st.lists(st.one_of(feed_like, text, st.integers()), min_size=1, max_size=8))
def test_fuzzed_feed_pages_lose_nothing_and_duplicate_nothing(db, entries):
    name = f"fz{next(_run)}"
    # ids unique to this example, so examples do not see each other's reports
    for e in entries:
        if isinstance(e, dict) and isinstance(e.get("id"), int) and not isinstance(e.get("id"), bool):
            e["id"] = f"{name}-{e['id']}"
    src = PlatformSource(SourceConfig(name=name, kind="platform", url="http://x"))
    body = json.dumps({"items": entries, "next_cursor": "n", "has_more": False}, ensure_ascii=False)
    page = src.parse_page(body)
    assert len(page.items) == len(entries)
    stored = src.store(db, page.items)
    _accounted(db, name, lambda i: str(i.report["channel"]).upper(), page.items, stored)
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(Case))
        held = s.scalar(select(func.count()).select_from(QuarantinedItem).where(QuarantinedItem.source == name))
    again = src.store(db, page.items)  # delivered twice: nothing new anywhere
    assert again.count("created") == 0
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before
        assert s.scalar(select(func.count()).select_from(QuarantinedItem).where(QuarantinedItem.source == name)) == held


SEED = json.dumps(
    [
        {
            "service_request_id": 1,
            "service_code": "001",
            "service_name": "垃圾",
            "description": "d",
            "requested_datetime": "2026-06-04T10:19:00+08:00",
            "lat": CENTRE[1],
            "long": CENTRE[0],
        },
        {"service_request_id": 2, "description": "e", "requested_datetime": "2026-06-04T10:19:00"},
    ],
    ensure_ascii=False,
)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SEED)), st.binary(max_size=3)), max_size=4))
def test_fuzzed_open311_bytes_are_imported_or_quarantined(db, edits):
    name = f"o{next(_run)}"
    data = SEED.encode()
    for pos, piece in edits:
        data = data[:pos] + piece + data[pos + 1 :]
    text, problem = decode(data)
    try:
        if problem:
            raise PageError(problem)
        page = parse_requests(text, name)
    except PageError as exc:
        qid = quarantine_page(db, name, "open311", text, exc.message)
        with db.read() as s:
            row = s.get(QuarantinedItem, qid)
            assert row is not None and row.kind == "page" and row.reason == exc.message
        return
    stored = ingest_items(db, name, "open311", page.items)
    _accounted(db, name, lambda i: "OPEN311", page.items, stored)
