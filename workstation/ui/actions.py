"""QActions and menus generated from the command registry and the keymap."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from workstation.commands.keymap import GLOBAL, Keymap
from workstation.commands.registry import MENUS, all_commands
from workstation.i18n import tr


def qt_key(key: str) -> QKeySequence:
    """A keymap key as a Qt key sequence."""
    return QKeySequence(key)


def build_actions(
    window: QMainWindow,
    keymap: Keymap,
    handlers: dict[str, Callable[[], None]],
    queue_area: QWidget,
    *,
    mode: str = "queue",
    scopes: Iterable[str] = ("desk",),
) -> dict[str, QAction]:
    """One QAction per command of the window's scopes; the mode's own keys only work inside its area.

    Returns:
        Command id -> action.
    """
    commands = list(all_commands(scopes))
    used_menus = {c.menu for c in commands}
    menus: dict[str, QMenu] = {}
    for menu_id, title in MENUS.items():
        if menu_id in used_menus:
            menus[menu_id] = window.menuBar().addMenu(tr(title))
    global_keys = keymap.bindings(GLOBAL)
    queue_keys = {k: c for k, c in keymap.bindings(mode).items() if global_keys.get(k) != c}
    actions: dict[str, QAction] = {}
    for command in commands:
        action = QAction(tr(command.title), window)
        action.setObjectName(command.id)
        if command.help:
            action.setStatusTip(tr(command.help))
        keys = [k for k, c in global_keys.items() if c == command.id]
        local = [k for k, c in queue_keys.items() if c == command.id]
        if local and not keys:
            action.setShortcuts([qt_key(k) for k in sorted(local, key=len)])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            queue_area.addAction(action)
        elif keys:
            action.setShortcuts([qt_key(k) for k in sorted(keys, key=len)])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)
        handler = handlers.get(command.id)
        if handler is not None:
            action.triggered.connect(handler)
        else:
            action.setEnabled(False)
        menus[command.menu].addAction(action)
        actions[command.id] = action
    return actions
