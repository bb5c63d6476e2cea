"""Serving the application with waitress, stopping cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from waitress.server import create_server

from workstation.serve.config import ServeSettings
from workstation.serve.wsgi import GeoReportApp
from workstation.storage.db import Database

LOG = logging.getLogger("workstation.serve")


class Server:
    """One waitress server over the application; ``run`` blocks until ``stop``."""

    def __init__(self, db: Database, settings: ServeSettings) -> None:
        self.settings = settings
        self.app = GeoReportApp(db, settings)
        self._server: Any = create_server(
            self.app,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            channel_timeout=settings.timeout_s,
            max_request_body_size=settings.max_body_bytes + 1,
            max_request_header_size=16 * 1024,
            connection_limit=max(100, settings.threads * 16),
            ident="grid-workstation",
            clear_untrusted_proxy_headers=True,
        )
        self.stopped = threading.Event()

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose when the settings say 0)."""
        return int(self._server.effective_port)

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self._server.effective_host)

    def run(self) -> None:
        """Serve until ``stop`` (from another thread or a signal handler)."""
        try:
            self._server.run()
        finally:
            self.stopped.set()

    def stop(self) -> None:
        """Stop listening, let the requests in progress finish, and return from ``run``."""
        self._server.close()


def serve_forever(server: Server, on_ready: Callable[[Server], None] | None = None) -> None:
    """Run in the foreground until SIGTERM or SIGINT, then stop cleanly."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        LOG.info("signal %d: stopping", signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if on_ready:
        on_ready(server)
    with contextlib.suppress(SystemExit):
        server.run()  # waitress closes its sockets and task threads on SystemExit
    LOG.info("stopped")
    sys.stdout.flush()
