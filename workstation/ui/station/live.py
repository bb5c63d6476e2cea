"""What keeps the station's worklist live: care notices, a refresh every few seconds, the idle lock.

Changes made in this program (``care_*`` notices) refresh the list at once; changes made at other
seats show within ``REFRESH_MS``. The selected person stays selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal

from workstation.services import notices
from workstation.ui.seat_lock import SeatLock

if TYPE_CHECKING:
    from workstation.ui.station.window import StationWindow

REFRESH_MS = 5000
SOON_MS = 150


class StationLive(SeatLock):
    """The refresh timers, the notice listener and the idle watch of one station window."""

    changed = Signal()  # a care notice arrived (possibly from another thread): refresh soon, in the window's thread

    def __init__(self, window: StationWindow) -> None:
        super().__init__(window, window)
        self.w = window
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

    def _notice(self, kind: str, _ids: Sequence[int]) -> None:
        if kind.startswith("care_") and not self.locked:
            self.changed.emit()

    def _soon(self) -> None:
        self.soon.start()

    def unlocked(self) -> None:
        """Read what changed while the seat was locked."""
        self.w.refresh(keep=self.w.current_person(), page=True)

    def stop(self) -> None:
        """Stop the timers and stop listening."""
        for timer in (self.timer, self.soon):
            timer.stop()
        self.unsubscribe()
        self.stop_lock()
