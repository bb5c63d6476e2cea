"""Generated report texts: every category, every channel, duplicates, rejectable reports, determinism."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from workstation.demo.reference import Reference
from workstation.demo.texts import CHANNEL_MIX, REJECT_KINDS, ReportFactory, generate
from workstation.domain.channels import CHANNELS
from workstation.domain.geo import contains, distance_m


@pytest.fixture
def ref(db) -> Reference:
    return Reference.from_db(db)


def test_every_category_gets_texts_naming_its_problem(ref):
    assert len(ref.categories) == 118
    factory = ReportFactory(ref, random.Random(5))
    for code, cat in ref.categories.items():
        for _ in range(4):
            report = factory.ordinary(code)
            assert report.answer.category == code and report.answer.unit == cat.unit
            assert any(k in report.text for k in cat.keywords), (code, report.text)
            assert report.channel in CHANNELS
            grid = ref.grids[report.grid]
            assert contains(grid.polygon, report.lon, report.lat)
            assert report.address and report.place in report.text


def test_channels_write_in_their_own_style(ref):
    factory = ReportFactory(ref, random.Random(9))
    for _ in range(40):
        hotline = factory.ordinary("0101", "12345")
        assert hotline.text.startswith(("市民来电反映：", "来电人称"))
        police = factory.ordinary("0914", "POLICE")
        assert police.text.startswith("110非警务警情转办") and police.reporter_name == "110指挥中心"
        pda = factory.ordinary("0201", "PDA")
        assert not pda.text.startswith("市民") and pda.reporter_name in ref.grids[pda.grid].staff


def test_stream_mixes_channels_duplicates_and_rejects(ref):
    reports = generate(ref, seed=3, count=3000)
    channels = Counter(r.channel for r in reports)
    assert set(channels) == set(CHANNEL_MIX)
    assert channels["PDA"] > channels["12345"] > channels["WECHAT"] > channels["OPEN311"]
    kinds = Counter(r.answer.kind for r in reports)
    assert kinds["file"] > 2500 and 100 < kinds["merge"] < 400 and 50 < kinds["reject"] < 250
    assert {r.answer.reject for r in reports if r.answer.reject} == set(REJECT_KINDS)
    by_key = {r.key: r for r in reports}
    for dup in (r for r in reports if r.answer.merge):
        original = by_key[dup.answer.merge]
        assert original.answer.kind == "file" and int(original.key[1:]) < int(dup.key[1:])
        assert dup.grid == original.grid and dup.channel != original.channel
        assert distance_m((dup.lon, dup.lat), (original.lon, original.lat)) < 100
        assert original.place in dup.text  # the same place, in similar words
    for rejected in (r for r in reports if r.answer.reject):
        assert rejected.grid is None and rejected.lon is None


def test_same_seed_same_reports_without_global_random(ref):
    random.seed(1)
    first = generate(ref, seed=11, count=300)
    random.seed(2)
    second = generate(ref, seed=11, count=300)
    assert first == second
    assert generate(ref, seed=12, count=300) != first


def test_report_goes_into_the_queue_with_its_grid(db, ref):
    from datetime import UTC, datetime

    from workstation.services.queries import get_case
    from workstation.services.reports import add_report

    report = ReportFactory(ref, random.Random(1)).ordinary("0707", "12345", "S13C01")
    added = add_report(db, report.to_report(datetime(2026, 6, 4, 2, tzinfo=UTC), "x-1"))
    case = get_case(db, added.case_id)
    assert case["grid"] == report.grid and case["text"] == report.text and case["community"] == "塘西河社区"
