"""The ``care`` commands: import, due, visit, export, person, and clear errors for bad input."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from tests.care_support import add, roster_xlsx, valid_id, wrong_check
from tests.conftest import run_cli
from workstation.services.queries import get_case

ID1 = valid_id("19400305", "123")
ID2 = valid_id("19520101", "044")


@pytest.fixture
def run(db_url, users, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = run_cli(["--db", db_url, "--lang", "en", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_import_lists_bad_rows_and_exits_1_then_imports_a_good_file(run, db, users, tmp_path):
    bad = roster_xlsx(
        tmp_path / "bad.xlsx",
        [
            [1, "张三", "男", ID1, "", "", "塘西河网格", "G1", "", ""],
            [2, "李四", "女", wrong_check(ID2), "", "", "塘西河网格", "G9", "", ""],
        ],
    )
    code, out, err = run("care", "import", str(bad), "--community", "塘西河社区", "--as", "station")
    masked = ID2[:6] + "********" + ID2[-4:-1] + wrong_check(ID2)[-1]
    assert code == 1
    assert f"row 4: identity number {masked} has a wrong check digit" in err
    assert "nothing imported" in err
    code, out, err = run("care", "import", str(bad), "--community", "塘西河社区", "--as", "station", "--dry-run")
    assert code == 1 and "1 of 2 rows are good" in out
    code, out, _ = run("care", "import", str(bad), "--community", "塘西河社区", "--as", "station", "--skip-bad")
    assert code == 1 and "1 people imported" in out
    code, out, _ = run("care", "due", "--as", "station", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["name"] for r in rows] == ["张三"] and rows[0]["status"] == "due"


def test_import_refuses_unreadable_files_and_foreign_communities(run, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_text("nope")
    code, _, err = run("care", "import", str(path), "--community", "塘西河社区", "--as", "station")
    assert code == 1 and err.startswith("error: Cannot read")
    good = roster_xlsx(tmp_path / "r.xlsx", [[1, "张三", "男", ID1, "", "", "塘西河网格", "G1", "", ""]])
    code, _, err = run("care", "import", str(good), "--community", "方兴湖社区", "--as", "station")
    assert code == 1 and "another community" in err
    code, _, err = run("care", "import", str(good), "--community", "塘西河社区")
    assert code == 1 and "--as USER" in err
    code, _, err = run("care", "import", str(good), "--community", "塘西河社区", "--as", "station", "--map", "B")
    assert code == 1 and "COL=FIELD" in err


def test_visit_raises_a_case_and_prints_its_id(run, db, users):
    pid = add(db, users["station"], groups=["G2"])
    code, out, _ = run(
        "care", "visit", str(pid), "--mode", "home", "--met", "yes", "--need", "屋顶漏雨需维修",
        "--obs", "health=concern:咳嗽", "--obs", "mood=ok", "--as", "station",
    )  # fmt: skip
    assert code == 0
    case_id = int(out.split("case ")[1].split()[0])
    case = get_case(db, case_id)
    assert (case["channel"], case["status"]) == ("VISIT", "reported") and "屋顶漏雨需维修" in case["text"]
    code, out, _ = run("care", "person", str(pid), "--json", "--as", "station")
    page = json.loads(out)
    assert page["visits"][0]["needs"][0]["case_id"] == case_id
    assert page["visits"][0]["observations"]["health"] == {"status": "concern", "note": "***"}
    code, out, _ = run("care", "person", str(pid), "--as", "op1")
    assert code == 0 and "138****5678" in out and "13812345678" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["care", "visit", "999", "--mode", "home", "--met", "yes", "--as", "station"], "no person 999"),
        (
            ["care", "visit", "{pid}", "--mode", "home", "--met", "yes", "--at", "yesterday", "--as", "station"],
            "at: not a date and time",
        ),
        (
            ["care", "visit", "{pid}", "--mode", "home", "--met", "no", "--next", "2099-01-01", "--as", "station"],
            "next",
        ),
        (["care", "visit", "{pid}", "--mode", "home", "--met", "yes", "--as", "gridteam"], "may not"),
        (["care", "person", "{pid}", "--as", "station2"], "no person"),
        (["care", "export", "x.xlsx", "--reveal", "--as", "station"], "--reason"),
        (["care", "export", "x.xlsx", "--reveal", "--reason", "统计", "--as", "op1"], "may not"),
        (["care", "due", "--community", "火星社区", "--as", "lead"], "Unknown community"),
        (["care", "reveal", "{pid}", "--field", "phone", "--reason", " ", "--as", "station"], "reason"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(run, db, users, argv, message, tmp_path, monkeypatch):
    from tests.care_support import other_station

    other_station(db, users)
    pid = add(db, users["station"])
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*[a.replace("{pid}", str(pid)) for a in argv])
    assert code == 1 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "x.xlsx").exists()


def test_argument_errors_exit_2(run):
    with pytest.raises(SystemExit) as exit_:
        run("care", "visit", "1", "--mode", "letter", "--met", "yes")
    assert exit_.value.code == 2


def test_export_masked_and_revealed(run, db, users, tmp_path):
    pid = add(db, users["station"], id_number=ID1)
    run("care", "visit", str(pid), "--mode", "phone", "--met", "yes", "--as", "station")
    code, out, _ = run("care", "export", str(tmp_path / "m.xlsx"), "--as", "op1")
    assert code == 0 and "1 visits written" in out and "masked" in out
    assert ID1 not in repr(list(load_workbook(tmp_path / "m.xlsx").active.iter_rows(values_only=True)))
    code, out, _ = run(
        "care", "export", str(tmp_path / "c.xlsx"), "--reveal", "--reason", "报送", "--community", "塘西河社区",
        "--as", "lead",
    )  # fmt: skip
    assert code == 0 and "recorded" in out
    assert ID1 in repr(list(load_workbook(tmp_path / "c.xlsx").active.iter_rows(values_only=True)))
    code, out, _ = run("care", "reveal", str(pid), "--field", "id_number", "--reason", "核对", "--as", "station")
    assert code == 0 and out.strip() == ID1


def test_change_campaign_coverage_and_add_person(run, db, users):
    code, out, _ = run(
        "care", "add-person", "--name", "赵六", "--grid", "塘西河网格", "--group", "G1", "--living", "alone",
        "--id-number", ID2, "--as", "station",
    )  # fmt: skip
    assert code == 0
    pid = int(out.split()[1])
    code, out, _ = run("care", "change", str(pid), "--kind", "hospital", "--as", "station")
    assert code == 0 and "within 24 hours" in out
    code, out, _ = run("care", "due", "--as", "station")
    assert code == 0 and out.rstrip().endswith(" !")  # an unanswered major change
    code, out, _ = run(
        "care", "campaign", "--title", "寒潮", "--kind", "cold", "--group", "G1", "--street", "方兴社区",
        "--deadline", "2099-01-01T12:00:00+08:00", "--as", "lead",
    )  # fmt: skip
    assert code == 0 and "campaign" in out
    code, out, _ = run("care", "coverage", "--as", "station", "--json")
    cov = json.loads(out)
    assert code == 0 and cov["people"] == 1 and cov["overdue"] == 0


def test_the_visit_ledger_never_holds_a_formula(run, db, users, tmp_path):
    import zipfile

    link = '=HYPERLINK("http://evil.example/x","点我")'
    pid = add(db, users["station"], id_number=ID1, address=link)
    code, _, err = run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--need", "@SUM(1+1)",
                       "--as", "station")  # fmt: skip
    assert code == 0, err
    path = tmp_path / "ledger.xlsx"
    assert run("care", "export", str(path), "--as", "lead")[0] == 0
    cells = [c for row in load_workbook(path).active.iter_rows() for c in row]
    risky = [c for c in cells if c.value in (link, "@SUM(1+1)")]
    assert len(risky) == 2 and all(c.data_type == "s" and c.quotePrefix for c in risky)
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet


def test_a_visit_recorded_later_keeps_its_time_its_visitor_and_when_it_was_typed_in(run, db, users, monkeypatch):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    pid = add(db, users["station"])
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    local = (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")  # local time, no offset
    code, out, err = run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--at", local,
                         "--visitor", "王芳", "--as", "station")  # fmt: skip
    assert code == 0, err
    with_offset = (now - timedelta(days=1)).isoformat()  # ...+08:00
    assert (
        run("care", "visit", str(pid), "--mode", "phone", "--met", "yes", "--at", with_offset, "--as", "station")[0]
        == 0
    )
    code, out, _ = run("care", "person", str(pid), "--json", "--as", "station")
    visits = sorted(json.loads(out)["visits"], key=lambda v: v["at"])
    assert [datetime.fromisoformat(v["at"]) for v in visits] == [now - timedelta(days=2), now - timedelta(days=1)]
    assert [v["visitor"] for v in visits] == ["王芳", "station"]
    assert all(datetime.fromisoformat(v["recorded_at"]) >= now for v in visits)
    code, out, _ = run("care", "person", str(pid), "--as", "station")
    assert local in out and "recorded " in out and "by station" in out
    future = (now + timedelta(hours=1)).isoformat()
    code, _, err = run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--at", future, "--as", "station")
    assert code == 1 and "in the future" in err
    old = (now - timedelta(days=31)).strftime("%Y-%m-%d %H:%M")
    code, _, err = run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--at", old, "--as", "station")
    assert code == 1 and "more than 30 days ago" in err
    monkeypatch.setenv("WORKSTATION_CARE_BACKDATE_DAYS", "45")  # the limit is the centre's to choose
    assert run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--at", old, "--as", "station")[0] == 0
    skew = (now + timedelta(minutes=2)).isoformat()  # a seat's clock a little ahead
    assert run("care", "visit", str(pid), "--mode", "home", "--met", "yes", "--at", skew, "--as", "station")[0] == 0
