"""Scoring a trainee: figures from hand-made facts, and from a stored run's real case histories."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import article_report, run_cli
from workstation import clock
from workstation.demo.scoring import (
    ItemFacts,
    add_item,
    add_keystrokes,
    create_run,
    record_outcomes,
    score,
    score_run,
)
from workstation.demo.texts import Answer
from workstation.models import DemoRunItem
from workstation.services import lifecycle as lc
from workstation.services.errors import NotFoundError
from workstation.services.reports import add_report

T0 = datetime(2026, 6, 4, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_score_from_hand_made_facts():
    cat = Answer
    items = [
        ItemFacts("a", cat("0707", "CG"), T0, at(30), at(60), "0707", "CG", "CG", keystrokes=12),
        ItemFacts(
            "b", cat("0201", "GRID"), T0, at(45), at(120), "0201", "GRID-S13C01G02", "GRID-S13C01G01", keystrokes=20
        ),
        ItemFacts("c", cat("0604", "GS"), T0, at(10), at(300), "0605", "GS", "GS", keystrokes=8, deadline_missed=True),
        ItemFacts("d", Answer(reject="vague"), T0, at(20), rejected=True, keystrokes=4),
        ItemFacts("e", Answer(merge="a"), T0, at(50), merged_into="a", keystrokes=3),
        ItemFacts("f", Answer(merge="a"), T0),
        ItemFacts("g", cat("0101", "GRID"), T0, at(15), rejected=True, keystrokes=5),
        ItemFacts("h", cat("0301", "GRID"), T0, expected_unit="GRID-S01C01G01"),
    ]
    result = score(items)
    assert json.loads(json.dumps(result)) == result  # JSON-serialisable as it is
    assert (result["items"], result["acted_on"], result["correct"]) == (8, 6, 3)
    assert result["dispatch_seconds"] == {"count": 3, "median": 120.0, "p90": 300.0}
    assert result["first_action_seconds"] == {"count": 6, "median": 25.0, "p90": 50.0}
    assert result["category"] == {"expected": 5, "correct": 2, "accuracy": 0.4}
    assert result["unit"] == {"expected": 3, "correct": 2, "accuracy": 0.667}
    assert result["reject"] == {"expected": 1, "correct": 1, "wrong": 1}
    assert result["merge"] == {"expected": 2, "correct": 1}
    assert result["deadlines_missed"] == 1
    assert result["keystrokes"] == {"total": 52, "per_case": 8.7}
    per = {i["key"]: i for i in result["per_item"]}
    assert per["b"]["correct"] is False and per["b"]["outcome"] == "dispatched"
    assert per["e"]["outcome"] == "merged" and per["e"]["correct"] is True
    assert per["h"]["outcome"] == "open" and per["h"]["dispatch_seconds"] is None


def test_score_of_nothing_is_empty_not_an_error():
    result = score([])
    assert result["dispatch_seconds"] == {"count": 0, "median": None, "p90": None}
    assert result["category"]["accuracy"] is None and result["keystrokes"]["per_case"] is None


def _report(db, key: str, run: int, **extra) -> int:
    data = article_report(external_id=f"demo-{run}-{key}", received_at=T0.isoformat(), **extra)
    return add_report(db, data).case_id


def test_score_run_reads_what_the_trainee_really_did(db, users):
    op, other = users["op1"], users["op2"]
    run = create_run(db, "hand", "op1", T0, 10.0, 7)
    a, b, c, d = (_report(db, k, run) for k in "abcd")
    add_item(db, run, "a", a, T0, Answer("0201", "GRID"))
    add_item(db, run, "b", b, T0, Answer("0201", "JJ"))
    add_item(db, run, "c", c, T0, Answer(merge="a"))
    add_item(db, run, "d", d, T0, Answer(reject="out_of_scope"))
    with clock.using(lambda: at(40)):
        lc.file(db, op, a, "0201")
    with clock.using(lambda: at(90)):
        lc.dispatch(db, op, a)  # GRID -> the grid team of the case's place
    with clock.using(lambda: at(20)):
        lc.file(db, other, b, "0202")  # someone else's action is not the trainee's first action
    with clock.using(lambda: at(200)):
        lc.dispatch(db, op, b, "CG")
        lc.merge(db, op, c, a)
    with clock.using(lambda: at(7200 * 5)):  # long after the 2 working hours of 0202
        lc.reject(db, op, d, "广告")
    assert add_keystrokes(db, run, a, 9) and add_keystrokes(db, run, a, 3)
    assert not add_keystrokes(db, run, 999999, 5)
    result = score_run(db, run)
    per = {i["key"]: i for i in result["per_item"]}
    assert per["a"]["first_action_seconds"] == 40 and per["a"]["dispatch_seconds"] == 90
    assert per["a"]["unit"] == "GRID-S13C01G01" and per["a"]["correct"] is True and per["a"]["keystrokes"] == 12
    assert per["b"]["first_action_seconds"] == 200 and per["b"]["category"] == "0202" and not per["b"]["correct"]
    assert per["c"]["merged_into"] == "a" and per["c"]["correct"]
    assert per["d"]["outcome"] == "rejected" and per["d"]["correct"]
    assert result["category"] == {"expected": 2, "correct": 1, "accuracy": 0.5}
    assert result["unit"] == {"expected": 2, "correct": 1, "accuracy": 0.5}
    assert result["run"]["trainee"] == "op1" and result["run"]["finished"] is None
    record_outcomes(db, run, at(7200 * 6))
    with db.read() as s:
        stored = {i.key: i for i in s.query(DemoRunItem).filter(DemoRunItem.run_id == run)}
    assert stored["a"].outcome == "dispatched" and stored["a"].dispatched_at == at(90)
    assert stored["a"].deadline_missed and stored["b"].deadline_missed  # 2 working hours, never handled
    assert not stored["c"].deadline_missed and not stored["d"].deadline_missed
    assert stored["c"].merged_into_key == "a" and stored["d"].outcome == "rejected"
    assert score_run(db, run)["run"]["finished"] == at(7200 * 6).isoformat()


def test_score_cli(db, db_url, users, capsys):
    run = create_run(db, "hand", "op1", T0, 10.0, 7)
    add_item(db, run, "a", _report(db, "a", run), T0, Answer("0201", "GRID"))
    as_trainer = ["--as", "trainer", "--db", db_url]
    assert run_cli(["--lang", "en", "demo", "score", str(run), *as_trainer, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 1
    assert run_cli(["--lang", "en", "demo", "score", str(run), *as_trainer]) == 0
    assert "category: 0 of 1 right" in capsys.readouterr().out
    assert run_cli(["--lang", "en", "demo", "score", "424242", *as_trainer]) == 1
    with pytest.raises(NotFoundError):
        score_run(db, 424242)
