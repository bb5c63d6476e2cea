"""Training scenarios: the shipped ones agree with their answer keys; bad files are refused by line and reason."""

from __future__ import annotations

import json

import pytest

from workstation.cli import main
from workstation.demo.scenarios import ScenarioError, list_scenarios, load_scenario, parse_scenario
from workstation.models import Category, Unit
from workstation.services.territory import grid_at, grid_by_name_or_code, place_of, resolve_unit

NAMED = {"ordinary_morning", "rush_hour", "rainstorm", "burst_water_main", "vulnerable_person"}


def test_shipped_scenarios_agree_with_their_answer_keys(db):
    scenarios = {sc.name: sc for sc in list_scenarios()}
    assert set(scenarios) >= NAMED
    with db.read() as s:
        for sc in scenarios.values():
            assert sc.title and sc.description and sc.duration > 0 and 1 <= sc.speed <= 60
            keys = [r.key for r in sc.reports]
            assert len(keys) == len(set(keys))
            earlier: dict[str, float] = {}
            for r in sorted(sc.reports, key=lambda r: r.offset):
                answer = r.answer
                if answer.merge:
                    assert answer.merge in earlier and sc.answers()[answer.merge].kind == "file", (sc.name, r.key)
                elif answer.category:
                    assert s.get(Category, answer.category) is not None
                    grid = grid_by_name_or_code(s, r.grid) if r.grid else grid_at(s, r.lon, r.lat)
                    unit = resolve_unit(s, answer.unit, place_of(s, grid.code if grid else None))
                    assert isinstance(unit, Unit), (sc.name, r.key, answer.unit)
                earlier[r.key] = r.offset
            for event in sc.events:
                assert sc.answers()[event.report].kind == "file"


def test_scenarios_teach_what_their_names_say():
    rain = load_scenario("rainstorm")
    cats = {r.answer.category for r in rain.reports}
    assert {"0707", "0802", "0607"} <= cats and any(r.answer.merge for r in rain.reports)
    burst = load_scenario("burst_water_main")
    first = min(burst.reports, key=lambda r: r.offset)
    assert first.answer.category == "0604" and first.answer.unit == "GS"
    storm = [r for r in burst.reports if r.answer.merge == first.key]
    assert len(storm) >= 8 and len({r.channel for r in storm}) >= 6
    care = load_scenario("vulnerable_person")
    assert any(r.channel == "VISIT" and r.answer.category in ("1107", "1108") for r in care.reports)


def test_every_scripted_text_gets_its_category_among_the_top_suggestions(db):
    from workstation.assist.categories import suggest_categories

    misses = []
    for sc in list_scenarios():
        for r in sc.reports:
            if r.answer.category:
                codes = [sg.code for sg in suggest_categories(db, r.text, None, limit=3)]
                if r.answer.category not in codes:
                    misses.append((sc.name, r.key, r.answer.category, codes))
    assert misses == []


GOOD = {
    "title": "t",
    "duration": 600,
    "reports": [
        {"key": "a", "offset": 0, "channel": "PDA", "text": "井盖缺失", "grid": "塘西河网格",
         "answer": {"category": "0601", "unit": "CG"}},
        {"key": "b", "offset": 30, "channel": "12345", "text": "井盖没了", "grid": "塘西河网格",
         "answer": {"merge": "a"}},
    ],
}  # fmt: skip


def _text(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _line_of(raw: str, needle: str) -> int:
    return raw[: raw.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("change", "needle", "reason"),
    [
        (lambda d: d["reports"][0]["answer"].update(category="9999"), '"answer"', "unknown category code 9999"),
        (lambda d: d["reports"][0]["answer"].update(unit="XX"), '"answer"', "unknown unit XX"),
        (lambda d: d["reports"][1].update(channel="FAX"), '"FAX"', "unknown channel FAX"),
        (lambda d: d["reports"][1]["answer"].update(merge="zz"), '"answer": {\n        "merge"', "merge key zz"),
        (lambda d: d["reports"][1].update(offset=-5), '"offset": -5', "offset -5 is negative"),
        (lambda d: d["reports"][1].pop("text"), '{\n      "key": "b"', "text: required"),
        (lambda d: d["reports"][1].update(grid="火星网格"), '"火星网格"', "unknown grid 火星网格"),
        (lambda d: d.update(events=[{"offset": 1, "kind": "unit_return", "report": "b", "reason": "x"}]),
         '"report": "b"', "not filed in the answer key"),
    ],
)  # fmt: skip
def test_a_bad_scenario_is_refused_with_the_line_and_reason(change, needle, reason):
    data = json.loads(json.dumps(GOOD))
    change(data)
    raw = _text(data)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "bad", "bad.json")
    problems = caught.value.problems
    assert len(problems) == 1, caught.value.message
    assert reason in problems[0].reason
    assert problems[0].line == _line_of(raw, needle), (raw, problems)
    assert caught.value.message.startswith(f"bad.json, line {problems[0].line}: ")


def test_merge_into_a_later_report_is_refused():
    data = json.loads(json.dumps(GOOD))
    data["reports"].reverse()
    with pytest.raises(ScenarioError, match="merge key a is not a report defined earlier"):
        parse_scenario(_text(data), "bad")


def test_unreadable_json_names_line_and_column():
    raw = '{\n  "title": "x",\n  "reports": [\n    {"key": "a",}\n  ]\n}\n'
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "bad", "bad.json")
    assert caught.value.problems[0].line == 4 and "column 17" in caught.value.problems[0].reason


def test_cli_lists_and_checks_scenarios(tmp_path, capsys):
    assert main(["--lang", "en", "demo", "scenarios"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in NAMED) and "17 reports" in out
    good = tmp_path / "good.json"
    good.write_text(_text(GOOD), encoding="utf-8")
    assert main(["--lang", "en", "demo", "check", str(good)]) == 0
    assert "valid, 2 reports and 0 events" in capsys.readouterr().out
    bad = json.loads(json.dumps(GOOD))
    bad["reports"][1]["offset"] = -1
    path = tmp_path / "bad.json"
    path.write_text(_text(bad), encoding="utf-8")
    assert main(["--lang", "en", "demo", "check", str(path)]) == 1
    err = capsys.readouterr().err
    line = _line_of(_text(bad), '"offset": -1')
    assert f"{path}, line {line}: reports[1] (b): offset -1 is negative" in err
