"""The idle lock and the account watch shared by every window.

A seat left alone hides its content until the same user's password is typed again. The idle
time is the setting ``session/idleMinutes`` (10 by default; 0 turns the lock off).

Every ``session/accountCheckSeconds`` (15 by default) the seat reads its user's account: when an
administrator has disabled it, or given it another role, community or unit, the window hides its
content, says what changed and closes; the user signs in again (with the new role), or not at all.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from sqlalchemy.exc import SQLAlchemyError

from workstation.i18n import tr
from workstation.services.accounts import account_change
from workstation.services.actors import Actor
from workstation.storage.db import Database


class LockableWindow(Protocol):
    """What the lock needs of a window."""

    db: Database
    actor: Actor
    settings: QSettings
    central: QWidget

    @property
    def current_picker(self) -> QDialog | None:
        """The picker open at the moment, if any (closed when the seat locks)."""

    def restore_focus(self) -> None:
        """Give the keyboard back to the main list."""

    def close(self) -> bool:
        """Close the window (sign out)."""


class SeatLock(QObject):
    """The idle watch and the lock of one window; windows' live helpers derive from it."""

    def __init__(self, window: LockableWindow, parent: QObject) -> None:
        super().__init__(parent)
        self.lockable = window
        self.locked = False
        self.idle_ms = int(str(window.settings.value("session/idleMinutes", 10))) * 60_000
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self.lock)
        if self.idle_ms > 0:
            self.idle_timer.start(self.idle_ms)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.account_notice: QMessageBox | None = None
        self.account_timer = QTimer(self)
        self.account_timer.timeout.connect(self.check_account)
        seconds = float(str(window.settings.value("session/accountCheckSeconds", 15)))
        if seconds > 0:
            self.account_timer.start(int(seconds * 1000))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any key or click restarts the idle clock."""
        if (
            event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress)
            and self.idle_ms > 0
            and not self.locked
        ):
            self.idle_timer.start(self.idle_ms)
        return False

    def lock(self) -> None:
        """Lock the seat: the content is hidden until the same user types the password."""
        from workstation.ui.dialogs import SignInDialog

        w = self.lockable
        if w.current_picker is not None:
            w.current_picker.reject()
        w.central.setVisible(False)
        self.locked = True
        while True:  # only the same user's password unlocks; Esc just asks again
            dialog = SignInDialog(w.db, parent=w.central.window(), locked_for=w.actor.name)
            unlocked = dialog.exec() and dialog.actor is not None
            dialog.deleteLater()
            if unlocked:
                break
        self.locked = False
        w.central.setVisible(True)
        self.unlocked()
        w.restore_focus()
        if self.idle_ms > 0:
            self.idle_timer.start(self.idle_ms)

    def check_account(self) -> None:
        """Close the window when an administrator changed this user's account (see the module)."""
        if self.account_notice is not None:
            return
        try:
            change = account_change(self.lockable.db, self.lockable.actor)
        except SQLAlchemyError:  # the database is away for a moment: the next check tells
            return
        if change is None:
            return
        self.account_timer.stop()
        w = self.lockable
        if w.current_picker is not None:
            w.current_picker.reject()
        w.central.setVisible(False)
        notice = self.account_notice = QMessageBox(
            QMessageBox.Icon.Warning,
            tr("Your account was changed"),
            change + "\n" + tr("This window closes now; sign in again to go on working."),
            QMessageBox.StandardButton.Ok,
            w.central.window(),
        )
        notice.setObjectName("accountChanged")
        notice.finished.connect(lambda _result: w.close())
        notice.open()

    def unlocked(self) -> None:
        """What a window does right after it is unlocked (read what changed meanwhile)."""

    def stop_lock(self) -> None:
        """Stop watching for idleness and for account changes."""
        self.idle_timer.stop()
        self.account_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
