"""Suggestions an operator can trust: the learnt category model, the gazetteer, duplicates by place and time."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from workstation.assist import learning
from workstation.assist import model as category_model
from workstation.assist.duplicates import merge_candidates
from workstation.assist.places import locate
from workstation.assist.text import bigrams, jaccard
from workstation.demo.scenarios import load_scenario
from workstation.services import lifecycle as lc
from workstation.services.actors import Actor
from workstation.services.reports import add_report

DATA = Path(__file__).resolve().parent / "data"
PARKING = "超市门口电瓶车停得横七竖八，推婴儿车都过不去"
NIGHT_WORK = "对面楼盘凌晨还在浇筑，轰隆隆的吵死了"
CROSSING = "洞庭湖路与嵩山路交口向西10米"


def heldout(name: str = "assist_heldout.tsv") -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line[:1].isdigit():
            code, text = line.split("\t")
            rows.append((code, text))
    return rows


def suggest_json(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *texts: str
) -> list[dict]:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts) + "\n"))
    assert run_cli(["assist", "suggest", "--json", "--db", db_url, "--lang", "zh_CN"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# -- the done criteria, on the command line -------------------------------------------------------------


def test_cli_suggests_colloquial_categories_and_the_grid_of_an_address(db_url, monkeypatch, capsys):
    parking, night_work, crossing = suggest_json(db_url, monkeypatch, capsys, PARKING, NIGHT_WORK, CROSSING)
    assert parking["suggestions"][0]["code"] == "0201"
    (words,) = [r.split(" ", 1)[1] for r in parking["suggestions"][0]["reasons"] if r.startswith("词语 ")]
    assert words and all(word in PARKING for word in words.split("、"))  # the words that decided it
    assert night_work["suggestions"][0]["code"] == "0401"
    assert crossing["grid"]["name"] == "塘西河网格" and crossing["grid"]["code"] == "S13C01G01"
    assert "洞庭湖路与嵩山路交口向西10米" in crossing["grid"]["reason"]
    assert "grid" not in parking  # no address, no grid guessed


def test_cli_plain_output_names_the_grid_with_its_reason(db_url, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("洞庭湖和嵩山路交叉口往东30米井盖没了\n"))
    assert run_cli(["assist", "suggest", "--db", db_url, "--lang", "zh_CN"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("0601 ")
    assert "塘西河网格" in line.split(" | ")[1]


# -- the model --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), [("assist_heldout.tsv", 300), ("assist_dev5.tsv", 118)])
def test_evaluation_sets_cover_every_category_and_were_written_apart_from_the_training_data(name, size):
    rows = heldout(name)
    assert len(rows) >= size
    assert len({code for code, _t in rows}) == 118
    examples = [t for t, _c in category_model.seed_examples()]
    index: dict[str, set[int]] = {}
    grams = [bigrams(t) for t in examples]
    for i, g in enumerate(grams):
        for b in g:
            index.setdefault(b, set()).add(i)
    for _code, text in rows:
        mine = bigrams(text)
        near = set().union(*(index.get(b, set()) for b in mine))
        closest = max((jaccard(mine, grams[i]) for i in near), default=0.0)
        assert closest < 0.5, text  # no held-out or development text is a near copy of a training text


def test_the_fifth_development_set_is_not_a_near_copy_of_the_heldout_set():
    held = [bigrams(t) for _c, t in heldout()]
    for _code, text in heldout("assist_dev5.tsv"):
        mine = bigrams(text)
        assert max(jaccard(mine, other) for other in held) < 0.5, text


def test_cold_model_on_the_heldout_set_stays_at_its_measured_level():
    # measured 89.0% / 97.5% (README, bench/assist.py; 82.8% / 96.9% before issue #13's lexicon passes
    # and C = 0.1); the targets are 85% / 97%
    model = category_model.cold_model()
    rows = heldout()
    ranked = [[c for c, _p in model.ranked(text, 3)] for _code, text in rows]
    top1 = sum(r[0] == code for r, (code, _t) in zip(ranked, rows, strict=True)) / len(rows)
    top3 = sum(code in r for r, (code, _t) in zip(ranked, rows, strict=True)) / len(rows)
    assert top1 >= 0.87 and top3 >= 0.965, (top1, top3)


def test_probabilities_are_calibrated_and_sum_to_one():
    model = category_model.cold_model()
    probs = model.probabilities(PARKING)
    assert len(probs) == 118 and abs(sum(probs.values()) - 1.0) < 1e-6
    library = model.classifier.predict_proba(model.features.transform([PARKING]))[0]  # the fast path agrees
    assert max(abs(a - b) for a, b in zip(model.calibrated(PARKING), library, strict=True)) < 1e-9
    by_library = sorted(zip(model.classes, library, strict=True), key=lambda item: (-item[1], item[0]))
    assert [c for c, _p in model.ranked(PARKING, 10)] == [c for c, _p in by_library[:10]]  # the order is kept
    confident = [(model.ranked(t, 1)[0], code) for code, t in heldout()]
    sure = [(c == code) for (c, p), code in confident if p >= 0.9]
    unsure = [(c == code) for (c, p), code in confident if p < 0.5]
    assert sum(sure) / len(sure) >= 0.9  # a 0.9 is right nine times in ten
    assert sum(unsure) / max(len(unsure), 1) < 0.75


def test_training_on_filed_history_learns_a_districts_own_words():
    slang = "老破小东门又来了一群咕咕嘎"  # made-up local name for a hawkers' gang
    cold = category_model.cold_model()
    before = cold.probabilities(slang)["0204"]
    history = [(f"{place}又来了一群咕咕嘎", "0204") for place in ("东门", "西门", "楼道口", "北门", "南门", "路口")]
    history += [(text, code) for code, text in heldout()[:50]]
    learnt = category_model.train(history)
    assert learnt.history_size == len(history)
    assert cold.ranked(slang, 1)[0][0] != "0204"
    # first, and ten times likelier (combined with the cold model, which has not heard the word, it is not sure)
    assert learnt.ranked(slang, 1)[0][0] == "0204" and learnt.probabilities(slang)["0204"] > 10 * before


def test_repeated_phrasings_and_common_categories_do_not_crowd_out_the_shipped_data():
    lex = category_model.lexicon()
    templated = [(f"{n}号楼下非机动车乱停放，请处理", "0201") for n in range(50)]  # one phrasing, many places
    varied = [(o + q, "0101") for o in lex["0101"]["O"] for q in lex["0101"]["Q"]][:30]
    rare = [("老破小东门又来了一群咕咕嘎", "0204"), ("西门又来了一群咕咕嘎", "0204")]
    recent = templated + varied + rare
    weights = category_model.history_weights(recent, {"0201": 20.0, "0101": 10.0, "0204": 50.0})
    by_code = {
        code: sum(w for w, (_t, c) in zip(weights, recent, strict=True) if c == code)
        for code in ("0201", "0101", "0204")
    }
    assert abs(by_code["0201"] - category_model.REPEAT_LIMIT) < 1e-9  # fifty copies count as a few
    assert len({round(w, 9) for w in weights[: len(templated)]}) == 1
    assert abs(by_code["0101"] - category_model.CATEGORY_LIMIT * 10) < 1e-9  # no more than the shipped examples
    assert list(weights[-2:]) == [1.0, 1.0]  # a district's own new words keep their full weight


def test_cached_models_are_keyed_by_the_shipped_data(db, monkeypatch):
    store = learning.ModelStore(db.engine)
    before = store.cache_path()
    monkeypatch.setattr(category_model, "seed_digest", lambda: "other-data")
    assert store.cache_path() != before  # a model learnt on other shipped data is not loaded


def test_a_cached_learnt_model_is_used_once_the_cold_model_it_is_combined_with_is_loaded(db, monkeypatch):
    cold = category_model.cold_model()
    learnt = dataclasses.replace(cold, history_size=10)  # the cold classifier, as if it had learnt
    probs, alone = learnt.probabilities(PARKING), cold.probabilities(PARKING)
    assert max(abs(probs[c] - alone[c]) for c in cold.classes) < 1e-9  # agreeing models: the same answer
    store = learning.ModelStore(db.engine)
    store.model, store.trained_changes, store.loaded_cache = learnt, 0, True
    loads: list[bool] = []
    monkeypatch.setattr(category_model, "_cold", None)
    monkeypatch.setattr(store, "_cold_in_background", lambda: loads.append(True))
    assert store.current(changes=0, filed=0, wait=False) is None  # the window falls back to keywords meanwhile
    assert loads == [True]
    monkeypatch.setattr(category_model, "_cold", cold)
    assert store.current(changes=0, filed=0, wait=False) is learnt


def test_retraining_runs_in_the_background_and_swaps_the_model(db, monkeypatch, tmp_path):
    release, started = threading.Event(), threading.Event()
    cold = category_model.cold_model()

    def slow_train(history=(), seed=True):  # stands in for a long training
        started.set()
        assert release.wait(10)
        return cold

    monkeypatch.setattr(category_model, "train", slow_train)
    monkeypatch.setattr(learning, "MIN_HISTORY", 0)
    store = learning.ModelStore(db.engine)
    monkeypatch.setattr(store, "cache_path", lambda: tmp_path / "assist.pickle")
    assert store.current(changes=0, filed=1, wait=False) is cold  # answers at once with the cold model
    assert started.wait(10)
    assert store.current(changes=1, filed=1, wait=False) is cold  # still answering while training
    assert store.thread is not None
    thread = store.thread
    release.set()
    thread.join(10)
    assert store.trainings == 1 and store.model is cold and store.thread is None
    assert (tmp_path / "assist.pickle").exists()  # the next start begins with it


# -- the gazetteer ----------------------------------------------------------------------------------------


def test_gazetteer_has_thousands_of_places_each_with_a_point_and_grid():
    from workstation.resources import load_json

    gaz = load_json("assist", "gazetteer.json")
    total = sum(len(gaz[k]) for k in ("roads", "intersections", "landmarks", "doorplates"))
    assert total >= 5000
    kinds = {mark["kind"] for mark in gaz["landmarks"]}
    assert {"compound", "school", "market"} <= kinds


@pytest.mark.parametrize(
    ("text", "grid"),
    [
        (CROSSING, "塘西河网格"),
        ("洞庭湖和嵩山路口", "塘西河网格"),
        ("嵩山路洞庭湖路十字路口北侧20米", "塘西河网格"),
        ("华润蓝海北门电动车乱停", "华润蓝海网格"),
        ("市民来电反映塘西河网格内有人烧垃圾", "塘西河网格"),
    ],
)
def test_addresses_are_matched_tolerantly(text, grid):
    found = locate(text)
    assert found is not None and found.grid_name == grid


def test_an_offset_can_move_the_point_into_the_next_grid():
    here = locate("洞庭湖路与嵩山路交口")
    far = locate("洞庭湖路与嵩山路交口向东800米")
    assert here is not None and far is not None
    assert here.grid_name == "塘西河网格" and far.grid_name != "塘西河网格"
    assert far.lon > here.lon


def test_no_address_no_grid():
    assert locate("今天天气不错，路上车有点多") is None
    assert locate("") is None


def test_heldout_addresses_mostly_resolve():
    rows = [
        line.split("\t")
        for line in (DATA / "assist_addresses.tsv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    found = [locate(text) for text, _grid in rows]
    right = sum(f is not None and f.grid_name == grid for f, (_t, grid) in zip(found, rows, strict=True))
    assert right / len(rows) >= 0.9


def test_suggest_unit_follows_the_address_when_the_case_has_no_grid(db, users):
    from workstation.assist.categories import suggest_unit
    from workstation.models import Case

    cid = add_report(
        db,
        {
            "channel": "12345",
            "text": "市民来电反映：洞庭湖路与嵩山路交口向西10米电动车乱停",
            "received_at": "2026-06-04T10:19:00+08:00",
        },
    ).case_id
    with db.read() as s:
        case = s.get(Case, cid)
        assert case is not None and case.grid_code is None
        got = suggest_unit(s, case, category_code="0201")
    assert got is not None and got.code == "GRID-S13C01G01"
    assert "塘西河网格" in got.reason


# -- duplicates --------------------------------------------------------------------------------------------


def test_rainstorm_second_report_of_the_flooded_crossing_offers_the_first(db):
    rain = load_scenario("rainstorm")
    start = datetime.fromisoformat("2026-06-04T14:00:00+08:00")
    first, second = rain.reports[0], rain.reports[1]
    assert second.answer.merge == first.key and second.offset - first.offset <= 120
    assert jaccard(bigrams(first.text), bigrams(second.text)) < 0.2  # text alone would miss it
    a = add_report(db, first.to_report(start + timedelta(seconds=first.offset))).case_id
    b = add_report(db, second.to_report(start + timedelta(seconds=second.offset))).case_id
    found = merge_candidates(db, b)
    assert found and found[0].case_id == a
    assert any("0707" in reason for reason in found[0].reasons)


def test_same_place_and_time_but_another_problem_is_not_offered(db):
    at = datetime.fromisoformat("2026-06-04T14:00:00+08:00")
    a = add_report(
        db,
        {
            "channel": "PDA",
            "text": "东风花园南门下水道堵了，污水漫到路上",
            "grid": "东风花园网格",
            "received_at": at.isoformat(),
        },
    ).case_id
    b = add_report(
        db,
        {
            "channel": "PDA",
            "text": "东风花园门口路灯不亮",
            "grid": "东风花园网格",
            "received_at": (at + timedelta(minutes=20)).isoformat(),
        },
    ).case_id
    assert all(c.case_id != a for c in merge_candidates(db, b))


def test_every_scenario_answer_key_duplicate_found_with_few_false_offers(db):
    from workstation.demo.scenarios import list_scenarios

    operator = Actor("op", "operator")
    hit = offered = wanted = 0
    start = datetime.fromisoformat("2026-07-01T08:00:00+08:00")
    for k, scenario in enumerate(list_scenarios()):
        ids: dict[str, int] = {}
        for report in scenario.reports:
            at = start + timedelta(days=30 * k, seconds=report.offset)
            cid = add_report(db, report.to_report(at)).case_id
            ids[report.key] = cid
            earlier = [c.case_id for c in merge_candidates(db, cid) if c.case_id < cid]
            target = ids.get(report.answer.merge) if report.answer.merge else None
            wanted += target is not None
            offered += bool(earlier)
            hit += bool(earlier) and earlier[0] == target
            if target is not None:
                lc.merge(db, operator, cid, target)
            elif report.answer.category:
                lc.file(db, operator, cid, report.answer.category)
            elif report.answer.reject:
                lc.reject(db, operator, cid, "test")
    assert wanted >= 10
    assert hit / wanted >= 0.85 and hit / offered >= 0.9


# -- repeat complaints and the 4+X joint team ---------------------------------------------------------------


def _filed(db, users, text: str, at: datetime, code: str, grid: str = "塘西河网格") -> int:
    cid = add_report(db, {"channel": "12345", "text": text, "grid": grid, "received_at": at.isoformat()}).case_id
    lc.file(db, users["op1"], cid, code)
    return cid


def test_third_report_in_thirty_days_at_one_place_is_a_repeat_for_the_joint_team(db, users):
    from workstation.assist.hotspots import hotspots, repeat_of
    from workstation.models import Unit

    t0 = datetime.fromisoformat("2026-06-01T20:00:00+08:00")
    first = _filed(db, users, "楼下烧烤摊油烟太大", t0, "0207")
    second = _filed(db, users, "又在楼下露天烧烤了", t0 + timedelta(days=10), "0207")
    other_kind = _filed(db, users, "楼下垃圾桶满了", t0 + timedelta(days=11), "0104")
    elsewhere = _filed(db, users, "烧烤摊又来了", t0 + timedelta(days=12), "0207", grid="华润蓝海网格")
    assert repeat_of(db, second) is None  # twice is not yet a pattern
    third = _filed(db, users, "烧烤摊天天烤到半夜，说了多少次了", t0 + timedelta(days=20), "0207")
    found = repeat_of(db, third)
    assert found is not None and found.earlier == [first, second] and found.unit == "JOINT"
    assert "3" in found.reason and "4+X" in found.reason
    assert other_kind not in found.earlier and elsewhere not in found.earlier
    late = _filed(db, users, "烧烤摊还在", t0 + timedelta(days=45), "0207")
    assert repeat_of(db, late) is None or first not in repeat_of(db, late).earlier  # type: ignore[union-attr]
    spots = hotspots(db, t0 + timedelta(days=21))
    assert [(h.grid_name, h.category, h.case_ids) for h in spots] == [("塘西河网格", "0207", [first, second, third])]
    with db.read() as s:
        joint = s.get(Unit, "JOINT")
        assert joint is not None and joint.active and joint.joint_enforcement == "4+X"


def test_cli_hotspots_and_repeats(db, db_url, users, capsys):
    t0 = datetime.fromisoformat("2026-06-01T20:00:00+08:00")
    ids = [_filed(db, users, "小区门口又有人占道摆摊", t0 + timedelta(days=d), "0204") for d in (0, 3, 6)]
    from workstation import clock

    with clock.using(lambda: t0 + timedelta(days=7)):
        assert run_cli(["assist", "hotspots", "--json", "--as", "lead", "--db", db_url]) == 0
    (spot,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (spot["grid_name"], spot["category"], spot["count"], spot["cases"]) == ("塘西河网格", "0204", 3, ids)
    assert run_cli(["assist", "repeats", str(ids[2]), "--as", "op1", "--db", db_url, "--lang", "zh_CN"]) == 0
    out = capsys.readouterr().out
    assert "4+X" in out and f"#{ids[0]}" in out and f"#{ids[1]}" in out
