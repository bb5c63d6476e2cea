"""The monthly report on the command line: Excel figures recomputed by hand from ``case export``, a PDF."""

from __future__ import annotations

import csv
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.conftest import run_cli
from tests.test_evaluation import world  # noqa: F401  (the hand-made week, as a fixture)

NOV = ("2026-11-01", "2026-12-01")
TZ = ZoneInfo("Asia/Shanghai")


def _in_nov(text: str) -> bool:
    return bool(text) and NOV[0] <= datetime.fromisoformat(text).astimezone(TZ).date().isoformat() < NOV[1]


def _export(db_url, tmp_path) -> list[dict[str, str]]:
    out = tmp_path / "cases.csv"
    args = ["case", "export", "--format", "csv", "--field-names", "--out", str(out)]
    assert run_cli([*args, "--as", "lead", "--db", db_url]) == 0
    with open(out, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _sheet(wb, title: str) -> dict[str, list]:
    ws = wb[title]
    rows = list(ws.iter_rows(values_only=True))
    return {str(r[1]): list(r) for r in rows[1:]}


def test_excel_figures_match_case_export_recomputed_by_hand(db, world, db_url, tmp_path):  # noqa: F811
    path = tmp_path / "m.xlsx"
    args = ["report", "monthly", "--month", "2026-11", "--format", "xlsx", "--out", str(path)]
    assert run_cli([*args, "--as", "lead", "--db", db_url]) == 0
    cases = _export(db_url, tmp_path)
    reported = [c for c in cases if _in_nov(c["received"])]
    filed = [c for c in cases if _in_nov(c["filed"])]
    closed = [c for c in cases if c["status"] == "closed" and _in_nov(c["closed"])]
    on_time = [c for c in closed if c["handled"] and c["handled"] <= c["deadline"]]
    overdue = [c for c in cases if c["overdue"] == "True"]
    wb = load_workbook(path)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=5, values_only=True) if r[0]}
    assert summary["Cases reported"] == len(reported) == 5
    assert summary["Cases filed"] == len(filed)
    assert summary["Cases closed"] == len(closed)
    assert summary["Closure rate"] == pytest.approx(len([c for c in filed if c["status"] == "closed"]) / len(filed))
    assert summary["On-time rate"] == pytest.approx(len(on_time) / len(closed))
    assert summary["Overdue now"] == len(overdue)
    units = _sheet(wb, "Units")
    for code in {c["unit_code"] for c in cases if c["unit_code"]}:
        mine = [c for c in cases if c["unit_code"] == code]
        received = len([c for c in mine if _in_nov(c["dispatched"])])
        handled = [c for c in mine if _in_nov(c["handled"])]
        assert units[code][2] == received  # Received
        assert units[code][3] == len([c for c in handled if c["handled"] <= c["deadline"]])  # handled on time
        assert units[code][9] == len([c for c in mine if c["overdue"] == "True"])
    channels = _sheet(wb, "Channels")
    for channel in {c["channel"] for c in reported}:
        assert channels[channel][2] == len([c for c in reported if c["channel"] == channel])
    days = {r[0]: r[1:] for r in wb["Days"].iter_rows(min_row=2, values_only=True)}
    assert len(days) == 30 and days["2026-11-03"][0] == 1


def test_pdf_is_a_multi_page_a4_document(db, world, db_url, tmp_path, capsys):  # noqa: F811
    path = tmp_path / "m.pdf"
    args = ["report", "monthly", "--month", "2026-11", "--format", "pdf", "--out", str(path)]
    assert run_cli([*args, "--as", "lead", "--db", db_url]) == 0
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    pages = data.count(b"/Type /Page\n") + data.count(b"/Type /Page\r") + data.count(b"/Type /Page ")
    assert "pages" in capsys.readouterr().out
    assert pages >= 3 or data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 3
    assert b"/MediaBox [0 0 595" in data  # A4 in points


def test_monthly_report_refuses_a_bad_month_and_an_operator(db, users, db_url, tmp_path, capsys):
    out = str(tmp_path / "x.xlsx")
    assert run_cli(["report", "monthly", "--month", "11/2026", "--out", out, "--as", "lead", "--db", db_url]) == 1
    assert "YYYY-MM" in capsys.readouterr().err
    assert run_cli(["report", "monthly", "--month", "2026-11", "--out", out, "--as", "op1", "--db", db_url]) == 1
    assert not (tmp_path / "x.xlsx").exists()


def test_the_demo_worlds_report_matches_its_case_export(db, users, db_url, tmp_path):
    """A demo world goes in by bulk insert; its summaries, rebuilt, must agree with the exported cases."""
    from workstation import clock
    from workstation.demo.world import seed_world

    now = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
    seed_world(db, seed=3, cases=400, people=0, now=now, days=60)
    with clock.using(lambda: now):
        path = tmp_path / "demo.xlsx"
        args = ["report", "monthly", "--month", "2026-11", "--format", "xlsx", "--out", str(path)]
        assert run_cli([*args, "--as", "lead", "--db", db_url]) == 0
        cases = _export(db_url, tmp_path)
    wb = load_workbook(path)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=5, values_only=True) if r[0]}
    reported = [c for c in cases if _in_nov(c["received"])]
    filed = [c for c in cases if _in_nov(c["filed"])]
    closed = [c for c in cases if c["status"] == "closed" and _in_nov(c["closed"])]
    assert len(reported) > 50
    assert (summary["Cases reported"], summary["Cases filed"], summary["Cases closed"]) == (
        len(reported),
        len(filed),
        len(closed),
    )
    assert summary["Overdue now"] == len([c for c in cases if c["overdue"] == "True"])
    units = _sheet(wb, "Units")
    for code in {c["unit_code"] for c in cases if c["unit_code"]}:
        received = len([c for c in cases if c["unit_code"] == code and _in_nov(c["dispatched"])])
        assert (units[code][2] if code in units else 0) == received, code
