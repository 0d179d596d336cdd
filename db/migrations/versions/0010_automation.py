"""automation

Automation runs: the settings a run needs (stages 7 and 8, ideas per cluster, clustering, stop on error, approval
and publishing choices, maximum time, credit budget), what a run keeps (forecast, budget, reservation, why it
stopped, its settings, deadline, heartbeat) and its items; credit reservations and the account's reserved credits;
the scheduler processes' heartbeats; provider slots and call starts shared by every process.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_call',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider_id', sa.String(length=50), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_call'))
    )
    with op.batch_alter_table('provider_call', schema=None) as batch_op:
        batch_op.create_index('ix_provider_call_provider_started', ['provider_id', 'started_at'], unique=False)

    op.create_table('provider_slot',
    sa.Column('provider_id', sa.String(length=50), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('provider_id', 'slot', name=op.f('pk_provider_slot'))
    )
    op.create_table('scheduler_process',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('working_on', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_process'))
    )
    with op.batch_alter_table('scheduler_process', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_process_heartbeat_at'), ['heartbeat_at'], unique=False)

    op.create_table('credit_reservation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=255), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('held >= 0', name=op.f('ck_credit_reservation_held_non_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_credit_reservation_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_reservation'))
    )
    with op.batch_alter_table('credit_reservation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_reservation_account_id'), ['account_id'], unique=False)

    # A plain ADD COLUMN: SQLite's batch mode would copy the account table, and dropping the old copy would
    # cascade-delete every row that references an account.
    op.add_column('account', sa.Column('credits_reserved', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('automation_config', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_7_batch_size', sa.Integer(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('stage_8_batch_size', sa.Integer(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('ideas_per_cluster', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('clustering', sa.String(length=10), server_default='offline', nullable=False))
        batch_op.add_column(sa.Column('stop_on_error', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('auto_approve', sa.String(length=10), server_default='site', nullable=False))
        batch_op.add_column(sa.Column('auto_publish', sa.String(length=10), server_default='site', nullable=False))
        batch_op.add_column(sa.Column('max_run_minutes', sa.Integer(), server_default='240', nullable=False))
        batch_op.add_column(sa.Column('credit_budget', sa.Integer(), server_default='500', nullable=False))
        batch_op.create_index(batch_op.f('ix_automation_config_next_run_at'), ['next_run_at'], unique=False)

    with op.batch_alter_table('automation_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forecast_credits', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('budget_credits', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reservation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('stop_reason', sa.String(length=30), server_default='', nullable=False))
        batch_op.add_column(sa.Column('settings_json', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('forecast_json', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_automation_run_site_created', ['site_id', 'created_at'], unique=False)
        batch_op.create_index('ix_automation_run_status_lease', ['status', 'lease_until'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_automation_run_reservation_id_credit_reservation'), 'credit_reservation', ['reservation_id'], ['id'], ondelete='SET NULL')

    op.create_table('automation_run_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('estimate_credits', sa.Integer(), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_automation_run_item_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['automation_run.id'], name=op.f('fk_automation_run_item_run_id_automation_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_automation_run_item_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_run_item')),
    sa.UniqueConstraint('run_id', 'stage', 'object_id', name=op.f('uq_automation_run_item_run_id_stage_object_id'))
    )
    with op.batch_alter_table('automation_run_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_automation_run_item_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_automation_run_item_run_status', ['run_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_automation_run_item_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('automation_run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_automation_run_reservation_id_credit_reservation'), type_='foreignkey')
        batch_op.drop_index('ix_automation_run_status_lease')
        batch_op.drop_index('ix_automation_run_site_created')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('deadline_at')
        batch_op.drop_column('forecast_json')
        batch_op.drop_column('settings_json')
        batch_op.drop_column('stop_reason')
        batch_op.drop_column('reservation_id')
        batch_op.drop_column('budget_credits')
        batch_op.drop_column('forecast_credits')

    with op.batch_alter_table('automation_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_config_next_run_at'))
        batch_op.drop_column('credit_budget')
        batch_op.drop_column('max_run_minutes')
        batch_op.drop_column('auto_publish')
        batch_op.drop_column('auto_approve')
        batch_op.drop_column('stop_on_error')
        batch_op.drop_column('clustering')
        batch_op.drop_column('ideas_per_cluster')
        batch_op.drop_column('stage_8_batch_size')
        batch_op.drop_column('stage_7_batch_size')

    op.drop_column('account', 'credits_reserved')

    with op.batch_alter_table('automation_run_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_run_item_site_id'))
        batch_op.drop_index('ix_automation_run_item_run_status')
        batch_op.drop_index(batch_op.f('ix_automation_run_item_account_id'))

    op.drop_table('automation_run_item')
    with op.batch_alter_table('credit_reservation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_reservation_account_id'))

    op.drop_table('credit_reservation')
    with op.batch_alter_table('scheduler_process', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_process_heartbeat_at'))

    op.drop_table('scheduler_process')
    op.drop_table('provider_slot')
    with op.batch_alter_table('provider_call', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_call_provider_started')

    op.drop_table('provider_call')
