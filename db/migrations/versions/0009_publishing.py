"""publishing

The connection doctor's verdict on a site's integration (status, when, the error) and when its WordPress structure
(authors, terms) was cached; why a content item failed to publish; an index for the sync-event log. Categories and
tags are per site on WordPress, so `content_taxonomy` loses its sector: nothing wrote the table before this
revision, so it (and its relation table) is made anew — refused if it holds rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TAXONOMY = sa.Enum('category', 'tag', 'product_category', 'product_tag', 'product_attribute', 'service_category',
                   name='taxonomytype', native_enum=False, create_constraint=True, length=32)
SYNC = sa.Enum('pending', 'syncing', 'synced', 'error', name='syncstatus', native_enum=False,
               create_constraint=True, length=32)


def _stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                      nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                      nullable=False)]


def _owner(table: str, *levels: str):
    cols = [sa.Column(f'{level}_id', BIG, nullable=False) for level in levels]
    fks = [sa.ForeignKeyConstraint([f'{level}_id'], [f'{level}.id'], name=f'fk_{table}_{level}_id_{level}',
                                   ondelete='CASCADE') for level in levels]
    return cols, fks


def _taxonomy_tables(*owners: str) -> None:
    cols, fks = _owner('content_taxonomy', *owners)
    op.create_table('content_taxonomy',
                    sa.Column('id', BIG, nullable=False),
                    sa.Column('name', sa.String(length=255), nullable=False),
                    sa.Column('slug', sa.String(length=255), nullable=False),
                    sa.Column('taxonomy_type', TAXONOMY, nullable=False),
                    sa.Column('external_taxonomy', sa.String(length=100), nullable=True),
                    sa.Column('external_id', sa.String(length=100), nullable=True),
                    sa.Column('sync_status', SYNC, nullable=False),
                    sa.Column('description', sa.Text(), nullable=False),
                    sa.Column('count', sa.Integer(), nullable=False),
                    sa.Column('metadata', sa.JSON(), nullable=False),
                    *cols, *_stamps(), *fks,
                    sa.PrimaryKeyConstraint('id', name='pk_content_taxonomy'),
                    sa.UniqueConstraint('site_id', 'external_id', 'external_taxonomy',
                                        name='uq_content_taxonomy_site_id_external_id_external_taxonomy'),
                    sa.UniqueConstraint('site_id', 'slug', 'taxonomy_type',
                                        name='uq_content_taxonomy_site_id_slug_taxonomy_type'))
    for col in owners:
        op.create_index(f'ix_content_taxonomy_{col}_id', 'content_taxonomy', [f'{col}_id'])
    cols, fks = _owner('content_taxonomy_relation', 'sector', 'site', 'account')
    op.create_table('content_taxonomy_relation',
                    sa.Column('id', BIG, nullable=False),
                    sa.Column('content_id', BIG, nullable=False),
                    sa.Column('taxonomy_id', BIG, nullable=False),
                    *cols, *_stamps(), *fks,
                    sa.ForeignKeyConstraint(['content_id'], ['content.id'],
                                            name='fk_content_taxonomy_relation_content_id_content',
                                            ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['taxonomy_id'], ['content_taxonomy.id'],
                                            name='fk_content_taxonomy_relation_taxonomy_id_content_taxonomy',
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id', name='pk_content_taxonomy_relation'),
                    sa.UniqueConstraint('content_id', 'taxonomy_id',
                                        name='uq_content_taxonomy_relation_content_id_taxonomy_id'))
    for col in ('account_id', 'site_id', 'sector_id', 'content_id', 'taxonomy_id'):
        op.create_index(f'ix_content_taxonomy_relation_{col}', 'content_taxonomy_relation', [col])


def _remake(*owners: str) -> None:
    bind = op.get_bind()
    for table in ('content_taxonomy', 'content_taxonomy_relation'):
        if bind.execute(sa.text(f'SELECT count(*) FROM {table}')).scalar():
            raise RuntimeError(f'{table} holds rows; migration 0009 remakes it without a sector: move them first')
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.drop_constraint('fk_tasks_taxonomy_term_id_content_taxonomy', 'tasks', type_='foreignkey')
    op.drop_table('content_taxonomy_relation')
    op.drop_table('content_taxonomy')
    _taxonomy_tables(*owners)
    if postgres:
        op.create_foreign_key('fk_tasks_taxonomy_term_id_content_taxonomy', 'tasks', 'content_taxonomy',
                              ['taxonomy_term_id'], ['id'], ondelete='SET NULL')


def upgrade() -> None:
    _remake('site', 'account')
    op.add_column('site_integration', sa.Column('connection_status', sa.String(length=20), nullable=False,
                                                server_default='unknown'))
    op.add_column('site_integration', sa.Column('connection_checked_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('site_integration', sa.Column('connection_error', sa.Text(), nullable=False, server_default=''))
    op.add_column('site_integration', sa.Column('structure_updated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('content', sa.Column('publish_error', sa.Text(), nullable=False, server_default=''))
    op.create_index('ix_sync_event_site_created', 'sync_event', ['site_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_sync_event_site_created', table_name='sync_event')
    op.drop_column('content', 'publish_error')
    for col in ('structure_updated_at', 'connection_error', 'connection_checked_at', 'connection_status'):
        op.drop_column('site_integration', col)
    _remake('sector', 'site', 'account')
