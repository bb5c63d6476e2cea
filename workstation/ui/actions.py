"""QActions and menus generated from the command registry and the keymap."""

from __future__ import annotations

from collections.abc import Callable

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
    window: QMainWindow, keymap: Keymap, handlers: dict[str, Callable[[], None]], queue_area: QWidget
) -> dict[str, QAction]:
    """One QAction per command with its keys; queue-mode keys only work inside the queue area.

    Returns:
        Command id -> action.
    """
    menus: dict[str, QMenu] = {}
    for menu_id, title in MENUS.items():
        menus[menu_id] = window.menuBar().addMenu(tr(title))
    global_keys = keymap.bindings(GLOBAL)
    queue_keys = {k: c for k, c in keymap.bindings("queue").items() if global_keys.get(k) != c}
    actions: dict[str, QAction] = {}
    for command in all_commands():
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
        menus.get(command.menu, menus["view"]).addAction(action)
        actions[command.id] = action
    return actions
