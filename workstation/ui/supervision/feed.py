"""Figures read off the GUI thread whenever the change feed reports something (or time has passed).

A one-thread pool polls the case-event feed every second; when there are new events, or every
``STALE_S`` seconds anyway (deadlines pass without any event), it reads the figures and hands them
to the GUI thread through a queued signal. The window never waits on the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from sqlalchemy.exc import SQLAlchemyError

from workstation.services.feed import FeedReader
from workstation.storage.db import Database

POLL_MS = 1000
STALE_S = 30.0


class FigureFeed(QObject):
    """Reads figures in a worker thread; ``ready`` carries them to the GUI thread."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, db: Database, read: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db, self.read = db, read
        self.feed = FeedReader(db)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="figures")
        self.busy = False
        self.wanted = True  # read at the first tick
        self.last = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        """Read now and then follow the feed."""
        self.feed.start_at_end()
        self.timer.start()
        self.tick()

    def refresh(self) -> None:
        """Read again as soon as the worker is free."""
        self.wanted = True
        self.tick()

    def tick(self) -> None:
        """Hand one round to the worker unless one is running."""
        if self.busy:
            return
        self.busy = True
        self.pool.submit(self._round)

    def _round(self) -> None:
        try:
            events = self.feed.poll()
            if events or self.wanted or time.monotonic() - self.last > STALE_S:
                self.wanted = False
                self.last = time.monotonic()
                self.ready.emit(self.read())
        except SQLAlchemyError as exc:
            self.failed.emit(str(exc.__class__.__name__))
        finally:
            self.busy = False

    def stop(self) -> None:
        """Stop following the feed and wait for a round in progress."""
        self.timer.stop()
        self.pool.shutdown(wait=True)
