"""credit usage rollup

Hourly sums of credit_usage_log per account, site and one dimension (operation, model or user), which the credit
usage screen reads instead of the log (see core/billing/usage_rollup.py). The table is filled from the existing log here;
from then on core.billing.credits.charge keeps it current in the same transaction as each log row.

The backfill is written out in SQL for each database so this migration stays what it was when later code changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# Per database: the UTC hour of created_at (stored as UTC; SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text) and the
# user id as text.
HOUR = {
    'postgresql': "timezone('UTC', date_trunc('hour', timezone('UTC', created_at)))",
    'sqlite': "substr(created_at, 1, 13) || ':00:00.000000'",
}
USER_KEY = {'postgresql': "COALESCE(CAST(user_id AS VARCHAR), '')", 'sqlite': "COALESCE(CAST(user_id AS TEXT), '')"}
KEYS = {'operation': 'operation_type', 'model': 'model_used'}


def upgrade() -> None:
    op.create_table('credit_usage_rollup',
    sa.Column('id', BIG, nullable=False),
    sa.Column('account_id', BIG, nullable=False),
    sa.Column('dimension', sa.Enum('operation', 'model', 'user', name='usagedimension', native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('site_key', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('credits', sa.BigInteger(), nullable=False),
    sa.Column('cost_micro_usd', sa.BigInteger(), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('tokens_input', sa.BigInteger(), nullable=False),
    sa.Column('tokens_output', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_credit_usage_rollup_account_id_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_usage_rollup')),
    sa.UniqueConstraint('account_id', 'dimension', 'hour', 'site_key', 'key',
                        name=op.f('uq_credit_usage_rollup_account_id_dimension_hour_site_key_key'))
    )
    dialect = op.get_bind().dialect.name
    keys = {**KEYS, 'user': USER_KEY[dialect]}
    for dimension, key in keys.items():
        op.execute(
            "INSERT INTO credit_usage_rollup (account_id, dimension, hour, site_key, key, credits, cost_micro_usd, "
            "calls, tokens_input, tokens_output) "
            f"SELECT account_id, '{dimension}', {HOUR[dialect]}, COALESCE(site_id, 0), {key}, SUM(credits_used), "
            "SUM(CAST(ROUND(cost_usd * 1000000) AS BIGINT)), COUNT(*), SUM(tokens_input), SUM(tokens_output) "
            f"FROM credit_usage_log GROUP BY account_id, {HOUR[dialect]}, COALESCE(site_id, 0), {key}")


def downgrade() -> None:
    op.drop_table('credit_usage_rollup')
