"""Sites and sectors of an account: create, change, (de)activate; at most 5 active sectors per site."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common.text import clean_name, clean_slug
from core.errors import Conflict, LimitExceeded, NotFound, ValidationFailed
from core.identity import accounts
from core.tenancy import Actor
from db.models import AutomationConfig, Industry, IndustrySector, PublishingSettings, Sector, Site

MAX_ACTIVE_SECTORS = 5


def list_sites(session: Session, actor: Actor, *, active_only: bool = False) -> list[Site]:
    """Sites the actor may see, by name."""
    stmt = tenancy.scoped(select(Site).order_by(Site.name, Site.id), Site, actor)
    if active_only:
        stmt = stmt.where(Site.is_active.is_(True))
    return list(session.scalars(stmt))


def _timezone(value: str) -> str:
    tz = (value or "UTC").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"“{value}” is not a known time zone (for example Europe/Berlin).") from exc
    if tz not in available_timezones() and tz != "UTC":
        raise ValidationFailed(f"“{value}” is not a known time zone (for example Europe/Berlin).")
    return tz


def _domain(value: str) -> str:
    domain = (value or "").strip()
    if len(domain) > 255 or any(c.isspace() for c in domain):
        raise ValidationFailed("The domain must be one word such as example.com (at most 255 characters).")
    return domain


def _industry(session: Session, industry_id: int | None) -> int | None:
    if industry_id is not None and session.get(Industry, industry_id) is None:
        raise NotFound(f"Industry #{industry_id} was not found.")
    return industry_id


def create_site(session: Session, actor: Actor, *, name: str, slug: str | None = None, domain: str = "",
                industry_id: int | None = None, timezone: str = "UTC") -> Site:
    """A new site in the actor's account (owners/admins), within the plan's site limit."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    name = clean_name(name, "Site name")
    slug = clean_slug(slug, name, "Site name")
    if session.scalar(select(Site.id).where(Site.account_id == account_id, Site.slug == slug)):
        raise Conflict(f"The account has a site with slug “{slug}” already.")
    accounts.check_site_limit(session, account_id)
    site = Site(account_id=account_id, name=name, slug=slug, domain=_domain(domain),
                industry_id=_industry(session, industry_id), timezone=_timezone(timezone))
    session.add(site)
    session.flush()
    session.add(PublishingSettings(account_id=account_id, site_id=site.id))
    session.add(AutomationConfig(account_id=account_id, site_id=site.id))
    session.flush()
    return site


def update_site(session: Session, actor: Actor, *, site_id: int, name: str | None = None, domain: str | None = None,
                industry_id: int | None = None, timezone: str | None = None, is_active: bool | None = None) -> Site:
    """Change a site (owners/admins); reactivating counts against the plan (WordPress: core.publishing.connection)."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    if name is not None:
        site.name = clean_name(name, "Site name")
    if domain is not None:
        site.domain = _domain(domain)
    if industry_id is not None and industry_id != site.industry_id:
        _industry(session, industry_id)
        if _sectors_bound_elsewhere(session, site, industry_id):
            raise ValidationFailed("Some sectors of this site are tied to another industry; change them first.")
        site.industry_id = industry_id
    if timezone is not None:
        site.timezone = _timezone(timezone)
    if is_active is not None and is_active != site.is_active:
        if is_active:
            accounts.check_site_limit(session, site.account_id)
        site.is_active = is_active
    session.flush()
    return site


def _sectors_bound_elsewhere(session: Session, site: Site, industry_id: int) -> bool:
    stmt = (select(func.count()).select_from(Sector).join(IndustrySector, Sector.industry_sector_id == IndustrySector.id)
            .where(Sector.site_id == site.id, IndustrySector.industry_id != industry_id))
    return bool(session.scalar(stmt))


def list_sectors(session: Session, actor: Actor, *, site_id: int, active_only: bool = False) -> list[Sector]:
    """Sectors of one site the actor may see."""
    tenancy.get(session, actor, Site, site_id)
    stmt = tenancy.scoped(select(Sector).where(Sector.site_id == site_id).order_by(Sector.name), Sector, actor)
    if active_only:
        stmt = stmt.where(Sector.is_active.is_(True))
    return list(session.scalars(stmt))


def _check_sector_limit(session: Session, site: Site) -> None:
    # Lock the site row so two concurrent additions cannot both pass the count.
    session.scalars(select(Site.id).where(Site.id == site.id).with_for_update()).one()
    active = session.scalar(select(func.count()).where(Sector.site_id == site.id, Sector.is_active.is_(True)))
    if active >= MAX_ACTIVE_SECTORS:
        raise LimitExceeded(f"Site “{site.name}” has {MAX_ACTIVE_SECTORS} active sectors, the most a site may have. "
                            "Deactivate one first.")


def _industry_sector(session: Session, site: Site, industry_sector_id: int | None) -> int | None:
    if industry_sector_id is None:
        return None
    isec = session.get(IndustrySector, industry_sector_id)
    if isec is None:
        raise NotFound(f"Industry sector #{industry_sector_id} was not found.")
    if site.industry_id is None:
        raise ValidationFailed(f"Set the industry of site “{site.name}” before tying sectors to an industry sector.")
    if isec.industry_id != site.industry_id:
        raise ValidationFailed(f"Industry sector “{isec.name}” is not part of the site's industry.")
    return isec.id


def create_sector(session: Session, actor: Actor, *, site_id: int, name: str, slug: str | None = None,
                  industry_sector_id: int | None = None, description: str = "") -> Sector:
    """A new active sector of a site (owners/admins), at most 5 active per site."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    name = clean_name(name, "Sector name")
    slug = clean_slug(slug, name, "Sector name")
    if session.scalar(select(Sector.id).where(Sector.site_id == site.id, Sector.slug == slug)):
        raise Conflict(f"Site “{site.name}” has a sector with slug “{slug}” already.")
    _check_sector_limit(session, site)
    sector = Sector(account_id=site.account_id, site_id=site.id, name=name, slug=slug,
                    industry_sector_id=_industry_sector(session, site, industry_sector_id),
                    description=(description or "").strip()[:5000])
    session.add(sector)
    session.flush()
    return sector


def update_sector(session: Session, actor: Actor, *, site_id: int, sector_id: int, name: str | None = None,
                  description: str | None = None, industry_sector_id: int | None = None,
                  is_active: bool | None = None) -> Sector:
    """Change a sector (owners/admins); activating one respects the 5-active limit."""
    tenancy.require_admin(actor)
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    site = session.get(Site, site_id)
    if name is not None:
        sector.name = clean_name(name, "Sector name")
    if description is not None:
        sector.description = description.strip()[:5000]
    if industry_sector_id is not None:
        sector.industry_sector_id = _industry_sector(session, site, industry_sector_id)
    if is_active is not None and is_active != sector.is_active:
        if is_active:
            _check_sector_limit(session, site)
        sector.is_active = is_active
    session.flush()
    return sector


def list_industries(session: Session) -> list[Industry]:
    """Reference industries (global), by name."""
    return list(session.scalars(select(Industry).where(Industry.is_active.is_(True)).order_by(Industry.name)))


def list_industry_sectors(session: Session, *, industry_id: int) -> list[IndustrySector]:
    """Reference sectors of one industry."""
    return list(session.scalars(select(IndustrySector).where(IndustrySector.industry_id == industry_id,
                                                              IndustrySector.is_active.is_(True))
                                .order_by(IndustrySector.name)))
