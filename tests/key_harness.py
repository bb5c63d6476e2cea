"""Every registered command, pressed through its real key on every window that offers it.

``tests/test_every_key.py`` is generated from the command registry x :data:`WINDOWS`: for each
(command, window) pair it builds the real window the way the program does for that role, runs the
effect's ``setup``, sends the command's key(s) from the keymap as key events to the window (to the
widget of the window that has the keyboard), then runs the effect's ``check``, which asserts what
the user sees (the queue switched, the case's state in the database, the dialog that opened).

Effects: any module ``tests/key_effects*.py`` defines ``EFFECTS: dict[str, KeyEffect | Sequence[KeyEffect]]``
(command id -> effect; a sequence when windows need different effects, told apart by ``windows``).
A (command, window) pair without an effect fails, naming both: a new command needs its effect.

Modal dialogs: a command that opens a modal dialog blocks the key press until the dialog closes.
Two ways to test it: (1) the effect's ``setup`` answers the dialogs with :func:`answer` (keys for each
modal that opens, in order, sent to the dialog's focused widget) and ``check`` runs after the key
press, once they closed (:func:`answered` waits and gives the dialogs seen); or (2) without
:func:`answer`, ``check`` runs while the first modal dialog the key opened is open
(``QApplication.activeModalWidget()``) and must close it; a failing check has it closed for it. When
no dialog opens, ``check`` runs after the key press. A modal nobody closes is closed after a few
seconds and fails the pair. A check that opened a non-modal dialog closes it (Escape); the harness
fails a pair that leaves a dialog of the window on screen.

Commands without a key are pressed the way a user reaches them: the palette's key, the command's id
typed into the palette, Enter.

Windows: :data:`WINDOWS` maps a role name (operator, lead, station, trainer, admin) to a
:class:`WindowKind`: the command scopes the window offers, its keymap mode and a ``build(ctx)``
returning ``(window, database it works on)``. To add a window (an administrator's, say), either add
an entry here or call :func:`add_window` from your ``tests/key_effects_<name>.py``::

    add_window("admin", WindowKind(scopes=frozenset({"admin"}), mode="admin", build=build_admin))

``tests/test_every_key.py::test_the_window_table_matches_the_real_windows`` checks that each entry's
scopes are what the built window really offers.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from tests.uihelpers import Keys
from workstation.commands.keymap import Keymap
from workstation.commands.registry import COMMANDS, Command


@dataclass
class KeyEnv:  # handed to setup and check
    qtbot: Any
    window: Any
    db: Any
    role: str
    users: dict
    extra: dict


@dataclass(frozen=True)
class KeyEffect:
    check: Callable[[KeyEnv], None]  # asserts the visible effect after the key press
    setup: Callable[[KeyEnv], None] | None = None  # e.g. select a case in the needed state
    windows: tuple[str, ...] | None = None  # roles: operator, lead, station, trainer, admin; None = all offering it


# -- windows ------------------------------------------------------------------------------------------


@dataclass
class BuildContext:
    """What a window factory may use: pytest's fixtures of the test."""

    qtbot: Any
    db: Any
    users: dict
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def settings(self, name: str) -> QSettings:
        return QSettings(str(self.tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)


@dataclass(frozen=True)
class WindowKind:
    """A window a role works in: the command scopes it offers (``any`` is implied), its keymap mode, its factory."""

    scopes: frozenset[str]
    mode: str
    build: Callable[[BuildContext], tuple[Any, Any]]


def _build_role_window(user: str, **kw: Any) -> Callable[[BuildContext], tuple[Any, Any]]:
    """The window ``workstation.app.build_window`` gives that user (the program's own choice by role)."""

    def build(ctx: BuildContext) -> tuple[Any, Any]:
        from workstation.app import build_window

        ctx.monkeypatch.setenv("WORKSTATION_INTAKE", str(ctx.tmp_path / "no-intake.json"))  # no sources here
        window = build_window(
            ctx.db, ctx.users[user], Keymap.load(None), ctx.settings(user), seat=user, demo=False, **kw
        )
        return window, ctx.db

    return build


def _build_trainer(ctx: BuildContext) -> tuple[Any, Any]:
    """The demo window of ``--demo``: the trainer on a throwaway training world (test-sized)."""
    from workstation import clock
    from workstation.app import build_window
    from workstation.demo import launch

    cache = ctx.request.getfixturevalue("key_demo_cache")
    session = launch.open_session(cache=cache, **DEMO_WORLD)
    ctx.cleanups.append(lambda: clock.set_source(None))
    ctx.cleanups.append(session.close)
    window = build_window(session.db, session.actor, Keymap.load(None), ctx.settings("trainer"), seat="demo", demo=True)
    return window, session.db


DEMO_WORLD = {"cases": 40, "people": 0, "small_cases": 20, "small_people": 0}
DEMO_NOW = datetime(2026, 6, 4, 1, 0, tzinfo=UTC)  # 09:00 in Hefei, a Thursday


@pytest.fixture(scope="session")
def key_demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The training world of the trainer's window, built once per test session (test-sized)."""
    from workstation.demo import launch

    folder = tmp_path_factory.mktemp("key-demo-cache")
    launch.build_template(1, DEMO_WORLD["cases"], 0, folder, now=DEMO_NOW)
    return folder


WINDOWS: dict[str, WindowKind] = {
    "operator": WindowKind(frozenset({"desk", "intake"}), "queue", _build_role_window("op1")),
    "lead": WindowKind(frozenset({"desk", "intake", "lead", "supervise"}), "queue", _build_role_window("lead")),
    "station": WindowKind(frozenset({"station"}), "station", _build_role_window("station")),
    "trainer": WindowKind(frozenset({"desk", "demo", "lead", "supervise"}), "queue", _build_trainer),
    "admin": WindowKind(frozenset({"admin", "supervise"}), "admin", _build_role_window("admin")),
}


def add_window(role: str, kind: WindowKind) -> None:
    """Add (or replace) the window of a role; call it from a ``tests/key_effects_<name>.py`` module."""
    WINDOWS[role] = kind


# -- effects ------------------------------------------------------------------------------------------


def effect_modules() -> Iterator[Any]:
    """Every ``tests/key_effects*.py`` module, imported."""
    folder = Path(__file__).parent
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("key_effects"):
            yield importlib.import_module(f"tests.{info.name}")


def collect_effects() -> dict[str, list[tuple[str, KeyEffect]]]:
    """Command id -> [(module, effect)] from every effects module."""
    found: dict[str, list[tuple[str, KeyEffect]]] = {}
    for module in effect_modules():
        for command_id, value in getattr(module, "EFFECTS", {}).items():
            effects = [value] if isinstance(value, KeyEffect) else list(value)
            for effect in effects:
                found.setdefault(command_id, []).append((module.__name__, effect))
    return found


def offered(command: Command, role: str) -> bool:
    """Whether the role's window offers the command."""
    return command.scope == "any" or command.scope in WINDOWS[role].scopes


def pairs() -> list[tuple[str, str]]:
    """Every (command id, role) to press: the registry x the windows offering each command."""
    for _ in effect_modules():  # importing them may add windows
        pass
    return [(c.id, role) for c in COMMANDS for role in WINDOWS if offered(c, role)]


def effect_for(command_id: str, role: str) -> KeyEffect:
    """The effect of a command in a role's window; fails naming both when there is none, or two."""
    candidates = [
        (module, e) for module, e in collect_effects().get(command_id, []) if e.windows is None or role in e.windows
    ]
    if not candidates:
        pytest.fail(
            f"command {command_id!r} in the {role} window has no key effect: add one to EFFECTS in a "
            f"tests/key_effects_<name>.py module (see tests/key_harness.py)",
            pytrace=False,
        )
    if len(candidates) > 1:
        pytest.fail(
            f"command {command_id!r} in the {role} window has {len(candidates)} key effects "
            f"({', '.join(m for m, _ in candidates)}): narrow them with `windows`",
            pytrace=False,
        )
    return candidates[0][1]


# -- helpers for effects ------------------------------------------------------------------------------


def answer(env: KeyEnv, *steps: Sequence[Any]) -> None:
    """Answer the modal dialogs the key will open, in order: each step's keys go to the dialog's focused widget.

    A step holds ``Qt.Key``, ``(key, modifiers)``, text, or a callable run at that moment. Every modal
    answered is kept in ``env.extra["dialogs"]`` as ``(title, was_visible)``.
    """
    seen: list[tuple[str, bool]] = env.extra.setdefault("dialogs", [])

    def inspect(modal: QWidget) -> None:
        seen.append((modal.windowTitle(), modal.isVisible()))

    env.extra["answers"] = Keys([list(s) for s in steps], inspect)


def answered(env: KeyEnv, timeout: int = 8000) -> list[tuple[str, bool]]:
    """Wait until every modal the effect answered has closed; the dialogs seen, ``(title, was_visible)``."""
    driver = env.extra.get("answers")
    assert driver is not None, "the effect's setup did not call answer()"
    env.qtbot.waitUntil(driver.done, timeout=timeout)
    seen = env.extra["dialogs"]
    return seen[1:] if env.extra.get("palette_first") else seen


def escape_closes(title: str) -> KeyEffect:
    """The key opens a modal dialog whose title contains ``title``; Escape closes it."""

    def setup(env: KeyEnv) -> None:
        answer(env, [Qt.Key.Key_Escape])

    def check(env: KeyEnv) -> None:
        seen = answered(env)
        assert seen and title in seen[0][0] and seen[0][1], f"no dialog titled {title!r} showed: {seen}"
        assert QApplication.activeModalWidget() is None

    return KeyEffect(check=check, setup=setup)


def open_dialogs(window: QWidget) -> list[QWidget]:
    """The window's dialogs on screen."""
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible() and w is not window]


# -- pressing -----------------------------------------------------------------------------------------


def chords(key: str) -> list[tuple[Qt.Key, Qt.KeyboardModifier]]:
    """The key presses of a keymap key (``Ctrl+K``, ``?``, or a sequence such as ``g, g``)."""
    sequence = QKeySequence(key)
    assert not sequence.isEmpty(), f"Qt cannot read the keymap key {key!r}"
    out = []
    for i in range(sequence.count()):
        combo = sequence[i]
        out.append((combo.key(), combo.keyboardModifiers()))
    return out


def key_presses(
    command_id: str, mode: str, keymap: Keymap
) -> tuple[list[tuple[Qt.Key, Qt.KeyboardModifier]], list[Any]]:
    """The presses for a command, and what to type into the palette when it is reached through it."""
    keys = sorted(keymap.keys_for(command_id, mode), key=lambda k: (len(k), k))
    if keys:
        return chords(keys[0]), []
    palette = sorted(keymap.keys_for("view.palette", mode), key=lambda k: (len(k), k))
    assert palette, f"{command_id} has no key and the palette none either"
    return chords(palette[0]), [command_id, Qt.Key.Key_Return]


class Watchdog:
    """Closes a modal dialog nobody answers (else the key press would wait for ever) and remembers it."""

    def __init__(self, seconds: float = 6.0) -> None:
        self.seconds = seconds
        self.left_open: list[str] = []
        self._since: dict[int, float] = {}
        self.timer = QTimer()
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is None:
            return
        first = self._since.setdefault(id(modal), time.monotonic())
        if time.monotonic() - first > self.seconds:
            self.left_open.append(modal.windowTitle() or modal.objectName())
            modal.close()
            if isinstance(modal, QDialog):
                modal.reject()

    def stop(self) -> None:
        self.timer.stop()


def press(
    env: KeyEnv, command_id: str, mode: str, keymap: Keymap, check: Callable[[KeyEnv], None] | None = None
) -> None:
    """Send the command's key(s) to the widget of the window that has the keyboard, as a user does, then check.

    When the effect answered no dialog (its setup did not call :func:`answer`) and the key opens a
    modal dialog, ``check`` runs while that dialog is open and must close it (a failed check closes
    it for it); otherwise ``check`` runs after the key press.
    """
    presses, via_palette = key_presses(command_id, mode, keymap)
    answers = env.extra.get("answers")
    palette = None
    if via_palette:
        if answers is None:
            palette = Keys([via_palette])
        else:  # the palette opens first: answer it before the effect's dialogs
            answers.steps.insert(0, via_palette)
            env.extra["palette_first"] = True
    window = env.window
    env.qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)  # the user's keyboard is here
    checked: list[bool] = []
    failed: list[BaseException] = []

    def while_open() -> None:
        modal = QApplication.activeModalWidget()
        if checked or modal is None or (palette is not None and (modal in palette.seen or palette.steps)):
            return
        checked.append(True)
        try:
            if check is not None:
                check(env)
        except BaseException as exc:  # re-raised below, once the dialog is closed
            failed.append(exc)
            modal.close()
            if isinstance(modal, QDialog):
                modal.reject()

    watcher = QTimer()
    watcher.setInterval(20)
    watcher.timeout.connect(lambda: QTimer.singleShot(0, while_open))
    if answers is None:
        watcher.start()
    watchdog = Watchdog()
    try:
        for key, modifiers in presses:
            target = window.focusWidget() or window
            QTest.keyClick(target, key, modifiers)
        if palette is not None:
            env.qtbot.waitUntil(palette.done, timeout=8000)
    finally:
        watcher.stop()
        watchdog.stop()
    if failed:
        raise failed[0]
    left = watchdog.left_open
    assert not left, f"{command_id}: nobody answered or closed the dialog {left}"
    if not checked and check is not None:
        check(env)
