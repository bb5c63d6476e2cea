"""Durations, limits, days, reasons and channels read in the language in force (Chinese and English)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import article_report, run_cli
from tests.uihelpers import ModalDriver
from workstation import formatting
from workstation.cli import main
from workstation.commands.keymap import Keymap
from workstation.i18n import set_language
from workstation.services import lifecycle as lc
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OLD_REASON = "Insufficient information: the place or the problem cannot be determined"


@pytest.fixture
def zh():
    set_language("zh_CN")
    yield
    set_language("en")


@pytest.mark.parametrize(
    ("lang", "left", "expected"),
    [
        ("zh_CN", timedelta(minutes=55, seconds=43), "55分43秒"),
        ("zh_CN", -timedelta(days=2, hours=14, minutes=5), "超期2天14小时"),
        ("zh_CN", timedelta(hours=1, minutes=5), "1小时5分"),
        ("en", timedelta(minutes=55, seconds=43), "55 min 43 s"),
        ("en", -timedelta(days=2, hours=14), "2 d 14 h overdue"),
    ],
)
def test_countdowns_read_as_words(lang, left, expected):
    try:
        set_language(lang)
        assert formatting.countdown(NOW + left, NOW) == expected
    finally:
        set_language("en")


@pytest.mark.parametrize(
    ("limit", "zh_text", "en_text"),
    [("4wh", "4工作小时", "4 working hours"), ("2wd", "2工作日", "2 working days"), ("30m", "30分钟", "30 min")],
)
def test_limits_read_as_words(limit, zh_text, en_text):
    assert formatting.limit_text(limit) == en_text
    try:
        set_language("zh_CN")
        assert formatting.limit_text(limit) == zh_text
        assert formatting.limit_text("not a limit") == "not a limit"  # shown as it is, never an error
    finally:
        set_language("en")


def test_calendar_due_names_the_day_in_chinese(db_url, capsys):
    assert main(["calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "4wh", "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith("Monday 2026-11-30 12:00")
    argv = ["--lang", "zh_CN", "calendar", "due", "--from", "2026-11-27T17:30:00+08:00", "--limit", "4wh"]
    assert main([*argv, "--db", db_url]) == 0
    set_language("en")
    assert capsys.readouterr().out == "星期一 2026-11-30 12:00 +08:00\n"


def test_an_old_english_reason_reads_in_chinese_and_history_speaks_chinese(db, db_url, users, capsys):
    cid = add_report(db, article_report()).case_id
    lc.reject(db, users["op1"], cid, OLD_REASON)  # as histories written before the reasons were translated
    assert run_cli(["case", "show", str(cid), "--lang", "zh_CN", "--as", "op1", "--db", db_url]) == 0
    set_language("en")
    out = capsys.readouterr().out
    assert "不予受理 — 信息不全：无法确定地点或问题" in out
    assert "上报  - → 待受理  渠道：网格员PDA" in out
    assert "reject" not in out and "reported" not in out
    assert run_cli(["case", "show", str(cid), "--as", "op1", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert OLD_REASON in out and "Grid member PDA" in out  # the English program names channels in English


def test_help_and_argument_errors_are_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["case", "reject", "--help", "--lang", "zh_CN"])
    set_language("en")
    out = capsys.readouterr().out
    assert out.startswith("用法：workstation case reject") and "显示本帮助并退出" in out and "操作人" in out
    with pytest.raises(SystemExit):
        main(["case", "--help", "--lang", "zh_CN"])
    set_language("en")
    assert re.search(r"\n +reject +不予受理（须说明理由）\n", capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["--lang", "zh_CN", "case", "reject", "1"])
    set_language("en")
    assert "错误：缺少必需的参数：--reason" in capsys.readouterr().err


def test_a_reason_picked_in_the_chinese_window_is_stored_in_chinese(zh, qtbot, db, users, tmp_path):
    cid = add_report(db, article_report()).case_id
    set_language("zh_CN")  # after the database was prepared
    window = MainWindow(
        db, users["op1"], Keymap.load(None), QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), seat="s"
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitActive(window):
        window.activateWindow()
    window.table.setFocus()
    driver = ModalDriver([[Qt.Key.Key_Return]])
    QTest.keyClick(window.table, Qt.Key.Key_X)
    qtbot.waitUntil(driver.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    case = get_case(db, cid)
    assert case["status"] == "rejected"
    assert case["history"][-1]["reason"] == "信息不全：无法确定地点或问题"  # as the units and exports read it
