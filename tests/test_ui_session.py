"""Sign-in, the first-run administrator, the idle lock and the remembered layout."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.conftest import PASSWORD
from tests.uihelpers import ModalDriver
from workstation.commands.keymap import Keymap
from workstation.services import accounts
from workstation.ui.dialogs import FirstAdminDialog, SignInDialog
from workstation.ui.main_window import MainWindow


def test_sign_in_with_the_remembered_user_needs_only_the_password(qtbot, db, users):
    dialog = SignInDialog(db, last_user="op1")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.user.text() == "op1"
    dialog.password.setFocus()
    QTest.keyClicks(dialog.password, "wrong-password")
    QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.actor is None and "Wrong user name or password" in dialog.error.text()
    dialog.password.clear()
    QTest.keyClicks(dialog.password, PASSWORD)
    QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.actor is not None and dialog.actor.name == "op1"


def test_first_run_creates_the_administrator(qtbot, db):
    assert accounts.needs_first_admin(db)
    dialog = FirstAdminDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClicks(dialog.password, "a-long-password")
    QTest.keyClicks(dialog.repeat, "a-different-one")
    QTest.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert "differ" in dialog.error.text() and accounts.needs_first_admin(db)
    dialog.repeat.clear()
    QTest.keyClicks(dialog.repeat, "a-long-password")
    QTest.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert dialog.actor is not None and dialog.actor.role == "admin"
    assert not accounts.needs_first_admin(db)


def test_an_idle_seat_locks_and_only_the_password_unlocks_it(qtbot, db, users, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(db, users["op1"], Keymap.load(None), settings)
    qtbot.addWidget(window)
    window.live.idle_ms = 200
    window.live.idle_timer.start(200)
    window.show()
    hidden = []
    driver = ModalDriver(
        [["wrong", Qt.Key.Key_Return, Qt.Key.Key_Escape], [PASSWORD, Qt.Key.Key_Return]],
        inspect=lambda _: hidden.append(not window.central.isVisible()),
    )
    qtbot.waitUntil(driver.done, timeout=5000)
    assert hidden == [True, True]  # the queue was hidden while locked; a wrong password and Esc did not unlock
    assert window.central.isVisible()
    assert len(driver.seen) == 2


def test_the_window_remembers_its_layout(qtbot, db, users, tmp_path):
    path = str(tmp_path / "layout.ini")
    window = MainWindow(db, users["op1"], Keymap.load(None), QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.resize(700, 500)
    window.table.setColumnWidth(4, 333)
    window.close()
    again = MainWindow(db, users["op1"], Keymap.load(None), QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    assert again.table.columnWidth(4) == 333
    assert (again.size().width(), again.size().height()) == (700, 500)
    QApplication.processEvents()


def test_export_writes_every_row_of_the_list(qtbot, db, users, tmp_path):
    from tests.test_ui_models import bulk_cases

    bulk_cases(db, 230)
    window = MainWindow(
        db, users["op1"], Keymap.load(None), QSettings(str(tmp_path / "e.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(window)
    out = window.export(str(tmp_path / "list.csv"))
    lines = Path(out).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 231 and lines[0].startswith("Urgency")


def test_the_remembered_user_belongs_to_the_database_it_signed_in_to(qtbot, db, users, fresh_db, tmp_path):
    from workstation.app import last_user_key, sign_in

    settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
    other = fresh_db()
    accounts.add_user(other, None, "boss", "admin", PASSWORD)
    offered: list[str] = []

    def ask(database, steps, user=None):
        driver = ModalDriver(steps, inspect=lambda modal: offered.append(modal.user.text()))
        actor = sign_in(database, settings, user)
        qtbot.waitUntil(driver.done)
        return actor

    assert ask(db, [[PASSWORD, Qt.Key.Key_Return]], user="op1").name == "op1"
    assert ask(other, [[Qt.Key.Key_Escape]]) is None  # another database: op1 does not exist there
    assert ask(db, [[PASSWORD, Qt.Key.Key_Return]]).name == "op1"  # back: only the password to type
    assert offered == ["op1", "", "op1"]
    assert last_user_key("postgresql+psycopg://u:secret@h/db") == last_user_key("postgresql+psycopg://u:other@h/db")
    assert last_user_key("postgresql+psycopg://u@h/db") != last_user_key("postgresql+psycopg://u@h/db2")
    assert "secret" not in last_user_key("postgresql+psycopg://u:secret@h/db")
