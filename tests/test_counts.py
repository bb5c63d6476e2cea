"""Kept queue counts: equal to a real count after every kind of write, read without counting cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, text, update

from tests.conftest import article_report, run_cli
from workstation.models import Case, utcnow
from workstation.services import counts, lifecycle, reports
from workstation.services import queue as q
from workstation.storage.db import Database


def _real(db: Database, f: q.QueueFilter, now: Any) -> int:
    with db.read() as s:
        return q.real_count(s, f, now)


def _kept(db: Database, f: q.QueueFilter, now: Any) -> int:
    with db.read() as s:
        return q.count(s, f, now)


FILTERS = [{"queue": k} for k in q.QUEUES] + [
    {"queue": "new", "channel": "PDA"},
    {"queue": "all", "grid": "G-X"},
    {"queue": "verify", "category": "02"},
    {"queue": "returned", "street": "S-X"},
]


def _all_equal(db: Database, actor: str) -> None:
    now = utcnow()
    for spec in FILTERS:
        f = q.QueueFilter(actor=actor, **spec)
        assert _kept(db, f, now) == _real(db, f, now), spec
    assert counts.check(db) == []


class CountCases:
    """Counts every SELECT that counts rows of the cases table."""

    def __init__(self, db: Database) -> None:
        self.seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        flat = " ".join(statement.lower().split())
        if "count(" in flat and "from cases" in flat:
            self.seen.append(flat)


def test_counts_follow_every_kind_of_write(db: Database, users: dict[str, Any]) -> None:
    op = users["op1"]
    ids = [reports.add_report(db, article_report(external_id=f"E{i}")).case_id for i in range(4)]
    _all_equal(db, "op1")
    lifecycle.file(db, op, ids[0], "0201")
    lifecycle.reject(db, op, ids[1], "duplicate of a closed case")
    _all_equal(db, "op1")
    # a bulk insert and plain SQL (no service involved) are counted too
    now = utcnow()
    with db.write() as s:
        s.execute(
            insert(Case),
            [
                {
                    "channel": "PDA",
                    "text": f"bulk {i}",
                    "received_at": now,
                    "status": "returned",
                    "street_code": None,
                    "deadline_at": now - timedelta(hours=3 + i),
                    "last_actor": "op1",
                }
                for i in range(5)
            ],
        )
        s.execute(update(Case).where(Case.id == ids[2]).values(status="handled", last_actor="op2"))
    _all_equal(db, "op1")
    with db.read() as s:
        kept = counts.queue_counts(s, "op1", utcnow())
    assert kept["overdue"] == 5 and kept["returned"] == 5
    assert counts.compact(db) > 0
    _all_equal(db, "op1")
    assert counts.compact(db) == 0  # nothing pending: folding again changes nothing


def test_overdue_moves_with_the_clock_without_a_write(db: Database, users: dict[str, Any]) -> None:
    now = utcnow()
    with db.write() as s:
        s.execute(
            insert(Case),
            [
                {
                    "channel": "PDA",
                    "text": "t",
                    "received_at": now,
                    "status": "dispatched",
                    "deadline_at": now + timedelta(minutes=m),
                }
                for m in (2, 30, 90)
            ],
        )
    f = q.QueueFilter(queue="overdue", actor="op1")
    for later in (0, 5, 45, 200):
        at = now + timedelta(minutes=later)
        assert _kept(db, f, at) == _real(db, f, at) == sum(m < later for m in (2, 30, 90))


def test_queue_counts_issue_no_count_over_cases(db: Database, users: dict[str, Any]) -> None:
    reports.add_report(db, article_report())
    spy = CountCases(db)
    with db.read() as s:
        q.counts(s, "op1")
        q.count(s, q.QueueFilter(queue="new", grid="G-X"))
    assert spy.seen == []


def test_db_check_finds_and_repairs_a_wrong_count(db: Database, users: dict[str, Any], capsys: Any) -> None:
    reports.add_report(db, article_report())
    assert run_cli(["--db", db.url, "db", "check", "--as", "admin"]) == 0
    with db.write() as s:  # a count gone wrong (say, a restore that skipped the triggers)
        s.execute(text("INSERT INTO case_count_deltas (status, dim, value, n) VALUES ('reported', '', '', 7)"))
    capsys.readouterr()
    assert run_cli(["--db", db.url, "db", "check", "--as", "admin"]) == 1
    out = capsys.readouterr().out
    assert "reported" in out and "8" in out and "1" in out
    assert run_cli(["--db", db.url, "db", "check", "--repair", "--as", "admin"]) == 0
    assert counts.check(db) == []
    with db.read() as s:
        assert q.counts(s, "op1")["new"] == 1
    assert run_cli(["--db", db.url, "db", "check", "--as", "op1"]) == 1  # administrators only
