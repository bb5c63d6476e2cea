"""Every registered command, pressed through its real key on every window offering it (see tests/key_harness.py)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests import key_harness as kh
from tests.key_harness import key_demo_cache  # noqa: F401  (the trainer window's world)
from workstation.commands.keymap import Keymap
from workstation.commands.registry import BY_ID, all_commands

PAIRS = kh.pairs()


@pytest.fixture
def build(qtbot, db, users, tmp_path, monkeypatch, request):
    """Builds the real window of a role; closes it (and what it opened) afterwards."""
    contexts: list[kh.BuildContext] = []
    windows = []

    def make(role: str):
        ctx = kh.BuildContext(qtbot, db, users, tmp_path, monkeypatch, request)
        contexts.append(ctx)
        window, wdb = kh.WINDOWS[role].build(ctx)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitActive(window):
            window.activateWindow()
        window.restore_focus()
        return window, wdb

    yield make
    for window in windows:
        window.close()
    for ctx in contexts:
        for cleanup in reversed(ctx.cleanups):
            cleanup()


@pytest.mark.parametrize(("command_id", "role"), PAIRS, ids=[f"{c}@{r}" for c, r in PAIRS])
def test_the_key_of_every_command_does_what_it_says(command_id, role, build, qtbot, users, tmp_path, monkeypatch):
    effect = kh.effect_for(command_id, role)
    window, wdb = build(role)
    action = window.actions_by_id.get(command_id)
    assert action is not None, f"the {role} window does not offer {command_id}"
    assert action.isEnabled(), f"{command_id} has no handler in the {role} window"
    env = kh.KeyEnv(
        qtbot, window, wdb, role, users, {"tmp_path": tmp_path, "monkeypatch": monkeypatch, "keymap": Keymap.load(None)}
    )
    if effect.setup is not None:
        effect.setup(env)
    kh.press(env, command_id, kh.WINDOWS[role].mode, env.extra["keymap"], effect.check)
    left = kh.open_dialogs(window)
    for dialog in left:
        dialog.close()
    assert not left, f"{command_id}: the check left {[d.windowTitle() for d in left]} open"
    assert QApplication.activeModalWidget() is None


@pytest.mark.parametrize("role", sorted(kh.WINDOWS))
def test_the_window_table_matches_the_real_windows(role, build):
    window, _ = build(role)
    assert set(window.actions_by_id) == {c.id for c in all_commands(kh.WINDOWS[role].scopes)}


def test_a_command_without_an_effect_fails_naming_it(monkeypatch):
    from workstation.commands.registry import Command

    monkeypatch.setitem(BY_ID, "case.explode", Command("case.explode", "Explode", "case"))
    with pytest.raises(pytest.fail.Exception, match=r"'case\.explode' in the operator window has no key effect"):
        kh.effect_for("case.explode", "operator")


def test_a_check_without_answers_runs_while_the_dialog_is_open_and_closes_it(build, qtbot, users):
    from workstation.i18n import tr

    window, wdb = build("operator")
    env = kh.KeyEnv(qtbot, window, wdb, "operator", users, {})
    seen = []

    def check(env):
        modal = QApplication.activeModalWidget()
        seen.append(modal.windowTitle() if modal else None)
        modal.reject()

    kh.press(env, "view.palette", "queue", Keymap.load(None), check)
    assert seen == [tr("Command palette")] and QApplication.activeModalWidget() is None
