"""Every supervision command of tests/key_effects_dash.py pressed through its real key.

The same stand-in runner as tests/test_key_effects_roles.py (until the registry-wide harness runs
every tests/key_effects_*.py): the window of each role, the effect's setup, the command's first key
to the focused widget, then the check.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from tests.test_key_effects_roles import ROLES, _window

from tests.key_effects_dash import EFFECTS
from tests.key_harness import KeyEnv
from workstation.commands.registry import BY_ID, mode_of

CASES = [(c, r) for c, e in EFFECTS.items() for r in ROLES if e.windows is None or r in e.windows]


@pytest.mark.parametrize(("command_id", "role"), CASES)
def test_the_supervision_key_does_what_the_command_says(qtbot, db, users, tmp_path, command_id, role):
    window = _window(qtbot, db, users[ROLES[role]], tmp_path)
    env = KeyEnv(qtbot, window, db, role, users, {})
    effect = EFFECTS[command_id]
    if effect.setup:
        effect.setup(env)
    sup = env.extra.get("sup")
    if sup is not None:
        qtbot.addWidget(sup)
        with qtbot.waitActive(sup):
            sup.activateWindow()
        sup.table.setFocus()
    offered = sup.actions_by_id if sup is not None else window.actions_by_id
    assert command_id in offered, f"{command_id} is not offered to the {role}"
    key = window.keymap.keys_for(command_id, mode_of(BY_ID[command_id]))[0]
    combo = QKeySequence(key)[0]
    QTest.keyClick(QApplication.focusWidget() or window, combo.key(), combo.keyboardModifiers())
    effect.check(env)


def test_every_supervision_command_has_an_effect():
    mine = {c for c in BY_ID if c.startswith("dash.")} | {"view.supervision"}
    assert mine <= set(EFFECTS)
