"""Serving the application with waitress, stopping cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.server import create_server

from workstation.serve.config import ServeSettings
from workstation.serve.wsgi import GeoReportApp
from workstation.storage.db import Database

if TYPE_CHECKING:
    from workstation.serve.workers import SharedState

LOG = logging.getLogger("workstation.serve")
GRACE_S = 5.0  # how long a stop waits for the requests in progress


class Server:
    """One waitress server over the application; ``run`` blocks until ``stop``."""

    def __init__(
        self,
        db: Database,
        settings: ServeSettings,
        sockets: list[socket.socket] | None = None,
        shared: SharedState | None = None,
    ) -> None:
        """Listen on ``settings.host``/``port``, or on ``sockets`` already bound (a worker of ``workers``)."""
        self.settings = settings
        self.app = GeoReportApp(db, settings, shared)
        where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": settings.host, "port": settings.port}
        self._server: Any = create_server(
            self.app,
            **where,
            threads=settings.threads,
            channel_timeout=settings.timeout_s,
            cleanup_interval=max(0.1, min(30.0, settings.timeout_s / 2)),  # how often idle clients are dropped
            max_request_body_size=settings.max_body_bytes * 16 + 65536,  # beyond ours: answered in our format
            max_request_header_size=16 * 1024,
            connection_limit=max(100, settings.threads * 16),
            ident="grid-workstation",
            clear_untrusted_proxy_headers=True,
        )
        self.stopped = threading.Event()
        self._stopping = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose when the settings say 0)."""
        return int(self._server.effective_port)

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._server.effective_host)

    def run(self) -> None:
        """Serve until ``stop`` (called from another thread)."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown(cancel_pending=False, timeout=GRACE_S)
            self.stopped.set()

    def _in_loop(self, thunk: Callable[[], None], wait_s: float = 1.0) -> bool:
        """Run ``thunk`` in the serving thread (waitress's loop is not thread-safe); False if it did not run."""
        done = threading.Event()

        def run() -> None:
            try:
                thunk()
            finally:
                done.set()

        self._server.trigger.pull_trigger(run)
        return done.wait(wait_s)

    def stop(self) -> None:
        """Stop listening, let the requests in progress finish (for up to ``GRACE_S``), then return from ``run``."""
        if self.stopped.is_set() or not self._stopping.acquire(blocking=False):
            return  # stopped, or stopping already (a worker gets SIGINT from the terminal and SIGTERM from its parent)
        sockets = self._server._map  # the loop ends once no socket is left in its map
        self._in_loop(lambda: wasyncore.dispatcher.close(self._server))  # no new connections
        end = time.monotonic() + GRACE_S
        busy: list[bool] = []

        def check() -> None:
            busy.append(any(getattr(ch, "requests", None) for ch in list(sockets.values())))

        while time.monotonic() < end:
            busy.clear()
            self._in_loop(check)
            if busy == [False]:
                break
            time.sleep(0.02)

        def close_all() -> None:
            for ch in list(sockets.values()):
                ch.close()

        self._in_loop(close_all)
        self.stopped.wait(GRACE_S + 5)


def serve_forever(server: Server, on_ready: Callable[[Server], None] | None = None) -> None:
    """Run in the foreground until SIGTERM or SIGINT, then stop cleanly."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        LOG.info("signal %d: stopping", signum)
        threading.Thread(target=server.stop, daemon=True).start()  # the loop runs here: stop it from aside

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if on_ready:
        on_ready(server)
    server.run()
    LOG.info("stopped")
    sys.stdout.flush()
