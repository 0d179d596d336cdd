"""A site's WordPress connection: URL, user and Application Password on its `SiteIntegration` (platform wordpress).

The one place WordPress credentials live (the older reference's `Site.wp_*` columns are gone, migration 0006): the
URL in `external_site_url`, the user and the password in `credentials_json` ({"username", "app_password"}), the
password encrypted by the vault and shown masked. Owners and admins of the account set it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import vault
from core.common.uow import UnitOfWork
from core.errors import NotFound, ValidationFailed
from core.publishing import doctor, events
from core.publishing.wordpress import Login, timed
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
    status: str = "unknown"  # the doctor's verdict: unknown, connected, warning, error
    checked_at: datetime | None = None
    error: str = ""
    checks: tuple[doctor.Check, ...] = ()


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
        if url and not url.startswith(("http://", "https://")):
            raise ValidationFailed(f"“{url}” is not a web address: enter it with http:// or https://.")
        link.external_site_url = url.rstrip("/")
    if username is not None:
        creds["username"] = username.strip()
    if app_password is not None:
        creds["app_password"] = vault.encrypt(app_password.strip())
    if creds != (link.credentials_json or {}) or url is not None:
        link.connection_status, link.connection_error = "unknown", ""  # a changed login needs a new check
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
    checks = tuple(doctor.Check(**c) for c in (link.config_json or {}).get("doctor", {}).get("checks", []))
    return WordPressLogin(link.external_site_url, creds.get("username", ""), vault.mask(password),
                          link.connection_status, link.connection_checked_at, link.connection_error, checks)


def integration(session: Session, actor: Actor, *, site_id: int) -> SiteIntegration:
    """The site's WordPress integration, or NotFound with what to do."""
    tenancy.get(session, actor, Site, site_id)
    link = _integration(session, actor, site_id)
    if link is None or not link.external_site_url:
        raise NotFound("This site has no WordPress connection: an owner or admin sets its URL, user and Application "
                       "Password first.")
    return link


def login(session: Session, actor: Actor, *, site_id: int) -> Login:
    """The decrypted login of a site's WordPress, for the adapter (never shown); only for those who may publish."""
    tenancy.require_write(actor)
    return login_of(integration(session, actor, site_id=site_id))


def login_of(link: SiteIntegration) -> Login:
    """The decrypted login of an integration the caller already holds (and may publish with)."""
    creds = link.credentials_json or {}
    mode = (link.config_json or {}).get("api_mode", "pretty")
    return Login(link.external_site_url, creds.get("username", ""), vault.decrypt(creds.get("app_password", "")),
                 mode if mode in ("pretty", "query") else "pretty")


def check(uow: UnitOfWork, actor: Actor, *, site_id: int) -> doctor.Report:
    """Run the connection doctor on a site's WordPress and keep the verdict on its integration."""
    with uow() as session:
        target = login(session, actor, site_id=site_id)
        our_timezone = tenancy.get(session, actor, Site, site_id).timezone or "UTC"
    took = timed()
    report = doctor.diagnose(target, our_timezone=our_timezone)  # HTTP outside any transaction
    with uow() as session:
        record_check(session, actor, site_id=site_id, report=report, duration_ms=took())
    return report


def record_check(session: Session, actor: Actor, *, site_id: int, report: doctor.Report,
                 duration_ms: int | None = None) -> SiteIntegration:
    """Keep a doctor's report on the integration: status, when, the first failure, the API mode and the checks."""
    tenancy.require_write(actor)
    link = integration(session, actor, site_id=site_id)
    link.connection_status, link.connection_error = report.status, report.error
    link.connection_checked_at = datetime.now(UTC)
    config = dict(link.config_json or {})
    config["doctor"] = report.as_dict()
    if report.status != "error" or report.api_mode == "query":
        config["api_mode"] = report.api_mode
    config["seo"] = report.seo or config.get("seo", {})
    link.config_json = config
    events.record(session, link, action="doctor", success=report.status != "error", duration_ms=duration_ms,
                  error=report.error, details={"status": report.status}, event_type="connection")
    return link
