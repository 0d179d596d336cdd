"""Who asks, and what they may see and change: the actor, the one scoping helper, and role checks."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core.errors import AccessDenied, NotFound, ValidationFailed
from db.base import Base
from db.enums import Role
from db.models import Account, Sector, Site, SiteUserAccess, User

M = TypeVar("M", bound=Base)

ADMIN_ROLES = frozenset({Role.developer, Role.owner, Role.admin})
# Owners and admins of the system account (the team running the dashboard) also administer the platform.
PLATFORM_ACCOUNT_ROLES = frozenset({Role.owner, Role.admin})
PLATFORM_ONLY = ("Providers, AI models, prices, the system AI defaults and the keyword library are shared by every "
                 "account: only developers and the system account's owners and admins may change them.")
ACCOUNT_WIDE_ROLES = frozenset({Role.developer, Role.owner, Role.admin, Role.system_bot})
# Models whose rows with account_id NULL are global defaults every account may read.
GLOBAL_ROWS_READABLE = frozenset({"author_profile", "strategy"})


@dataclass(frozen=True)
class Actor:
    """The person (or scheduler) asking, with the account in scope and the sites they may touch."""

    user_id: int | None
    role: Role
    account_id: int | None  # None only for a developer looking across all accounts
    site_ids: frozenset[int] | None  # None: every site of the account
    email: str = ""
    platform: bool = False  # an owner/admin of the system account (actor_for decides; developers always are)

    @property
    def is_developer(self) -> bool:
        return self.role == Role.developer

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_platform_admin(self) -> bool:
        """May change what every account shares (providers, AI models, prices, AI defaults, the keyword library)."""
        return self.is_developer or (self.platform and self.role in PLATFORM_ACCOUNT_ROLES)

    @property
    def can_write(self) -> bool:
        return self.role != Role.viewer

    def in_account(self, account_id: int) -> Actor:
        """A developer's view narrowed to one account (others keep their own)."""
        if not self.is_developer:
            if account_id != self.account_id:
                raise AccessDenied("You can only work in your own account.")
            return self
        return replace(self, account_id=account_id, site_ids=None)


def system_actor(account_id: int) -> Actor:
    """The scheduler's identity inside one account: sees the whole account, may write."""
    return Actor(None, Role.system_bot, account_id, None, "scheduler")


def operator_actor(account_id: int | None = None) -> Actor:
    """A platform operator at the command line: developer rights, so every core rule still applies."""
    return Actor(None, Role.developer, account_id, None, "cli", platform=True)


def actor_for(session: Session, user: User, *, account_id: int | None = None) -> Actor:
    """Build the actor of a logged-in user; editors and viewers get only their granted sites."""
    if user.role == Role.developer:
        return Actor(user.id, user.role, account_id, None, user.email, platform=True)
    if user.account_id is None:
        raise AccessDenied("This user belongs to no account.")
    if account_id is not None and account_id != user.account_id:
        raise AccessDenied("You can only work in your own account.")
    site_ids: frozenset[int] | None = None
    if user.role not in ACCOUNT_WIDE_ROLES:
        granted = session.scalars(
            select(SiteUserAccess.site_id).where(
                SiteUserAccess.user_id == user.id, SiteUserAccess.account_id == user.account_id
            )
        )
        site_ids = frozenset(granted)
    platform = user.role in PLATFORM_ACCOUNT_ROLES and bool(
        session.scalar(select(Account.is_system).where(Account.id == user.account_id)))
    return Actor(user.id, user.role, user.account_id, site_ids, user.email, platform=platform)


def is_tenant_model(model: type) -> bool:
    """A mapped class whose rows belong to an account."""
    return "account_id" in model.__table__.c and model.__tablename__ not in ("account",)


def tenant_models() -> list[type[Base]]:
    """Every mapped model that carries account_id (the tenant-isolation walk covers these)."""
    return sorted((m.class_ for m in Base.registry.mappers if is_tenant_model(m.class_)), key=lambda c: c.__name__)


def scoped(stmt: Select, model: type[M], actor: Actor, *, include_deleted: bool = False) -> Select:
    """Every tenant read passes here: account, then the sites this actor may see, then soft delete."""
    if model is Account:
        if actor.account_id is not None:
            stmt = stmt.where(Account.id == actor.account_id)
        elif not actor.is_developer:
            raise AccessDenied("No account in scope.")
        return stmt
    if not is_tenant_model(model):
        return stmt  # global reference data (plans, providers, industries ...)
    col = model.__table__.c.account_id
    if actor.account_id is not None:
        cond = col == actor.account_id
        if model.__tablename__ in GLOBAL_ROWS_READABLE:
            cond = or_(cond, col.is_(None))
        stmt = stmt.where(cond)
    elif not actor.is_developer:
        raise AccessDenied("No account in scope.")
    if actor.site_ids is not None:
        if model is Site:
            stmt = stmt.where(Site.id.in_(actor.site_ids))
        elif "site_id" in model.__table__.c:
            stmt = stmt.where(model.__table__.c.site_id.in_(actor.site_ids))
        elif "sector_id" in model.__table__.c:  # tied to a sector, optionally (a strategy): its site must be granted
            sector_id = model.__table__.c.sector_id
            stmt = stmt.where(or_(sector_id.is_(None),
                                  sector_id.in_(select(Sector.id).where(Sector.site_id.in_(actor.site_ids)))))
    if not include_deleted and "deleted_at" in model.__table__.c:
        stmt = stmt.where(model.__table__.c.deleted_at.is_(None))
    return stmt


def get(session: Session, actor: Actor, model: type[M], obj_id: object, *, write: bool = False,
        include_deleted: bool = False) -> M:
    """Load one row the actor may see (and change, when `write`), or raise NotFound/AccessDenied."""
    pk = model.__mapper__.primary_key[0]
    stmt = scoped(select(model).where(pk == obj_id), model, actor, include_deleted=include_deleted)
    obj = session.scalars(stmt).one_or_none()
    if obj is None:
        raise NotFound(f"{_label(model)} #{obj_id} was not found.")
    if write:
        require_write(actor)
    return obj


def require_write(actor: Actor) -> None:
    """Viewers read only."""
    if not actor.can_write:
        raise AccessDenied("Viewers can look but not change anything. Ask an admin for editor access.")


def require_admin(actor: Actor) -> None:
    """Owners, admins and developers manage the account."""
    if not actor.is_admin:
        raise AccessDenied("Only an owner, admin or developer can do this.")


def require_platform_admin(actor: Actor, refused: str = PLATFORM_ONLY) -> None:
    """Global rows every account shares: developers and the system account's owners and admins only (`refused`
    says why to anyone else)."""
    if not actor.is_platform_admin:
        raise AccessDenied(refused)


def platform_target(actor: Actor, account_id: int | None, *, refused: str = PLATFORM_ONLY) -> int:
    """The account a platform admin acts on in a platform-only step on one account (adding credits): the one they
    name, else the one in scope. Anyone else is refused (`refused` says why), their own account included. No wider
    actor is made: a system account's admin gains no other right in the account they name."""
    require_platform_admin(actor, refused)
    return account_id if account_id is not None else require_account(actor)


def require_developer(actor: Actor) -> None:
    """Only the platform's developers work across accounts."""
    if not actor.is_developer:
        raise AccessDenied("Only a developer can do this.")


def require_account(actor: Actor) -> int:
    """The account in scope; a developer must pick one before changing tenant data."""
    if actor.account_id is None:
        raise ValidationFailed("Choose an account first.")
    return actor.account_id


def site_for_write(session: Session, actor: Actor, site_id: int) -> Site:
    """The site a write goes to: in the actor's account and granted sites, and the actor may write."""
    require_account(actor)
    return get(session, actor, Site, site_id, write=True)


def sector_for_write(session: Session, actor: Actor, *, site_id: int, sector_id: int) -> Sector:
    """The sector a write goes to: it must belong to the site, which must be the actor's to change."""
    site = site_for_write(session, actor, site_id)
    sector = get(session, actor, Sector, sector_id)  # NotFound, like a read, outside the actor's granted sites
    if sector.site_id != site.id:
        raise ValidationFailed(f"Sector “{sector.name}” does not belong to site “{site.name}”.")
    return sector


def get_for_write(session: Session, actor: Actor, model: type[M], obj_id: object, *,
                  include_deleted: bool = False) -> M:
    """Load a row of a sector the actor may change: role, account and site access checked, and its sector in its site."""
    obj = get(session, actor, model, obj_id, write=True, include_deleted=include_deleted)
    sector_for_write(session, actor, site_id=obj.site_id, sector_id=obj.sector_id)  # type: ignore[attr-defined]
    return obj


def _label(model: type) -> str:
    return getattr(model, "__label__", model.__name__)
