"""demo mode training runs

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-28 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import workstation.models.base


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('demo_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario', sa.String(length=80), nullable=False),
    sa.Column('trainee', sa.String(length=50), nullable=False),
    sa.Column('started_at', workstation.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', workstation.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('speed', sa.Double(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_runs'))
    )
    op.create_table('demo_run_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('arrival_at', workstation.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expected', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('category_code', sa.String(length=8), nullable=True),
    sa.Column('unit_code', sa.String(length=40), nullable=True),
    sa.Column('merged_into_key', sa.String(length=60), nullable=True),
    sa.Column('first_action_at', workstation.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', workstation.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_missed', sa.Boolean(), nullable=False),
    sa.Column('keystrokes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_demo_run_items_case_id_cases')),
    sa.ForeignKeyConstraint(['run_id'], ['demo_runs.id'], name=op.f('fk_demo_run_items_run_id_demo_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_run_items')),
    sa.UniqueConstraint('run_id', 'key', name=op.f('uq_demo_run_items_run_id_key'))
    )
    with op.batch_alter_table('demo_run_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demo_run_items_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('demo_run_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demo_run_items_run_id'))

    op.drop_table('demo_run_items')
    op.drop_table('demo_runs')
