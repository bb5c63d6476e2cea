"""The suggestion engine: pinyin matching, category and unit suggestions, merge candidates, and its CLI."""

from __future__ import annotations

import io
import json
import math
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import ARTICLE_TEXT, article_report
from workstation.assist import pinyin
from workstation.assist.categories import HistoryIndex, Suggestion, suggest_categories, suggest_unit
from workstation.assist.duplicates import merge_candidates
from workstation.cli import main
from workstation.domain.geo import distance_m
from workstation.models import Case, Category
from workstation.services import lifecycle as lc
from workstation.services.actors import Actor
from workstation.services.errors import NotFoundError
from workstation.services.reports import add_report

T0 = datetime.fromisoformat("2026-06-04T10:19:00+08:00")
EAST_EDGE_OF_G01 = (117.2720, 31.7360)  # inside 塘西河网格 (S13C01G01), 50 m from 华润蓝海网格 (S13C01G02)


def add(db, text: str, at: datetime = T0, **fields) -> int:
    report = article_report(external_id=None, text=text, received_at=at.isoformat(), **fields)
    if "lon" in fields:
        report.pop("grid")
    return add_report(db, report).case_id


def east(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + metres / (111_194.9 * math.cos(math.radians(point[1]))), point[1]


# -- pinyin -------------------------------------------------------------------------------------------


def test_pinyin_initials_and_full():
    assert pinyin.initials("非机动车乱停放") == "fjdcltf"
    assert pinyin.initials("A1 路Ab") == "a1lab"
    assert pinyin.full("非机动车") == "feijidongche"
    assert pinyin.full("绿地") == "lvdi"


def test_pinyin_matches_ranks():
    item = ("0201", "非机动车乱停放", "电动车", "自行车")
    assert pinyin.matches("fjdc", *item) == pinyin.RANK_INITIALS_PREFIX
    assert pinyin.matches("FJDC", *item) == pinyin.RANK_INITIALS_PREFIX
    assert pinyin.matches("xyz", *item) is None
    assert pinyin.matches("0201", *item) == pinyin.RANK_CODE_EXACT
    assert pinyin.matches("02", *item) == pinyin.RANK_CODE_PREFIX
    assert pinyin.matches("非机", *item) == pinyin.RANK_NAME_PREFIX
    assert pinyin.matches("乱停", *item) == pinyin.RANK_NAME_SUBSTRING
    assert pinyin.matches("自行", *item) == pinyin.RANK_KEYWORD
    assert pinyin.matches("ltf", *item) == pinyin.RANK_INITIALS_SUBSTRING
    assert pinyin.matches("feiji", *item) == pinyin.RANK_FULL_PREFIX
    assert pinyin.matches("zxc", *item) == pinyin.RANK_KEYWORD_PINYIN
    assert pinyin.matches("01", *item) is None
    assert pinyin.matches("", *item) == 0
    # the same item given as a label first ("code name"), then code, major category and keywords
    label = ("0201 非机动车乱停放", "0201", "街面秩序", "电动车", "自行车")
    for query in ("fjdc", "0201", "02", "非机", "乱停", "自行", "ltf", "feiji", "zxc", "xyz", "01", "jmzx"):
        assert pinyin.matches(query, *label) == pinyin.matches(query, *item, "街面秩序"), query
    # a unit picker passes name and code
    assert pinyin.matches("jjdd", "交警大队", "JJ") == pinyin.RANK_INITIALS_PREFIX
    assert pinyin.matches("grid-s13", "塘西河网格综管队", "GRID-S13C01G01") == pinyin.RANK_CODE_PREFIX
    assert pinyin.matches("jjdd", "JJ", "交警大队") == pinyin.RANK_INITIALS_PREFIX
    assert pinyin.matches("jj", "JJ", "交警大队") == pinyin.RANK_CODE_EXACT


# -- categories ---------------------------------------------------------------------------------------


def test_article_text_is_non_motor_vehicle_parking_with_keyword_reason(db):
    found = suggest_categories(db, ARTICLE_TEXT)
    assert len(found) == 3
    assert isinstance(found[0], Suggestion)
    assert (found[0].code, found[0].name) == ("0201", "非机动车乱停放")
    assert "keyword 非机动车" in found[0].reasons
    assert "name 非机动车乱停放" in found[0].reasons
    assert 0.0 < found[2].score <= found[1].score <= found[0].score <= 1.0
    # 机动车 inside 非机动车 is weak evidence for 机动车乱停放
    assert found[1].score < 0.5


def test_history_of_filed_cases_decides_similar_texts(db, users):
    similar = [
        "锦绣苑东门外人行道上摆满了花盆",
        "锦绣苑东门人行道上有人摆放很多花盆",
        "锦绣苑东门外的人行道被花盆占满",
        "锦绣苑东门外人行道花盆摆了一排",
    ]
    new_text = "锦绣苑东门外人行道上又摆满花盆了"
    before = suggest_categories(db, new_text)
    assert before and before[0].code != "0105"  # the keyword 人行道 points elsewhere
    for text in similar:
        lc.file(db, users["op1"], add(db, text), "0105")
    lc.file(db, users["op1"], add(db, "锦绣苑东门外有共享单车乱停放"), "0203")
    after = suggest_categories(db, new_text)
    assert after[0].code == "0105"
    assert after[0].reasons[0] == "4 similar cases filed as 0105"
    assert after[0].score > max((sg.score for sg in before if sg.code == "0105"), default=0.0)
    # the index follows changes of old cases too: undoing the filings withdraws their votes
    with db.read() as s:
        filed = s.scalars(select(Case.id).where(Case.category_code == "0105")).all()
    for cid in filed:
        lc.undo(db, users["op1"], cid)
    undone = suggest_categories(db, new_text)
    assert undone[0].code != "0105"
    assert not any("filed as 0105" in reason for sg in undone for reason in sg.reasons)


def test_same_grid_history_and_exclusion(db, users):
    cid = add(db, "锦绣苑东门外人行道上摆满了花盆")
    lc.file(db, users["op1"], cid, "0105")
    found = suggest_categories(db, "锦绣苑东门外人行道上摆满了花盆", grid_code="S13C01G01", limit=5)
    elsewhere = suggest_categories(db, "锦绣苑东门外人行道上摆满了花盆", grid_code="S01C01G01", limit=5)
    score = {sg.code: sg.score for sg in found}["0105"]
    assert score > {sg.code: sg.score for sg in elsewhere}["0105"]
    excluded = suggest_categories(db, "锦绣苑东门外人行道上摆满了花盆", limit=5, exclude_case=cid)
    assert {sg.code: sg.score for sg in excluded}.get("0105", 0.0) < score
    assert not any("similar cases" in reason for sg in excluded for reason in sg.reasons)


def test_inactive_categories_are_never_suggested(fresh_db):
    db = fresh_db()
    operator = Actor("op", "operator")
    for text in ("锦绣苑东门外人行道上摆满了花盆", "锦绣苑东门人行道上摆满花盆"):
        lc.file(db, operator, add(db, text), "0105")
    assert suggest_categories(db, "锦绣苑东门外人行道上又摆满花盆了")[0].code == "0105"
    with db.write() as s:
        s.execute(update(Category).where(Category.code.in_(["0201", "0105"])).values(active=False))
    found = suggest_categories(db, ARTICLE_TEXT, limit=10)
    assert found and all(sg.code != "0201" for sg in found)
    assert all(sg.code != "0105" for sg in suggest_categories(db, "锦绣苑东门外人行道上又摆满花盆了", limit=10))


def test_every_category_name_suggests_its_category(db):
    with db.read() as s:
        cats = s.execute(select(Category.code, Category.name).where(Category.active).order_by(Category.code)).all()
        assert len(cats) == 118
        ranks = []
        for code, name in cats:
            codes = [sg.code for sg in suggest_categories(s, "发现" + name)]
            ranks.append(codes.index(code) if code in codes else None)
    assert sum(r == 0 for r in ranks) >= 0.95 * len(cats)
    assert all(r is not None for r in ranks)


def test_ordering_is_deterministic_missing_before_broken(db):
    found = suggest_categories(db, "井盖丢了", limit=5)
    assert [sg.code for sg in found[:2]] == ["0601", "0602"]  # 丢了 is missing, not broken
    assert found[0].score > found[1].score
    assert [(sg.code, sg.score) for sg in suggest_categories(db, "井盖丢了", limit=5)] == [
        (sg.code, sg.score) for sg in found
    ]
    assert suggest_categories(db, "   ") == []


def test_history_index_is_bounded():
    index = HistoryIndex(capacity=3)
    for i in range(1, 6):
        index._put(i, "0105", None, f"第{i}号花盆摆满人行道")
    assert len(index) == 3 and list(index.entries) == [3, 4, 5]
    assert all(ids <= {3, 4, 5} for ids in index.postings.values())


def test_suggest_unit(db, users):
    cid = add(db, ARTICLE_TEXT)
    lc.file(db, users["op1"], cid, "0201")
    no_grid = add(db, "某处有非机动车乱停放", grid=None)
    with db.read() as s:
        case = s.get(Case, cid)
        got = suggest_unit(s, case)
        assert got is not None
        assert (got.code, got.name) == ("GRID-S13C01G01", "塘西河网格综管队")
        assert got.reason == "category 0201 → grid team of 塘西河网格"
        street = suggest_unit(s, cid, category_code="0102")
        assert street is not None and (street.code, street.reason) == (
            "STREET-S13",
            "category 0102 → street office of 方兴社区",
        )
        dept = suggest_unit(s, case, category_code="0202")
        assert dept is not None and (dept.code, dept.name, dept.reason) == (
            "JJ",
            "交警大队",
            "category 0202 → 交警大队",
        )
        assert suggest_unit(s, no_grid) is None  # not filed
        assert suggest_unit(s, no_grid, category_code="0201") is None  # GRID needs a grid
        assert suggest_unit(s, no_grid, category_code="0202").code == "JJ"  # type: ignore[union-attr]


# -- duplicates ---------------------------------------------------------------------------------------


def test_merge_candidates_near_in_time_and_place(db, users):
    p = EAST_EDGE_OF_G01
    target = add(db, ARTICLE_TEXT, lon=p[0], lat=p[1])
    same_grid = add(db, "洞庭湖路嵩山路交口路南侧非机动车乱停放严重", T0 + timedelta(hours=3))
    hundred = east(p, 100)
    near = add(db, "洞庭湖路与嵩山路交口非机动车乱停放", T0 - timedelta(days=2), lon=hundred[0], lat=hundred[1])
    far = east(p, 5000)
    add(db, ARTICLE_TEXT, lon=far[0], lat=far[1])
    add(db, ARTICLE_TEXT, T0 - timedelta(days=10))
    add(db, "塘西河公园路灯不亮", T0)
    rejected = add(db, ARTICLE_TEXT)
    lc.reject(db, users["op1"], rejected, "重复上报")
    with db.read() as s:
        grids = {cid: grid for cid, grid in s.execute(select(Case.id, Case.grid_code))}
    assert grids[target] == "S13C01G01" and grids[near] == "S13C01G02"

    found = merge_candidates(db, target)
    assert sorted(c.case_id for c in found) == [same_grid, near]
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    by_id = {c.case_id: c for c in found}
    assert "same grid" in by_id[same_grid].reasons
    assert any(r.startswith("similar text ") for r in by_id[same_grid].reasons)
    metres = [int(m) for r in by_id[near].reasons for m in re.findall(r"^(\d+) m away$", r)]
    assert metres and 95 <= metres[0] <= 105
    assert "same grid" not in by_id[near].reasons
    assert all(0 < c.score <= 1 for c in found)
    assert distance_m(p, hundred) == pytest.approx(100, abs=1)
    assert [c.case_id for c in merge_candidates(db, target, limit=1)] == [found[0].case_id]
    with pytest.raises(NotFoundError):
        merge_candidates(db, 999_999)


# -- command line -------------------------------------------------------------------------------------


def test_cli_suggest_prints_three_codes_per_line(db_url, capsys, monkeypatch):
    texts = [ARTICLE_TEXT, "垃圾桶满溢了没人清理", "小区楼道里有人飞线给电动车充电"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join([texts[0], "", *texts[1:]]) + "\n"))
    assert main(["assist", "suggest", "--db", db_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for line in lines:
        parts = line.split(" | ")[0].split("; ")
        assert len(parts) == 3
        assert all(re.match(r"^\d{4} [01]\.\d\d \S+$", part) for part in parts)
    assert lines[0].startswith("0201 ")

    monkeypatch.setattr("sys.stdin", io.StringIO(ARTICLE_TEXT + "\n"))
    assert main(["assist", "suggest", "--json", "--db", db_url]) == 0
    item = json.loads(capsys.readouterr().out)
    assert item["text"] == ARTICLE_TEXT
    assert item["suggestions"][0]["code"] == "0201"
    assert set(item["suggestions"][0]) == {"code", "name", "score", "reasons"}
    assert len(item["suggestions"]) == 3


def test_cli_duplicates(db, db_url, capsys):
    target = add(db, ARTICLE_TEXT)
    dup = add(db, "洞庭湖路嵩山路交口路南侧非机动车乱停放严重", T0 + timedelta(hours=1))
    assert main(["assist", "duplicates", str(target), "--json", "--db", db_url]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["case"] for r in rows] == [dup]
