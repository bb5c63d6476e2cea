"""Fetching the case photos that arrived as URLs, in the background of the window.

A QTimer ticks on the UI thread; each tick with no round running starts an asyncio task that runs
``services.photos.fetch_due`` through ``asyncio.to_thread`` (qasync's thread pool), so a slow or dead
photo server never blocks the window. The task is kept in a set (the event loop keeps only weak
references). When a round changed anything, ``updated`` is emitted back on the UI thread with its
report, and the case panel shows the new states. Closing the window sets the stop flag: the HTTP
session refuses new requests and a download in flight ends at its next piece.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from workstation.i18n import tr
from workstation.services import photos
from workstation.storage.db import Database
from workstation.ui.intake_runner import StoppableSession, Stopped

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class PhotoRunner(QObject):
    """Runs photo fetch rounds every ``every_s`` seconds, one at a time, off the UI thread."""

    updated = Signal(object)  # the FetchReport of each round, or None when a round went wrong as a whole

    def __init__(
        self,
        db: Database,
        parent: QObject | None = None,
        *,
        every_s: float = 15.0,
        limits: photos.Limits = photos.LIMITS,
        round_timeout_s: float = 600.0,
    ) -> None:
        super().__init__(parent)
        self.db, self.limits, self.round_timeout_s = db, limits, round_timeout_s
        self.stop_flag = threading.Event()
        self.session = StoppableSession(self.stop_flag)
        self.tasks: set[asyncio.Task[None]] = set()
        self.busy = False
        self.work: asyncio.Future[photos.FetchReport] | None = None  # the round running in a worker thread
        self.stopped = False
        self.rounds = 0
        self.problem: str | None = None
        self.last: photos.FetchReport | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(every_s * 1000))
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        """Start ticking; the first round starts at once."""
        if self.stopped:
            return
        self.timer.start()
        QTimer.singleShot(0, self.tick)

    def stop(self) -> None:
        """Stop for good: no new round; a round in flight unwinds at its next request or piece."""
        self.stopped = True
        self.stop_flag.set()
        self.timer.stop()
        for task in list(self.tasks):
            task.cancel()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Stop when the window closes."""
        if event.type() == QEvent.Type.Close:
            self.stop()
        return False

    def tick(self) -> None:
        """Start a round unless one is running."""
        if self.stopped or self.busy:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.problem = tr("no asyncio event loop is running: photos cannot be fetched in the background")
            self.timer.stop()
            return
        self.busy = True
        self.work = None
        task = loop.create_task(self._run())
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self.work is None:  # cancelled before the round began (the window closed at once): nothing runs
            self.busy = False

    async def _run(self) -> None:
        work = self.work = asyncio.ensure_future(
            asyncio.to_thread(photos.fetch_due, self.db, self.session, self.limits, self.stop_flag.is_set)
        )
        work.add_done_callback(self._free)
        try:
            report = await asyncio.wait_for(asyncio.shield(work), self.round_timeout_s)
        except TimeoutError:
            self.problem = tr("a photo round has been running for more than {n} s", n=int(self.round_timeout_s))
            self.updated.emit(None)
            return
        except Stopped:
            return
        except Exception as exc:  # a round that breaks must not stop the fetching: say so, try again later
            log.exception("photo round failed")
            self.problem = f"{type(exc).__name__}: {exc}"
            self.updated.emit(None)
            return
        self.problem = None
        self.rounds += 1
        self.last = report
        self.updated.emit(report)

    def _free(self, done: asyncio.Future[photos.FetchReport]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved, so asyncio does not log it a second time
        self.busy = False


class PhotoFetchExtension:
    """Fetches the URL photos in the background of an operator window and refreshes the case panel."""

    scope = "photos"  # no commands of its own: the viewer (case.photos) belongs to the desk

    def __init__(self, every_s: float = 15.0, limits: photos.Limits = photos.LIMITS) -> None:
        self.every_s, self.limits = every_s, limits
        self.runner: PhotoRunner | None = None

    def install(self, window: MainWindow) -> dict[str, Callable[[], None]]:
        """Start the rounds; after each, the panel shows the new states and the status bar what waits."""
        self.window = window
        runner = self.runner = PhotoRunner(window.db, window, every_s=self.every_s, limits=self.limits)
        self.label = QLabel()
        self.label.setObjectName("photosState")
        self.label.setVisible(False)
        window.statusBar().addPermanentWidget(self.label)
        window.installEventFilter(runner)  # stops the rounds when the window closes
        runner.updated.connect(self.round_done)
        runner.start()
        return {}

    def round_done(self, report: photos.FetchReport | None) -> None:
        """Show the new photo states; say in the status bar how many wait, or what went wrong."""
        if report is not None and report.changed:
            self.window.panel.refresh_photos()
        runner = self.runner
        assert runner is not None
        if runner.problem:
            self.label.setText("⚠ " + tr("Photos: {problem}", problem=runner.problem))
            self.label.setProperty("state", "down")
        elif report is not None and report.waiting:
            self.label.setText(tr("Photos: {n} to fetch", n=report.waiting))
            self.label.setProperty("state", "warn")
        else:
            self.label.setText("")
        self.label.setToolTip(runner.problem or "")
        self.label.setVisible(bool(self.label.text()))
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
