"""Keys the way a user presses them: queue switches, keys after a mouse click, how keys are shown."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import article_report
from tests.uihelpers import ModalDriver
from workstation.commands.keymap import Keymap
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot, db, users, tmp_path):
    settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
    w = MainWindow(db, users["op1"], Keymap.load(None), settings, seat="seat")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitActive(w):
        w.activateWindow()
    w.table.setFocus()
    return w


def current_queue(window: MainWindow) -> str:
    return window.queues.currentItem().data(Qt.ItemDataRole.UserRole)


@pytest.mark.parametrize(
    ("key", "queue"),
    [
        (Qt.Key.Key_1, "new"),
        (Qt.Key.Key_2, "returned"),
        (Qt.Key.Key_3, "verify"),
        (Qt.Key.Key_4, "overdue"),
        (Qt.Key.Key_5, "mine"),
        (Qt.Key.Key_6, "all"),
    ],
)
def test_ctrl_digit_switches_the_queue(qtbot, window, key, queue):
    QTest.keyClick(window, Qt.Key.Key_6 if queue != "all" else Qt.Key.Key_1, CTRL)  # start elsewhere
    QTest.keyClick(window, key, CTRL)
    assert current_queue(window) == queue
    assert window.filter.queue == queue and window.model.filter.queue == queue


def test_the_queue_menu_and_the_palette_switch_the_queue(qtbot, window):
    window.actions_by_id["queue.overdue"].trigger()  # what a menu click does
    assert window.model.filter.queue == "overdue"
    driver = ModalDriver([["Returned", Qt.Key.Key_Return]])
    QTest.keyClick(window, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert window.model.filter.queue == "returned" and current_queue(window) == "returned"


def test_after_a_click_on_the_queue_list_the_letter_keys_work(qtbot, window, db):
    cid = add_report(db, article_report()).case_id
    window.refresh()
    all_row = next(
        r for r in range(window.queues.count()) if window.queues.item(r).data(Qt.ItemDataRole.UserRole) == "all"
    )
    rect = window.queues.visualItemRect(window.queues.item(all_row))
    qtbot.mouseClick(window.queues.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert current_queue(window) == "all" and window.current_id() == cid
    QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Slash)
    assert window.search.hasFocus()
    # the keyboard is in the search field; a click on a queue gives it back to the list: f files
    assert QApplication.focusWidget() is window.search
    rect = window.queues.visualItemRect(window.queues.item(0))
    qtbot.mouseClick(window.queues.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert current_queue(window) == "new"
    driver = ModalDriver([[Qt.Key.Key_Return], [Qt.Key.Key_Escape]])
    QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert get_case(db, cid)["status"] == "filed"


def test_no_signal_is_connected_to_a_lambda_with_defaults():
    """``lambda k=k:`` on a signal that sends arguments takes the signal's first argument as ``k``."""
    found = []
    for path in (ROOT / "workstation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and any(isinstance(a, ast.Lambda) and (a.args.defaults or a.args.kw_defaults) for a in node.args)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_every_handler_is_called_without_qts_checked_argument(qtbot, window, monkeypatch, tmp_path):
    """Ctrl+E used to hand ``checked=False`` to ``export(path=None)``: nothing was written, nothing said."""
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "out.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)"))
    QTest.keyClick(window, Qt.Key.Key_E, CTRL)
    assert target.exists()
