"""writer room

The writer's tables: revisions of an article (every generation, edit and restore), comments and review steps,
bulk-generation batches with a line per task; on tasks the assignee, due date and what the cannibalization guard
found; on content the editor's version (an optimistic lock); on images the thumbnail and where the file came from.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:57:39.589594
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('writer_batch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'paused', 'completed', 'failed', 'cancelled', name='runstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('author_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('strategy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('estimated_credits', sa.Integer(), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_writer_batch_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_profile_id'], ['author_profile.id'], name=op.f('fk_writer_batch_author_profile_id_author_profile'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_writer_batch_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sector_id'], ['sector.id'], name=op.f('fk_writer_batch_sector_id_sector'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_writer_batch_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategy.id'], name=op.f('fk_writer_batch_strategy_id_strategy'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_writer_batch'))
    )
    with op.batch_alter_table('writer_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_writer_batch_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_writer_batch_sector_id'), ['sector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_writer_batch_site_id'), ['site_id'], unique=False)

    op.create_table('content_comment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'review', 'approved', 'published', name='from_status', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('to_status', sa.Enum('draft', 'review', 'approved', 'published', name='to_status', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_content_comment_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_content_comment_content_id_content'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_content_comment_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sector_id'], ['sector.id'], name=op.f('fk_content_comment_sector_id_sector'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_content_comment_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_comment'))
    )
    with op.batch_alter_table('content_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_comment_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_comment_content_id'), ['content_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_comment_sector_id'), ['sector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_comment_site_id'), ['site_id'], unique=False)

    op.create_table('content_revision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('generated', 'edit', 'restore', name='revisionkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('content_html', sa.Text(), nullable=False),
    sa.Column('meta_title', sa.String(length=255), nullable=False),
    sa.Column('meta_description', sa.Text(), nullable=False),
    sa.Column('primary_keyword', sa.String(length=500), nullable=False),
    sa.Column('secondary_keywords', sa.JSON(), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('changed', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_content_revision_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_content_revision_content_id_content'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_content_revision_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sector_id'], ['sector.id'], name=op.f('fk_content_revision_sector_id_sector'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_content_revision_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_revision')),
    sa.UniqueConstraint('content_id', 'number', name=op.f('uq_content_revision_content_id_number'))
    )
    with op.batch_alter_table('content_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_revision_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_revision_sector_id'), ['sector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_content_revision_site_id'), ['site_id'], unique=False)

    op.create_table('writer_batch_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', 'skipped', name='itemstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('content_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sector_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_writer_batch_item_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['batch_id'], ['writer_batch.id'], name=op.f('fk_writer_batch_item_batch_id_writer_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_writer_batch_item_content_id_content'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sector_id'], ['sector.id'], name=op.f('fk_writer_batch_item_sector_id_sector'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_writer_batch_item_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_writer_batch_item_task_id_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_writer_batch_item')),
    sa.UniqueConstraint('batch_id', 'task_id', name=op.f('uq_writer_batch_item_batch_id_task_id'))
    )
    with op.batch_alter_table('writer_batch_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_writer_batch_item_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_writer_batch_item_batch_position', ['batch_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_writer_batch_item_sector_id'), ['sector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_writer_batch_item_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_writer_batch_item_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('content', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('updated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index('ix_content_sector_site_status_id', ['sector_id', 'site_status', 'id'], unique=False)
        batch_op.create_index('ix_content_sector_status_id', ['sector_id', 'status', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_content_updated_by_id_user'), 'user', ['updated_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thumbnail_path', sa.String(length=1000), server_default='', nullable=False))
        batch_op.add_column(sa.Column('preview_path', sa.String(length=1000), server_default='', nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='ai', nullable=False))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('overlaps', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('overlap_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('overlap_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_assigned_to_id'), ['assigned_to_id'], unique=False)
        batch_op.create_index('ix_tasks_sector_due_id', ['sector_id', 'due_date', 'id'], unique=False)
        batch_op.create_index('ix_tasks_sector_status_id', ['sector_id', 'status', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_assigned_to_id_user'), 'user', ['assigned_to_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tasks_assigned_to_id_user'), type_='foreignkey')
        batch_op.drop_index('ix_tasks_sector_status_id')
        batch_op.drop_index('ix_tasks_sector_due_id')
        batch_op.drop_index(batch_op.f('ix_tasks_assigned_to_id'))
        batch_op.drop_column('overlap_checked_at')
        batch_op.drop_column('overlap_score')
        batch_op.drop_column('overlaps')
        batch_op.drop_column('due_date')
        batch_op.drop_column('assigned_to_id')

    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('preview_path')
        batch_op.drop_column('thumbnail_path')

    with op.batch_alter_table('content', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_content_updated_by_id_user'), type_='foreignkey')
        batch_op.drop_index('ix_content_sector_status_id')
        batch_op.drop_index('ix_content_sector_site_status_id')
        batch_op.drop_column('updated_by_id')
        batch_op.drop_column('version')

    with op.batch_alter_table('writer_batch_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_writer_batch_item_task_id'))
        batch_op.drop_index(batch_op.f('ix_writer_batch_item_site_id'))
        batch_op.drop_index(batch_op.f('ix_writer_batch_item_sector_id'))
        batch_op.drop_index('ix_writer_batch_item_batch_position')
        batch_op.drop_index(batch_op.f('ix_writer_batch_item_account_id'))

    op.drop_table('writer_batch_item')
    with op.batch_alter_table('content_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_revision_site_id'))
        batch_op.drop_index(batch_op.f('ix_content_revision_sector_id'))
        batch_op.drop_index(batch_op.f('ix_content_revision_account_id'))

    op.drop_table('content_revision')
    with op.batch_alter_table('content_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_comment_site_id'))
        batch_op.drop_index(batch_op.f('ix_content_comment_sector_id'))
        batch_op.drop_index(batch_op.f('ix_content_comment_content_id'))
        batch_op.drop_index(batch_op.f('ix_content_comment_account_id'))

    op.drop_table('content_comment')
    with op.batch_alter_table('writer_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_writer_batch_site_id'))
        batch_op.drop_index(batch_op.f('ix_writer_batch_sector_id'))
        batch_op.drop_index(batch_op.f('ix_writer_batch_account_id'))

    op.drop_table('writer_batch')
