"""Shared fixtures: every test runs on SQLite, or on PostgreSQL when WORKSTATION_TEST_DB names a server.

``db`` is a clean database with the shipped reference data (SQLite: a copy of a prepared template
file; PostgreSQL: one prepared database whose case and account tables are emptied before each test).
Tests must not change reference data through ``db``; those that do use ``fresh_db``, which hands out
brand-new empty databases.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WORKSTATION_LANG"] = "en"

from workstation.i18n import set_language
from workstation.services import accounts, notices
from workstation.services.actors import Actor
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database

PG_URL = os.environ.get("WORKSTATION_TEST_DB", "")
MUTABLE_TABLES = ["case_events", "case_units", "extension_requests", "case_leases", "saved_filters", "cases", "users"]
MUTABLE_TABLES += ["intake_cursors", "intake_status", "intake_quarantine", "service_mappings", "outbound_targets"]
MUTABLE_TABLES += ["outbox", "unit_responses", "audit_heads"]  # intake, audit
MUTABLE_TABLES += ["api_tokens", "sign_in_failures", "account_events"]  # identity
MUTABLE_TABLES += ["demo_run_items", "demo_runs"]  # demo
MUTABLE_TABLES += ["case_counts", "case_count_deltas"]  # kept queue counts (TRUNCATE fires no trigger)
MUTABLE_TABLES += ["photos", "photo_blobs"]  # photos (their scan cursor is in meta, under photos.*)
MUTABLE_TABLES += ["stat_days", "stat_open"]  # summaries for supervision and evaluation
MUTABLE_TABLES += [
    "care_" + t for t in ["reveals", "visit_needs", "visits", "changes", "memberships", "campaigns", "people"]
]
_counter = itertools.count()


def pytest_report_header() -> str:
    return f"database under test: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


class PgServer:
    """Creates and drops throw-away databases on the PostgreSQL server under test."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"ws_test_{os.getpid()}_{next(_counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    if not PG_URL:
        yield None
        return
    server = PgServer(PG_URL)
    yield server
    server.drop_all()


@pytest.fixture
def fresh_db_url(tmp_path: Path, pg_server: PgServer | None) -> Callable[[], str]:
    """Hands out URLs of brand-new empty databases."""

    def make() -> str:
        if pg_server is not None:
            return pg_server.create()
        return f"sqlite:///{tmp_path / f'fresh{next(_counter)}.sqlite'}"

    return make


@pytest.fixture
def fresh_db(fresh_db_url: Callable[[], str]) -> Iterator[Callable[[], Database]]:
    """Opens brand-new databases (migrated, reference data loaded)."""
    opened: list[Database] = []

    def make() -> Database:
        db = open_database(fresh_db_url())
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.dispose()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer | None) -> str:
    """A prepared database: an SQLite file to copy, or a PostgreSQL database to empty between tests."""
    if pg_server is not None:
        url = pg_server.create()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite'}"
    open_database(url).dispose()
    return url


@pytest.fixture
def db_url(template: str, tmp_path: Path, pg_server: PgServer | None) -> str:
    """The URL of a clean database for this test."""
    set_language("en")
    if pg_server is not None:
        engine = create_engine(template)
        with engine.begin() as conn:  # the history tables refuse TRUNCATE: the test server's superuser lifts it
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(MUTABLE_TABLES)} RESTART IDENTITY CASCADE"))
            conn.execute(text("DELETE FROM meta WHERE key LIKE 'demo.world.%'"))  # a test's demo marker
            conn.execute(text("DELETE FROM meta WHERE key LIKE 'photos.%'"))
            # the working calendar is reference data an administrator may change (the admin window's tests do)
            if conn.execute(text("SELECT count(*) FROM calendar_years WHERE source <> 'resources'")).scalar():
                conn.execute(text("DELETE FROM calendar_years"))
                conn.execute(text("DELETE FROM meta WHERE key LIKE 'refdata.%calendar%'"))
                reload_calendar = True
            else:
                reload_calendar = False
        engine.dispose()
        if reload_calendar:
            open_database(template).dispose()  # loads the shipped calendar again
        return template
    src = Path(make_url(template).database or "")
    dst = tmp_path / "test.sqlite"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    notices._listeners.clear()
    database.dispose()


PASSWORD = "correct-horse-9"


def run_cli(argv: Sequence[str], *, password: str | None = PASSWORD) -> int:
    """Run the command line the way a user proves who acts: the one place tests supply credentials.

    When the command names a user (``--as`` or $WORKSTATION_USER) and carries no token, the user's
    password goes in front of whatever the test put on standard input (a new user's password, reports),
    with ``--password-stdin`` (``password=None``: add nothing, to test what happens without proof).
    """
    from workstation.cli import main

    argv = list(argv)
    # as the command line decides: --token, else an explicit --as (password), else the environment's token
    by_password = "--as" in argv or (
        bool(os.environ.get("WORKSTATION_USER")) and not os.environ.get("WORKSTATION_TOKEN")
    )
    if password is None or "--token" in argv or not by_password:
        return main(argv)
    before = sys.stdin
    rest = before.read() if isinstance(before, io.StringIO) else ""
    sys.stdin = io.StringIO(password + "\n" + rest)
    try:
        return main(argv if "--password-stdin" in argv else [*argv, "--password-stdin"])
    finally:
        sys.stdin = before


@pytest.fixture
def users(db: Database) -> dict[str, Actor]:
    """An administrator, two operators, a shift lead, a station worker and a unit liaison."""
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    out = {"admin": admin}
    for name, role, extra in [
        ("op1", "operator", {}),
        ("op2", "operator", {}),
        ("lead", "lead", {}),
        ("station", "station", {"community": "塘西河社区"}),
        ("gridteam", "unit", {"unit": "GRID-S13C01G01"}),
        ("trainer", "trainer", {}),
    ]:
        out[name] = accounts.add_user(db, admin, name, role, PASSWORD, **extra)  # type: ignore[arg-type]
    return out


ARTICLE_TEXT = "洞庭湖路与嵩山路交口向西10米，路南侧有非机动车乱停放"


def article_report(**overrides: object) -> dict[str, object]:
    report: dict[str, object] = {
        "channel": "PDA",
        "external_id": "PDA-20200604-1019",
        "text": ARTICLE_TEXT,
        "grid": "塘西河网格",
        "received_at": "2026-06-04T10:19:00+08:00",
        "reporter_name": "方兴社区信息员",
        "reporter_phone": "13812345678",
    }
    report.update(overrides)
    return report


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small parameters: the same code path, a fraction of the time."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def qasync_loop(qapp):
    """One asyncio loop on Qt's event loop for the session, as app.py runs one for the program's life.

    Kept for the whole session: qasync leaves the Qt timers of cancelled callbacks running, and a closed
    loop collected later in some worker thread would make Qt warn about stopping them there.
    """
    import qasync

    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()  # waits for the worker threads


@pytest.fixture
def aio(qasync_loop):
    """The loop marked running for one test: pytest-qt spins Qt's event loop, which runs the loop's callbacks.

    (``already_running=True`` would mark it too, but its ``stop()`` calls ``QApplication.exit()``, after
    which every nested event loop, such as a modal dialog's, returns at once.)
    """
    asyncio.set_event_loop(qasync_loop)
    asyncio.events._set_running_loop(qasync_loop)
    yield qasync_loop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
