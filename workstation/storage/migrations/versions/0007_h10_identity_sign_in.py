"""Sign-in failures shared by every seat (lockout) and revocable API tokens of integration accounts.

Revision ID: h10_identity_1
Revises: 0006
Create Date: 2026-11-30 10:20:00
"""
import sqlalchemy as sa
from alembic import op

import workstation.models.base

revision = "h10_identity_1"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_sign_in_failures")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.String(length=50), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", workstation.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("last_used_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", workstation.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(["owner"], ["users.name"], name=op.f("fk_api_tokens_owner_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_owner"))
    op.drop_table("api_tokens")
    op.drop_table("sign_in_failures")
