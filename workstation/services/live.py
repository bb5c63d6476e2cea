"""The live path of a seat, off the GUI thread: wait for a change, read what it changed, hand it over.

A :class:`LiveLoop` thread waits for news (PostgreSQL: a ``LISTEN case_events`` notice on a
connection of its own; SQLite: a cheap poll of the event table), reads the new events from the
feed, and reads what the seat shows: the kept counts, the queue's count, the rows in view and the
open case if it changed. The result, a :class:`Snapshot`, goes to a callback (the window turns it into
a Qt signal). The event table stays the source of truth: a missed notice is caught up by the next read
from the last id seen, and a safety read runs every ``SAFETY_S`` seconds anyway.

A change costs the seat little: the thread reads on one connection it holds (no pool checkout, no
ping, no ORM session: the feed, the kept counts and where the changed cases now sort, three small
statements, on PostgreSQL run on the driver's cursor: ``services.live_driver``), and reads are
coalesced: no read starts within ``MIN_GAP_S`` of the previous one, nor before the GUI thread has
taken the previous snapshot (:meth:`LiveLoop.taken`), so the notices of a burst, or of a busy seat,
fold into one read and one update of the window.

On PostgreSQL every seat gets a notice at the same instant. So that dozens of seats do not all read
(and repaint) in the same few milliseconds, each seat waits its own fixed offset after a notice,
drawn once between 0 and ``SPREAD_S`` (``WORKSTATION_LIVE_SPREAD_MS``; 0 turns it off): the reads of a
centre's seats are spread over that window instead of arriving at the server as one burst, and a
seat's change shows at most that much later.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from workstation.models import utcnow
from workstation.services import counts as kept
from workstation.services import queue as q
from workstation.services.errors import NotFoundError
from workstation.services.feed import FeedReader
from workstation.services.live_driver import DriverReads
from workstation.services.queries import get_case
from workstation.storage.db import Database

POLL_S = 0.3  # SQLite: how often the event table is looked at
SAFETY_S = 5.0  # PostgreSQL: a read even without a notice (a notice lost with a dropped connection)
GAP_POLL_S = 0.5  # PostgreSQL: while an id is missing (a transaction still committing), look again soon
CHANNEL = "case_events"
MIN_GAP_S = 0.1  # no read within this of the previous one: a burst's notices fold into one read
SPREAD_S = 0.4  # PostgreSQL: each seat reads its own fixed offset in [0, SPREAD_S) after a notice
TAKEN_WAIT_S = 5.0  # the longest the thread waits for the GUI thread to take the last snapshot (a blocked GUI)


@dataclass(frozen=True)
class View:
    """What the seat shows now, as the GUI thread last published it.

    ``ids`` are the cases of the loaded blocks in view, ``first``/``last`` their first and last sort
    keys (None: not loaded, so any change re-reads), ``to_end`` whether they reach the queue's end.
    """

    filter: q.QueueFilter
    blocks: tuple[int, ...] = ()
    block_size: int = 100
    current: int | None = None
    ids: frozenset[int] = frozenset()
    first: tuple[Any, ...] | None = None
    last: tuple[Any, ...] | None = None
    to_end: bool = True


def touches(view: View, changed: dict[int, q.Probe], missing: set[int]) -> bool:
    """Whether changes to these cases can change the rows in view (else only the count moves).

    A case in view changed; a case now in the queue sorts within or above the rows in view (they
    shift), or anywhere when the view reaches the end; a case gone from the queue (or from the
    database) that was not in view shifts the rows only when the view does not start at the top.
    """
    if view.first is None or view.last is None:
        return True
    if view.ids & (set(changed) | missing):
        return True
    f = view.filter
    for probe in changed.values():
        if probe.inside and (view.to_end or q.before_or_at(f, probe.key, view.last)):
            return True
        if not probe.inside and view.blocks and view.blocks[0] > 0:
            return True
    return bool(missing) and bool(view.blocks) and view.blocks[0] > 0


@dataclass(frozen=True)
class LiveView:
    """The queue as read for a view: its count and the keys, cells and holders of the blocks in view."""

    filter: q.QueueFilter
    count: int
    blocks: dict[int, list[tuple[Any, ...]]] | None  # None: the rows in view did not change
    cells: dict[int, tuple[Any, ...]]
    holders: dict[int, str]
    kept: tuple[int, ...] = ()  # with ``blocks`` None: the blocks still right


@dataclass(frozen=True)
class Snapshot:
    """One batch of changes made anywhere and what the seat shows after them."""

    events: list[tuple[int, int, str]]
    counts: dict[str, int]
    view: LiveView
    current: dict[str, Any] | None = None  # the open case, read again because it changed
    urgent: list[int] = field(default_factory=list)
    read_at: float = 0.0

    @property
    def case_ids(self) -> set[int]:
        """The cases these events changed."""
        return {case_id for _, case_id, _ in self.events}


def _total(s: Any, f: q.QueueFilter, all_counts: dict[str, int], now: Any) -> int:
    simple = not (f.search or f.channel or f.category or f.grid or f.community or f.street)
    return all_counts[f.queue] if simple and f.queue in all_counts else q.count(s, f, now)


def read_view(
    db: Database, view: View, actor: str, changed: set[int] | None = None, on: Any = None
) -> tuple[dict[str, int], LiveView, list[int]]:
    """The kept counts, the queue's count and, if the changes touch them, the rows in view.

    Returns the counts, the queue as read, and the changed cases now urgent (priority 1). ``on``: a
    connection held by the caller to read on (else a session of ``db``).
    """
    with nullcontext(on) if on is not None else db.read() as s:
        now = utcnow()
        all_counts = kept.queue_counts(s, actor, now)
        total = _total(s, view.filter, all_counts, now)
        probes = q.probe(s, view.filter, sorted(changed), now) if changed else {}
        urgent = [i for i, p in probes.items() if p.priority <= 1]
        if changed is not None and not touches(view, probes, changed - set(probes)):
            return all_counts, LiveView(view.filter, total, None, {}, {}, view.blocks), urgent
        blocks: dict[int, list[tuple[Any, ...]]] = {}
        for number in view.blocks:
            blocks[number] = q.block_keys(s, view.filter, number, view.block_size, total, blocks.get(number - 1))
        ids = [k[-1] for keys in blocks.values() for k in keys]
        cells = q.cells(s, ids)
        holders = q.holders(s, ids, now)
    return all_counts, LiveView(view.filter, total, blocks, cells, holders), urgent


def read_snapshot(db: Database, feed: FeedReader, view: View, actor: str, on: Any = None) -> Snapshot | None:
    """The new events and, if any, what the seat shows after them; None when nothing happened.

    ``on``: a connection held by the caller (the live thread's) to read on, instead of sessions.
    """
    events = feed.poll(on)
    if not events:
        return None
    changed = {case_id for _, case_id, _ in events}
    all_counts, live, urgent = read_view(db, view, actor, changed, on)
    current = None
    if view.current is not None and view.current in changed:
        try:
            current = get_case(db, view.current)
        except NotFoundError:
            current = None
    new_ids = {case_id for _, case_id, action in events if action == "report"}
    return Snapshot(events, all_counts, live, current, [i for i in urgent if i in new_ids], time.time())


class Waker:
    """Waits for news. SQLite has no notices: every wait is a short sleep (then the feed is read)."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True if something may have changed."""
        time.sleep(min(timeout, POLL_S))
        return True

    def drain(self) -> None:
        """Forget the news already waiting (the read about to start covers it)."""

    def close(self) -> None:
        """Give back what the waker holds."""


class PgWaker(Waker):
    """``LISTEN case_events`` on a psycopg connection in autocommit.

    ``source`` gives the connection: by default one of its own; the live thread passes the connection
    it reads on, so a seat holds one connection for both (psycopg keeps a notice that arrives during
    a read for the next wait).
    """

    def __init__(self, url: str, source: Callable[[], Any] | None = None) -> None:
        import psycopg

        self._psycopg = psycopg
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.source = source
        self.conn: Any = None

    def _connect(self) -> None:
        self.conn = self.source() if self.source else self._psycopg.connect(self.conninfo, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """True on a notice (all queued ones are taken), or after reconnecting (catch up); False on timeout."""
        if self.conn is None or self.conn.closed:
            self._connect()
            return True  # notices may have been missed while away: read from the last id seen
        got = False
        try:
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                got = True
            if got:
                for _ in self.conn.notifies(timeout=0.0):
                    pass
        except self._psycopg.OperationalError:
            self.close()
            raise
        return got

    def drain(self) -> None:
        """Take the notices already queued, without waiting."""
        if self.conn is not None and not self.conn.closed:
            try:
                for _ in self.conn.notifies(timeout=0.0):
                    pass
            except self._psycopg.OperationalError:
                self.close()
                raise

    def close(self) -> None:
        """Close the listening connection (one from ``source`` is its owner's to close: only forgotten)."""
        if self.conn is not None:
            try:
                if self.source is None:
                    self.conn.close()
            finally:
                self.conn = None


class LiveLoop(threading.Thread):
    """The seat's live thread: wait, read, hand over; never touches a widget.

    Args:
        db: the database.
        actor: the signed-in user (for "my recent").
        view: what the seat shows at the start (then :meth:`publish`).
        on_change: called (on this thread) with each :class:`Snapshot`.
        on_state: called (on this thread) with True/False when the database is reachable or not.
        lock: held while the feed is read (shared with a reader on another thread).
    """

    def __init__(
        self,
        db: Database,
        actor: str,
        view: View,
        on_change: Callable[[Snapshot], None],
        on_state: Callable[[bool], None] = lambda _online: None,
        lock: threading.Lock | None = None,
    ) -> None:
        super().__init__(name="live", daemon=True)
        self.db, self.actor, self.view = db, actor, view
        self.on_change, self.on_state = on_change, on_state
        self.reader = reader_for(db)
        self.feed = FeedReader(self.reader)
        self.feed.start_at_end()
        self.waker = PgWaker(db.url, self._driver) if db.dialect == "postgresql" else Waker()
        self._halt = threading.Event()
        self._online: bool | None = None
        self.lock = lock or threading.Lock()
        self._taken = threading.Event()
        self._taken.set()
        self._conn: Any = None  # the connection this thread reads on, held between reads
        self._pool: Any = None  # the pool it came from
        self._last_read = 0.0
        self._woke = 0.0
        self.offset = random.uniform(0.0, spread_s()) if db.dialect == "postgresql" else 0.0

    def taken(self) -> None:
        """The GUI thread has applied the last snapshot: the next read may start."""
        self._taken.set()

    def publish(self, view: View) -> None:
        """The GUI thread says what it shows now (read by the next snapshot)."""
        self.view = view

    def stop(self, wait: float = 2.0) -> None:
        """Ask the thread to end and wait a little for it."""
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(wait)

    def _state(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self.on_state(online)

    def _connection(self) -> Any:
        """The connection this thread holds (PostgreSQL: it also listens on it).

        A new one after the database was disposed (a demo reset puts a new file in place: the held
        connection would go on reading the old one).
        """
        engine = self.reader.engine
        if self._conn is not None and self._pool is not engine.pool:
            self._drop()
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._drop()
            self._conn = engine.execution_options(sqlite_begin="DEFERRED").connect()
            self._pool = engine.pool
        return self._conn

    def _driver(self) -> Any:
        """The driver's connection under the held one (for ``LISTEN``)."""
        return self._connection().connection.driver_connection

    @contextmanager
    def _held(self) -> Iterator[Any]:
        """The held connection, in a read transaction (PostgreSQL: autocommit, none)."""
        conn = self._connection()
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        """Give the held connection up for good (never back to the pool: it may be listening)."""
        self.waker.close()
        if self._conn is not None:
            with suppress(Exception):  # a broken connection is being given up anyway
                self._conn.invalidate()
                self._conn.close()
            self._conn = None

    def _settle(self) -> None:
        """Before a read: let the GUI take the last snapshot and the burst gather (see ``MIN_GAP_S``)."""
        self._taken.wait(TAKEN_WAIT_S)
        left = max(self._last_read + MIN_GAP_S, self._woke + self.offset) - time.monotonic()
        if left > 0:
            self._halt.wait(left)
        self.waker.drain()  # notices of commits before this read: the read covers them

    def _wait(self) -> None:
        """Until a notice (or a poll tick on SQLite), or the safety or gap timeout; stop within 0.5 s."""
        deadline = time.monotonic() + (GAP_POLL_S if self.feed.gaps else SAFETY_S)
        while not self._halt.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.waker.wait(min(left, 0.5)):
                self._woke = time.monotonic()
                return

    def run(self) -> None:
        """Wait for news and read it until stopped."""
        while not self._halt.is_set():
            try:
                self._wait()
                if self._halt.is_set():
                    break
                self._settle()
                with self.lock, self._held() as conn:
                    self._last_read = time.monotonic()
                    on = DriverReads(conn) if self.db.dialect == "postgresql" else conn
                    snapshot = read_snapshot(self.reader, self.feed, self.view, self.actor, on)
                self._state(True)
                if snapshot is not None:
                    self._taken.clear()
                    self.on_change(snapshot)
                kept.compact_if_due(self.db)
            except Exception as exc:  # the loop must survive a lost database; anything else is a bug
                if not _is_db_error(exc):
                    raise
                self._drop()
                self._state(False)
                self._halt.wait(1.0)
        self._drop()
        self.waker.close()


def spread_s() -> float:
    """The window over which seats spread their reads after a notice (``WORKSTATION_LIVE_SPREAD_MS``)."""
    raw = os.environ.get("WORKSTATION_LIVE_SPREAD_MS", "")
    try:
        return max(0.0, min(float(raw) / 1000, 1.0)) if raw.strip() else SPREAD_S
    except ValueError:
        return SPREAD_S


def reader_for(db: Database) -> Database:
    """How the live thread reads.

    PostgreSQL: in autocommit (no BEGIN and COMMIT around each read), from the seat's own pool: the live
    thread holds one connection, which it also listens on (a seat holds two connections to the server:
    this one and the one the window reads on). SQLite: as it is.
    """
    if db.dialect != "postgresql":
        return db
    return Database(db.url, db.engine.execution_options(isolation_level="AUTOCOMMIT"))


def _is_db_error(exc: BaseException) -> bool:
    if isinstance(exc, SQLAlchemyError | OSError):
        return True
    try:
        import psycopg

        return isinstance(exc, psycopg.Error)
    except ImportError:  # pragma: no cover - psycopg ships with the program
        return False
