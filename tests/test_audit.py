"""The tamper-evident history: append-only in the database itself, hash-chained, verified and anchored."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.care_support import add as add_person
from tests.conftest import PASSWORD, article_report
from tests.test_cli import _no_default_database, cli  # noqa: F401  (fixtures)
from workstation.intake.responses import apply_unit_response, install
from workstation.models.chain import CHAINED, GENESIS, content, entry_hash
from workstation.services import accounts, audit
from workstation.services import lifecycle as lc
from workstation.services.care_privacy import reveal
from workstation.services.care_visits import record_visit
from workstation.services.errors import PermissionDeniedError, ValidationError
from workstation.services.reports import add_report
from workstation.storage import migrate
from workstation.storage.bootstrap import open_database
from workstation.storage.db import make_engine

HISTORY = ("case_events", "care_visits", "care_reveals", "unit_responses", "account_events")


def tamper(url: str, *statements: str) -> None:
    """What someone with the database file or a superuser's access does: lift the protection, then write."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            conn.execute(sql)
        conn.commit()
        conn.close()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for sql in statements:
            conn.execute(text(sql))
    engine.dispose()


def raw(url: str, sql: str) -> None:
    """One statement as any client of the database would send it (no protection lifted)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture
def world(db, users):
    """A few cases with history, a visit, a reveal and a unit response: every chained table has entries."""
    install()
    ids = [add_report(db, article_report(external_id=f"audit-{n}")).case_id for n in range(3)]
    lc.file(db, users["op1"], ids[0], "0201")
    lc.dispatch(db, users["op1"], ids[0])
    lc.reject(db, users["op1"], ids[1], "重复")
    apply_unit_response(db, {"response_id": "R-1", "case_id": ids[0], "unit": "GRID-S13C01G01", "type": "acknowledge"})
    pid = add_person(db, users["station"])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)  # within the back-dating limit
    record_visit(db, users["station"], pid, at=at, visitor="李", mode="home", met=True)
    reveal(db, users["station"], pid, "phone", "回访核实")
    return ids


def test_an_untouched_history_verifies_on_every_table(db, users, world):
    report = audit.verify(db, users["admin"])
    assert report.ok, report.breaks
    assert all(report.checked[t] >= 1 for t in HISTORY), report.checked
    assert report.checked["case_events"] == 3 + 3 + 1  # three reports, file, dispatch, reject, acknowledge


def test_only_an_administrator_audits(db, users, world):
    with pytest.raises(PermissionDeniedError):
        audit.verify(db, users["lead"])
    with pytest.raises(PermissionDeniedError):
        audit.anchor(db, users["op1"])


def test_a_history_entry_changed_by_hand_with_sql_is_found(db, db_url, users, world, cli):  # noqa: F811
    target = world[0]
    tamper(db_url, f"UPDATE case_events SET reason = 'nothing happened' WHERE case_id = {target} AND action = 'file'")
    report = audit.verify(db, users["admin"])
    assert [(b.table, b.kind, b.chain) for b in report.breaks] == [("case_events", "changed", f"case:{target}")]
    out = cli("audit", "verify", "--as", "admin", code=1)
    assert "changed after it was written" in out.out and f"entry {report.breaks[0].entry}" in out.out


@pytest.mark.parametrize("table", HISTORY)
def test_a_removed_entry_is_found(db, db_url, users, world, table):
    key = "response_id" if table == "unit_responses" else "id"
    if table == "case_events":
        tamper(db_url, f"DELETE FROM case_events WHERE case_id = {world[0]} AND action = 'file'")
    else:
        tamper(db_url, "UPDATE outbox SET event_id = NULL", f"DELETE FROM {table} WHERE {key} IS NOT NULL")
    breaks = audit.verify(db, users["admin"]).breaks
    assert [b.table for b in breaks] == [table] and breaks[0].kind == "removed", breaks


def test_the_newest_entry_removed_is_found_by_the_head(db, db_url, users, world):
    tamper(db_url, f"DELETE FROM case_events WHERE case_id = {world[1]} AND action = 'reject'")
    breaks = audit.verify(db, users["admin"]).breaks
    assert [(b.kind, b.chain) for b in breaks] == [("removed", f"case:{world[1]}")]
    assert "last 1 entries were removed" in breaks[0].message


def test_an_entry_inserted_outside_the_program_is_found(db, db_url, users, world):
    raw(
        db_url,
        "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
        f"VALUES ({world[2]}, '2026-06-04 03:00:00', 'lead', 'lead', 'close', 'reported', 'closed', '', '{{}}')",
    )
    breaks = audit.verify(db, users["admin"]).breaks
    assert [(b.kind, b.chain) for b in breaks] == [("inserted", f"case:{world[2]}")]


def test_an_emptied_history_leaves_its_cases_without_history(db, db_url, users, world):
    tamper(db_url, "UPDATE outbox SET event_id = NULL", "DELETE FROM unit_responses", "DELETE FROM case_events")
    kinds = {(b.table, b.kind) for b in audit.verify(db, users["admin"]).breaks}
    assert kinds == {("case_events", "removed"), ("unit_responses", "removed")}


def test_an_anchor_catches_even_a_recomputed_chain(db, db_url, users, world, cli):  # noqa: F811
    line = cli("audit", "anchor", "--as", "admin").out.strip()
    assert line.startswith("WSA1-")
    cli("audit", "verify", "--as", "admin", "--anchor", line)
    lc.file(db, users["op1"], world[2], "0201")
    cli("audit", "verify", "--as", "admin", "--anchor", line)  # appending later is fine
    # Someone changes an entry and recomputes its hash and every hash after it, and the head: the
    # chains alone cannot tell, the anchor can.
    with db.read() as s:
        table = CHAINED["case_events"][0].__table__
        rows = [
            dict(r._mapping)
            for r in s.execute(table.select().where(table.c.case_id == world[0]).order_by(table.c.chain_seq))
        ]
    rows[0]["reason"] = "rewritten"
    previous, statements = GENESIS, []
    for row in rows:
        digest = entry_hash(previous, row["chain_seq"], content(table, row, ("id",)))
        statements.append(
            f"UPDATE case_events SET reason = '{row['reason']}', chain_hash = '{digest}' WHERE id = {row['id']}"
        )
        previous = digest
    statements.append(f"UPDATE audit_heads SET hash = '{previous}' WHERE chain = 'case:{world[0]}'")
    tamper(db_url, *statements)
    assert audit.verify(db, users["admin"]).ok  # what the chain alone cannot prove
    out = cli("audit", "verify", "--as", "admin", "--anchor", line, code=1)
    assert "anchor was taken were changed" in out.out
    with pytest.raises(ValidationError):
        audit.verify(db, users["admin"], "WSA1-not-an-anchor")


@pytest.mark.parametrize("table", HISTORY)
def test_history_tables_refuse_update_and_delete(db, db_url, users, world, table):
    for sql in (f"UPDATE {table} SET chain_seq = chain_seq", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            raw(db_url, sql)


def test_sqlite_insert_or_replace_cannot_overwrite_history(db, db_url, users, world):
    if not db_url.startswith("sqlite"):
        pytest.skip("INSERT OR REPLACE is SQLite's; PostgreSQL's ON CONFLICT DO UPDATE is an UPDATE (refused)")
    with db.read() as s:
        first = s.execute(text("SELECT id, case_id FROM case_events ORDER BY id LIMIT 1")).one()
        visit = s.execute(text("SELECT id, person_id FROM care_visits LIMIT 1")).one()
    with pytest.raises(DBAPIError, match="cannot be replaced"):
        raw(
            db_url,
            "INSERT OR REPLACE INTO case_events (id, case_id, at, actor, actor_role, action, to_state, reason, "
            f"details) VALUES ({first.id}, {first.case_id}, '2026-06-04 03:00:00', 'x', 'lead', 'report', "
            "'reported', '', '{}')",
        )
    with pytest.raises(DBAPIError, match="cannot be replaced"):
        raw(
            db_url,
            "INSERT OR REPLACE INTO care_visits (id, person_id, visited_at, visitor, mode, met, observations, note, "
            f"next_due_reason, recorded_at, recorded_by) VALUES ({visit.id}, {visit.person_id}, '2026-06-01 02:00:00', "
            "'x', 'home', 1, '{}', '', '', '2026-06-01 02:00:00', 'x')",
        )
    assert audit.verify(db, users["admin"]).ok


def test_postgresql_refuses_truncate_of_history(db, db_url, users, world):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused by the triggers)")
    for table in HISTORY:
        with pytest.raises(DBAPIError, match="append-only"):
            raw(db_url, f"TRUNCATE {table} CASCADE")


def test_the_migration_seals_existing_rows(fresh_db_url):
    url = fresh_db_url()
    engine = make_engine(url)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    engine.dispose()
    old = open_database(url, upgrade=False, sync=False)

    # Rows written by the previous version of the program (no chain columns yet): plain SQL.
    raw(url, "INSERT INTO streets (code, name, kind, office) VALUES ('S1', 'S', 'street', '')")
    raw(
        url,
        "INSERT INTO cases (id, version, status, priority, channel, text, address, reporter_name, reporter_phone, "
        "photos, received_at, created_at, result_photos, last_actor, last_action_at) VALUES "
        "(7, 2, 'rejected', 2, 'PDA', '路灯不亮', '', '', '', '[]', '2026-06-04 02:00:00', "
        "'2026-06-04 02:00:00', '[]', 'op1', '2026-06-04 02:05:00')",
    )
    for n, (action, frm, to) in enumerate([("report", None, "reported"), ("reject", "reported", "rejected")]):
        raw(
            url,
            "INSERT INTO case_events (case_id, at, actor, actor_role, action, from_state, to_state, reason, details) "
            f"VALUES (7, '2026-06-04 02:0{n}:00', 'op1', 'operator', '{action}', "
            f"{'NULL' if frm is None else repr(frm)}, '{to}', '', '{{\"version\": {n + 1}}}')",
        )
    old.dispose()
    db = open_database(url)
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    report = audit.verify(db, admin)
    assert report.ok and report.checked["case_events"] == 2, report.breaks
    tamper(url, "UPDATE case_events SET actor = 'lead' WHERE action = 'reject'")
    assert [b.kind for b in audit.verify(db, admin).breaks] == ["changed"]
    db.dispose()


def test_batched_intake_and_re_deliveries_are_sealed(db, users):
    from workstation.intake.ingest import ingest_items
    from workstation.intake.items import Item

    def item(i: int, **kw: object) -> Item:
        report = {"channel": "APP", "external_id": f"P-{i}", "text": f"第{i}号", "grid": "S13C01G01"}
        return Item(payload=f"P-{i}", key=f"P-{i}", report={**report, "received_at": "2026-06-04T10:19:00+08:00", **kw})

    first = ingest_items(db, "district", "platform", [item(1), item(2), item(3)])
    lc.file(db, users["op1"], first.ids("created")[1], "0105")
    ingest_items(db, "district", "platform", [item(1, text="改1"), item(2, text="改2"), item(4)])
    report = audit.verify(db, users["admin"])
    assert report.ok and report.checked["case_events"] == 4 + 1 + 2, report


def test_a_demo_world_is_sealed(fresh_db):
    from workstation.demo.world import seed_world

    db = fresh_db()
    admin = accounts.add_user(db, None, "admin", "admin", PASSWORD)
    summary = seed_world(db, seed=3, cases=120, people=20, now=datetime(2026, 6, 1, 2, tzinfo=UTC))
    report = audit.verify(db, admin)
    assert report.ok, report.breaks[:3]
    assert report.checked["case_events"] == summary.events and report.checked["care_visits"] > 0
