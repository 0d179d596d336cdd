"""Accounts and plans: create, list, change status and plan; plan limits on sites and users."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common.text import clean_name, clean_slug, one_of
from core.errors import Conflict, LimitExceeded, NotFound, ValidationFailed
from core.tenancy import Actor
from db.enums import AccountStatus
from db.models import Account, Clusters, ModuleEnableSettings, Plan, Site, User

PLAN_LIMIT_FIELDS = ("max_sites", "max_users", "max_keywords", "max_clusters", "included_credits")


def list_plans(session: Session, actor: Actor, *, include_inactive: bool = False) -> list[Plan]:
    """Plans anyone may see (developers also see inactive ones when asked)."""
    stmt = select(Plan).order_by(Plan.price_monthly, Plan.id)
    if not (include_inactive and actor.is_developer):
        stmt = stmt.where(Plan.is_active.is_(True))
    return list(session.scalars(stmt))


def get_plan_by_slug(session: Session, slug: str) -> Plan:
    """A plan by its slug, or NotFound."""
    plan = session.scalars(select(Plan).where(Plan.slug == slug)).one_or_none()
    if plan is None:
        raise NotFound(f"There is no plan “{slug}”.")
    return plan


def _money(value: object, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"{what} must be an amount like 49.00.") from exc
    if amount < 0 or amount.as_tuple().exponent < -2 or amount >= Decimal("100000000"):
        raise ValidationFailed(f"{what} must be between 0 and 99,999,999.99 with at most 2 decimals.")
    return amount


def _limits(values: dict[str, object]) -> dict[str, int]:
    out: dict[str, int] = {}
    for field in PLAN_LIMIT_FIELDS:
        if values.get(field) is None:
            continue
        try:
            number = int(values[field])
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be a whole number.") from exc
        if number < 0 or number > 1_000_000_000:
            raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be between 0 and 1,000,000,000.")
        out[field] = number
    return out


def create_plan(session: Session, actor: Actor, *, name: str, slug: str | None = None,
                price_monthly: object = 0, price_yearly: object = 0, **limits: object) -> Plan:
    """A new plan (developers only); limits are max_sites, max_users, max_keywords, max_clusters, included_credits."""
    tenancy.require_developer(actor)
    unknown = set(limits) - set(PLAN_LIMIT_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown plan field(s): {', '.join(sorted(unknown))}.")
    name = clean_name(name, "Plan name", max_len=100)
    slug = clean_slug(slug, name, "Plan name")
    if session.scalar(select(Plan.id).where(Plan.slug == slug)):
        raise Conflict(f"A plan with slug “{slug}” exists already.")
    plan = Plan(name=name, slug=slug, price_monthly=_money(price_monthly, "Monthly price"),
                price_yearly=_money(price_yearly, "Yearly price"), **_limits(limits))
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, actor: Actor, *, plan_id: int, name: str | None = None,
                price_monthly: object = None, price_yearly: object = None, is_active: bool | None = None,
                **limits: object) -> Plan:
    """Change a plan's name, prices, limits or availability (developers only)."""
    tenancy.require_developer(actor)
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"Plan #{plan_id} was not found.")
    if name is not None:
        plan.name = clean_name(name, "Plan name", max_len=100)
    if price_monthly is not None:
        plan.price_monthly = _money(price_monthly, "Monthly price")
    if price_yearly is not None:
        plan.price_yearly = _money(price_yearly, "Yearly price")
    if is_active is not None:
        plan.is_active = is_active
    for field, value in _limits(limits).items():
        setattr(plan, field, value)
    session.flush()
    return plan


def list_accounts(session: Session, actor: Actor) -> list[Account]:
    """Every account for a developer; one's own account for everyone else."""
    return list(session.scalars(tenancy.scoped(select(Account).order_by(Account.name), Account, actor)))


def create_account_record(session: Session, *, name: str, slug: str | None = None, plan_slug: str | None = None,
                          plan_id: int | None = None, status: AccountStatus = AccountStatus.trial,
                          is_system: bool = False) -> Account:
    """Insert an account with its module settings (no permission check: bootstrap and create_account call it);
    the owners and admins of a system account administer the platform (tenancy.Actor.is_platform_admin)."""
    name = clean_name(name, "Account name")
    slug = clean_slug(slug, name, "Account name")
    if session.scalar(select(Account.id).where(Account.slug == slug)):
        raise Conflict(f"An account with slug “{slug}” exists already.")
    if plan_slug is not None:
        plan_id = get_plan_by_slug(session, plan_slug).id
    elif plan_id is not None and session.get(Plan, plan_id) is None:
        raise NotFound(f"Plan #{plan_id} was not found.")
    account = Account(name=name, slug=slug, plan_id=plan_id, status=AccountStatus(status), credits=0,
                      is_system=bool(is_system))
    session.add(account)
    session.flush()
    session.add(ModuleEnableSettings(account_id=account.id))
    session.flush()
    return account


def create_account(session: Session, actor: Actor, *, name: str, slug: str | None = None,
                   plan_id: int | None = None, status: str = AccountStatus.trial, is_system: bool = False) -> Account:
    """A new tenant account (developers only; `is_system` makes its owners and admins platform admins); add its
    owner with users.create_user."""
    tenancy.require_developer(actor)
    return create_account_record(session, name=name, slug=slug, plan_id=plan_id, status=_status(status),
                                 is_system=is_system)


def _status(value: str) -> AccountStatus:
    return one_of(AccountStatus, value, "Status")


def update_account(session: Session, actor: Actor, *, account_id: int, name: str | None = None,
                   plan_id: int | None = None, status: str | None = None, is_system: bool | None = None) -> Account:
    """Rename (owners and admins of the account); change plan, status or the system flag (developers only)."""
    tenancy.require_admin(actor)
    account = tenancy.get(session, actor, Account, account_id, write=True)
    if name is not None:
        account.name = clean_name(name, "Account name")
    if plan_id is not None or status is not None or is_system is not None:
        tenancy.require_developer(actor)
    if plan_id is not None and plan_id != account.plan_id:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise NotFound(f"Plan #{plan_id} was not found.")
        _check_fits_plan(session, account, plan)
        account.plan_id = plan.id
    if status is not None:
        account.status = _status(status)
    if is_system is not None:
        account.is_system = bool(is_system)
    session.flush()
    return account


def _check_fits_plan(session: Session, account: Account, plan: Plan) -> None:
    sites = count_active_sites(session, account.id)
    users = count_active_users(session, account.id)
    if sites > plan.max_sites or users > plan.max_users:
        raise LimitExceeded(
            f"The account has {sites} active sites and {users} active users; plan “{plan.name}” allows "
            f"{plan.max_sites} sites and {plan.max_users} users. Deactivate some first."
        )


def count_active_sites(session: Session, account_id: int) -> int:
    """Active sites of an account (what the plan's max_sites limits)."""
    return session.scalar(select(func.count()).where(Site.account_id == account_id, Site.is_active.is_(True))) or 0


def count_active_users(session: Session, account_id: int) -> int:
    """Active users of an account (what the plan's max_users limits)."""
    return session.scalar(select(func.count()).where(User.account_id == account_id, User.is_active.is_(True))) or 0


def check_site_limit(session: Session, account_id: int) -> None:
    """Refuse one more active site when the plan's max_sites is reached."""
    plan = _plan_of(session, account_id)
    if plan is not None and count_active_sites(session, account_id) >= plan.max_sites:
        raise LimitExceeded(f"Plan “{plan.name}” allows {plan.max_sites} active site(s). "
                            "Upgrade the plan or deactivate a site first.")


def check_user_limit(session: Session, account_id: int) -> None:
    """Refuse one more active user when the plan's max_users is reached."""
    plan = _plan_of(session, account_id)
    if plan is not None and count_active_users(session, account_id) >= plan.max_users:
        raise LimitExceeded(f"Plan “{plan.name}” allows {plan.max_users} active user(s). "
                            "Upgrade the plan or deactivate a user first.")


def check_cluster_limit(session: Session, account_id: int, *, adding: int = 1) -> None:
    """Refuse `adding` more live clusters when they would pass the plan's max_clusters (the account row is locked,
    so concurrent creations cannot both slip under it)."""
    plan = _plan_of(session, account_id)
    if plan is None or adding <= 0:
        return
    live = session.scalar(select(func.count()).where(Clusters.account_id == account_id,
                                                      Clusters.deleted_at.is_(None))) or 0
    if live + adding > plan.max_clusters:
        raise LimitExceeded(f"Plan “{plan.name}” allows {plan.max_clusters:,} clusters; the account has {live:,}, "
                            f"so {adding:,} more would not fit. Merge or delete clusters, or upgrade the plan.")


def _plan_of(session: Session, account_id: int) -> Plan | None:
    # Lock the account row: two concurrent creations cannot both slip under the limit.
    plan_id = session.scalars(select(Account.plan_id).where(Account.id == account_id).with_for_update()).one()
    return session.get(Plan, plan_id) if plan_id is not None else None
