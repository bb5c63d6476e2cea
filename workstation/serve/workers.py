"""Several server processes on one listening socket: a GeoReport server past one core.

waitress runs its threads in one process, and a page of 100 or a post costs milliseconds of Python
that one process runs on one core at a time. With ``workers`` above 1 the parent binds the socket,
then forks that many children; each serves the same socket with its own waitress (``sockets=``),
its own database connections and its own answer cache. What must hold across them lives in memory
the parent made before forking (``SharedState``): the rate limits per key and per address, the
cache's generation (a post through any worker makes every worker's kept answers out of date) and,
on SQLite, the one-writer-at-a-time lock.

The parent only watches: SIGTERM or SIGINT is passed to every child, each stops as a single server
does (no new connections, the requests in progress finish), and the parent exits 0 once all have;
a child still running ``GRACE_S`` + 10 s later is killed. A child that ends on its own is started
again (at most once a second); a child whose parent is gone (killed outright) stops by itself
within a second. Every child logs its requests to the same standard error, one line
each, with its process id.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from workstation.serve.config import ServeSettings
from workstation.serve.limits import SharedRateLimiter
from workstation.storage.db import Database

LOG = logging.getLogger("workstation.serve")


class SharedGeneration:
    """``wsgi.Generation`` in shared memory."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._value: Any = ctx.RawValue("Q", 0)
        self._lock: Any = ctx.Lock()

    def get(self) -> int:
        """The current generation."""
        return int(self._value.value)

    def bump(self) -> None:
        """A post was taken (in any worker)."""
        with self._lock:
            self._value.value += 1


class SharedState:
    """What the workers share; made in the parent before they are forked."""

    def __init__(self, settings: ServeSettings) -> None:
        self.per_key = SharedRateLimiter(settings.rate_per_key, settings.rate_window_s)
        self.per_address = SharedRateLimiter(settings.rate_per_address, settings.rate_window_s)
        self.generation = SharedGeneration()
        self.writing: Any = multiprocessing.get_context("fork").Lock()


def bind(settings: ServeSettings) -> socket.socket:
    """The listening socket every worker serves (raises OSError as waitress would for a bad address)."""
    infos = socket.getaddrinfo(settings.host, settings.port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _orphan_watch(server: Any, parent: int) -> None:
    """Stop a worker whose parent is gone (killed outright: no SIGTERM reached the workers)."""
    while not server.stopped.wait(1.0):
        if os.getppid() != parent:
            LOG.warning("worker %d: the parent process is gone; stopping", os.getpid())
            server.stop()
            return


class Workers:
    """The parent of ``count`` server processes on one socket."""

    def __init__(self, db: Database, settings: ServeSettings, count: int) -> None:
        self.db = db
        self.settings = settings
        self.count = count
        self.sock = bind(settings)
        self.shared = SharedState(settings)
        self.children: set[int] = set()
        self.stopping = False

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self.sock.getsockname()[0])

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose when the settings say 0)."""
        return int(self.sock.getsockname()[1])

    def _spawn(self) -> None:
        self.db.dispose()  # no connection of the parent's may be used by two processes
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid:
            self.children.add(pid)
            return
        code = 1
        try:  # the child: a single server on the parent's socket, stopped by its own signal handlers
            from workstation.serve.run import Server, serve_forever

            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            self.db.engine.dispose(close=False)
            server = Server(self.db, self.settings, sockets=[self.sock], shared=self.shared)
            threading.Thread(target=_orphan_watch, args=(server, parent), daemon=True).start()
            serve_forever(server)
            code = 0
        except BaseException:
            LOG.exception("worker %d failed", os.getpid())
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _signal_children(self, signum: int) -> None:
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                self.children.discard(pid)

    def run(self, on_ready: Callable[[Workers], None] | None = None) -> None:
        """Start the workers and watch them until SIGTERM or SIGINT has stopped them all."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            if not self.stopping:
                LOG.info("signal %d: stopping %d workers", signum, len(self.children))
            self.stopping = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        if on_ready:
            on_ready(self)
        for _ in range(self.count):
            self._spawn()
        last_start = time.monotonic()
        told = False
        deadline = 0.0
        from workstation.serve.run import GRACE_S

        while self.children:
            if self.stopping and not told:
                self._signal_children(signal.SIGTERM)
                told, deadline = True, time.monotonic() + GRACE_S + 10
            if told and time.monotonic() > deadline:
                LOG.warning("workers still running after %.0f s: killing them", GRACE_S + 10)
                self._signal_children(signal.SIGKILL)
                deadline = float("inf")
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            self.children.discard(pid)
            if not self.stopping:
                LOG.warning("worker %d ended (status %d); starting another", pid, status)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - last_start)))
                if not self.stopping:
                    self._spawn()
                    last_start = time.monotonic()
        self.sock.close()
        LOG.info("stopped")
        sys.stdout.flush()
