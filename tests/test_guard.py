"""The `session` fixture's guard: a commit inside core fails the test; a savepoint release does not."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import sites
from core.tenancy import Actor
from db.models import Site
from tests import factories as f


def _core_function_that_commits(session: Session, actor: Actor, *, name: str) -> Site:
    """What a careless core function might do: create, then commit itself."""
    site = sites.create_site(session, actor, name=name)
    session.commit()
    return site


def test_commit_inside_core_fails_the_test(session):
    owner = f.owner_actor(session, f.account(session))
    with pytest.raises(AssertionError, match="only the caller .* may commit"):
        _core_function_that_commits(session, owner, name="Committed")


def test_plain_session_commit_is_refused_too(session):
    with pytest.raises(AssertionError, match="committed a transaction"):
        session.commit()


def test_commit_with_an_open_savepoint_is_refused(session):
    session.begin_nested()
    with pytest.raises(AssertionError, match="committed a transaction"):
        session.commit()  # commits the outermost transaction, releasing the savepoint on the way


def test_releasing_a_savepoint_is_allowed(session):
    """Core may use begin_nested() (e.g. to absorb a duplicate); releasing it is not a commit."""
    owner = f.owner_actor(session, f.account(session))
    with session.begin_nested():
        site = sites.create_site(session, owner, name="Inside savepoint")
    assert session.scalars(select(Site).where(Site.id == site.id)).one() is site
