"""Database connection: URL resolution, engine set-up per dialect, and read/write sessions.

SQLite gets foreign keys, WAL, a busy timeout and write transactions that begin immediately (so
two writers queue instead of failing half-way); reads begin deferred so they never wait on a writer.
Any SQLAlchemy URL works; PostgreSQL through psycopg 3 is the multi-seat choice.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

APP_NAME = "grid-workstation"
ENV_DB = "WORKSTATION_DB"
# A pooled server connection idle longer than this is pinged before it is handed out (see _ping_setup).
IDLE_PING_SECONDS = 5.0


def default_db_path() -> Path:
    """The embedded database file in the user's data directory."""
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "workstation.sqlite"


def resolve_db_url(given: str | None = None) -> str:
    """The database URL in force: ``--db``, else ``WORKSTATION_DB``, else the embedded file.

    A bare file path is taken as an SQLite file.
    """
    url = given or os.environ.get(ENV_DB) or ""
    if not url:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _server_spoke(dbapi_conn: Any) -> bool:
    """Whether an idle connection's socket has something to read (or is closed), without a round trip.

    An idle connection is sent nothing unasked: a readable socket means the server said goodbye (a
    restart or a terminated backend sends its error and closes) — or anything else, which a ping sorts out.
    """
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # closed, or a driver without a socket to look at: let the ping find out
        return True
    try:
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _ping_setup(engine: Engine, idle: float) -> None:
    """Check a pooled connection on checkout only when it may have gone away, instead of on every one.

    ``pool_pre_ping`` pays a ``SELECT 1`` round trip per transaction. Here a connection is pinged only
    when it sat unused for more than ``idle`` seconds (a network drop or a server gone quiet) or when
    its socket has something to read while nobody asked (a restarted server, a terminated backend). A
    failed ping makes the pool drop that connection and open another, so after a database restart a
    seat's next action does not fail.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_conn: Any, record: Any) -> None:
        record.info["ws_used"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["ws_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("ws_used")
        if used is not None and time.monotonic() - used <= idle and not _server_spoke(dbapi_conn):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the connection is gone: the pool opens a fresh one
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("the connection did not answer the ping")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine set up for its dialect.

    A server database's pooled connections are checked on checkout only when they may have gone away
    (see ``_ping_setup``); ``pool_pre_ping=True`` restores a ping on every checkout.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _sqlite_setup(engine)
        return engine
    if kwargs.get("pool_pre_ping"):
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    _ping_setup(engine, IDLE_PING_SECONDS)
    return engine


class Database:
    """One database: its engine and the sessions the services write and read through."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._reader = self.engine.execution_options(sqlite_begin="DEFERRED")

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (or another SQLAlchemy dialect name)."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; it never holds the write lock."""
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
