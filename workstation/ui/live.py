"""What keeps a seat live: the change feed, the lease on the open case, countdowns, the idle lock.

Changes by other seats arrive through the case-event feed; the open case is held by a lease that
is renewed while it stays open; the connection state shows in the status bar.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workstation.i18n import tr
from workstation.models import Case
from workstation.services import leases
from workstation.services.feed import FeedReader
from workstation.services.leases import TakenError
from workstation.ui.seat_lock import SeatLock

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

POLL_MS = 1000
RENEW_MS = 20_000


class Live(SeatLock):
    """Timers and the idle watch of one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, window)
        self.w = window
        self.held: int | None = None
        self.holders: dict[int, str] = {}
        self.online = True
        self.feed = FeedReader(window.db)
        self.feed.start_at_end()
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.poll)
        self.poll_timer.start()
        self.renew_timer = QTimer(self)
        self.renew_timer.setInterval(RENEW_MS)
        self.renew_timer.timeout.connect(lambda: self.hold(self.held))
        self.renew_timer.start()
        self._set_online(True)

    # -- lease -----------------------------------------------------------------------------------

    def hold(self, case_id: int | None) -> None:
        """Hold the case now open (releasing the previous one); another seat's case is shown as theirs."""
        if self.held is not None and self.held != case_id:
            try:
                leases.release(self.w.db, self.w.actor, self.held)
            except SQLAlchemyError:
                self._set_online(False)
        self.held = case_id
        if case_id is None:
            return
        try:
            leases.acquire(self.w.db, self.w.actor, case_id, self.w.seat)
            self.holders.pop(case_id, None)
        except TakenError as exc:
            self.holders[case_id] = exc.by
        except SQLAlchemyError:
            self._set_online(False)

    def holder_of(self, case_id: int) -> str | None:
        """Another user holding this case, if any."""
        return self.holders.get(case_id)

    # -- feed ------------------------------------------------------------------------------------

    def poll(self) -> None:
        """Apply changes made by other seats and new reports; tick countdowns."""
        self.w.model.tick()
        self.w.panel.tick()
        try:
            events = self.feed.poll()
        except SQLAlchemyError:
            self._set_online(False)
            return
        self._set_online(True)
        if not events:
            return
        new_ids = [case_id for _, case_id, action in events if action == "report"]
        self.w.refresh(keep=self.w.current_id())
        current = self.w.current_id()
        if current is not None and any(case_id == current for _, case_id, _ in events):
            self.hold(current)
            self.w.show_current()
        if new_ids:
            with self.w.db.read() as s:
                urgent = s.scalars(select(Case.id).where(Case.id.in_(new_ids), Case.priority <= 1)).all()
            if urgent:
                self.w.notify(tr("New urgent report: #{ids}", ids=", #".join(str(i) for i in urgent)))
                if self.w.settings.value("session/sound", "false") == "true":
                    QApplication.beep()

    def _set_online(self, online: bool) -> None:
        self.online = online
        self.w.connection_label.setText(
            tr("● database connected") if online else tr("○ database unreachable — retrying")
        )
        self.w.connection_label.setProperty("online", online)

    # -- lock and stop ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the timers and give back the held case."""
        for timer in (self.poll_timer, self.renew_timer):
            timer.stop()
        self.stop_lock()
        if self.held is not None:
            with contextlib.suppress(SQLAlchemyError):
                leases.release(self.w.db, self.w.actor, self.held)
            self.held = None
