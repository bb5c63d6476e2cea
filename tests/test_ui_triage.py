"""The seat operator's window, driven by the keyboard only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import article_report
from tests.uihelpers import Keys, ModalDriver
from workstation.commands.keymap import Keymap
from workstation.services import leases
from workstation.services import lifecycle as lc
from workstation.services.queries import get_case
from workstation.services.reports import add_report
from workstation.ui.main_window import MainWindow


@pytest.fixture
def make_window(qtbot, db, tmp_path):
    def make(actor, name="seat"):
        settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(db, actor, Keymap.load(None), settings, seat=name)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.table.setFocus()
        return window

    return make


def press(qtbot, window, key, steps=()):
    driver = ModalDriver(steps)
    QTest.keyClick(window.table, key)
    qtbot.waitUntil(driver.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # the keyboard is back
    return driver


def test_f_enter_enter_files_and_dispatches_the_selected_case(qtbot, db, users, make_window):
    first = add_report(db, article_report()).case_id
    second = add_report(db, article_report(external_id="later", received_at="2026-06-04T11:00:00+08:00")).case_id
    window = make_window(users["op1"])
    assert window.current_id() == first  # the most urgent, oldest case is selected
    press(qtbot, window, Qt.Key.Key_F, [[Qt.Key.Key_Return], [Qt.Key.Key_Return]])
    case = get_case(db, first)
    assert case["status"] == "dispatched"
    assert (case["category_code"], case["unit_code"], case["unit_name"]) == (
        "0201",
        "GRID-S13C01G01",
        "塘西河网格综管队",
    )
    assert [e["actor"] for e in case["history"][1:]] == ["op1", "op1"]
    assert window.current_id() == second  # the next case is selected by itself


def test_picker_filters_by_pinyin_initials(qtbot, db, users, make_window):
    cid = add_report(db, article_report(text="小区门口有东西堆着")).case_id
    window = make_window(users["op1"])
    shown = []

    def inspect(picker):
        shown.append(picker)

    driver = ModalDriver([["fjdc", Qt.Key.Key_Return], [Qt.Key.Key_Escape]], inspect)
    QTest.keyClick(window.table, Qt.Key.Key_F)
    qtbot.waitUntil(driver.done, timeout=5000)
    case = get_case(db, cid)
    assert case["category_code"] == "0201"  # fjdc = 非机动车乱停放
    assert case["status"] == "filed"  # Esc closed the dispatch picker: filed, not dispatched


def test_reject_with_a_reason_from_the_picker(qtbot, db, users, make_window):
    cid = add_report(db, article_report()).case_id
    window = make_window(users["op1"])
    press(qtbot, window, Qt.Key.Key_X, [[Qt.Key.Key_Down, Qt.Key.Key_Return]])
    case = get_case(db, cid)
    assert case["status"] == "rejected"
    assert case["history"][-1]["reason"].startswith("Out of scope")


def test_reject_with_a_typed_reason(qtbot, db, users, make_window):
    cid = add_report(db, article_report()).case_id
    window = make_window(users["op1"])
    press(qtbot, window, Qt.Key.Key_X, [["zzz test reason", Qt.Key.Key_Return]])
    assert get_case(db, cid)["history"][-1]["reason"] == "zzz test reason"


def test_merge_into_the_suggested_duplicate(qtbot, db, users, make_window):
    original = add_report(db, article_report(external_id="a")).case_id
    duplicate = add_report(
        db, article_report(external_id="b", channel="12345", received_at="2026-06-04T10:40:00+08:00")
    ).case_id
    window = make_window(users["op1"])
    window.select_row(1)
    assert window.current_id() == duplicate
    press(qtbot, window, Qt.Key.Key_M, [[Qt.Key.Key_Return]])
    case = get_case(db, duplicate)
    assert case["status"] == "merged" and case["merged_into"] == original


def test_undo_puts_the_case_back(qtbot, db, users, make_window):
    cid = add_report(db, article_report()).case_id
    window = make_window(users["op1"])
    press(qtbot, window, Qt.Key.Key_X, [[Qt.Key.Key_Return]])
    assert get_case(db, cid)["status"] == "rejected"
    QTest.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert get_case(db, cid)["status"] == "reported"
    assert window.current_id() == cid


def test_a_second_seats_change_appears_in_the_first_seats_queue(qtbot, db, users, make_window):
    cid = add_report(db, article_report()).case_id
    window = make_window(users["op1"])
    assert window.model.rowCount() == 1
    new = add_report(db, article_report(external_id="other-seat")).case_id  # arrives from elsewhere
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=3000)
    lc.reject(db, users["op2"], new, "重复")  # another seat acts
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=3000)
    assert window.current_id() == cid


def test_a_case_taken_by_another_seat_cannot_be_acted_on(qtbot, db, users, make_window):
    cid = add_report(db, article_report()).case_id
    leases.acquire(db, users["op2"], cid, "seat-2")
    window = make_window(users["op1"])
    assert window.current_id() == cid
    assert "op2" in window.panel.body.toPlainText()
    assert window.model.data(window.model.index(0, 8)) == "op2"
    press(qtbot, window, Qt.Key.Key_X, [[Qt.Key.Key_Return]])
    assert get_case(db, cid)["status"] == "reported"
    assert "op2" in window.message.text()


def test_palette_lists_every_registered_command(qtbot, db, users, make_window):
    from workstation.commands.registry import all_commands

    window = make_window(users["op1"])
    seen = {}

    def inspect(picker):
        seen["ids"] = [i.key for i in picker.model.items]

    driver = ModalDriver([[Qt.Key.Key_Escape]], inspect)
    QTest.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(driver.done, timeout=5000)
    desk = [c.id for c in all_commands({"desk"})]
    assert seen["ids"] == desk
    assert all(window.actions_by_id[c].isEnabled() for c in desk)


def test_saved_filters_and_search(qtbot, db, users, make_window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    add_report(db, article_report())
    other = add_report(db, article_report(external_id="n2", text="小区门口垃圾满溢")).case_id
    window = make_window(users["op1"])
    QTest.keyClick(window.table, Qt.Key.Key_Slash)
    assert window.search.hasFocus()
    QTest.keyClicks(window.search, "n2")
    QTest.keyClick(window.search, Qt.Key.Key_Return)
    assert window.model.rowCount() == 1 and window.current_id() == other
    assert window.table.hasFocus()  # Enter goes back to the list
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("garbage n2", True))
    QTest.keyClick(window.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    window.search.clear()
    QTest.keyClick(window.search, Qt.Key.Key_Return)
    assert window.model.rowCount() == 2
    driver = ModalDriver([[Qt.Key.Key_Return]])
    QTest.keyClick(window.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(driver.done, timeout=5000)
    assert window.model.rowCount() == 1 and window.search.text() == "n2"


def test_a_new_urgent_report_gives_a_notice(qtbot, db, users, make_window):
    window = make_window(users["op1"])
    cid = add_report(db, article_report(urgency="urgent")).case_id
    qtbot.waitUntil(lambda: f"#{cid}" in window.message.text(), timeout=3000)
    assert "urgent" in window.message.text().lower()
    assert window.model.data(window.model.index(0, 0)).endswith("urgent")


def test_search_takes_every_character_literally_and_never_fails(qtbot, db, users, make_window):
    from tests.uihelpers import type_text

    percent = add_report(db, article_report(external_id="p", text="井盖缺失 100% 无法通行")).case_id
    underscore = add_report(db, article_report(external_id="u", text="路灯编号 A_12 不亮")).case_id
    add_report(db, article_report(external_id="x", text="路灯编号 AB12 不亮"))
    window = make_window(users["op1"])
    for typed, expected in [("%", [percent]), ("_", [underscore]), ("A_1", [underscore]), ("²", [])]:
        QTest.keyClick(window.table, Qt.Key.Key_Slash)
        window.search.clear()
        type_text(window.search, typed)
        QTest.keyClick(window.search, Qt.Key.Key_Return)
        ids = sorted(window.model.id_at(r) for r in range(window.model.rowCount()))
        assert ids == expected, typed
        assert window.table.empty_label.isVisible() == (not expected)
    QTest.keyClick(window.table, Qt.Key.Key_Slash)
    window.search.clear()
    QTest.keyClicks(window.search, "99999999999999999999")
    QTest.keyClick(window.search, Qt.Key.Key_Return)
    assert window.model.rowCount() == 0


def test_ctrl_e_exports_the_queue_without_any_formula(qtbot, db, users, make_window, tmp_path, monkeypatch):
    import csv

    from PySide6.QtWidgets import QFileDialog

    link = '=HYPERLINK("http://evil.example","点我")'
    add_report(db, article_report(external_id="f1", text=link))
    window = make_window(users["op1"])
    path = tmp_path / "queue.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "CSV (*.csv)"))
    QTest.keyClick(window.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(path.exists, timeout=3000)
    with path.open(encoding="utf-8-sig", newline="") as f:
        _header, row = list(csv.reader(f))
    cells = [c for c in row if "HYPERLINK" in c]
    assert cells and all(c.startswith("'=HYPERLINK") for c in cells)


def test_while_a_filed_case_is_being_dispatched_the_panel_shows_it_and_the_seat_holds_it(
    qtbot, db, users, make_window
):
    first = add_report(db, article_report()).case_id
    second = add_report(db, article_report(external_id="later", received_at="2026-06-04T11:00:00+08:00")).case_id
    window = make_window(users["op1"])
    assert window.current_id() == first
    seen: dict[str, object] = {}

    def look() -> None:  # the dispatch picker is open: the filed case left the New queue meanwhile
        qtbot.waitUntil(lambda: window.model.row_of(first) is None and window.current_id() == second, timeout=3000)
        seen["panel"] = window.panel.body.toPlainText()
        seen["holders"] = (leases.holder(db, first), leases.holder(db, second))

    driver = Keys([[Qt.Key.Key_Return], [look, Qt.Key.Key_Return]])  # the category, then the unit
    QTest.keyClick(window.table, Qt.Key.Key_F)
    qtbot.waitUntil(driver.done, timeout=8000)
    # the operator still read the case they were dispatching, and no other seat could take it meanwhile
    assert str(seen["panel"]).startswith(f"#{first}")
    assert seen["holders"] == ("op1", None)
    assert get_case(db, first)["status"] == "dispatched"
    qtbot.waitUntil(lambda: window.panel.body.toPlainText().startswith(f"#{second}"), timeout=3000)
    assert leases.holder(db, second) == "op1" and leases.holder(db, first) is None
