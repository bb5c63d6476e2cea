"""Kept queue counts (delta rows appended by triggers, folded into one row per bucket) and, on
PostgreSQL, a notice on every new case event for the seats that listen.

Revision ID: h12_live_1
Revises: h10_identity_1, h9_photos_1
Create Date: 2026-11-30 11:00:00
"""

import sqlalchemy as sa
from alembic import op

from workstation.storage import count_buckets

revision = "h12_live_1"
down_revision = ("h10_identity_1", "h9_photos_1")
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_counts",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dim", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "value", "status", name=op.f("pk_case_counts")),
    )
    op.create_table(
        "case_count_deltas",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dim", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_count_deltas")),
    )
    dialect = op.get_bind().dialect.name
    for statement in count_buckets.trigger_sql(dialect):
        op.execute(statement)
    # cases already there count from now on too (an upgraded database)
    op.execute(
        "INSERT INTO case_counts (status, dim, value, n) SELECT status, dim, value, n FROM ("
        + count_buckets.truth_sql(dialect)
        + ") AS truth"
    )


def downgrade() -> None:
    for statement in count_buckets.drop_sql(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("case_count_deltas")
    op.drop_table("case_counts")
