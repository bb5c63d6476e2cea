"""Held intake items found by their source's own id: index ``(source, external_id)``.

A post repeated with the client's own id, and an item delivered again that closes its held copy,
look the held copy up by source and external id; without the index that read scanned every held
item of the source, and a centre's quarantine grows for years.

Revision ID: h15_quarantine_ext_1
Revises: h16_accounts_1
Create Date: 2026-11-30 18:00:00
"""

from alembic import op

revision = "h15_quarantine_ext_1"
down_revision = "h16_accounts_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_intake_quarantine_external", "intake_quarantine", ["source", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_intake_quarantine_external", table_name="intake_quarantine")
