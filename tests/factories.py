"""Small factories for tests: accounts, users, sites, sectors, actors; a generic tenant row builder; checks."""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, Column, Enum, Integer, Numeric, String, Text, Time, func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.identity import accounts, auth
from db.base import Base, UTCDateTime, utcnow
from db.enums import AccountStatus, Role
from db.models import Account, ModuleEnableSettings, Sector, Site, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-42"


def account(session: Session, *, name: str | None = None, plan: str = "agency",
            status: AccountStatus = AccountStatus.active, is_system: bool = False) -> Account:
    n = next(_seq)
    return accounts.create_account_record(session, name=name or f"Account {n}", slug=f"acct-{n}-{id(session)}",
                                          plan_slug=plan, status=status, is_system=is_system)


def user(session: Session, acct: Account | None, *, role: Role = Role.owner, email: str | None = None,
         password: str = PASSWORD) -> User:
    n = next(_seq)
    u = User(account_id=acct.id if acct else None, email=email or f"user{n}-{id(session)}@example.com",
             password_hash=auth.hash_password(password), role=role)
    session.add(u)
    session.flush()
    return u


def site(session: Session, acct: Account, *, name: str | None = None) -> Site:
    n = next(_seq)
    s = Site(account_id=acct.id, name=name or f"Site {n}", slug=f"site-{n}")
    session.add(s)
    session.flush()
    return s


def sector(session: Session, st: Site, *, name: str | None = None) -> Sector:
    n = next(_seq)
    sec = Sector(account_id=st.account_id, site_id=st.id, name=name or f"Sector {n}", slug=f"sector-{n}")
    session.add(sec)
    session.flush()
    return sec


def actor(session: Session, u: User, *, account_id: int | None = None) -> tenancy.Actor:
    return tenancy.actor_for(session, u, account_id=account_id)


def owner_actor(session: Session, acct: Account) -> tenancy.Actor:
    return actor(session, user(session, acct, role=Role.owner))


def workspace(session: Session) -> SimpleNamespace:
    """An account, its owner (user and actor), a site and a sector of it: what a test of one sector's work needs.
    Tests add their own rows to the namespace."""
    acct = account(session)
    owner = user(session, acct)
    owner_act = actor(session, owner)
    st = site(session, acct)
    return SimpleNamespace(s=session, acct=acct, owner=owner, actor=owner_act, site=st, sector=sector(session, st))


def platform_admin(session: Session, *, role: Role = Role.owner) -> tenancy.Actor:
    """An owner (or admin) of a new system account: may change providers, AI models and the keyword library."""
    return actor(session, user(session, account(session, is_system=True), role=role))


# --- Generic tenant rows (the tenant-isolation walk builds one row of every tenant model) ---------------------

def _plain_value(col: Column) -> object:
    """A valid value for a required column without a default, from its type alone."""
    t = col.type
    if isinstance(t, UTCDateTime):
        return utcnow()
    if isinstance(t, Enum) and t.enum_class is not None:
        return next(iter(t.enum_class))
    if isinstance(t, (String, Text)):
        return f"{col.name}-{next(_seq)}-{uuid.uuid4().hex[:8]}"[: t.length or 60]
    if isinstance(t, Boolean):
        return True
    if isinstance(t, (Integer, BigInteger)):
        return 1
    if isinstance(t, Numeric):
        return Decimal("1")
    if isinstance(t, JSON):
        return {}
    if isinstance(t, Time):
        return time(2, 0)
    raise TypeError(f"tenant_row: no value for {col.table.name}.{col.name} of type {t!r}")


def _model_of(table_name: str) -> type[Base]:
    return next(m.class_ for m in Base.registry.mappers if m.class_.__table__.name == table_name)


def world(session: Session, acct: Account, st: Site | None = None) -> dict[str, Base]:
    """The rows a tenant_row of `acct` links to: its site, a sector of it, a user, its module settings."""
    st = st or site(session, acct)
    return {"account": acct, "site": st, "sector": sector(session, st), "user": user(session, acct),
            "module_enable_settings": session.get(ModuleEnableSettings, acct.id)}


def tenant_row(session: Session, model: type[Base], ctx: dict[str, Base]) -> Base:
    """One row of `model` in ctx's account/site/sector; every foreign key to a tenant row (required or not) is
    resolved to a row of the same world, so no link points across accounts. Rows are cached in ctx per table."""
    table = model.__table__
    if table.name in ctx:
        return ctx[table.name]
    mapper = model.__mapper__
    values: dict[str, object] = {}
    for col in table.c:
        key = mapper.get_property_by_column(col).key
        fk = next(iter(col.foreign_keys), None)
        if fk is not None:
            target = fk.column.table.name
            if target in ctx or "account_id" in fk.column.table.c:  # a tenant row: link within the world
                if target != table.name:
                    values[key] = getattr(tenant_row(session, _model_of(target), ctx), fk.column.key)
            continue  # global reference rows (industry, plan, seed keyword ...) stay at their defaults
        if col.primary_key or col.nullable or col.default is not None or col.server_default is not None:
            continue
        values[key] = _plain_value(col)
    row = model(**values)
    session.add(row)
    session.flush()
    ctx[table.name] = row
    return row


def pk_of(row: Base) -> object:
    """The primary key value of a mapped row (single-column keys only)."""
    return type(row).__mapper__.primary_key_from_instance(row)[0]


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table, without flushing pending ORM changes (measures what was written)."""
    with session.no_autoflush:
        return {name: session.scalar(select(func.count()).select_from(t)) or 0
                for name, t in Base.metadata.tables.items()}


def refused(session: Session, exc: type[Exception] | tuple[type[Exception], ...], fn: Callable[[], object], *,
            match: str | None = None) -> Exception:
    """Assert fn() raises `exc` (message matching `match`) having written nothing; the failed work is then rolled
    back in a savepoint, as the caller's transaction would be. Returns the exception."""
    before = row_counts(session)
    with pytest.raises(exc, match=match) as info:
        with session.begin_nested():
            try:
                fn()
            except exc:
                after = row_counts(session)
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                assert not changed, f"a refused call wrote rows (table: before, after): {changed}"
                raise
    return info.value
