"""The intake's background work in the window: polling rounds and outbox sends, never on the UI thread.

A QTimer ticks on the UI thread; when a source is due (or the outbox's turn has come) it starts an
asyncio task that runs the blocking round through ``asyncio.to_thread`` (qasync's thread pool), with
a time limit on the wait. Each lane (polling, sending) runs one round at a time: a tick that finds
its lane busy starts nothing. The tasks are kept in a set, since the event loop holds only weak
references to them. When a round is done the task, back on the UI thread, keeps its results and a
``Snapshot`` of the connection states and emits ``updated``; it never opens a dialog.

Closing the window sets a stop flag that the HTTP sessions and the back-off sleeps obey: a round in
flight ends within one request timeout, so the event loop's exit (which waits for the thread pool)
is short. Every network call has a timeout (``intake.http``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from sqlalchemy import func, select

from workstation.i18n import tr
from workstation.intake import georeport_out, outbox, status
from workstation.intake.base import RoundResult, Source
from workstation.intake.poller import Poller
from workstation.intake.settings import Settings
from workstation.intake.targets import sync_targets
from workstation.models import OutboxMessage
from workstation.storage.db import Database

log = logging.getLogger(__name__)
POLL, SEND = "poll", "send"


class Stopped(Exception):
    """The window is closing: a round in flight unwinds without recording a failure."""


class StoppableSession(requests.Session):
    """A requests session that refuses new requests once the stop flag is set."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """Send, unless the window is closing."""
        if self.stop.is_set():
            raise Stopped()
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class Snapshot:
    """The connection states and the outbox counts, read after a round (in the worker thread)."""

    statuses: dict[str, status.Status] = field(default_factory=dict)
    pending: int = 0
    failed: int = 0
    retrying: dict[str, int] = field(default_factory=dict)  # per target: pending messages already tried


def read_snapshot(db: Database) -> Snapshot:
    """Every connection's state and how many outbound messages wait or failed."""
    statuses = {st.name: st for st in status.read_status(db)}
    with db.read() as s:
        counts = dict(
            s.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(("pending", "failed")))
                .group_by(OutboxMessage.status)
            ).all()
        )
        retrying = dict(
            s.execute(
                select(OutboxMessage.target, func.count())
                .where(OutboxMessage.status == "pending", OutboxMessage.attempts > 0)
                .group_by(OutboxMessage.target)
            ).all()
        )
    return Snapshot(statuses, int(counts.get("pending", 0)), int(counts.get("failed", 0)), retrying)


class IntakeRunner(QObject):
    """Polls the configured sources and sends the outbox in the background of one window."""

    updated = Signal()

    def __init__(
        self,
        db: Database,
        settings: Settings | None,
        parent: QObject | None = None,
        *,
        tick_ms: int = 1000,
        send_every_s: float = 5.0,
        round_timeout_s: float = 120.0,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.settings = settings
        self.stop_flag = threading.Event()
        self.poller: Poller | None = None
        self.send_session = StoppableSession(self.stop_flag)
        if settings is not None:
            self.poller = Poller(db, settings, session=StoppableSession(self.stop_flag), sleep=self._sleep)
        self.sends = settings is not None and bool(settings.targets)
        self.send_every_s = send_every_s
        self.round_timeout_s = round_timeout_s
        self.tasks: set[asyncio.Task[None]] = set()
        self.busy = {POLL: False, SEND: False}
        self.due: dict[str, float] = {}
        self.next_send = 0.0
        self.poll_asked = False
        self.targets_synced = False
        self.stopped = False
        self.snapshot: Snapshot | None = None
        self.results: dict[str, RoundResult] = {}
        self.last_send: outbox.SendReport | None = None
        self.problems: dict[str, str] = {}  # per lane: a round that went wrong as a whole (not a source's failure)
        self.rounds = {POLL: 0, SEND: 0}
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)

    # -- what there is to do ---------------------------------------------------------------------

    @property
    def sources(self) -> list[Source]:
        """The enabled sources polled here."""
        return list(self.poller.sources) if self.poller else []

    @property
    def active(self) -> bool:
        """Whether there is anything to poll or send."""
        return bool(self.sources) or self.sends

    @property
    def problem(self) -> str | None:
        """What went wrong with the last round of each lane, if anything."""
        return "; ".join(self.problems.values()) or None

    def idle(self) -> bool:
        """No round is running."""
        return not any(self.busy.values())

    def start(self) -> None:
        """Start ticking; the first round starts at once."""
        if not self.active or self.stopped:
            return
        self.timer.start()
        QTimer.singleShot(0, self.tick)

    def stop(self) -> None:
        """Stop for good: no new round; rounds in flight unwind at their next request or sleep."""
        self.stopped = True
        self.stop_flag.set()
        self.timer.stop()
        for task in list(self.tasks):
            task.cancel()

    def poll_now(self) -> None:
        """Poll every source as soon as the polling lane is free."""
        self.poll_asked = True
        self.tick()

    def send_now(self) -> None:
        """Send the outbox as soon as the sending lane is free."""
        self.next_send = 0.0
        self.tick()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Stop when the window closes."""
        if event.type() == QEvent.Type.Close:
            self.stop()
        return False

    # -- ticking (UI thread) ---------------------------------------------------------------------

    def tick(self) -> None:
        """Start the rounds that are due and whose lane is free."""
        if self.stopped:
            return
        now = time.monotonic()
        if self.poller is not None and not self.busy[POLL]:
            due = [s for s in self.poller.sources if self.poll_asked or self.due.get(s.name, 0.0) <= now]
            if due:
                self.poll_asked = False
                for src in due:  # a round that breaks as a whole is tried again after the interval
                    self.due[src.name] = now + src.config.poll_interval_s
                self._start(POLL, lambda: self._poll_job(due))
        if self.sends and not self.busy[SEND] and now >= self.next_send:
            self.next_send = now + self.send_every_s
            self._start(SEND, self._send_job)

    def _start(self, lane: str, job: Callable[[], Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.problems[lane] = tr("no asyncio event loop is running: the intake cannot work in the background")
            self.timer.stop()
            self.updated.emit()
            return
        self.busy[lane] = True
        task = loop.create_task(self._run(lane, job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, lane: str, job: Callable[[], Any]) -> None:
        work = asyncio.ensure_future(asyncio.to_thread(job))
        work.add_done_callback(lambda done: self._free(lane, done))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(work), self.round_timeout_s)
        except TimeoutError:
            self.problems[lane] = tr(
                "a round has been running for more than {n} s; it goes on in the background",
                n=int(self.round_timeout_s),
            )
            self.updated.emit()
            return
        except Stopped:
            return
        except Exception as exc:  # a round that breaks must not stop the intake: say so, try again later
            log.exception("intake %s round failed", lane)
            self.problems[lane] = f"{type(exc).__name__}: {exc}"
            self.updated.emit()
            return
        self.problems.pop(lane, None)
        self.rounds[lane] += 1
        if lane == POLL:
            results, self.snapshot = outcome
            later = time.monotonic()
            intervals = {s.name: s.config.poll_interval_s for s in self.sources}
            for result in results:
                self.results[result.source] = result
                self.due[result.source] = later + intervals.get(result.source, 60.0)
        else:
            self.last_send, self.snapshot = outcome
        self.updated.emit()

    def _free(self, lane: str, done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved, so asyncio does not log it a second time
        self.busy[lane] = False
        if not self.stopped:
            QTimer.singleShot(0, self.tick)  # a poll or send asked for meanwhile starts now

    # -- the rounds (worker thread) --------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if self.stop_flag.wait(seconds):
            raise Stopped()

    def _poll_job(self, sources: Sequence[Source]) -> tuple[list[RoundResult], Snapshot]:
        assert self.poller is not None
        results = []
        for src in sources:
            if self.stop_flag.is_set():
                raise Stopped()
            results.append(self.poller.poll_source(src))
        return results, read_snapshot(self.db)

    def _send_job(self) -> tuple[outbox.SendReport, Snapshot]:
        assert self.settings is not None
        if not self.targets_synced:
            sync_targets(self.db, self.settings)
            self.targets_synced = True
        report = outbox.send_pending(self.db, self.send_session, settings=self.settings)
        georeport_out.exchange(self.db, self.settings, self.send_session)  # GeoReport v2 peers: post, then poll
        return report, read_snapshot(self.db)
