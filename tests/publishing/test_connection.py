"""WordPress credentials live on the site's SiteIntegration only: set by owners and admins, the password encrypted
at rest and shown masked; migration 0006 moves what the older Site.wp_* columns held."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.common import vault
from core.errors import AccessDenied
from core.publishing import connection
from db import migrate
from db.enums import Role
from db.models import SiteIntegration
from db.session import make_engine
from tests import factories as f


def test_wordpress_login_is_kept_on_the_integration_encrypted_and_masked(session):
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = f.site(session, acct)
    connection.set_wordpress(session, owner, site_id=site.id, url=" https://wp.example.com ", username="bot",
                             app_password=" abcd efgh ijkl mnop ")
    raw = session.execute(text("SELECT credentials_json FROM site_integration WHERE site_id = :i"),
                          {"i": site.id}).scalar_one()
    assert "abcd" not in str(raw) and "mnop" not in str(raw)
    login = connection.wordpress_login(session, owner, site_id=site.id)
    assert login == connection.WordPressLogin("https://wp.example.com", "bot", "••••••••mnop")
    connection.set_wordpress(session, owner, site_id=site.id, username="editor-bot")  # the rest stays
    link = session.scalars(select(SiteIntegration).where(SiteIntegration.site_id == site.id)).one()
    assert link.credentials_json["username"] == "editor-bot"
    assert vault.decrypt(link.credentials_json["app_password"]) == "abcd efgh ijkl mnop"


def test_only_owners_and_admins_set_it(session):
    acct = f.account(session)
    site = f.site(session, acct)
    editor = f.actor(session, f.user(session, acct, role=Role.editor))
    with pytest.raises(AccessDenied):
        connection.set_wordpress(session, editor, site_id=site.id, app_password="x" * 16)


@pytest.fixture
def empty_engine(fresh_database):
    eng = make_engine(fresh_database())
    yield eng
    eng.dispose()


def test_migration_0006_moves_the_site_columns_onto_the_integration_and_back(empty_engine):
    engine = empty_engine
    migrate.upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO account (id, name, slug, credits, status, is_system) "
                          "VALUES (1, 'A', 'a', 0, 'trial', false)"))  # the table as it was at 0005
        for sid, name in ((1, "with"), (2, "without"), (3, "linked")):
            conn.execute(text("INSERT INTO site (id, account_id, name, slug, domain, timezone, is_active, wp_url, "
                              "wp_username, wp_app_password) VALUES (:i, 1, :n, :n, '', 'UTC', true, :u, :w, :p)"),
                         {"i": sid, "n": name, "u": "" if sid == 2 else f"https://{name}.example",
                          "w": "" if sid == 2 else "bot", "p": "" if sid == 2 else "enc:v1:secret"})
        conn.execute(text("INSERT INTO site_integration (account_id, site_id, platform, platform_type, "
                          "external_site_url, config_json, credentials_json, is_active, sync_enabled, sync_status, "
                          "sync_error) VALUES (1, 3, 'wordpress', 'cms', 'https://kept.example', '{}', "
                          "'{\"username\": \"kept\"}', true, true, 'pending', '')"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = {r.site_id: (r.external_site_url, r.credentials_json) for r in conn.execute(
            select(SiteIntegration.site_id, SiteIntegration.external_site_url, SiteIntegration.credentials_json))}
        columns = set(conn.execute(text("SELECT * FROM site")).keys())
    assert rows == {1: ("https://with.example", {"username": "bot", "app_password": "enc:v1:secret"}),
                    3: ("https://kept.example", {"username": "kept", "app_password": "enc:v1:secret"})}
    assert not {"wp_url", "wp_username", "wp_app_password"} & columns
    migrate.downgrade(engine, "0005")
    with engine.connect() as conn:
        back = {r.id: (r.wp_url, r.wp_username, r.wp_app_password) for r in conn.execute(
            text("SELECT id, wp_url, wp_username, wp_app_password FROM site"))}
    assert back == {1: ("https://with.example", "bot", "enc:v1:secret"), 2: ("", "", ""),
                    3: ("https://kept.example", "kept", "enc:v1:secret")}
