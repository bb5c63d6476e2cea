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
    driver = ModalDriver([["queue.returned", Qt.Key.Key_Return]])  # the id matches when typed
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


def test_menus_show_single_letter_keys_in_lower_case(window):
    keymap = Keymap.load(None)
    menu_text = {a.objectName(): a.text() for m in window.menuBar().actions() for a in m.menu().actions()}
    assert menu_text["case.file"].split("\t")[1] == "f"  # Qt's own text would be "F", read as Shift+F
    assert menu_text["queue.overdue"].split("\t")[1] == "Ctrl+4"
    for command_id, text in menu_text.items():
        keys = keymap.keys_for(command_id, "queue")
        if keys:
            assert text.split("\t")[1] in keys, (command_id, text)


def test_the_cheat_sheet_is_a_table_grouped_by_menu_in_menu_order(qtbot, window):
    from workstation.commands.registry import BY_ID, MENUS
    from workstation.i18n import tr
    from workstation.ui.cheatsheet import plain_menu_title

    seen = {}

    def inspect(sheet):
        table = sheet.table
        rows = []
        for r in range(table.rowCount()):
            if table.columnSpan(r, 0) == 2:
                rows.append(("menu", table.item(r, 0).text()))
            else:
                rows.append((table.item(r, 0).data(Qt.ItemDataRole.UserRole), table.item(r, 0).text()))
        seen["rows"] = rows
        seen["columns"] = table.columnCount()
        seen["key_x"] = {
            table.visualRect(table.model().index(r, 1)).x()
            for r in range(table.rowCount())
            if table.columnSpan(r, 0) == 1
        }

    driver = ModalDriver([["overdue", Qt.Key.Key_Return]], inspect)
    QTest.keyClick(window, Qt.Key.Key_Question)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert window.model.filter.queue == "overdue"  # Enter ran the command found by typing
    rows = seen["rows"]
    assert seen["columns"] == 2 and len(seen["key_x"]) == 1  # every title starts in the same column
    menus = [title for kind, title in rows if kind == "menu"]
    order = [plain_menu_title(tr(t)) for m, t in MENUS.items()]
    assert menus == [t for t in order if t in menus]  # grouped in menu order
    current = None
    for kind, text in rows:
        if kind == "menu":
            current = text
        else:
            assert plain_menu_title(tr(MENUS[BY_ID[kind].menu])) == current  # under its own menu
    keys = dict(r for r in rows if r[0] != "menu")
    assert keys["case.file"] == "f" and keys["help.cheatsheet"] == "? / F1"


def test_menu_titles_lose_their_mnemonic_in_the_cheat_sheet():
    from workstation.ui.cheatsheet import plain_menu_title

    assert plain_menu_title("案件(&C)") == "案件" and plain_menu_title("&Case") == "Case"
