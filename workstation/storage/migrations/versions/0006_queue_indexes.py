"""Queue indexes that cover the queue filters; joins the care, intake and demo branches.

Revision ID: 0006
Revises: 0003, 0004, 0005
Create Date: 2026-11-27 18:30:00
"""
from alembic import op

revision = "0006"
down_revision = ("0003", "0004", "0005")
branch_labels = None
depends_on = None

FILTERS = ["channel", "category_code", "grid_code", "community_code", "street_code"]


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_queue")
        batch_op.create_index("ix_cases_queue", ["status", "priority", "received_at", "id", *FILTERS], unique=False)
        batch_op.drop_index("ix_cases_status_deadline")
        batch_op.create_index("ix_cases_status_deadline", ["status", "deadline_at", *FILTERS], unique=False)
        batch_op.create_index("ix_cases_community", ["community_code", "received_at"], unique=False)
        batch_op.create_index("ix_cases_street", ["street_code", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_street")
        batch_op.drop_index("ix_cases_community")
        batch_op.drop_index("ix_cases_status_deadline")
        batch_op.create_index("ix_cases_status_deadline", ["status", "deadline_at"], unique=False)
        batch_op.drop_index("ix_cases_queue")
        batch_op.create_index("ix_cases_queue", ["status", "priority", "received_at", "id"], unique=False)
