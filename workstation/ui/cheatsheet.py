"""The keyboard cheat sheet (``?``): every key of the window, grouped by menu in menu order, in a table.

Keys are shown as the keymap spells them (``f``, not Qt's ``F``); typing filters the rows, Enter runs
the highlighted command, Esc closes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.commands.keymap import Keymap
from workstation.commands.registry import MENUS, all_commands
from workstation.i18n import tr
from workstation.ui.actions import keys_label

COMMAND_ROLE = Qt.ItemDataRole.UserRole


def plain_menu_title(title: str) -> str:
    """A menu title without its mnemonic: ``&Case`` -> ``Case``, ``案件(&C)`` -> ``案件``."""
    return re.sub(r"\s*\(&.\)", "", title).replace("&", "")


def sheet_rows(keymap: Keymap, mode: str, scopes: Iterable[str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """``[(menu title, [(command id, keys, title)])]`` in menu order; commands without a key are left out."""
    commands = list(all_commands(scopes))
    groups = []
    for menu_id, menu_title in MENUS.items():
        rows = []
        for command in commands:
            keys = keymap.keys_for(command.id, mode)
            if command.menu == menu_id and keys:
                rows.append((command.id, keys_label(keys), tr(command.title)))
        if rows:
            groups.append((plain_menu_title(tr(menu_title)), rows))
    return groups


class CheatSheet(QDialog):
    """The table of keys; ``chosen`` is the command id Enter was pressed on."""

    def __init__(self, keymap: Keymap, mode: str, scopes: Iterable[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Keyboard cheat sheet"))
        self.setObjectName("cheatSheet")
        self.setModal(True)
        self.resize(560, 640)
        self.chosen: str | None = None
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(tr("Type to find a key or a command"))
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("cheatTable")
        self.table.setHorizontalHeaderLabels([tr("Key"), tr("Command")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        bold = QFont(self.font())
        bold.setBold(True)
        self.groups: list[tuple[int, list[int]]] = []  # heading row, its command rows
        self.command_of: dict[int, str] = {}  # row -> command id
        self.words_of: dict[int, str] = {}  # row -> what typing finds it by
        for menu_title, rows in sheet_rows(keymap, mode, scopes):
            heading = self._add_row()
            item = QTableWidgetItem(menu_title)
            item.setFont(bold)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(heading, 0, item)
            self.table.setSpan(heading, 0, 1, 2)
            members = []
            for command_id, keys, title in rows:
                row = self._add_row()
                key_item = QTableWidgetItem(keys)
                key_item.setFont(mono)
                key_item.setData(COMMAND_ROLE, command_id)
                self.table.setItem(row, 0, key_item)
                self.table.setItem(row, 1, QTableWidgetItem(title))
                self.command_of[row] = command_id
                self.words_of[row] = f"{keys} {title} {command_id}".lower()
                members.append(row)
            self.groups.append((heading, members))
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel(tr("Enter runs the command · Esc closes")))
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self._filter("")

    def _add_row(self) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        return row

    def visible_commands(self) -> list[int]:
        """The command rows shown, top to bottom."""
        return [r for _, rows in self.groups for r in rows if not self.table.isRowHidden(r)]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for heading, rows in self.groups:
            shown = 0
            for row in rows:
                hide = not all(w in self.words_of[row] for w in words)
                self.table.setRowHidden(row, hide)
                shown += not hide
            self.table.setRowHidden(heading, shown == 0)
        visible = self.visible_commands()
        if visible:
            self.table.selectRow(visible[0])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up/Down move between commands, Enter runs the highlighted one."""
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            visible = self.visible_commands()
            current = self.table.currentRow()
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and visible:
                at = visible.index(current) if current in visible else 0
                at = max(0, min(len(visible) - 1, at + (1 if event.key() == Qt.Key.Key_Down else -1)))
                self.table.selectRow(visible[at])
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if current in visible:
                    self.chosen = self.command_of[current]
                    self.accept()
                return True
        return super().eventFilter(watched, event)
