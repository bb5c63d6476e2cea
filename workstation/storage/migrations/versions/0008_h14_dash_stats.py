"""Summaries for supervision and evaluation: counters per day and dimension, running cases per due day.

The tables are filled from the cases already in the database, so an upgraded database shows its
history at once; from then on every change keeps them in its own transaction (services.stats).

Revision ID: h14_dash_1
Revises: h10_identity_1, h9_photos_1
Create Date: 2026-11-30 11:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "h14_dash_1"
down_revision = ("h10_identity_1", "h9_photos_1")
branch_labels = None
depends_on = None

COUNTERS = (
    "reported", "filed", "rejected", "dispatched", "handled", "handled_on_time", "closed", "closed_on_time",
    "closed_of_filed", "returned", "reworked", "extensions", "suspended", "reopened", "verified", "verified_on_time",
)


def upgrade() -> None:
    op.create_table(
        "stat_days",
        sa.Column("dim", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in COUNTERS],
        sa.PrimaryKeyConstraint("dim", "day", "key", name=op.f("pk_stat_days")),
    )
    op.create_table(
        "stat_open",
        sa.Column("dim", sa.String(length=10), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "due", "key", name=op.f("pk_stat_open")),
    )
    from workstation.services import stats  # the same code that keeps the tables from now on

    with Session(bind=op.get_bind()) as s:
        stats.rebuild(s)
        s.commit()  # joined to the migration's transaction: only flushes; alembic commits


def downgrade() -> None:
    op.drop_table("stat_open")
    op.drop_table("stat_days")
