"""usage report index

The credit usage screen reads one account's window of usage rows; this index covers every column it reads, so the
reports scan the index alone. It replaces (account_id, created_at), its prefix. On PostgreSQL the planner also gets
statistics on the UTC hour of created_at: core/usage_sql.hour_bucket groups by exactly that expression, and with
them the planner knows it has few distinct values and aggregates in parallel.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:39:16.706044
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

STATISTICS = "st_credit_usage_log_created_hour"


def upgrade() -> None:
    with op.batch_alter_table('credit_usage_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_usage_log_account_created'))
        batch_op.create_index('ix_credit_usage_log_usage_report', ['account_id', 'created_at', 'site_id', 'user_id', 'operation_type', 'model_used', 'credits_used', 'cost_usd', 'tokens_input', 'tokens_output', 'related_object_type', 'related_object_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS {STATISTICS} ON (date_trunc('hour', timezone('UTC', created_at))) "
                   "FROM credit_usage_log")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    with op.batch_alter_table('credit_usage_log', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_usage_log_usage_report')
        batch_op.create_index(batch_op.f('ix_credit_usage_log_account_created'), ['account_id', 'created_at'], unique=False)
