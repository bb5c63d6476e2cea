"""The store: migrations to head, SQLite settings, backups before upgrades, refusing newer schemas, URLs."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from workstation.cli import main
from workstation.models import Case, utcnow
from workstation.storage import db as dbmod
from workstation.storage import migrate
from workstation.storage.bootstrap import open_database
from workstation.storage.db import Database, make_engine, resolve_db_url, sqlite_file
from workstation.storage.migrate import SchemaTooNewError, alembic_config

HEAD = migrate.head_revision()


def _upgrade_to(url: str, revision: str) -> None:
    """Bring an empty database to one given (older) revision, as an older program would have left it."""
    engine = make_engine(url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def _stamp_unknown(url: str, revision: str = "ffff9999") -> None:
    """An (otherwise empty) database written by a newer program: only its alembic_version says so."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _version_rows(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


# -- migrations ----------------------------------------------------------------------------------


def test_fresh_database_migrates_to_head_and_a_second_upgrade_does_nothing(fresh_db_url):
    url = fresh_db_url()
    engine = make_engine(url)
    try:
        assert migrate.current_revision(engine) is None and not migrate.has_schema(engine)
        first = migrate.upgrade(engine)
        assert (first.before, first.after, first.backup, first.changed) == (None, HEAD, None, True)
        assert migrate.current_revision(engine) == HEAD
        assert migrate.has_schema(engine)
        assert {"cases", "case_events", "categories", "grids", "units", "users", "meta"} <= set(
            inspect(engine).get_table_names()
        )
        second = migrate.upgrade(engine)
        assert (second.before, second.after, second.backup, second.changed) == (HEAD, HEAD, None, False)
    finally:
        engine.dispose()
    if sqlite_file(url) is not None:
        assert list(sqlite_file(url).parent.glob("*.bak")) == []  # nothing to back up in an empty file


def test_the_migrations_make_every_index_the_models_declare(fresh_db_url):
    """A query the code relies on an index for finds it in a migrated database, not only in the models."""
    from workstation.models import Base

    url = fresh_db_url()
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        inspector = inspect(engine)
        missing = []
        for table in Base.metadata.sorted_tables:
            made = {ix["name"]: list(ix["column_names"]) for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if made.get(index.name) != [c.name for c in index.columns]:
                    missing.append(f"{table.name}.{index.name}")
        assert missing == []
        held = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("intake_quarantine")}
        assert held["ix_intake_quarantine_external"] == ["source", "external_id"]  # a repeated post's lookup
    finally:
        engine.dispose()


def test_head_names_every_branch_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert "+".join(sorted(heads)) == HEAD
    assert "0001" not in HEAD.split("+")


def test_older_database_is_backed_up_then_upgraded(fresh_db_url):
    url = fresh_db_url()
    _upgrade_to(url, "0001")
    assert _version_rows(url) == ["0001"]
    assert "case_leases" not in _tables(url)  # a table of 0002

    db = open_database(url)
    try:
        engine = db.engine
        assert migrate.current_revision(engine) == HEAD
        assert "case_leases" in inspect(engine).get_table_names()
        with db.read() as s:  # reference data loaded after the upgrade
            assert s.scalar(text("SELECT count(*) FROM categories")) == 118
    finally:
        db.dispose()

    path = sqlite_file(url)
    if path is None:  # PostgreSQL: upgraded in place, no file to copy
        return
    backups = list(path.parent.glob(f"{path.name}.0001.*.bak"))
    assert len(backups) == 1, list(path.parent.iterdir())
    copy = sqlite3.connect(str(backups[0]))
    try:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        names = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "cases" in names and "case_leases" not in names  # the copy was taken before the upgrade
    finally:
        copy.close()


def test_upgrade_result_from_0001_names_the_backup_only_for_sqlite(fresh_db_url):
    url = fresh_db_url()
    _upgrade_to(url, "0001")
    engine = make_engine(url)
    try:
        result = migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert (result.before, result.after, result.changed) == ("0001", HEAD, True)
    if sqlite_file(url) is None:
        assert result.backup is None
    else:
        assert result.backup is not None and result.backup.exists()
        assert result.backup.name.startswith(f"{sqlite_file(url).name}.0001.")


def test_newer_schema_is_refused_and_nothing_is_changed(fresh_db_url):
    url = fresh_db_url()
    _stamp_unknown(url)
    with pytest.raises(SchemaTooNewError) as caught:
        open_database(url)
    message = caught.value.message
    assert "ffff9999" in message and "newer" in message
    assert "Install the newer version" in message and "nothing was changed" in message
    assert f"up to {HEAD}" in message
    assert _tables(url) == {"alembic_version"}  # no migration ran, no reference data was loaded
    assert _version_rows(url) == ["ffff9999"]
    path = sqlite_file(url)
    if path is not None:
        assert list(path.parent.glob("*.bak")) == []


# -- SQLite settings -------------------------------------------------------------------------------


def _sqlite_only(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("WAL, busy timeout and BEGIN IMMEDIATE are SQLite connection settings; PostgreSQL has none")


def test_sqlite_connections_have_wal_foreign_keys_and_busy_timeout(db):
    _sqlite_only(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_foreign_keys_are_enforced(db):
    now = utcnow()
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(Case(channel="PDA", text="x", received_at=now, grid_code="NO-SUCH-GRID"))
        s.flush()


def test_write_transactions_begin_immediately_and_a_second_writer_waits(db, db_url):
    _sqlite_only(db)
    holding, release = threading.Event(), threading.Event()
    other = Database(db_url)

    def first_writer() -> None:
        with db.write() as s:
            s.execute(text("SELECT 1"))  # only a read, yet the write lock is taken at BEGIN
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert holding.wait(10)
        # The write lock is already held: an immediate writer with no patience is told so at once.
        raw = sqlite3.connect(str(sqlite_file(db_url)), timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
        finally:
            raw.close()
        # A reader never waits on the writer.
        started = time.monotonic()
        with other.read() as s:
            assert s.scalar(text("SELECT count(*) FROM categories")) == 118
        assert time.monotonic() - started < 1
        # A second writer queues and succeeds once the first one commits.
        threading.Timer(0.4, release.set).start()
        started = time.monotonic()
        with other.write() as s:
            s.execute(text("UPDATE meta SET value = value WHERE key = 'calendar.base'"))
        waited = time.monotonic() - started
        assert waited >= 0.3
    finally:
        release.set()
        thread.join(10)
        other.dispose()


# -- PostgreSQL: pooled connections after a restart ---------------------------------------------


def _pg_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("a restarted server and its dropped connections are a client/server matter")


def _terminate_pooled(db: Database, count: int) -> None:
    """What a database restart does to a seat: every pooled connection is cut by the server."""
    held = [db.engine.connect() for _ in range(count)]
    pids = [conn.execute(text("SELECT pg_backend_pid()")).scalar() for conn in held]
    for conn in held:
        conn.close()  # back to the pool, alive as far as the seat knows
    admin = make_engine(db.url)
    try:
        with admin.begin() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with admin.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}
                ).scalar()
            if not left:
                break
            time.sleep(0.05)
    finally:
        admin.dispose()


def test_after_the_server_cut_every_pooled_connection_the_next_actions_work(db, users):
    _pg_only(db)
    from tests.conftest import article_report
    from workstation.services import lifecycle as lc
    from workstation.services.reports import add_report

    case = add_report(db, article_report()).case_id
    _terminate_pooled(db, 3)  # the seat just acted: its connections were used a moment ago
    lc.file(db, users["op1"], case, "0201", expected_version=1)  # not an error: a fresh connection
    with db.read() as s:
        assert s.scalar(select(Case.status).where(Case.id == case)) == "filed"
    lc.dispatch(db, users["op1"], case, "GRID", expected_version=2)
    with db.read() as s, db.write() as w:  # two at once: both pooled connections were cut too
        assert s.scalar(select(Case.version).where(Case.id == case)) == 3
        assert w.scalar(select(Case.status).where(Case.id == case)) == "dispatched"


def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(db_url, monkeypatch):
    pings: list[int] = []
    monkeypatch.setattr(dbmod, "IDLE_PING_SECONDS", 0.3)
    database = Database(db_url)
    try:
        if database.dialect != "postgresql":
            pytest.skip("SQLite has no server connection to lose")
        real = database.engine.dialect.do_ping
        monkeypatch.setattr(database.engine.dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
        for _ in range(20):  # back to back: no SELECT 1 round trip before each transaction
            with database.read() as s:
                s.scalar(text("SELECT count(*) FROM categories"))
        assert pings == []
        time.sleep(0.5)  # idle past the limit: the next checkout asks the server first
        with database.read() as s:
            assert s.scalar(text("SELECT count(*) FROM categories")) == 118
        assert pings == [1]
    finally:
        database.dispose()


# -- URLs and the command line --------------------------------------------------------------------


def test_resolve_db_url(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSTATION_DB", raising=False)
    assert resolve_db_url("postgresql://u:p@host:5432/grid") == "postgresql+psycopg://u:p@host:5432/grid"
    assert resolve_db_url("postgres://host/grid") == "postgresql+psycopg://host/grid"
    assert resolve_db_url("postgresql+psycopg://host/grid") == "postgresql+psycopg://host/grid"
    assert resolve_db_url("sqlite:////data/x.sqlite") == "sqlite:////data/x.sqlite"
    bare = tmp_path / "sub" / "cases.sqlite"
    assert resolve_db_url(str(bare)) == f"sqlite:///{bare.resolve()}"
    monkeypatch.chdir(tmp_path)
    assert resolve_db_url("rel.sqlite") == f"sqlite:///{(tmp_path / 'rel.sqlite').resolve()}"
    # --db wins over WORKSTATION_DB, which wins over the embedded file
    monkeypatch.setenv("WORKSTATION_DB", "postgresql://env/grid")
    assert resolve_db_url(None) == "postgresql+psycopg://env/grid"
    assert resolve_db_url(str(bare)) == f"sqlite:///{bare.resolve()}"
    monkeypatch.delenv("WORKSTATION_DB")
    embedded = tmp_path / "data" / "workstation.sqlite"
    monkeypatch.setattr(dbmod, "default_db_path", lambda: embedded)
    assert resolve_db_url(None) == f"sqlite:///{embedded}"
    assert embedded.parent.is_dir()


def test_sqlite_file():
    assert sqlite_file("sqlite:////tmp/a.sqlite") == Path("/tmp/a.sqlite")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://h/db") is None


def test_db_upgrade_command_says_what_it_did(fresh_db_url, capsys):
    url = fresh_db_url()
    assert main(["db", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == f"upgraded the schema from - to {HEAD}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == f"the schema is up to date ({HEAD})"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:  # and the reference data was loaded
            assert conn.execute(text("SELECT count(*) FROM categories")).scalar() == 118
    finally:
        engine.dispose()


def test_db_upgrade_command_reports_the_backup_of_an_older_file(tmp_path, capsys):
    path = tmp_path / "old.sqlite"
    _upgrade_to(f"sqlite:///{path}", "0001")
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"upgraded the schema from 0001 to {HEAD}" in out
    backup = next(tmp_path.glob("old.sqlite.0001.*.bak"))
    assert f"the previous file was copied to {backup}" in out


def test_db_option_takes_a_bare_file_path(tmp_path, capsys):
    path = tmp_path / "bare.sqlite"
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    assert f"to {HEAD}" in capsys.readouterr().out
    assert path.is_file()
    assert main(["catalogue", "list", "--json", "--db", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 11


def test_workstation_db_variable_is_honoured(tmp_path, monkeypatch, capsys):
    path = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("WORKSTATION_DB", str(path))
    assert main(["db", "upgrade"]) == 0
    assert f"upgraded the schema from - to {HEAD}" in capsys.readouterr().out
    assert path.is_file()
    assert "cases" in _tables(f"sqlite:///{path}")
