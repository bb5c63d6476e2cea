"""What keeps the station's worklist live: care notices, a refresh every few seconds, the idle lock.

Changes made in this program (``care_*`` notices) refresh the list at once; changes made at other
seats show within ``REFRESH_MS``. The selected person stays selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from workstation.services import notices

if TYPE_CHECKING:
    from workstation.ui.station.window import StationWindow

REFRESH_MS = 5000
SOON_MS = 150


class StationLive(QObject):
    """The refresh timers, the notice listener and the idle watch of one station window."""

    changed = Signal()  # a care notice arrived (possibly from another thread): refresh soon, in the window's thread

    def __init__(self, window: StationWindow) -> None:
        super().__init__(window)
        self.w = window
        self.locked = False
        self.idle_ms = int(str(window.settings.value("session/idleMinutes", 10))) * 60_000
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(lambda: self.w.refresh(keep=self.w.current_person(), page=False))
        self.timer.start()
        self.soon = QTimer(self)  # many notices in a row: one refresh
        self.soon.setSingleShot(True)
        self.soon.setInterval(SOON_MS)
        self.soon.timeout.connect(lambda: self.w.refresh(keep=self.w.current_person(), page=True))
        self.changed.connect(self._soon)
        self.unsubscribe = notices.subscribe(self._notice)
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self.lock)
        if self.idle_ms > 0:
            self.idle_timer.start(self.idle_ms)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _notice(self, kind: str, _ids: Sequence[int]) -> None:
        if kind.startswith("care_") and not self.locked:
            self.changed.emit()

    def _soon(self) -> None:
        self.soon.start()

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

        if self.w.current_picker is not None:
            self.w.current_picker.reject()
        self.w.central.setVisible(False)
        self.locked = True
        while True:  # only the same user's password unlocks; Esc just asks again
            dialog = SignInDialog(self.w.db, parent=self.w, locked_for=self.w.actor.name)
            unlocked = dialog.exec() and dialog.actor is not None
            dialog.deleteLater()
            if unlocked:
                break
        self.locked = False
        self.w.central.setVisible(True)
        self.w.refresh(keep=self.w.current_person(), page=True)
        self.w.restore_focus()
        if self.idle_ms > 0:
            self.idle_timer.start(self.idle_ms)

    def stop(self) -> None:
        """Stop the timers and stop listening."""
        for timer in (self.timer, self.soon, self.idle_timer):
            timer.stop()
        self.unsubscribe()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
