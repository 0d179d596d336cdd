"""keyword list indexes

The keywords screen sorts one sector by volume, difficulty, CPC or creation time with keyset pagination on
(column, id); each sort gets an index led by sector_id so a page is an index range scan at any depth (sorting by
keyword uses the unique (sector_id, keyword_norm)). (sector_id, cluster_id) serves the cluster and "no cluster"
filters.

Substring search (keyword_norm LIKE '%term%') on PostgreSQL uses a trigram GIN index from pg_trgm, a trusted
extension since PostgreSQL 13 (a database owner may create it). Where the extension cannot be created, a plain
index of the same name is made instead and search falls back to scanning the sector's rows. On SQLite the index is
an always-empty partial index (WHERE 0): SQLite could not use it, and this way imports pay nothing for it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:41:38.747483
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TRGM = 'ix_keywords_keyword_norm_trgm'
SORT_INDEXES = {
    'ix_keywords_sector_volume': ['sector_id', 'volume', 'id'],
    'ix_keywords_sector_difficulty': ['sector_id', 'difficulty', 'id'],
    'ix_keywords_sector_cpc': ['sector_id', 'cpc', 'id'],
    'ix_keywords_sector_created': ['sector_id', 'created_at', 'id'],
    'ix_keywords_sector_cluster': ['sector_id', 'cluster_id'],
}


def _has_trigrams(bind) -> bool:
    """Create pg_trgm if we may; a refusal (no contrib, no privilege) must not abort the whole migration."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except DBAPIError:
        return False


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        for name, columns in SORT_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    if bind.dialect.name == 'sqlite':
        op.create_index(TRGM, 'keywords', ['keyword_norm'], unique=False, sqlite_where=sa.text('0'))
    elif _has_trigrams(bind):
        op.create_index(TRGM, 'keywords', ['keyword_norm'], unique=False, postgresql_using='gin',
                        postgresql_ops={'keyword_norm': 'gin_trgm_ops'})
    else:
        op.create_index(TRGM, 'keywords', ['keyword_norm'], unique=False)


def downgrade() -> None:
    op.drop_index(TRGM, table_name='keywords')
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        for name in reversed(SORT_INDEXES):
            batch_op.drop_index(name)
