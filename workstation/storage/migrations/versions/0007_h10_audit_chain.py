"""Tamper-evident history: hash chains on the append-only tables, and append-only made complete.

Adds ``chain_seq``/``chain_hash`` to case_events, care_visits, care_reveals and unit_responses and
the ``audit_heads`` table, seals the existing rows (backfill), and replaces the append-only triggers:
all four tables now refuse UPDATE and DELETE (visits and unit responses were not protected at all);
SQLite also refuses an INSERT that would replace an existing row (``INSERT OR REPLACE`` deletes the
old row without firing delete triggers); PostgreSQL also refuses TRUNCATE.

Revision ID: h10_audit_1
Revises: 0006
Create Date: 2026-11-30 10:40:00
"""

import hashlib
import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from alembic import op

import workstation.models.base

revision = "h10_audit_1"
down_revision = "0006"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
UTC_DT = workstation.models.base.UTCDateTime
# The tables as they are at this revision (the backfill must not follow later model changes).
# table -> (key columns kept unique, content columns, chain of a row)
TABLES: dict[str, tuple[tuple[str, ...], list[sa.Column[Any]]]] = {
    "case_events": (
        ("id",),
        [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("case_id", sa.Integer),
            sa.Column("at", UTC_DT()),
            sa.Column("actor", sa.String),
            sa.Column("actor_role", sa.String),
            sa.Column("action", sa.String),
            sa.Column("from_state", sa.String),
            sa.Column("to_state", sa.String),
            sa.Column("reason", sa.Text),
            sa.Column("details", sa.JSON),
        ],
    ),
    "care_visits": (
        ("id", "client_key"),
        [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("person_id", sa.Integer),
            sa.Column("visited_at", UTC_DT()),
            sa.Column("visitor", sa.String),
            sa.Column("mode", sa.String),
            sa.Column("met", sa.Boolean),
            sa.Column("observations", sa.JSON),
            sa.Column("note", sa.Text),
            sa.Column("next_due_at", UTC_DT()),
            sa.Column("next_due_reason", sa.Text),
            sa.Column("client_key", sa.String),
            sa.Column("recorded_at", UTC_DT()),
            sa.Column("recorded_by", sa.String),
        ],
    ),
    "care_reveals": (
        ("id",),
        [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("at", UTC_DT()),
            sa.Column("actor", sa.String),
            sa.Column("actor_role", sa.String),
            sa.Column("person_id", sa.Integer),
            sa.Column("field", sa.String),
            sa.Column("reason", sa.Text),
            sa.Column("details", sa.JSON),
        ],
    ),
    "unit_responses": (
        ("response_id",),
        [
            sa.Column("response_id", sa.String, primary_key=True),
            sa.Column("unit_code", sa.String),
            sa.Column("case_id", sa.Integer),
            sa.Column("type", sa.String),
            sa.Column("responded_at", UTC_DT()),
            sa.Column("received_at", UTC_DT()),
            sa.Column("outcome", sa.String),
            sa.Column("reason", sa.Text),
            sa.Column("event_id", sa.Integer),
            sa.Column("payload", sa.JSON),
        ],
    ),
}
OLD_PROTECTED = ("case_events", "care_reveals")


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _hash(previous: str, seq: int, row: dict[str, Any]) -> str:
    data = {k: _plain(v) for k, v in row.items() if k != "id"}
    data = {k: v for k, v in data.items() if v is not None}
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(f"{previous}|{seq}|".encode() + body).hexdigest()


def _chain(table: str, row: dict[str, Any]) -> str:
    return f"case:{row['case_id']}" if table == "case_events" else table


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(length=60), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
    )
    for table in TABLES:
        op.add_column(table, sa.Column("chain_seq", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("chain_hash", sa.String(length=64), nullable=True))
    for table in OLD_PROTECTED:
        _drop_old_append_only(table)
    bind = op.get_bind()
    heads = sa.table("audit_heads", sa.column("chain"), sa.column("seq"), sa.column("hash"))
    for table, (_keys, columns) in TABLES.items():
        t = sa.Table(
            table, sa.MetaData(), *columns, sa.Column("chain_seq", sa.Integer), sa.Column("chain_hash", sa.String)
        )
        key = t.c.id if "id" in t.c and table != "unit_responses" else t.c.response_id
        order = [t.c.case_id, t.c.id] if table == "case_events" else [key]
        rows = [dict(r._mapping) for r in bind.execute(sa.select(*[t.c[c.name] for c in columns]).order_by(*order))]
        state: dict[str, tuple[int, str]] = {} if table == "case_events" else {table: (0, GENESIS)}
        updates = []
        for row in rows:
            chain = _chain(table, row)
            seq, previous = state.get(chain, (0, GENESIS))
            digest = _hash(previous, seq + 1, row)
            state[chain] = (seq + 1, digest)
            updates.append({"k": row[key.name], "s": seq + 1, "h": digest})
        if updates:
            bind.execute(
                t.update()
                .where(key == sa.bindparam("k"))
                .values(chain_seq=sa.bindparam("s"), chain_hash=sa.bindparam("h")),
                updates,
            )
        if state:
            bind.execute(heads.insert(), [{"chain": c, "seq": s, "hash": h} for c, (s, h) in state.items()])
    for table, (keys, _columns) in TABLES.items():
        _append_only(table, keys)


def downgrade() -> None:
    for table in TABLES:
        _drop_append_only(table)
    for table in OLD_PROTECTED:
        _old_append_only(table)
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("chain_hash")
            batch_op.drop_column("chain_seq")
    op.drop_table("audit_heads")
    for table in OLD_PROTECTED:  # batch mode rebuilt the SQLite tables without their triggers
        _drop_old_append_only(table)
        _old_append_only(table)


def _append_only(table: str, keys: tuple[str, ...]) -> None:
    """The database refuses to change or remove an entry, and (SQLite) to replace one by inserting."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        clash = " OR ".join(f"{k} = NEW.{k}" for k in keys)
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: an entry cannot be replaced'); END"
        )
    elif bind.dialect.name == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
        )


def _drop_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    elif bind.dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def _old_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif bind.dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def _drop_old_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    elif bind.dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
