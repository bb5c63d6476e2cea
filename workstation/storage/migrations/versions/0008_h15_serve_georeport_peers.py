"""GeoReport v2 peers: requests this centre posted to other GeoReport v2 servers, and their status.

Revision ID: h15_serve_1
Revises: h10_identity_1, h9_photos_1
Create Date: 2026-11-30 10:55:00
"""
import sqlalchemy as sa
from alembic import op

import workstation.models.base

revision = "h15_serve_1"
down_revision = ("h10_identity_1", "h9_photos_1")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "georeport_outbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service_request_id", sa.String(length=100), nullable=True),
        sa.Column("token", sa.String(length=100), nullable=True),
        sa.Column("remote_status", sa.String(length=20), nullable=True),
        sa.Column("remote_notes", sa.Text(), nullable=True),
        sa.Column("remote_updated_at", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("polled_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_georeport_outbound_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_georeport_outbound")),
        sa.UniqueConstraint("target", "case_id", name=op.f("uq_georeport_outbound_target_case_id")),
    )
    op.create_index("ix_georeport_outbound_due", "georeport_outbound", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_georeport_outbound_due", table_name="georeport_outbound")
    op.drop_table("georeport_outbound")
