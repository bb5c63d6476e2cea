"""Every change to an account is recorded: by whom, to whom, what; refused changes leave nothing."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.conftest import PASSWORD
from tests.test_cli import _no_default_database, cli  # noqa: F401  (fixtures)
from tests.test_ui_admin import make_window, press, select_user  # noqa: F401
from workstation.app import build_window
from workstation.commands.keymap import Keymap
from workstation.services import account_log, accounts, lockout, tokens
from workstation.services.errors import PermissionDeniedError, ValidationError


def entries(db, users, subject=None):
    return [(e["actor"], e["subject"], e["action"]) for e in account_log.history(db, users["admin"], subject)][::-1]


def test_every_kind_of_change_is_recorded_with_who_did_it(db, users):
    admin = users["admin"]
    before = len(account_log.history(db, admin))
    assert before == 7  # the first administrator created itself, then six accounts created by it
    accounts.change_role(db, admin, "op1", "lead")
    accounts.set_place(db, admin, "station", community="塘西河社区")
    accounts.set_active(db, admin, "op2", False)
    accounts.set_active(db, admin, "op2", True)
    accounts.reset_password(db, admin, "op2", "a-new-long-secret")
    info, token = tokens.add_token(db, admin, "gridteam", "城管系统")
    tokens.revoke_token(db, admin, info.id)
    for _ in range(5):
        with pytest.raises(Exception):  # noqa: B017 - any refusal; the count is what matters
            accounts.authenticate(db, "lead", "wrong-password", source="seat-9")
    lockout.unlock(db, admin, name="lead")
    recorded = entries(db, users)[before:]
    assert recorded == [
        ("admin", "op1", "role"),
        ("admin", "station", "place"),
        ("admin", "op2", "disable"),
        ("admin", "op2", "enable"),
        ("admin", "op2", "password"),
        ("admin", "gridteam", "token_add"),
        ("admin", "gridteam", "token_revoke"),
        ("admin", "lead", "unlock"),
    ]
    role = account_log.history(db, admin, "op1")[0]
    assert role["details"]["role"] == "lead" and role["details"]["previous"] == "operator"
    # no password, hash or token is ever written into the record
    text = json.dumps(account_log.history(db, admin), ensure_ascii=False)
    assert "a-new-long-secret" not in text and token not in text and "argon2" not in text and PASSWORD not in text


def test_a_refused_change_writes_nothing(db, users):
    admin = users["admin"]
    before = entries(db, users)
    with pytest.raises(PermissionDeniedError):
        accounts.change_role(db, users["lead"], "op1", "admin")  # not an administrator
    with pytest.raises(ValidationError):
        accounts.set_active(db, admin, "admin", False)  # yourself
    with pytest.raises(ValidationError):
        accounts.reset_password(db, admin, "op1", "password")  # too weak
    accounts.set_active(db, admin, "op1", True)  # already active: nothing changed, nothing recorded
    assert entries(db, users) == before


def test_only_an_administrator_reads_the_record(db, users):
    for who in ("lead", "op1", "station", "trainer"):
        with pytest.raises(PermissionDeniedError):
            account_log.history(db, users[who])


def test_the_command_line_prints_the_record_and_records_its_own_changes(db, users, cli):  # noqa: F811
    cli("user", "token", "add", "gridteam", "--name", "城管系统", "--as", "admin")
    lines = cli("user", "history", "gridteam", "--as", "admin").out.splitlines()
    assert len(lines) == 2 and "API token issued" in lines[0] and "account created" in lines[1]
    assert "token name 城管系统" in lines[0]
    as_json = [json.loads(x) for x in cli("user", "history", "--json", "--as", "admin").out.splitlines()]
    assert as_json[0]["action"] == "token_add" and as_json[0]["actor"] == "admin"
    assert "read the record" in cli("user", "history", "--as", "lead", code=1).err


def test_the_administrator_sees_a_change_made_in_the_window_on_the_account_changes_page(
    qtbot,
    db,
    users,
    make_window,  # noqa: F811
):
    window = make_window(users["admin"])
    select_user(window, "op1")
    press(qtbot, window, Qt.Key.Key_X)  # disable op1
    assert "op1 disabled" in window.message.text()
    QTest.keyClick(window.table, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    page = window.account_log
    assert window.work_area.currentWidget() is page.pane
    first = page.model.shown[0]
    assert [page.model.text(first, key) for key, _ in page.model.columns][1:4] == [
        "admin (administrator)",
        "op1",
        "account disabled",
    ]
    assert "8 account changes" in window.summary_label.text()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda db, admin: accounts.set_active(db, admin, "op1", False), "disabled your account"),
        (lambda db, admin: accounts.change_role(db, admin, "op1", "lead"), "changed your role to shift lead"),
    ],
)
def test_an_open_window_closes_when_an_administrator_changes_its_account(qtbot, db, users, tmp_path, change, said):
    settings = QSettings(str(tmp_path / "seat.ini"), QSettings.Format.IniFormat)
    settings.setValue("session/accountCheckSeconds", 0.2)
    window = build_window(db, users["op1"], Keymap.load(None), settings, seat="op1-seat", demo=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(500)
    assert window.isVisible() and window.central.isVisible()  # nothing changed: the seat works on
    change(db, users["admin"])  # at the administrator's seat
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QMessageBox), timeout=3000)
    notice = QApplication.activeModalWidget()
    assert said in notice.text() and not window.central.isVisible()
    QTest.keyClick(notice, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
