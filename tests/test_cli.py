"""The command line, run in-process: the acceptance scenario, every command, and every kind of bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text, update

from tests.conftest import ARTICLE_TEXT, PASSWORD, article_report, run_cli
from workstation.cli import main
from workstation.cli.cases import CSV_COLUMNS
from workstation.models import Case, utcnow
from workstation.services import accounts
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.storage.db import make_engine

Result = Any  # pytest's CaptureResult


@pytest.fixture(autouse=True)
def _no_default_database(tmp_path, monkeypatch):
    """No command may fall back to the user's own database: a forgotten --db would land here and fail the test."""
    monkeypatch.delenv("WORKSTATION_USER", raising=False)
    guard = tmp_path / "fallback.sqlite"
    monkeypatch.setenv("WORKSTATION_DB", str(guard))
    yield
    assert not guard.exists(), "a command ignored --db"


@pytest.fixture
def cli(db_url, capsys) -> Callable[..., Result]:
    """Run one command against the test database; check its exit code; return what it printed."""

    def run(*args: str, code: int = 0, db: str | None = None, password: str | None = PASSWORD) -> Result:
        rc = run_cli([*args, "--db", db or db_url], password=password)
        out = capsys.readouterr()
        assert rc == code, f"exit {rc}\nstdout: {out.out}\nstderr: {out.err}"
        return out

    return run


def _jsonl(path: Path, *reports: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reports), encoding="utf-8")
    return path


def _too_new(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('ffff9999')"))
    engine.dispose()


# -- the acceptance scenario -----------------------------------------------------------------------


def test_acceptance_scenario_end_to_end(cli, db, users, tmp_path):
    report = {
        "channel": "PDA",
        "external_id": "PDA-20200604-1019",
        "text": ARTICLE_TEXT,
        "grid": "塘西河网格",
        "received_at": "2026-06-04T10:19:00+08:00",
    }
    source = _jsonl(tmp_path / "article.jsonl", report)
    out = cli("report", "add", str(source), "--as", "op1")
    assert out.out.splitlines() == ["line 1: added as case 1"]
    assert out.err.strip() == "1 added, 0 already present, 0 refused"
    out = cli("report", "add", str(source), "--as", "op1")  # sent again: the same case
    assert out.out.splitlines() == ["line 1: already present as case 1"]
    assert out.err.strip() == "0 added, 1 already present, 0 refused"

    out = cli("case", "file", "1", "--category", "0201", "--as", "op1")
    assert out.out.splitlines()[0] == "case 1: filed (version 2)"
    assert out.out.splitlines()[1].startswith("  deadline: ")
    out = cli("case", "dispatch", "1", "--as", "op1")
    lines = out.out.splitlines()
    assert lines[:2] == ["case 1: dispatched (version 3)", "  unit: 塘西河网格综管队 (GRID-S13C01G01)"]

    case = json.loads(cli("case", "show", "1", "--json", "--as", "op1").out)
    assert case["status"] == "dispatched"
    assert (case["unit_code"], case["unit_name"]) == ("GRID-S13C01G01", "塘西河网格综管队")
    assert (case["grid"], case["grid_name"], case["community"], case["street"]) == (
        "S13C01G01",
        "塘西河网格",
        "塘西河社区",
        "方兴社区",
    )
    assert (case["category_code"], case["category_name"], case["time_limit"]) == ("0201", "非机动车乱停放", "2wh")
    assert case["text"] == ARTICLE_TEXT and case["channel"] == "PDA" and case["overdue"] is False
    assert [(e["action"], e["from"], e["to"], e["actor"]) for e in case["history"]] == [
        ("report", None, "reported", "op1"),
        ("file", "reported", "filed", "op1"),
        ("dispatch", "filed", "dispatched", "op1"),
    ]
    assert lines[2] == f"  deadline: {case['deadline']}"

    shown = cli("case", "show", "1", "--as", "op1").out
    assert "塘西河网格综管队 (GRID-S13C01G01)" in shown
    assert "方兴社区 / 塘西河社区 / 塘西河网格" in shown
    assert "0201 街面秩序/非机动车乱停放" in shown
    assert "车辆已规整，通道畅通" in shown
    history = shown.split("History:\n")[1].splitlines()
    assert len(history) == 3 and "dispatch" in history[2] and "filed → dispatched" in history[2]


def test_calendar_due(cli):
    assert cli("calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "2wh").out == (
        "Monday 2026-11-30 10:00 +08:00\n"
    )
    assert (
        "2026-11-27 19:30 +08:00" in cli("calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "2h").out
    )
    # the same instant written in UTC gives the same deadline, in the district's zone
    assert cli("calendar", "due", "--from", "2026-11-27T09:30:00Z", "--limit", "2wh").out == (
        "Monday 2026-11-30 10:00 +08:00\n"
    )
    # the National Day holidays are skipped; the make-up Saturday 2026-10-10 is worked
    assert cli("calendar", "due", "--from", "2026-09-30T17:00:00+08:00", "--limit", "2wh").out == (
        "Thursday 2026-10-08 09:30 +08:00\n"
    )
    assert cli("calendar", "due", "--from", "2026-10-09T17:00:00+08:00", "--limit", "2wh").out == (
        "Saturday 2026-10-10 09:30 +08:00\n"
    )
    out = cli("calendar", "due", "--from", "2027-12-31T17:00:00+08:00", "--limit", "1wd")
    assert "holidays of some year in this range are not in the calendar" in out.err


def test_calendar_show(cli):
    out = cli("calendar", "show", "--year", "2026").out
    assert "timezone: Asia/Shanghai" in out
    assert "working hours: 08:30-12:00, 14:30-18:00" in out
    assert "2026: holidays: 2026-01-01" in out and "2026-10-07" in out
    assert "2026: make-up working days: 2026-01-04 2026-02-14" in out
    assert "2025:" not in out


def test_catalogue_list(cli):
    majors = [json.loads(line) for line in cli("catalogue", "list", "--json").out.splitlines()]
    assert len(majors) == 11
    assert sum(len(m["minors"]) for m in majors) == 118
    assert (majors[0]["code"], majors[1]["code"], majors[1]["name"]) == ("01", "02", "街面秩序")
    minor = next(m for m in majors[1]["minors"] if m["code"] == "0201")
    assert {k: minor[k] for k in ("name", "unit", "limit", "urgency", "closure_standard")} == {
        "name": "非机动车乱停放",
        "unit": "GRID",
        "limit": "2wh",
        "urgency": "normal",
        "closure_standard": "车辆已规整，通道畅通",
    }
    plain = cli("catalogue", "list").out
    assert "02  街面秩序" in plain and "0606  燃气管道异常" in plain


def _cases(db, n: int) -> list[int]:
    return [add_report(db, article_report(external_id=f"r{i}")).case_id for i in range(n)]


def test_case_list_and_export(cli, db, users, tmp_path):
    first, second, third = _cases(db, 3)
    cli("case", "file", str(first), "--category", "0201", "--as", "op1")
    cli("case", "dispatch", str(first), "--as", "op1")
    cli("case", "file", str(second), "--category", "0606", "--as", "op1")
    cli("case", "dispatch", str(second), "--as", "op1")
    cli("case", "reject", str(third), "--reason", "信息不全", "--as", "op1")

    listed = [
        json.loads(line)
        for line in cli("case", "list", "--status", "dispatched", "--json", "--as", "op1").out.splitlines()
    ]
    assert [c["id"] for c in listed] == [first, second]
    row = listed[1]
    keys = ("id", "status", "channel", "text", "category_code", "category_name", "unit_code", "unit_name", "grid")
    assert {k: row[k] for k in keys} == {
        "id": second,
        "status": "dispatched",
        "channel": "PDA",
        "text": ARTICLE_TEXT,
        "category_code": "0606",
        "category_name": "燃气管道异常",
        "unit_code": "RQ",
        "unit_name": "燃气公司",
        "grid": "S13C01G01",
    }
    assert row["received"] == "2026-06-04T10:19:00+08:00"
    assert row["deadline"] and row["overdue"] is False and row["grid_name"] == "塘西河网格"
    assert "history" not in row

    plain = cli("case", "list", "--as", "op1").out.splitlines()
    assert len(plain) == 3 and "rejected" in plain[2] and "0606" in plain[1]

    exported = [json.loads(line) for line in cli("case", "export", "--json", "--as", "op1").out.splitlines()]
    assert [c["id"] for c in exported] == [first, second, third]
    assert [e["action"] for e in exported[0]["history"]] == ["report", "file", "dispatch"]
    assert exported[2]["history"][-1]["reason"] == "信息不全"

    target = tmp_path / "cases.csv"
    assert cli("case", "export", "--format", "csv", "--field-names", "--out", str(target), "--as", "op1").out == ""
    with target.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == CSV_COLUMNS
    assert [(r["id"], r["status"], r["category_code"], r["unit_code"]) for r in rows] == [
        (str(first), "dispatched", "0201", "GRID-S13C01G01"),
        (str(second), "dispatched", "0606", "RQ"),
        (str(third), "rejected", "", ""),
    ]
    assert rows[0]["grid_name"] == "塘西河网格" and rows[0]["text"] == ARTICLE_TEXT and rows[0]["overdue"] == "False"

    # without --field-names the CSV is for people: headers, states, channels and yes/no in the seat's language
    people = tmp_path / "people.csv"
    cli("--lang", "zh_CN", "case", "export", "--format", "csv", "--out", str(people), "--as", "op1")
    with people.open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0][:4] == ["案件编号", "状态", "来源渠道", "问题描述"] and table[0][-1] == "超期"
    assert [(r[0], r[1], r[-1]) for r in table[1:]] == [
        (str(first), "已派遣", "否"),
        (str(second), "已派遣", "否"),
        (str(third), "不予受理", "否"),
    ]
    assert all(r[2] and r[2].isascii() is False for r in table[1:])  # the channel in words, not its code


def test_every_transition_command(cli, db, users):
    def state(cid: int) -> dict[str, Any]:
        return get_case(db, cid)

    def act(*args: str) -> str:
        return cli("case", *args).out

    one, two, three, four = _cases(db, 4)
    # the whole loop with a co-unit, an extension and a rework
    act("file", str(one), "--category", "0201", "--as", "op1")
    act("dispatch", str(one), "--as", "op1")
    assert act("add-unit", str(one), "--unit", "CG", "--as", "op1").startswith(f"case {one}: dispatched (version 4)\n")
    assert [u["code"] for u in state(one)["co_units"]] == ["CG"]
    assert act("acknowledge", str(one), "--as", "gridteam").startswith(f"case {one}: in progress")
    act("request-extension", str(one), "--limit", "1wd", "--reason", "需调度清运车辆", "--as", "gridteam")
    assert [x["status"] for x in state(one)["extensions"]] == ["pending"]
    deadline = state(one)["deadline"]
    act("decide-extension", str(one), "--approve", "--as", "lead")
    assert [x["status"] for x in state(one)["extensions"]] == ["approved"] and state(one)["deadline"] > deadline
    act("handle", str(one), "--result", "车辆已规整", "--photo", "photo://1.jpg", "--as", "gridteam")
    assert state(one)["status"] == "handled" and state(one)["result"] == "车辆已规整"
    act("verify", str(one), "--verifier", "网格员张伟", "--as", "op1")
    assert state(one)["status"] == "verifying"
    act("rework", str(one), "--reason", "仍有车辆堵塞通道", "--limit", "1wh", "--as", "op1")
    assert state(one)["status"] == "rework"
    act("handle", str(one), "--result", "再次规整", "--as", "gridteam")
    act("verify", str(one), "--as", "op1")
    assert act("close", str(one), "--note", "已核实", "--as", "op1").startswith(f"case {one}: closed")
    assert state(one)["closed"] is not None
    # reject, reopen, merge
    act("reject", str(two), "--reason", "信息不全", "--as", "op1")
    assert state(two)["status"] == "rejected"
    act("reopen", str(two), "--reason", "复核后有效", "--as", "lead")
    assert state(two)["status"] == "reported"
    act("merge", str(two), "--into", str(one), "--as", "op1")
    assert (state(two)["status"], state(two)["merged_into"]) == ("merged", one)
    # return, re-dispatch, suspend, resume, undo
    act("file", str(three), "--category", "0201", "--as", "op1")
    act("dispatch", str(three), "--as", "op1")
    act("return", str(three), "--reason", "属交警职责", "--as", "gridteam")
    assert state(three)["status"] == "returned"
    assert "  unit: 交警大队 (JJ)" in act("dispatch", str(three), "--unit", "JJ", "--as", "op1")
    act("suspend", str(three), "--reason", "需协调多部门", "--as", "lead")
    assert state(three)["status"] == "suspended"
    act("resume", str(three), "--as", "lead")
    assert state(three)["status"] == "dispatched"
    assert act("undo", str(three), "--as", "lead").startswith(f"case {three}: suspended")
    assert state(three)["history"][-1]["action"] == "undo"
    # supervise an overdue case
    act("file", str(four), "--category", "0201", "--as", "op1")
    act("dispatch", str(four), "--as", "op1")
    with db.write() as s:
        s.execute(update(Case).where(Case.id == four).values(deadline_at=utcnow() - timedelta(hours=1)))
    assert "OVERDUE" in cli("case", "list", "--status", "dispatched", "--as", "op1").out
    act("supervise", str(four), "--note", "请加快处置", "--as", "lead")
    assert state(four)["supervised"] is not None
    assert state(four)["history"][-1]["reason"] == "请加快处置"


# -- bad input -------------------------------------------------------------------------------------


def test_report_add_with_a_missing_file(cli, users, tmp_path):
    out = cli("report", "add", str(tmp_path / "missing.jsonl"), "--as", "op1", code=1)
    assert out.err.startswith(f"error: Cannot read {tmp_path / 'missing.jsonl'}: No such file")


def test_report_add_with_bad_lines(cli, users, db, tmp_path):
    source = tmp_path / "mixed.jsonl"
    good = json.dumps(article_report(external_id="a"), ensure_ascii=False)
    bad = json.dumps(article_report(external_id="b", channel="FAX", text=""), ensure_ascii=False)
    other = json.dumps(article_report(external_id="c", grid="不存在网格"), ensure_ascii=False)
    also_good = json.dumps(article_report(external_id="d"), ensure_ascii=False)
    source.write_text("\n".join([good, bad, "{not json", "", other, also_good, "[1, 2]"]) + "\n", encoding="utf-8")
    out = cli("report", "add", str(source), "--as", "op1", code=1)
    assert out.out.splitlines() == ["line 1: added as case 1", "line 6: added as case 2"]
    err = out.err.splitlines()
    assert err[0].startswith("line 2 refused: channel: one of: PDA") and "text: required" in err[0]
    assert err[1].startswith("line 3 refused: json: not valid JSON")
    assert err[2] == "line 5 refused: grid: no grid with code or name 不存在网格"
    assert err[3] == "line 7 refused: report: must be a JSON object"
    assert err[4] == "2 added, 0 already present, 4 refused"
    assert [get_case(db, i)["external_id"] for i in (1, 2)] == ["a", "d"]

    out = cli("report", "add", str(source), "--as", "op1", "--json", code=1)
    results = [json.loads(line) for line in out.out.splitlines()]
    assert results[0] == {"line": 1, "case": 1, "created": False}
    assert results[1]["line"] == 2 and set(results[1]["refused"]) == {"channel", "text"}
    assert results[1]["input"] == bad.replace("13812345678", "138****5678")  # echoed masked, like the window


def test_report_add_reads_a_byte_order_mark_and_refuses_other_encodings(cli, users, tmp_path):
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(article_report(), ensure_ascii=False).encode() + b"\n")
    assert cli("report", "add", str(with_bom), "--as", "op1").out == "line 1: added as case 1\n"
    gbk = tmp_path / "gbk.jsonl"
    lines = [json.dumps(article_report(external_id=x), ensure_ascii=False) for x in ("a", "g", "b")]
    gbk.write_bytes(lines[0].encode() + b"\n" + lines[1].encode("gbk") + b"\n" + lines[2].encode() + b"\n")
    out = cli("report", "add", str(gbk), "--as", "op1", code=1)  # the GBK line is refused alone; the next goes in
    assert out.out == "line 1: added as case 2\nline 3: added as case 3\n"
    assert out.err.startswith("line 2 refused: line: not UTF-8 text")
    assert "2 added, 0 already present, 1 refused" in out.err


def test_report_add_from_standard_input(cli, users, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(article_report(), ensure_ascii=False) + "\n"))
    assert cli("report", "add", "-", "--json", "--as", "op1").out == '{"line": 1, "case": 1, "created": true}\n'


def test_case_commands_refuse_bad_input(cli, db, users, monkeypatch):
    cid = add_report(db, article_report()).case_id
    assert cli("case", "show", "99", "--as", "op1", code=1).err == "error: There is no case 99.\n"
    assert cli("case", "file", str(cid), "--category", "9999", "--as", "op1", code=1).err == (
        "error: Unknown category 9999.\n"
    )
    assert "Say who acts: --as USER" in cli("case", "file", str(cid), "--category", "0201", code=1).err
    assert cli("case", "file", str(cid), "--category", "0201", "--as", "ghost", code=1).err == (
        "error: Wrong user name or password.\n"
    )
    assert "may not file" in cli("case", "file", str(cid), "--category", "0201", "--as", "station", code=1).err
    err = cli("case", "close", str(cid), "--as", "op1", code=1).err
    assert err == f"error: Case {cid} is new: close applies only to cases that are verifying.\n"
    err = cli("case", "file", str(cid), "--category", "0201", "--as", "op1", "--expect-version", "5", code=1).err
    assert f"Case {cid} was changed by system at" in err and "nothing of your action was saved" in err
    assert "no case 77 to merge into" in cli("case", "merge", str(cid), "--into", "77", "--as", "op1", code=1).err
    assert get_case(db, cid)["status"] == "reported"  # nothing written by any refused command
    # WORKSTATION_USER names the actor when --as is not given
    monkeypatch.setenv("WORKSTATION_USER", "op1")
    cli("case", "file", str(cid), "--category", "0201", "--expect-version", "1")
    cli("case", "dispatch", str(cid))
    assert "Say --approve or --refuse" in cli("case", "decide-extension", str(cid), "--as", "lead", code=1).err
    assert "not overdue" in cli("case", "supervise", str(cid), "--as", "lead", code=1).err
    assert (
        "not a time limit"
        in cli("case", "request-extension", str(cid), "--limit", "3 days", "--reason", "x", code=1).err
    )
    assert "Cannot dispatch to NOPE: unknown unit" in cli("case", "dispatch", str(cid), "--unit", "NOPE", code=1).err
    assert "Nothing of yours to undo" in cli("case", "undo", str(cid), "--as", "op2", code=1).err
    assert [e["action"] for e in get_case(db, cid)["history"]] == ["report", "file", "dispatch"]


def test_case_export_to_an_unwritable_place(cli, users, tmp_path):
    out = cli(
        "case", "export", "--format", "csv", "--out", str(tmp_path / "no" / "such" / "dir.csv"), "--as", "op1", code=1
    )
    assert out.err.startswith("error: Cannot write") and "No such file" in out.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["case", "list", "--status", "lost"], "invalid choice: 'lost'"),
        (["case", "show", "one"], "invalid int value: 'one'"),
        (["case", "file", "1"], "the following arguments are required: --category"),
        (["user", "add", "boss", "--role", "wizard", "--password-stdin"], "invalid choice: 'wizard'"),
        (["calendar", "set", "2026-11-30", "vacation"], "invalid choice: 'vacation'"),
        (["--lang", "xx", "catalogue", "list"], "unknown language 'xx'"),
        (["catalogue", "list", "--lang", "xx"], "unknown language 'xx'"),
    ],
)
def test_usage_errors_exit_2(cli, capsys, argv, words):
    with pytest.raises(SystemExit) as caught:
        cli(*argv)
    assert caught.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("area", ["case", "db", "calendar", "catalogue", "report", "user"])
def test_an_area_without_a_command_shows_its_commands_and_fails(area, capsys):
    assert main([area]) == 2
    assert "CMD" in capsys.readouterr().out


def test_calendar_commands_refuse_bad_input(cli, users):
    start = "2026-11-27T17:30:00+08:00"
    err = cli("calendar", "due", "--from", start, "--limit", "3 days", code=1).err
    assert err == (
        "error: '3 days' is not a time limit: use a number followed by m, h, wh or wd (e.g. 30m, 2h, 4wh, 2wd)\n"
    )
    err = cli("calendar", "due", "--from", "2026-11-27T17:30:00", "--limit", "2wh", code=1).err
    assert err == "error: --from 2026-11-27T17:30:00: has no timezone (add +08:00)\n"
    assert "not an ISO 8601 time" in cli("calendar", "due", "--from", "Friday", "--limit", "2wh", code=1).err
    err = cli("calendar", "set", "2026-13-01", "holiday", "--as", "admin", code=1).err
    assert err == "error: 2026-13-01 is not a date: use YYYY-MM-DD.\n"
    err = cli("calendar", "set", "2026-11-30", "holiday", "--as", "op1", code=1).err
    assert "op1 (seat operator) may not edit the working calendar" in err
    assert "Say who acts" in cli("calendar", "set", "2026-11-30", "holiday", code=1).err
    # nothing changed
    assert cli("calendar", "due", "--from", start, "--limit", "2wh").out == "Monday 2026-11-30 10:00 +08:00\n"


def test_calendar_set_by_an_administrator(fresh_db_url, capsys):
    url = fresh_db_url()
    from workstation.storage.bootstrap import open_database

    db = open_database(url)
    accounts.add_user(db, None, "admin", "admin", PASSWORD)
    db.dispose()
    assert run_cli(["calendar", "set", "2026-11-30", "holiday", "--as", "admin", "--db", url]) == 0
    assert capsys.readouterr().out == "2026-11-30 is now a holiday\n"
    assert main(["calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "2wh", "--db", url]) == 0
    assert capsys.readouterr().out == "Tuesday 2026-12-01 10:00 +08:00\n"


@pytest.mark.parametrize(
    "argv",
    [["db", "upgrade"], ["catalogue", "list"], ["case", "list"], ["calendar", "show"]],
    ids=lambda argv: " ".join(argv),
)
def test_commands_refuse_a_newer_database(fresh_db_url, capsys, argv):
    url = fresh_db_url()
    _too_new(url)
    assert main([*argv, "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The database schema (ffff9999) is newer than this program knows")
    assert "Install the newer version" in err
    engine = make_engine(url)
    try:  # nothing was changed: no migration ran, no reference data was loaded
        assert inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()


def test_python_m_workstation_help():
    done = subprocess.run(
        [sys.executable, "-m", "workstation", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: workstation")
    for area in ("report", "case", "catalogue", "calendar", "user", "db"):
        assert area in done.stdout


def test_empty_lists_say_so_in_a_sentence(cli, db, users, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSTATION_INTAKE", str(tmp_path / "no-intake.json"))
    assert cli("case", "list", "--as", "op1").out == "No cases yet.\n"
    assert cli("case", "list", "--json", "--as", "op1").out == ""  # JSON lines stay clean for scripts
    assert cli("outbox", "list", "--as", "op1").out == "No outbound messages.\n"
    assert "No intake is configured" in cli("intake", "status", "--as", "op1").out
    assert cli("intake", "quarantine", "list", "--as", "op1").out == "Nothing in quarantine.\n"
    assert "No service codes yet" in cli("intake", "mapping", "list", "--as", "op1").out
    (tmp_path / "no-intake.json").write_text('{"sources": [], "targets": []}', encoding="utf-8")
    assert "No source or target has been contacted yet" in cli("intake", "status", "--as", "op1").out
    cid = add_report(db, article_report()).case_id
    assert cli("case", "list", "--status", "closed", "--as", "op1").out == "No cases with status closed.\n"
    out = cli("assist", "duplicates", str(cid), "--as", "op1").out
    assert out.startswith(f"No merge candidates for case {cid}")


def test_a_case_dispatched_before_any_intake_run_gets_its_outbox_message(cli, db, users, tmp_path, monkeypatch):
    config = tmp_path / "intake.json"
    target = {"name": "grid-team", "kind": "webhook", "url": "http://127.0.0.1:9/orders", "units": ["GRID-S13C01G01"]}
    config.write_text(json.dumps({"sources": [], "targets": [target]}), encoding="utf-8")
    monkeypatch.setenv("WORKSTATION_INTAKE", str(config))
    add_report(db, article_report())
    cli("case", "file", "1", "--category", "0201", "--as", "op1")
    cli("case", "dispatch", "1", "--as", "op1")  # no `intake run` has ever read the settings
    (row,) = [json.loads(line) for line in cli("outbox", "list", "--json", "--as", "op1").out.splitlines()]
    assert (row["target"], row["kind"], row["case_id"], row["status"]) == ("grid-team", "dispatch_order", 1, "pending")
    assert "grid-team" in cli("outbox", "list", "--as", "op1").out
    config.write_text("{not json", encoding="utf-8")  # a broken file is named, and the command still runs
    out = cli("case", "list", "--as", "op1")
    assert "were not used" in out.err and out.out.strip()


def test_case_list_search_is_literal_and_odd_input_finds_nothing(cli, db, users):
    percent = add_report(db, article_report(external_id="p", text="井盖缺失 100% 无法通行")).case_id
    underscore = add_report(db, article_report(external_id="u", text="路灯编号 A_12 不亮")).case_id
    add_report(db, article_report(external_id="x", text="路灯编号 AB12 不亮"))

    def found(text: str) -> list[int]:
        return [
            json.loads(line)["id"]
            for line in cli("case", "list", "--json", "--search", text, "--as", "op1").out.splitlines()
        ]

    assert found("%") == [percent]
    assert found("_") == [underscore]
    assert found("A_1") == [underscore]
    assert found("\\") == []
    for odd in ("²", "99999999999999999999", "a\x00b", "\x00", "١٢"):
        assert found(odd) == [], repr(odd)
    assert percent in found(str(percent))  # an id still finds its case (digits also match phone numbers)
    assert "No case matches" in cli("case", "list", "--search", "²", "--as", "op1").out


def test_case_export_csv_never_holds_a_formula(cli, db, users, tmp_path):
    # (a leading tab or CR never reaches a case: report texts are stripped; test_export_cells covers them)
    texts = ['=HYPERLINK("http://evil.example","点我")', "+1 333", "-2+3", "@SUM(A1)", "-"]
    for i, report_text in enumerate(texts):
        add_report(db, article_report(external_id=f"f{i}", text=report_text))
    out = tmp_path / "cases.csv"
    cli("case", "export", "--format", "csv", "--field-names", "--out", str(out), "--as", "op1")
    with out.open(encoding="utf-8", newline="") as f:
        written = [row["text"] for row in csv.DictReader(f)]
    assert written == ["'" + t for t in texts[:-1]] + ["-"]  # a lone '-' is no formula
