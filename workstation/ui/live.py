"""What keeps a seat live: the change feed, the lease on the open case, countdowns, the idle lock.

Changes by other seats arrive through the case-event feed, read on a thread of its own
(``services.live.LiveLoop``: PostgreSQL notices, or a cheap poll on SQLite) and handed to the GUI
thread as a signal carrying everything to show: the window applies it to the rows in view and the
counts without reading the database itself. The open case is held by a lease that is renewed while
it stays open; the connection state shows in the status bar.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication
from sqlalchemy.exc import SQLAlchemyError

from workstation.i18n import tr
from workstation.services import leases
from workstation.services.feed import FeedReader
from workstation.services.leases import TakenError
from workstation.services.live import LiveLoop, Snapshot, View, read_snapshot
from workstation.storage.db import Database
from workstation.ui.seat_lock import SeatLock

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

TICK_MS = 1000
RENEW_MS = 20_000


class LiveFeed(QObject):
    """The live thread of one seat, as Qt signals delivered on the GUI thread.

    ``changed`` carries a :class:`Snapshot`, ``online`` the database's reachability. The view (the
    filter, the blocks in view, the open case) is published by the GUI thread with :meth:`publish`.
    ``changed`` is emitted on the GUI thread; once its slots have run, the live thread is told the
    snapshot was taken, so it never reads again before the window has shown the last change (the
    changes that come meanwhile fold into the next read).
    """

    changed = Signal(object)
    online = Signal(bool)
    _arrived = Signal(object)  # from the live thread, queued to the GUI thread

    def __init__(self, db: Database, actor: str, view: View, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lock = threading.Lock()  # one reader of the feed at a time (the thread, or a catch-up)
        self.stopped = False
        self.loop = LiveLoop(db, actor, view, self._deliver, self._state, lock=self.lock)
        self._arrived.connect(self._hand_over)

    def _deliver(self, snapshot: Snapshot) -> None:
        if not self.stopped:
            self._arrived.emit(snapshot)  # queued: :meth:`_hand_over` runs on the GUI thread

    def _hand_over(self, snapshot: Snapshot) -> None:
        try:
            if not self.stopped:
                self.changed.emit(snapshot)
        finally:
            self.loop.taken()

    def _state(self, online: bool) -> None:
        if not self.stopped:
            self.online.emit(online)

    def start(self) -> None:
        """Start the thread."""
        self.loop.start()

    def publish(self, view: View) -> None:
        """What the seat shows now."""
        self.loop.publish(view)

    def read_now(self) -> Snapshot | None:
        """Read the feed here and now (a demo's own simulated changes); blocks while the thread reads."""
        with self.lock:
            return read_snapshot(self.loop.reader, self.loop.feed, self.loop.view, self.loop.actor)

    def stop(self) -> None:
        """End the thread; nothing is delivered after this."""
        self.stopped = True
        self.loop.stop()


class Live(SeatLock):
    """Timers and the idle watch of one window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, window)
        self.w = window
        self.held: int | None = None
        self.holders: dict[int, str] = {}
        self.online = True
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(TICK_MS)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        self.renew_timer = QTimer(self)
        self.renew_timer.setInterval(RENEW_MS)
        self.renew_timer.timeout.connect(lambda: self.hold(self.held))
        self.renew_timer.start()
        self.source = LiveFeed(window.db, window.actor.name, self.view(), self)
        self.source.changed.connect(self.apply)
        self.source.online.connect(self._set_online)
        self.source.start()
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

    @property
    def feed(self) -> FeedReader:
        """The feed reader of the live thread (replaced after a demo reset)."""
        return self.source.loop.feed

    @feed.setter
    def feed(self, reader: FeedReader) -> None:
        with self.source.lock:
            self.source.loop.feed = reader

    def view(self) -> View:
        """What the window shows now: its filter, the blocks of the rows in view, the open case."""
        table = self.w.table
        first = table.rowAt(0)
        last = table.rowAt(max(table.viewport().height() - 1, 0))
        first = max(first, 0)
        last = last if last >= 0 else first + 40  # a short list, or not laid out yet
        current = self.w.current_id() if hasattr(self.w, "table") else None
        return View(self.w.filter, current=current, **self.w.model.view_of(first, last))

    def publish(self) -> None:
        """Tell the live thread what the window shows now (after a scroll, a filter or a selection)."""
        self.source.publish(self.view())

    def tick(self) -> None:
        """Let countdowns move (no database)."""
        self.w.model.tick()
        self.w.panel.tick()

    def poll(self) -> None:
        """Read the feed now, on this thread (a demo shows its own simulated changes at once)."""
        try:
            snapshot = self.source.read_now()
        except SQLAlchemyError:
            self._set_online(False)
            return
        if snapshot is not None:
            self.apply(snapshot)

    def apply(self, snapshot: Snapshot) -> None:
        """Show a change read by the live thread: rows in view, counts, the open case, notices."""
        w = self.w
        row = w.table.currentIndex().row()
        before = w.model.loaded_id(row) if row >= 0 else None
        if w.model.apply(snapshot.view):
            w.update_counts(snapshot.counts)
            moved = w.model.row_of(before) if before is not None else None
            if moved is not None and moved != row:  # the open case moved: the selection follows it
                w.follow(moved)
        if not w.table.currentIndex().isValid() and w.model.rowCount():
            # nothing open (an empty queue filled), or the open row went with the end of the queue
            w.select_row(min(max(row, 0), w.model.rowCount() - 1))
        else:
            after = w.current_id()
            if after != before:  # the open case left the queue: the one that took its place is shown
                self.hold(w.acting_on if w.acting_on is not None else after)  # (unless a flow acts on one)
                w.show_current()
            elif w.acting_on is None and after is not None and snapshot.current and snapshot.current["id"] == after:
                w.panel.show_case(snapshot.current, self.holder_of(after))
        self.publish()
        if snapshot.urgent:
            w.notify(tr("New urgent report: #{ids}", ids=", #".join(str(i) for i in snapshot.urgent)))
            if w.settings.value("session/sound", "false") == "true":
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
        for timer in (self.tick_timer, self.renew_timer):
            timer.stop()
        self.source.stop()
        self.stop_lock()
        if self.held is not None:
            with contextlib.suppress(SQLAlchemyError):
                leases.release(self.w.db, self.w.actor, self.held)
            self.held = None
