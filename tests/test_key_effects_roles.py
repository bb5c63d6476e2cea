"""Every command of tests/key_effects_roles.py pressed through its real key on each window offering it.

A small stand-in for the registry-wide harness: the window of each role is built, the effect's setup
runs, the command's first key from the keymap goes to the focused widget, and the check runs — while
the dialog the key opened is still open (the check closes it), or after the key when none opened.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import workstation.intake  # noqa: F401 - installs the lifecycle hooks
from tests.key_effects_roles import EFFECTS
from tests.key_harness import KeyEnv
from workstation.commands.keymap import Keymap
from workstation.commands.registry import BY_ID, mode_of
from workstation.ui.admin.window import AdminWindow
from workstation.ui.main_window import MainWindow

ROLES = {"operator": "op1", "lead": "lead", "trainer": "trainer", "admin": "admin"}
CASES = [
    (command_id, role)
    for command_id, effect in EFFECTS.items()
    for role in ROLES
    if effect.windows is None or role in effect.windows
]


def _window(qtbot, db, actor, tmp_path):
    settings = QSettings(str(tmp_path / f"{actor.name}.ini"), QSettings.Format.IniFormat)
    cls = AdminWindow if actor.role == "admin" else MainWindow
    window = cls(db, actor, Keymap.load(None), settings, seat="keys")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitActive(window):
        window.activateWindow()
    window.restore_focus()
    return window


@pytest.mark.parametrize(("command_id", "role"), CASES)
def test_the_key_does_what_the_command_says(qtbot, db, users, tmp_path, command_id, role):
    window = _window(qtbot, db, users[ROLES[role]], tmp_path)
    if command_id not in window.actions_by_id:
        pytest.fail(f"{command_id} is not offered in the {role}'s window")
    env = KeyEnv(qtbot, window, db, role, users, {})
    effect = EFFECTS[command_id]
    if effect.setup:
        effect.setup(env)
    key = window.keymap.keys_for(command_id, mode_of(BY_ID[command_id]))[0]
    combo = QKeySequence(key)[0]
    checked: list[bool] = []
    failed: list[BaseException] = []

    def while_open() -> None:
        modal = QApplication.activeModalWidget()
        if not checked and modal is not None:
            checked.append(True)
            try:
                effect.check(env)
            except BaseException as exc:  # re-raised below, once the dialog is closed
                failed.append(exc)
                modal.reject()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(while_open)
    timer.start()
    QTest.keyClick(QApplication.focusWidget() or window, combo.key(), combo.keyboardModifiers())
    timer.stop()
    if failed:
        raise failed[0]
    if not checked:
        effect.check(env)


def test_every_command_added_for_leads_units_and_administrators_has_an_effect():
    mine = {c for c in BY_ID if c.startswith("admin.")}
    mine |= {"case.supervise", "case.suspend", "case.resume", "case.reopen", "case.extension"}
    mine |= {"case.unit_acknowledge", "case.unit_return", "case.unit_result"}
    assert mine <= set(EFFECTS)
