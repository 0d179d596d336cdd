"""wordpress credentials on the site integration

WordPress credentials live in one place, the site's `site_integration` row of platform wordpress: the URL in
external_site_url, the user and the Application Password (still encrypted as stored) in credentials_json
{"username", "app_password"}. Values held in the older `site.wp_url / wp_username / wp_app_password` columns are
moved there (a value already on the integration wins), then the columns go. Downgrade brings them back with the
integration's values.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SITE = sa.table("site", sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger),
                sa.column("wp_url", sa.String), sa.column("wp_username", sa.String),
                sa.column("wp_app_password", sa.Text))
LINK = sa.table("site_integration", sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger),
                sa.column("site_id", sa.BigInteger), sa.column("platform", sa.String),
                sa.column("platform_type", sa.String), sa.column("external_site_url", sa.String),
                sa.column("config_json", sa.JSON), sa.column("credentials_json", sa.JSON),
                sa.column("is_active", sa.Boolean), sa.column("sync_enabled", sa.Boolean),
                sa.column("sync_status", sa.String), sa.column("sync_error", sa.Text))


def _wordpress_link(conn, site_id):
    return conn.execute(sa.select(LINK.c.id, LINK.c.external_site_url, LINK.c.credentials_json)
                        .where(LINK.c.site_id == site_id, LINK.c.platform == "wordpress")).first()


def upgrade() -> None:
    conn = op.get_bind()
    held = conn.execute(sa.select(SITE).where(sa.or_(SITE.c.wp_url != "", SITE.c.wp_username != "",
                                                     SITE.c.wp_app_password != ""))).all()
    for site in held:
        link = _wordpress_link(conn, site.id)
        creds = dict(link.credentials_json or {}) if link is not None else {}
        if site.wp_username:
            creds.setdefault("username", site.wp_username)
        if site.wp_app_password:
            creds.setdefault("app_password", site.wp_app_password)
        if link is None:
            conn.execute(sa.insert(LINK).values(
                account_id=site.account_id, site_id=site.id, platform="wordpress", platform_type="cms",
                external_site_url=site.wp_url or "", config_json={}, credentials_json=creds, is_active=True,
                sync_enabled=True, sync_status="pending", sync_error=""))
        else:
            conn.execute(sa.update(LINK).where(LINK.c.id == link.id).values(
                external_site_url=link.external_site_url or site.wp_url or "", credentials_json=creds))
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy of the table: copying `site` drops the old
    # table, and with foreign keys on that would cascade-delete every row that references a site.
    for column in ('wp_app_password', 'wp_username', 'wp_url'):
        op.drop_column('site', column)


def downgrade() -> None:
    op.add_column('site', sa.Column('wp_url', sa.String(length=500), nullable=False, server_default=""))
    op.add_column('site', sa.Column('wp_username', sa.String(length=150), nullable=False, server_default=""))
    op.add_column('site', sa.Column('wp_app_password', sa.Text(), nullable=False, server_default=""))
    conn = op.get_bind()
    links = conn.execute(sa.select(LINK.c.site_id, LINK.c.external_site_url, LINK.c.credentials_json)
                         .where(LINK.c.platform == "wordpress")).all()
    for link in links:
        creds = link.credentials_json or {}
        conn.execute(sa.update(SITE).where(SITE.c.id == link.site_id).values(
            wp_url=link.external_site_url or "", wp_username=creds.get("username", ""),
            wp_app_password=creds.get("app_password", "")))
