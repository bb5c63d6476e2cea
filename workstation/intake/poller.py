"""Polling every configured source, and sending the outbox, without a window.

A ``Poller`` holds the sources built from the settings file. ``poll_all`` runs one round of each;
``run`` keeps going, polling each source when its interval is up and sending what the outbox holds.
A round that fails (network down, server error after retries, unreadable page) is recorded in
``intake.status`` and the next round starts again from the stored cursor. Every call blocks only on
network calls with timeouts, so the window can run ``poll_source`` through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

import requests
from sqlalchemy.exc import SQLAlchemyError

from workstation.i18n import tr
from workstation.intake import georeport_out, outbox, status
from workstation.intake.base import PollContext, RoundResult, Source, build_source
from workstation.intake.http import Sleep
from workstation.intake.settings import Settings
from workstation.intake.targets import sync_targets
from workstation.models import utcnow
from workstation.services.errors import WorkstationError
from workstation.storage.db import Database


class Poller:
    """The configured sources of one settings file, ready to poll."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.settings = settings
        self.session = session or requests.Session()
        self.ctx = PollContext(db, self.session, sleep, now)
        self.monotonic = monotonic
        self.sources: list[Source] = [build_source(c) for c in settings.sources if c.enabled]
        outbox.set_budget(settings.outbox.attempts)
        self._due: dict[str, float] = {}

    def source(self, name: str) -> Source:
        """The source of that name.

        Raises:
            WorkstationError: no such (enabled) source.
        """
        for src in self.sources:
            if src.name == name:
                return src
        raise WorkstationError(tr("No enabled source named {name} in the settings.", name=name))

    def poll_source(self, source: Source) -> RoundResult:
        """One round of one source; whatever goes wrong is recorded, not raised."""
        try:
            result = source.poll(self.ctx)
        except (WorkstationError, SQLAlchemyError, requests.RequestException, OSError) as exc:
            message = exc.message if isinstance(exc, WorkstationError) else f"{type(exc).__name__}: {exc}"
            result = RoundResult(source.name, source.kind, ok=False, error=message)
        try:
            if result.ok:
                status.record_success(self.db, source.name, result.items, now=self.ctx.now())
            else:
                status.record_failure(self.db, source.name, result.error or "", now=self.ctx.now())
        except SQLAlchemyError as exc:  # the database itself is unreachable: say so, keep going
            result.notes.append(tr("status not recorded: {reason}", reason=type(exc).__name__))
        return result

    def poll_all(self) -> list[RoundResult]:
        """One round of every enabled source."""
        return [self.poll_source(src) for src in self.sources]

    def due(self) -> list[Source]:
        """The sources whose polling interval is up."""
        now = self.monotonic()
        return [s for s in self.sources if self._due.get(s.name, 0.0) <= now]

    def send(self) -> outbox.SendReport:
        """Send what the outbox holds."""
        return outbox.send_pending(self.db, self.session, self.ctx.now(), settings=self.settings)

    def run(
        self,
        *,
        once: bool = False,
        stop: threading.Event | None = None,
        report: Callable[[str], None] = print,
        tick_s: float = 1.0,
    ) -> list[RoundResult]:
        """Poll (and send) until ``stop`` is set; with ``once``, one round of everything.

        Returns:
            The results of the last round of each source.
        """
        sync_targets(self.db, self.settings)
        last: dict[str, RoundResult] = {}
        stop = stop or threading.Event()
        while not stop.is_set():
            for src in self.sources if once else self.due():
                result = self.poll_source(src)
                last[src.name] = result
                self._due[src.name] = self.monotonic() + src.config.poll_interval_s
                report(result.line())
            try:
                sent = self.send()
                if sent.sent or sent.failed or sent.retrying or once:
                    report(sent.line())
            except SQLAlchemyError as exc:
                report(tr("outbox not sent: {reason}", reason=type(exc).__name__))
            try:
                peers = georeport_out.exchange(self.db, self.settings, self.session)
                if peers.busy():
                    report(peers.line())
            except SQLAlchemyError as exc:
                report(tr("outbox not sent: {reason}", reason=type(exc).__name__))
            if once:
                break
            stop.wait(tick_s)
        return list(last.values())
