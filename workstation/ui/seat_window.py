"""What every window of a seat does the same way.

Running a picker, the command palette, the cheat sheet, status-bar messages, and giving the keyboard
back to the list after a dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QStatusBar, QTableView

from workstation import __version__
from workstation.commands.keymap import Keymap
from workstation.commands.registry import MENUS, all_commands
from workstation.i18n import tr
from workstation.services.actors import Actor
from workstation.storage.db import Database
from workstation.ui.audit_mark import AuditMark, add_audit_mark
from workstation.ui.pickers import Picker, PickItem


class SeatWindow(QMainWindow):
    """Base of the operator's and the station's windows; subclasses set the attributes below."""

    key_mode = "queue"  # the keymap mode of the window's main list
    db: Database
    actor: Actor
    keymap: Keymap
    scopes: set[str]
    table: QTableView
    message: QLabel
    actions_by_id: dict[str, QAction]
    current_picker: QDialog | None = None
    audit_mark: AuditMark | None = None

    def add_audit_mark(self, bar: QStatusBar) -> None:
        """Administrators: the history's verification mark, checked in the background after sign-in."""
        self.audit_mark = add_audit_mark(bar, self.db, self.actor)

    def pick(self, title: str, items: Sequence[PickItem], **options: Any) -> Any:
        """Run a picker; the chosen key, or None when it was closed. The keyboard returns to the list."""
        picker = Picker(title, items, self, **options)
        self.current_picker = picker
        try:
            return picker.chosen if picker.exec() else None
        finally:
            self.current_picker = None
            picker.deleteLater()
            self.restore_focus()

    def open_palette(self) -> None:
        """``Ctrl+K``: every command with its key; Enter runs it."""
        items = []
        for command in all_commands(self.scopes):
            keys = ", ".join(self.keymap.keys_for(command.id, self.key_mode))
            where = tr(MENUS[command.menu]).replace("&", "") if command.menu in MENUS else ""
            # without a key, the menu it is in (the id still matches when typed, but is not shown)
            items.append(PickItem(command.id, tr(command.title), keys or where, (command.id, keys)))
        chosen = self.pick(tr("Command palette"), items)
        if chosen:
            self.actions_by_id[chosen].trigger()

    def cheatsheet(self) -> None:
        """``?``: every key of this window, from the keymap."""
        items = []
        for command in all_commands(self.scopes):
            keys = self.keymap.keys_for(command.id, self.key_mode)
            if keys:
                items.append(PickItem(command.id, f"{' / '.join(keys):<14} {tr(command.title)}", ""))
        chosen = self.pick(tr("Keyboard cheat sheet"), items, hint=tr("Type to find a key or a command"))
        if chosen:
            self.actions_by_id[chosen].trigger()

    def about(self) -> None:
        """Version and database."""
        self.notify(
            tr(
                "Workstation {version} · database {db}",
                version=__version__,
                db=self.db.engine.url.render_as_string(hide_password=True),
            )
        )

    def restore_focus(self) -> None:
        """Give the keyboard back to the list after a dialog (also where no window manager does it)."""
        self.activateWindow()
        self.table.setFocus()

    def notify(self, text: str, error: bool = False) -> None:
        """A non-blocking message in the status bar (errors in red)."""
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
