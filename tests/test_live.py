"""Live seats: a change at one seat reaches another seat's open model within a second, read off the GUI
thread, applied without a reset and without a single count over the cases table."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from sqlalchemy import Engine, event, text

from tests.conftest import article_report
from workstation.app import build_window
from workstation.commands.keymap import Keymap
from workstation.services import lifecycle, reports
from workstation.services.feed import FeedReader
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database


class Statements:
    """Every statement run by any engine but ``others`` (the seat's own and its live thread's reader),
    with the thread it ran on; and every statement run on a psycopg cursor outside SQLAlchemy (the live
    thread runs its hot statements on the driver's connection), so none can hide below the engine."""

    def __init__(self, others: Database | None = None) -> None:
        self.seen: list[tuple[str, int]] = []
        self.skip = others.engine.pool if others is not None else None
        self._via_engine = threading.local()  # the cursor an engine is about to run a statement on
        event.listen(Engine, "before_cursor_execute", self._on)
        self._driver: Any = None
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg ships with the program
            return
        self._driver, original = psycopg.Cursor, psycopg.Cursor.execute
        spy = self

        def execute(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            if getattr(spy._via_engine, "cursor", None) is cursor:  # seen (or skipped) by the engine hook
                spy._via_engine.cursor = None
            else:
                spy._note(str(query))
            return original(cursor, query, params, **kw)

        self._original = original
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._on)
        if self._driver is not None:
            self._driver.execute = self._original

    def _on(self, conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        self._via_engine.cursor = cursor
        if self.skip is not None and conn.engine.pool is self.skip:
            return
        self._note(statement)

    def _note(self, statement: str) -> None:
        self.seen.append((" ".join(statement.lower().split()), threading.get_ident()))

    def counts_over_cases(self) -> list[str]:
        return [s for s, _ in self.seen if "count(" in s and "from cases" in s]

    def on_thread(self, ident: int) -> list[str]:
        return [s for s, t in self.seen if t == ident]


def _window(qtbot: Any, db: Database, actor: Any, tmp_path: Any) -> Any:
    settings = QSettings(str(tmp_path / f"{actor.name}.ini"), QSettings.Format.IniFormat)
    window = build_window(db, actor, Keymap.load(None), settings, seat=f"{actor.name}-seat", demo=False)
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_change_at_one_seat_shows_in_another_seats_open_model_within_a_second(
    qtbot: Any, db: Database, db_url: str, users: dict[str, Any], tmp_path: Any
) -> None:
    for i in range(5):
        reports.add_report(db, article_report(external_id=f"L{i}"))
    seat_b = open_database(db_url)  # the second seat: its own engine, its own connections
    try:
        window = _window(qtbot, seat_b, users["op2"], tmp_path)
        assert window.model.rowCount() == 5
        first = window.current_id()
        qtbot.keyClick(window.table, Qt.Key.Key_Down)  # op2 looks at the second case
        watched = window.current_id()
        assert watched not in (first, None)
        gone = window.model.id_at(0)  # above the one op2 looks at: its row moves up
        resets: list[int] = []
        window.model.modelReset.connect(lambda: resets.append(1))
        spy = Statements(others=db)  # all of the second seat, none of the first
        gui = threading.get_ident()

        started = time.monotonic()
        lifecycle.file(db, users["op1"], gone, "0201")  # committed by the first seat
        qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=1000)
        assert time.monotonic() - started < 1.0
        assert "new 4 ·" in window.counts_label.text()
        assert gone not in [window.model.id_at(r) for r in range(4)]
        assert window.current_id() == watched  # the selection followed its case, not its row
        assert window.table.currentIndex().row() == 0

        added = reports.add_report(db, article_report(external_id="L-new", text="新的一件 路灯不亮")).case_id
        qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=1000)
        assert added in [window.model.id_at(r) for r in range(5)]

        assert resets == []  # applied to the rows, never a reset of the model
        assert spy.counts_over_cases() == []  # counts are kept, not recomputed
        assert spy.on_thread(gui) == []  # every read of the live path ran off the GUI thread
        assert any("from case_events" in s for s, _ in spy.seen)  # (the spy does see the live thread)
        spy.close()
        window.close()
    finally:
        seat_b.dispose()


def test_the_window_shows_the_new_count_of_every_queue_after_a_change_elsewhere(
    qtbot: Any, db: Database, db_url: str, users: dict[str, Any], tmp_path: Any
) -> None:
    for n in range(2):
        reports.add_report(db, article_report(external_id=f"C{n}"))
    window = _window(qtbot, db, users["op2"], tmp_path)
    other = window.model.id_at(1)  # not the one op2 has open
    lifecycle.reject(db, users["op1"], other, "not ours to handle")
    qtbot.waitUntil(lambda: "new 1 ·" in window.counts_label.text(), timeout=2000)
    assert window.model.rowCount() == 1
    items = [window.queues.item(r).text() for r in range(window.queues.count())]
    assert any(i.startswith("All cases") and i.endswith("(2)") for i in items)
    assert any(i.startswith("My recent") and i.endswith("(0)") for i in items)
    window.close()


def test_an_event_committed_out_of_order_is_read_once_without_rereading_others(
    db: Database, users: dict[str, Any]
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: ids commit in order")
    case = reports.add_report(db, article_report()).case_id
    feed = FeedReader(db)
    feed.start_at_end()
    insert = text(
        "INSERT INTO case_events (case_id, at, actor, actor_role, action, to_state, reason, details) "
        "VALUES (:c, now(), 'op1', 'operator', 'note', 'reported', '', '{}') RETURNING id"
    )
    slow = db.engine.connect()
    slow_tx = slow.begin()
    low = slow.execute(insert, {"c": case}).scalar()  # takes the lower id, commits later
    with db.engine.begin() as fast:
        high = fast.execute(insert, {"c": case}).scalar()
    assert [e[0] for e in feed.poll()] == [high]
    assert set(feed.gaps) == {low}
    slow_tx.commit()
    slow.close()
    spy = Statements()
    assert [e[0] for e in feed.poll()] == [low]  # read late, once
    assert feed.gaps == {}
    assert [e[0] for e in feed.poll()] == []
    spy.close()
    rows_read = [s for s, _ in spy.seen if "from case_events" in s]
    assert rows_read and all("id >" in s for s in rows_read)


def _seed_old_cases(db: Database, n: int = 250) -> None:
    """``n`` reports of three days ago: a New queue longer than the rows in view, its newest far below."""
    from datetime import timedelta

    from sqlalchemy import insert

    from workstation.models import Case, utcnow

    old = utcnow() - timedelta(days=3)
    with db.write() as s:
        s.execute(
            insert(Case),
            [{"channel": "PDA", "text": f"旧 {i}", "received_at": old + timedelta(seconds=i)} for i in range(n)],
        )


def test_a_change_beyond_the_rows_in_view_moves_only_the_count(
    qtbot: Any, db: Database, db_url: str, users: dict[str, Any], tmp_path: Any
) -> None:
    from workstation.models import utcnow

    _seed_old_cases(db)
    seat_b = open_database(db_url)
    try:
        window = _window(qtbot, seat_b, users["op2"], tmp_path)
        top = [window.model.id_at(r) for r in range(20)]
        spy = Statements(others=db)
        added = reports.add_report(db, article_report(external_id="far", received_at=utcnow().isoformat())).case_id
        qtbot.waitUntil(lambda: window.model.rowCount() == 251, timeout=5000)  # what moves, not how fast
        assert "new 251 ·" in window.counts_label.text()
        assert [window.model.id_at(r) for r in range(20)] == top
        assert not any("cases.text" in s for s, _ in spy.seen)  # the rows in view were not read again
        spy.close()
        window.table.scrollToBottom()  # scrolling there reads the end, new case included
        assert window.model.id_at(250) == added
        window.close()
    finally:
        seat_b.dispose()


def test_a_burst_of_changes_while_the_seat_is_busy_is_shown_whole_in_fewer_updates(
    qtbot: Any, db: Database, db_url: str, users: dict[str, Any], tmp_path: Any
) -> None:
    reports.add_report(db, article_report(external_id="B-first"))
    seat_b = open_database(db_url)
    try:
        window = _window(qtbot, seat_b, users["op2"], tmp_path)
        assert window.model.rowCount() == 1
        updates: list[int] = []
        window.live.source.changed.connect(lambda snapshot: updates.append(len(snapshot.events)))
        # the second seat's GUI thread is busy (this test holds it) while 20 changes are committed
        added = [reports.add_report(db, article_report(external_id=f"B{i}")).case_id for i in range(20)]
        qtbot.waitUntil(lambda: window.model.rowCount() == 21, timeout=3000)
        assert sorted(window.model.id_at(r) for r in range(1, 21)) == sorted(added)
        assert "new 21 ·" in window.counts_label.text()
        assert sum(updates) == 20  # every change reached the window, each once
        assert len(updates) <= 3  # folded: one read the GUI has not taken yet, then the rest at once
        window.close()
    finally:
        seat_b.dispose()


def test_a_change_below_the_rows_in_view_repaints_nothing_and_one_in_view_repaints_it(
    qtbot: Any, db: Database, db_url: str, users: dict[str, Any], tmp_path: Any
) -> None:
    from PySide6.QtCore import QEvent, QObject

    from workstation.models import utcnow

    _seed_old_cases(db)
    seat_b = open_database(db_url)
    try:
        window = _window(qtbot, seat_b, users["op2"], tmp_path)
        qtbot.wait(100)

        class Paints(QObject):
            n = 0

            def eventFilter(self, _obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    self.n += 1
                return False

        paints = Paints()
        viewport = window.table.viewport()
        viewport.installEventFilter(paints)
        bar = window.table.verticalScrollBar()
        window.live.tick_timer.stop()  # the countdowns' repaint is not what this test looks at
        for _ in range(20):  # until the window's own first paints are over (a busy machine delays them)
            paints.n = 0
            qtbot.wait(250)
            if paints.n == 0:
                break
        top_before = bar.maximum()

        reports.add_report(db, article_report(external_id="below", received_at=utcnow().isoformat()))
        qtbot.waitUntil(lambda: window.model.rowCount() == 251, timeout=3000)
        qtbot.wait(200)  # Qt's delayed layout has run
        assert bar.maximum() == top_before + 1  # the scroll bar knows of the new row
        assert paints.n == 0  # the rows in view were not painted again for a row far below them

        second = window.model.id_at(1)
        lifecycle.reject(db, users["op1"], second, "not ours")  # a row in view goes: the rows below move up
        qtbot.waitUntil(lambda: window.model.rowCount() == 250, timeout=3000)
        qtbot.waitUntil(lambda: paints.n > 0, timeout=1000)
        assert window.model.id_at(1) != second
        viewport.removeEventFilter(paints)
        window.close()
    finally:
        seat_b.dispose()


def test_after_a_demo_reset_puts_a_new_file_in_place_the_live_thread_reads_the_new_file(
    db: Database, tmp_path: Any
) -> None:
    import os
    import sqlite3
    from pathlib import Path

    from workstation.services import queue as q
    from workstation.services.live import LiveLoop, View
    from workstation.storage.db import sqlite_file

    path = sqlite_file(db.url)
    if path is None:
        pytest.skip("a demo world is an SQLite file")
    template = tmp_path / "template.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute(f"VACUUM INTO '{template}'")
    got: list[Any] = []
    loop: Any = None

    def on_change(snapshot: Any) -> None:
        got.append(snapshot)
        loop.taken()

    loop = LiveLoop(db, "op2", View(q.QueueFilter(queue="new", actor="op2")), on_change)
    loop.start()
    try:
        reports.add_report(db, article_report(external_id="old-world"))
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got  # the thread holds a connection to the file now

        db.dispose()  # as DemoSession.reset: a fresh copy in place of the file, the same Database object
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.replace(template, path)
        with loop.lock:
            loop.feed = FeedReader(db)
            loop.feed.start_at_end()
        got.clear()
        added = reports.add_report(db, article_report(external_id="new-world")).case_id
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e[1] for s in got for e in s.events] == [added]  # read from the new file, not the old one
    finally:
        loop.stop()


def test_the_read_spread_is_a_setting_with_a_safe_range(monkeypatch):
    from workstation.services import live as live_service

    for raw, expected in (("", live_service.SPREAD_S), ("0", 0.0), ("250", 0.25), ("5000", 1.0), ("-3", 0.0)):
        monkeypatch.setenv("WORKSTATION_LIVE_SPREAD_MS", raw)
        assert live_service.spread_s() == expected
    monkeypatch.setenv("WORKSTATION_LIVE_SPREAD_MS", "abc")  # a typo keeps the default, never stops the seat
    assert live_service.spread_s() == live_service.SPREAD_S
