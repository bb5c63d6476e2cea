"""QActions and menus generated from the command registry and the keymap."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from workstation.commands.keymap import Keymap
from workstation.commands.registry import MENUS, all_commands
from workstation.i18n import tr


def qt_key(key: str) -> QKeySequence:
    """A keymap key as a Qt key sequence."""
    return QKeySequence(key)


def slot(handler: Callable[[], None]) -> Callable[..., None]:
    """A slot for ``QAction.triggered`` that calls ``handler()`` with no argument.

    ``triggered`` sends ``checked``; connected directly, a handler with a defaulted parameter (a
    ``lambda k=k:`` or ``export(path=None)``) would receive ``False`` in its place.
    """

    def run(*_signal_args: object) -> None:
        handler()

    return run


def key_label(key: str) -> str:
    """A key as people read it: the keymap's own spelling, so ``f`` stays lower-case.

    ``QKeySequence.toString`` shows ``F``, which reads as Shift+F; menus, the palette and the cheat
    sheet all show keys through this function instead.
    """
    return key


def keys_label(keys: Iterable[str]) -> str:
    """Several keys of one command, the shortest first: ``? / F1``."""
    return " / ".join(key_label(k) for k in sorted(keys, key=lambda k: (len(k), k)))


def build_actions(
    window: QMainWindow,
    keymap: Keymap,
    handlers: dict[str, Callable[[], None]],
    _area: QWidget | None = None,
    *,
    mode: str = "queue",
    scopes: Iterable[str] = ("desk",),
) -> dict[str, QAction]:
    """One QAction per command of the window's scopes, its keys working anywhere in the window.

    Every shortcut has the window's context, so the keys work wherever the keyboard is in the window
    (after a click on the queue list too); a text field keeps the plain letters typed into it, as Qt
    gives editors the printable keys first. The menu shows the keys as the keymap spells them.
    ``_area`` (the widget the mode's keys were once limited to) is accepted for older callers and unused.

    Returns:
        Command id -> action.
    """
    commands = list(all_commands(scopes))
    used_menus = {c.menu for c in commands}
    menus: dict[str, QMenu] = {}
    for menu_id, title in MENUS.items():
        if menu_id in used_menus:
            menus[menu_id] = window.menuBar().addMenu(tr(title))
    bindings = keymap.bindings(mode)
    actions: dict[str, QAction] = {}
    for command in commands:
        keys = sorted((k for k, c in bindings.items() if c == command.id), key=lambda k: (len(k), k))
        title = tr(command.title)
        # A tab in the text is the menu's shortcut column: Qt shows it instead of its own capitals.
        action = QAction(f"{title}\t{key_label(keys[0])}" if keys else title, window)
        action.setObjectName(command.id)
        action.setIconText(title)
        if command.help:
            action.setStatusTip(tr(command.help))
        if keys:
            action.setShortcuts([qt_key(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)
        handler = handlers.get(command.id)
        if handler is not None:
            action.triggered.connect(slot(handler))
        else:
            action.setEnabled(False)
        menus[command.menu].addAction(action)
        actions[command.id] = action
    return actions
