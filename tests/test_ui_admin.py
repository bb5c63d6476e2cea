"""The administrator's window, driven by the keyboard: users, the working calendar, service mappings."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import PASSWORD
from tests.uihelpers import ModalDriver, send
from workstation.app import build_window, sign_in
from workstation.commands.keymap import Keymap
from workstation.intake import mappings
from workstation.services import accounts, lockout
from workstation.services.calendar import load_calendar, year_days
from workstation.services.errors import AuthenticationError
from workstation.ui.admin import window as admin_window
from workstation.ui.admin.window import AdminWindow
from workstation.ui.dialogs import SignInDialog

CTRL = Qt.KeyboardModifier.ControlModifier
TAB, ENTER = Qt.Key.Key_Tab, Qt.Key.Key_Return


class FocusDriver(ModalDriver):
    """Like ModalDriver, but every key goes to the widget that has the focus (forms with several fields)."""

    def _send(self, target, step):
        try:
            for item in step:
                send(QApplication.focusWidget() or target, [item])
        finally:
            self.pending -= 1


@pytest.fixture
def make_window(qtbot, db, tmp_path):
    def make(actor):
        settings = QSettings(str(tmp_path / "admin.ini"), QSettings.Format.IniFormat)
        window = build_window(db, actor, Keymap.load(None), settings, seat="admin-seat", demo=False)
        assert isinstance(window, AdminWindow)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.restore_focus()
        return window

    return make


def press(qtbot, window, key, steps=(), modifier=Qt.KeyboardModifier.NoModifier, driver=ModalDriver):
    run = driver(steps)
    QTest.keyClick(window.table, key, modifier)
    qtbot.waitUntil(run.done, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return run


def select_user(window, name):
    window.show_page(window.users)
    window.users.pane.select(window.users.model.position_of(name))
    assert window.users.pane.current()["name"] == name


def test_an_administrator_adds_an_operator_in_the_window_who_then_signs_in(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    assert window.work_area.currentWidget() is window.users.pane  # the users page comes first
    typed = [TAB, "Wang Wu", TAB, TAB, TAB, TAB, "short", TAB, "short", ENTER]  # too short: refused, form stays
    fixed = [Qt.Key.Key_Backtab, "long-enough-9", TAB, "long-enough-9", ENTER]
    run = FocusDriver([["op9", *typed, *fixed]])
    QTest.keyClick(window.table, Qt.Key.Key_N)
    qtbot.waitUntil(run.done, timeout=5000)
    assert "User op9 added" in window.message.text()
    assert window.users.pane.current()["name"] == "op9"
    assert window.users.model.text(window.users.pane.current(), "role") == "seat operator"
    dialog = SignInDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClicks(dialog.user, "op9")
    QTest.keyClicks(dialog.password, "long-enough-9")
    QTest.keyClick(dialog.password, ENTER)
    assert dialog.actor is not None, dialog.error.text()
    assert (dialog.actor.role, dialog.actor.display_name) == ("operator", "Wang Wu")


def test_a_station_user_needs_a_community_and_gets_it_in_the_form(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    role_down = [Qt.Key.Key_Down, Qt.Key.Key_Down]  # operator → lead → station
    steps = ["st2", TAB, TAB, *role_down, TAB, TAB, TAB, "pass-word-9", TAB, "pass-word-9", ENTER]
    community = [Qt.Key.Key_Backtab, Qt.Key.Key_Backtab, Qt.Key.Key_Backtab, "塘西河社区", TAB, TAB, TAB, ENTER]
    run = FocusDriver([[*steps, *community]])
    QTest.keyClick(window.table, Qt.Key.Key_N)
    qtbot.waitUntil(run.done, timeout=5000)
    actor = accounts.find_actor(db, "st2")
    assert actor.role == "station" and actor.community_code == accounts.find_actor(db, "station").community_code


def test_disable_then_enable_a_user(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    select_user(window, "op1")
    press(qtbot, window, Qt.Key.Key_X)
    assert "op1 disabled" in window.message.text()
    assert window.users.model.text(window.users.pane.current(), "active") == "disabled"
    with pytest.raises(AuthenticationError):
        accounts.authenticate(db, "op1", PASSWORD)
    press(qtbot, window, Qt.Key.Key_X)
    assert accounts.authenticate(db, "op1", PASSWORD).name == "op1"
    select_user(window, "admin")
    press(qtbot, window, Qt.Key.Key_X)  # refused, said in red
    assert "cannot disable your own account" in window.message.text() and window.message.property("error")


def test_reset_a_password_typed_twice(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    select_user(window, "op2")
    steps = [
        ["new-secret-1", TAB, "new-secret-2", ENTER, Qt.Key.Key_Backtab, "new-secret-2", TAB, "new-secret-2", ENTER]
    ]
    press(qtbot, window, Qt.Key.Key_P, steps, driver=FocusDriver)
    assert "New password set for op2" in window.message.text()
    assert accounts.authenticate(db, "op2", "new-secret-2").name == "op2"


def test_change_a_role_and_the_community_it_needs(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    select_user(window, "op2")
    press(qtbot, window, Qt.Key.Key_R, [["station", ENTER], ["塘西河社区", ENTER]])
    actor = accounts.find_actor(db, "op2")
    assert actor.role == "station" and actor.community_code
    assert "op2 is now station staff" in window.message.text()
    select_user(window, "gridteam")
    press(qtbot, window, Qt.Key.Key_C, [["CG", ENTER]])  # a unit account: its unit
    assert accounts.find_actor(db, "gridteam").unit_code == "CG"


def test_the_working_calendar_by_keyboard(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    QTest.keyClick(window.table, Qt.Key.Key_2, CTRL)
    assert window.work_area.currentWidget() is window.calendar.pane
    window.calendar.year = 2026
    window.refresh()
    assert "2026:" in window.summary_label.text()
    # a bad date is said in the dialog, which stays open; then a right one
    press(
        qtbot,
        window,
        Qt.Key.Key_H,
        [["2026-13-01", ENTER, Qt.Key.Key_Backspace] + [Qt.Key.Key_Backspace] * 9 + ["12-31", ENTER]],
    )
    assert not load_calendar(db).is_working_day(date(2026, 12, 31))
    assert window.calendar.pane.current()["date"] == "2026-12-31"
    press(qtbot, window, Qt.Key.Key_W, [["2026-12-30", ENTER, Qt.Key.Key_Escape]])  # a Wednesday: refused
    assert "2026-12-30" not in {d["date"] for d in year_days(db, 2026)}
    press(qtbot, window, Qt.Key.Key_W, [["2026-12-26", ENTER]])  # a Saturday
    assert load_calendar(db).is_working_day(date(2026, 12, 26))
    window.calendar.pane.select(window.calendar.model.position_of("2026-12-31"))
    press(qtbot, window, Qt.Key.Key_Delete)
    assert "2026-12-31" not in {d["date"] for d in year_days(db, 2026)}
    press(qtbot, window, Qt.Key.Key_Y, [["2025", ENTER]])
    assert window.calendar.year == 2025 and window.calendar.model.rows
    assert all(r["date"].startswith("2025-") for r in window.calendar.model.rows)


def test_service_mappings_edit_and_export(qtbot, db, users, make_window, tmp_path, monkeypatch):
    # a peer's server names its own services: one of them is a spreadsheet formula
    hostile = '=HYPERLINK("http://evil.example/x","Graffiti")'
    mappings.record_services(db, "district-open311", [("001", "Abandoned bicycle"), ("002", hostile)])
    window = make_window(users["admin"])
    QTest.keyClick(window.table, Qt.Key.Key_3, CTRL)
    assert window.work_area.currentWidget() is window.mappings.pane
    assert "2 service codes · 2 unmapped" in window.summary_label.text()
    press(qtbot, window, Qt.Key.Key_E, [["0201", ENTER]])
    rows = {m["service_code"]: m["category_code"] for m in mappings.list_mappings(db)}
    assert rows["001"] == "0201"
    path = tmp_path / "maps.csv"
    monkeypatch.setattr(admin_window.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    QTest.keyClick(window.table, Qt.Key.Key_E, CTRL)
    with open(path, encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines[0][:2] == ["Source", "Service code"] and len(lines) == 3
    cells = [cell for line in lines for cell in line]
    assert "'" + hostile in cells and hostile not in cells  # text, never a formula


def test_search_filters_the_list_and_export_writes_what_is_shown(qtbot, db, users, make_window, tmp_path, monkeypatch):
    window = make_window(users["admin"])
    QTest.keyClick(window.table, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is window.users.pane.filter
    QTest.keyClicks(window.users.pane.filter, "op")
    QTest.keyClick(window.users.pane.filter, ENTER)
    assert [r["name"] for r in window.users.model.shown] == ["op1", "op2"]
    path = tmp_path / "users.csv"
    monkeypatch.setattr(admin_window.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    QTest.keyClick(window.table, Qt.Key.Key_E, CTRL)
    with open(path, encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert [line[0] for line in lines] == ["User name", "op1", "op2"]
    assert "2 rows exported" in window.message.text()


def test_every_admin_command_is_in_the_menus_and_the_palette(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    menus = {a.text().replace("&", "") for a in window.menuBar().actions()}
    assert {"Users", "Calendar", "Service mappings"} <= menus
    assert "case.file" not in window.actions_by_id  # the operator's commands are not offered here
    for command_id, action in window.actions_by_id.items():
        assert action.isEnabled(), command_id
        if command_id.startswith("admin."):
            assert window.keymap.keys_for(command_id, "admin"), command_id
    assert window.audit_mark is not None and window.findChild(type(window.message), "auditMark") is window.audit_mark


def test_the_first_run_administrator_lands_in_the_administrators_window(qtbot, fresh_db, tmp_path):
    db = fresh_db()
    settings = QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat)
    run = FocusDriver([["first-admin-pw", TAB, "first-admin-pw", ENTER]], inspect=lambda form: form.password.setFocus())
    actor = sign_in(db, settings)  # no sign-in dialog after the first-run dialog: one modal only
    qtbot.waitUntil(run.done, timeout=5000)
    assert actor is not None and actor.role == "admin" and len(run.seen) == 1
    window = build_window(db, actor, Keymap.load(None), settings, seat="s", demo=False)
    qtbot.addWidget(window)
    assert isinstance(window, AdminWindow)


def test_the_palette_runs_an_admin_command_and_ctrl_l_locks_the_window(qtbot, db, users, make_window):
    window = make_window(users["admin"])
    press(qtbot, window, Qt.Key.Key_K, [["admin.mappings", ENTER]], modifier=CTRL)
    assert window.work_area.currentWidget() is window.mappings.pane
    hidden = []
    run = ModalDriver([[PASSWORD, ENTER]], inspect=lambda _: hidden.append(not window.central.isVisible()))
    QTest.keyClick(window.table, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(run.done, timeout=5000)
    assert hidden == [True] and window.central.isVisible()


def test_a_user_locked_out_by_wrong_passwords_is_shown_and_unlocked(qtbot, db, users, make_window):
    for _ in range(lockout.USER_LIMIT):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(db, "op1", "wrong-password-1")
    with pytest.raises(AuthenticationError):
        accounts.authenticate(db, "op1", PASSWORD)  # locked: even the right password is refused
    window = make_window(users["admin"])
    select_user(window, "op1")
    assert "locked until" in window.users.model.text(window.users.pane.current(), "active")
    press(qtbot, window, Qt.Key.Key_U)
    assert "op1 can sign in again" in window.message.text()
    assert window.users.model.text(window.users.pane.current(), "active") == "active"
    assert accounts.authenticate(db, "op1", PASSWORD).name == "op1"
