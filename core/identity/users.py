"""Users of an account, their roles, and the sites editors and viewers may use."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common.text import clean_email
from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from core.identity import accounts, auth
from core.tenancy import Actor
from db.enums import Role
from db.models import Account, Site, SiteUserAccess, User

RANK = {Role.system_bot: 0, Role.viewer: 1, Role.editor: 2, Role.admin: 3, Role.owner: 4, Role.developer: 5}
SITE_SCOPED_ROLES = frozenset({Role.editor, Role.viewer})


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise ValidationFailed(f"Role must be one of {', '.join(r.value for r in Role)}.") from exc


def _a(role: Role) -> str:
    """“an admin”, “a viewer”."""
    return ("an " if role.value[0] in "aeiou" else "a ") + role.value


def _may_assign(actor: Actor, role: Role) -> None:
    if role == Role.system_bot:
        raise ValidationFailed("The system_bot role belongs to the scheduler and cannot be given to a person.")
    if RANK[role] > RANK[actor.role]:
        raise AccessDenied(f"{_a(actor.role).capitalize()} cannot give the {role.value} role.")


def _may_manage(actor: Actor, user: User) -> None:
    if RANK[user.role] > RANK[actor.role]:
        raise AccessDenied(f"{_a(actor.role).capitalize()} cannot change {_a(user.role)}.")


def assignable_roles(actor: Actor) -> list[Role]:
    """The roles this actor may give to a person, highest first (what the user forms offer)."""
    return [r for r in sorted(RANK, key=RANK.__getitem__, reverse=True)
            if r != Role.system_bot and RANK[r] <= RANK[actor.role]]


def list_users(session: Session, actor: Actor) -> list[User]:
    """Users of the account in scope (owners, admins, developers)."""
    tenancy.require_admin(actor)
    return list(session.scalars(tenancy.scoped(select(User).order_by(User.email), User, actor)))


def get_user(session: Session, actor: Actor, *, user_id: int) -> User:
    """One user of the account in scope."""
    tenancy.require_admin(actor)
    return tenancy.get(session, actor, User, user_id)


def create_user(session: Session, actor: Actor, *, email: str, password: str, role: str,
                first_name: str = "", last_name: str = "") -> User:
    """A new user in the actor's account, within the plan's user limit; developers are account-less."""
    tenancy.require_admin(actor)
    role_ = _role(role)
    _may_assign(actor, role_)
    address = clean_email(email)
    if session.scalar(select(User.id).where(User.email == address)):
        raise Conflict(f"A user with e-mail {address} exists already.")
    account_id = None if role_ == Role.developer else tenancy.require_account(actor)
    if account_id is not None:
        accounts.check_user_limit(session, account_id)
    user = User(account_id=account_id, email=address, password_hash=auth.hash_password(password), role=role_,
                first_name=(first_name or "").strip()[:150], last_name=(last_name or "").strip()[:150])
    session.add(user)
    session.flush()
    if role_ == Role.owner and account_id is not None:
        account = session.get(Account, account_id)
        if account.owner_id is None:
            account.owner_id = user.id
    session.flush()
    return user


def _owners_left(session: Session, account_id: int, excluding: int) -> int:
    return session.scalar(select(func.count()).where(
        User.account_id == account_id, User.role == Role.owner, User.is_active.is_(True), User.id != excluding)) or 0


def update_user(session: Session, actor: Actor, *, user_id: int, role: str | None = None,
                is_active: bool | None = None, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change a user's role, names or active flag; an account always keeps one active owner."""
    tenancy.require_admin(actor)
    user = tenancy.get(session, actor, User, user_id, write=True)
    _may_manage(actor, user)
    losing_owner = user.role == Role.owner and (
        (role is not None and _role(role) != Role.owner) or is_active is False)
    if losing_owner and user.account_id is not None and _owners_left(session, user.account_id, user.id) == 0:
        raise ValidationFailed("An account needs at least one active owner. Make someone else owner first.")
    if user.id == actor.user_id and (is_active is False or (role is not None and _role(role) != user.role)):
        raise ValidationFailed("You cannot deactivate yourself or change your own role.")
    if role is not None:
        new_role = _role(role)
        _may_assign(actor, new_role)
        if (new_role == Role.developer) != (user.role == Role.developer):
            raise ValidationFailed("Developers are platform users; create a new user instead of converting one.")
        user.role = new_role
    if is_active is not None and is_active != user.is_active:
        if is_active and user.account_id is not None:
            accounts.check_user_limit(session, user.account_id)
        user.is_active = is_active
        auth.bump_session_version(session, user)  # a deactivated user's open sessions end
    if first_name is not None:
        user.first_name = first_name.strip()[:150]
    if last_name is not None:
        user.last_name = last_name.strip()[:150]
    session.flush()
    return user


def reset_password(session: Session, actor: Actor, *, user_id: int, new_password: str) -> User:
    """Set another user's password (admins); their sessions end and any lockout is lifted."""
    tenancy.require_admin(actor)
    user = tenancy.get(session, actor, User, user_id, write=True)
    _may_manage(actor, user)
    user.password_hash = auth.hash_password(new_password)
    auth.bump_session_version(session, user)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user


def list_site_access(session: Session, actor: Actor, *, user_id: int) -> list[Site]:
    """Sites granted to one user."""
    tenancy.require_admin(actor)
    tenancy.get(session, actor, User, user_id)
    stmt = (select(Site).join(SiteUserAccess, SiteUserAccess.site_id == Site.id)
            .where(SiteUserAccess.user_id == user_id).order_by(Site.name))
    return list(session.scalars(tenancy.scoped(stmt, Site, actor)))


def set_site_access(session: Session, actor: Actor, *, user_id: int, site_ids: list[int]) -> list[Site]:
    """Grant exactly these sites to an editor or viewer (others see the whole account)."""
    tenancy.require_admin(actor)
    user = tenancy.get(session, actor, User, user_id, write=True)
    if user.role not in SITE_SCOPED_ROLES:
        raise ValidationFailed(f"{_a(user.role).capitalize()} sees every site of the account; site access is for "
                               "editors and viewers.")
    wanted = {int(s) for s in site_ids}
    sites = [tenancy.get(session, actor, Site, sid) for sid in sorted(wanted)]
    # A developer sees every account: without this a grant could tie a user to another account's site.
    foreign = [s.name for s in sites if s.account_id != user.account_id]
    if foreign:
        raise ValidationFailed(f"Site(s) {', '.join(foreign)} belong to another account than {user.email}.")
    current = {a.site_id: a for a in session.scalars(select(SiteUserAccess).where(SiteUserAccess.user_id == user.id))}
    for sid, grant in current.items():
        if sid not in wanted:
            session.delete(grant)
    for site in sites:
        if site.id not in current:
            session.add(SiteUserAccess(account_id=site.account_id, site_id=site.id, user_id=user.id,
                                       granted_by_id=actor.user_id))
    session.flush()
    return sites


def revoke_site_access(session: Session, actor: Actor, *, user_id: int, site_id: int) -> None:
    """Take one site away from an editor or viewer."""
    tenancy.require_admin(actor)
    tenancy.get(session, actor, User, user_id, write=True)
    grant = session.scalars(tenancy.scoped(
        select(SiteUserAccess).where(SiteUserAccess.user_id == user_id, SiteUserAccess.site_id == site_id),
        SiteUserAccess, actor)).one_or_none()
    if grant is None:
        raise NotFound("That user has no access to that site.")
    session.delete(grant)
    session.flush()
