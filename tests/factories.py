"""Small factories for tests: accounts, users, sites, sectors, actors."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from core import accounts, auth, tenancy
from db.enums import AccountStatus, Role
from db.models import Account, Sector, Site, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-42"


def account(session: Session, *, name: str | None = None, plan: str = "agency",
            status: AccountStatus = AccountStatus.active) -> Account:
    n = next(_seq)
    return accounts.create_account_record(session, name=name or f"Account {n}", slug=f"acct-{n}-{id(session)}",
                                          plan_slug=plan, status=status)


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
