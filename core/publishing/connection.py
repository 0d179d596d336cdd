"""A site's WordPress connection: URL, user and Application Password on its `SiteIntegration` (platform wordpress).

The one place WordPress credentials live (the older reference's `Site.wp_*` columns are gone, migration 0006): the
URL in `external_site_url`, the user and the password in `credentials_json` ({"username", "app_password"}), the
password encrypted by the vault and shown masked. Owners and admins of the account set it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import vault
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.enums import Platform, PlatformType
from db.models import Site, SiteIntegration

MAX_URL = 500


@dataclass(frozen=True)
class WordPressLogin:
    """What a screen may show of a connection: the password masked."""

    url: str
    username: str
    password_masked: str


def _integration(session: Session, actor: Actor, site_id: int) -> SiteIntegration | None:
    stmt = tenancy.scoped(select(SiteIntegration), SiteIntegration, actor).where(
        SiteIntegration.site_id == site_id, SiteIntegration.platform == Platform.wordpress)
    return session.scalars(stmt).first()


def set_wordpress(session: Session, actor: Actor, *, site_id: int, url: str | None = None,
                  username: str | None = None, app_password: str | None = None) -> SiteIntegration:
    """Set a site's WordPress URL, user and Application Password (owners/admins); the password is encrypted."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    link = _integration(session, actor, site.id)
    if link is None:
        link = SiteIntegration(account_id=site.account_id, site_id=site.id, platform=Platform.wordpress,
                               platform_type=PlatformType.cms, credentials_json={})
        session.add(link)
    creds = dict(link.credentials_json or {})
    if url is not None:
        url = url.strip()
        if len(url) > MAX_URL:
            raise ValidationFailed(f"A WordPress URL may have at most {MAX_URL} characters.")
        link.external_site_url = url
    if username is not None:
        creds["username"] = username.strip()
    if app_password is not None:
        creds["app_password"] = vault.encrypt(app_password.strip())
    link.credentials_json = creds
    session.flush()
    return link


def wordpress_login(session: Session, actor: Actor, *, site_id: int) -> WordPressLogin | None:
    """A site's WordPress connection as a screen shows it (None when none is set)."""
    tenancy.get(session, actor, Site, site_id)
    link = _integration(session, actor, site_id)
    if link is None:
        return None
    creds = link.credentials_json or {}
    password = vault.decrypt(creds.get("app_password", ""))
    return WordPressLogin(link.external_site_url, creds.get("username", ""), vault.mask(password))
