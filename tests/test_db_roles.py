"""The PostgreSQL roles of ``db roles --print-sql``: the seat role works, but cannot rewrite history."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import PASSWORD, article_report
from workstation.cli import main
from workstation.services import accounts, audit
from workstation.services import lifecycle as lc
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database

_n = itertools.count()


def run_script(url: str, script: str) -> None:
    """Run a psql script's SQL statements (``\\connect`` names the database we are already on)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for line in script.splitlines():
            line = line.strip()
            if line and not line.startswith(("--", "\\")):
                conn.execute(text(line))
    engine.dispose()


@pytest.fixture
def centre(pg_server, capsys) -> Iterator[dict[str, str]]:
    """A database set up with the printed script: urls of the superuser, the owner and a seat."""
    if pg_server is None:
        pytest.skip("database roles are PostgreSQL's: an SQLite file has no roles (whoever can write it owns it)")
    url = pg_server.create()
    name = make_url(url).database or ""
    owner, seat = f"ws_owner_{os.getpid()}_{next(_n)}", f"ws_seat_{os.getpid()}_{next(_n)}"
    assert (
        main(["db", "roles", "--print-sql", "--part", "setup", "--database", name, "--owner", owner, "--seat", seat])
        == 0
    )
    run_script(url, capsys.readouterr().out)
    owner_url = make_url(url).set(username=owner).render_as_string(hide_password=False)
    open_database(owner_url).dispose()  # the owner runs the migrations
    assert main(["db", "roles", "--print-sql", "--part", "grants", "--owner", owner, "--seat", seat]) == 0
    run_script(owner_url, capsys.readouterr().out)
    yield {
        "super": url,
        "owner": owner_url,
        "seat": make_url(url).set(username=seat).render_as_string(hide_password=False),
    }
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"DROP ROLE IF EXISTS {seat}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
    admin.dispose()
    pg_server.created.remove(name)


def as_seat(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_a_seat_works_but_cannot_truncate_alter_or_rewrite_history(centre):
    db = open_database(centre["seat"])
    try:
        admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
        op = accounts.add_user(db, admin, "op1", "operator", PASSWORD)
        first = add_report(db, article_report(external_id="roles-1")).case_id
        second = add_report(db, article_report(external_id="roles-2")).case_id
        lc.file(db, op, first, "0201")
        lc.dispatch(db, op, first)
        lc.merge(db, op, second, first)
        assert audit.verify(db, admin).ok
    finally:
        db.dispose()
    refused = [
        "TRUNCATE case_events CASCADE",
        "TRUNCATE cases CASCADE",
        "ALTER TABLE case_events DISABLE TRIGGER ALL",
        "ALTER TABLE cases ADD COLUMN x integer",
        "DROP TABLE case_events CASCADE",
        "UPDATE case_events SET reason = 'x'",
        "DELETE FROM case_events",
        "UPDATE unit_responses SET reason = 'x'",
        "DELETE FROM care_visits",
        "SET session_replication_role = replica",
        "UPDATE alembic_version SET version_num = 'x'",
    ]
    for sql in refused:
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner|must be superuser"):
            as_seat(centre["seat"], sql)
    as_seat(centre["seat"], "UPDATE cases SET priority = priority")  # what seats need still works


def test_the_owner_anchors_while_writers_wait(centre):
    db = open_database(centre["owner"])
    try:
        admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
        add_report(db, article_report(external_id="roles-3"))
        line = audit.anchor(db, admin)
        assert audit.verify(db, admin, line).ok
    finally:
        db.dispose()
