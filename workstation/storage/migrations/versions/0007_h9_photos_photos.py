"""Case photos: one row per photo reference and the image bytes, stored once by content.

Revision ID: h9_photos_1
Revises: 0006
Create Date: 2026-11-30 10:20:00
"""
import sqlalchemy as sa
from alembic import op

import workstation.models.base

revision = "h9_photos_1"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photo_blobs")),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blob", sa.String(length=64), nullable=True),
        sa.Column("seen_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["blob"], ["photo_blobs.sha256"], name=op.f("fk_photos_blob_photo_blobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("key", name=op.f("uq_photos_key")),
    )
    op.create_index("ix_photos_due", "photos", ["state", "next_try_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_photos_due", table_name="photos")
    op.drop_table("photos")
    op.drop_table("photo_blobs")
