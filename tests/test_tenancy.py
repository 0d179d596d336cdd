"""The tenant-isolation walk: for every mapped tenant model, an actor of account A never reads or changes B's rows."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Select, select

from core import tenancy
from core.errors import AccessDenied, NotFound
from core.identity import accounts, sites, users
from core.planner import clusters, ideas, keyword_edits
from core.publishing import connection
from core.tenancy import Actor
from db.base import Base
from db.enums import Role
from db.models import Account, AuthorProfile, Clusters, Keywords, Site, Strategy, User
from tests import factories as f

ScopeFn = Callable[[Select, type, Actor], Select]


def assert_isolated(session, scope_fn: ScopeFn, model: type[Base], actor: Actor, own: Base, foreign: Base) -> None:
    """Reading `model` through scope_fn, `actor` sees `own` and never `foreign` (nor any row of another account)."""
    pk = model.__mapper__.primary_key[0]
    rows = session.scalars(scope_fn(select(model), model, actor)).all()
    seen = {f.pk_of(r) for r in rows}
    name = model.__name__
    assert f.pk_of(own) in seen, f"{name}: the actor's own row is not visible"
    assert f.pk_of(foreign) not in seen, f"{name}: a row outside the actor's scope is visible"
    if actor.account_id is not None and model is not Account:
        global_ok = model.__tablename__ in tenancy.GLOBAL_ROWS_READABLE
        strays = [r for r in rows if r.account_id != actor.account_id and not (global_ok and r.account_id is None)]
        assert not strays, f"{name}: rows of other accounts are visible"
    by_id = session.scalars(scope_fn(select(model).where(pk == f.pk_of(foreign)), model, actor)).all()
    assert by_id == [], f"{name}: the foreign row is reachable by its id"


def buggy_scope(stmt: Select, model: type, actor: Actor) -> Select:
    """A scoping that keeps the site and soft-delete filters but forgets the account: the walk must catch it."""
    if actor.site_ids is not None and "site_id" in model.__table__.c:
        stmt = stmt.where(model.__table__.c.site_id.in_(actor.site_ids))
    if "deleted_at" in model.__table__.c:
        stmt = stmt.where(model.__table__.c.deleted_at.is_(None))
    return stmt


@pytest.fixture
def two_accounts(session):
    """Accounts A and B with one row of every tenant model each; A's owner as actor."""
    acct_a, acct_b = f.account(session), f.account(session)
    ctx_a, ctx_b = f.world(session, acct_a), f.world(session, acct_b)
    rows = {m: (f.tenant_row(session, m, ctx_a), f.tenant_row(session, m, ctx_b)) for m in tenancy.tenant_models()}
    return {"a": acct_a, "b": acct_b, "ctx_a": ctx_a, "ctx_b": ctx_b, "rows": rows,
            "actor_a": f.actor(session, ctx_a["user"]), "actor_b": f.actor(session, ctx_b["user"])}


def test_walk_covers_every_tenant_model_and_isolates_reads(session, two_accounts):
    rows, actor_a = two_accounts["rows"], two_accounts["actor_a"]
    covered = []
    for model, (a_row, b_row) in rows.items():
        assert a_row.account_id == two_accounts["a"].id and b_row.account_id == two_accounts["b"].id
        assert_isolated(session, tenancy.scoped, model, actor_a, a_row, b_row)
        assert tenancy.get(session, actor_a, model, f.pk_of(a_row)) is a_row
        with pytest.raises(NotFound):
            tenancy.get(session, actor_a, model, f.pk_of(b_row))
        with pytest.raises(NotFound):
            tenancy.get(session, actor_a, model, f.pk_of(b_row), write=True)
        covered.append(model)
    assert len(covered) == len(tenancy.tenant_models()) > 25
    assert set(covered) == {m.class_ for m in Base.registry.mappers if "account_id" in m.class_.__table__.c} - {
        Account}


def test_walk_catches_a_scoping_that_forgets_the_account(session, two_accounts):
    caught = []
    for model, (a_row, b_row) in two_accounts["rows"].items():
        with pytest.raises(AssertionError):
            assert_isolated(session, buggy_scope, model, two_accounts["actor_a"], a_row, b_row)
        caught.append(model)
    assert len(caught) == len(tenancy.tenant_models())


def test_b_sees_its_own_rows_and_not_a(session, two_accounts):
    for model, (a_row, b_row) in two_accounts["rows"].items():
        assert_isolated(session, tenancy.scoped, model, two_accounts["actor_b"], b_row, a_row)


def test_only_global_default_tables_have_a_nullable_account():
    nullable = {m.__tablename__ for m in tenancy.tenant_models() if m.__table__.c.account_id.nullable}
    # user: developers have no account, yet their rows must stay invisible to tenants (not GLOBAL_ROWS_READABLE)
    assert nullable == set(tenancy.GLOBAL_ROWS_READABLE) | {"user"}


@pytest.mark.parametrize("role", [Role.editor, Role.viewer])
def test_site_scoped_user_sees_only_granted_site_rows(session, two_accounts, role):
    acct_a, ctx_a = two_accounts["a"], two_accounts["ctx_a"]
    ctx_a2 = f.world(session, acct_a)  # a second site (and sector) of the same account
    member = f.user(session, acct_a, role=role)
    users.set_site_access(session, two_accounts["actor_a"], user_id=member.id, site_ids=[ctx_a["site"].id])
    actor = f.actor(session, member)
    assert actor.site_ids == frozenset({ctx_a["site"].id})
    site_models = [m for m in tenancy.tenant_models() if m is Site or "site_id" in m.__table__.c]
    assert len(site_models) > 15
    for model in site_models:
        own, other_site = f.tenant_row(session, model, ctx_a), f.tenant_row(session, model, ctx_a2)
        assert_isolated(session, tenancy.scoped, model, actor, own, other_site)
        with pytest.raises(NotFound):
            tenancy.get(session, actor, model, f.pk_of(other_site))


def test_developer_sees_all_accounts_or_one_when_narrowed(session, two_accounts):
    dev = f.user(session, None, role=Role.developer)
    everywhere = f.actor(session, dev)
    assert everywhere.account_id is None
    narrowed = everywhere.in_account(two_accounts["a"].id)
    for model, (a_row, b_row) in two_accounts["rows"].items():
        seen = {f.pk_of(r) for r in session.scalars(tenancy.scoped(select(model), model, everywhere))}
        assert {f.pk_of(a_row), f.pk_of(b_row)} <= seen, model.__name__
        assert_isolated(session, tenancy.scoped, model, narrowed, a_row, b_row)
    with pytest.raises(AccessDenied):
        two_accounts["actor_a"].in_account(two_accounts["b"].id)


@pytest.mark.parametrize("model", [AuthorProfile, Strategy])
def test_global_rows_are_readable_by_everyone(session, two_accounts, model):
    a_row, b_row = two_accounts["rows"][model]
    shared = model(name="Global default")
    session.add(shared)
    session.flush()
    for actor, own, foreign in ((two_accounts["actor_a"], a_row, b_row), (two_accounts["actor_b"], b_row, a_row)):
        seen = {r.id for r in session.scalars(tenancy.scoped(select(model), model, actor))}
        assert {shared.id, own.id} <= seen and foreign.id not in seen
        assert tenancy.get(session, actor, model, shared.id) is shared
        with pytest.raises(NotFound):
            tenancy.get(session, actor, model, foreign.id)


def test_global_rows_of_other_tables_stay_hidden(session, two_accounts):
    """A developer (account NULL) is a user row with no account, yet no tenant may read it."""
    dev = f.user(session, None, role=Role.developer)
    with pytest.raises(NotFound):
        tenancy.get(session, two_accounts["actor_a"], User, dev.id)
    assert dev.id not in {u.id for u in users.list_users(session, two_accounts["actor_a"])}


def _snapshot(session, account_id: int) -> dict[str, list[tuple]]:
    """Every column of every row of one account (and the account row): proves nothing of B changed."""
    session.flush()
    out = {"account": [tuple(r) for r in session.execute(select(Account.__table__).where(Account.id == account_id))]}
    for model in tenancy.tenant_models():
        t = model.__table__
        out[t.name] = sorted(tuple(r) for r in session.execute(select(t).where(t.c.account_id == account_id)))
    return out


def _cross_account_writes(s, w) -> dict[str, Callable[[], object]]:
    """Every write (and admin read) of core given B's ids by A's owner."""
    a, ca, cb, rows = w["actor_a"], w["ctx_a"], w["ctx_b"], w["rows"]
    b_site, b_sector, b_user = cb["site"], cb["sector"], cb["user"]
    b_cluster, b_kw = rows[Clusters][1], rows[Keywords][1]
    a_site, a_sector, a_cluster, a_kw = ca["site"], ca["sector"], rows[Clusters][0], rows[Keywords][0]
    editor = f.user(s, w["a"], role=Role.editor)
    return {
        "site_for_write": lambda: tenancy.site_for_write(s, a, b_site.id),
        "sector_for_write(B site)": lambda: tenancy.sector_for_write(s, a, site_id=b_site.id, sector_id=b_sector.id),
        "sector_for_write(A site, B sector)": lambda: tenancy.sector_for_write(
            s, a, site_id=a_site.id, sector_id=b_sector.id),
        "update_site": lambda: sites.update_site(s, a, site_id=b_site.id, name="Taken"),
        "set_wordpress": lambda: connection.set_wordpress(s, a, site_id=b_site.id, app_password="x" * 16),
        "create_sector": lambda: sites.create_sector(s, a, site_id=b_site.id, name="Intruder"),
        "update_sector": lambda: sites.update_sector(s, a, site_id=b_site.id, sector_id=b_sector.id, is_active=False),
        "update_sector(A site)": lambda: sites.update_sector(s, a, site_id=a_site.id, sector_id=b_sector.id,
                                                              name="Moved"),
        "list_sectors": lambda: sites.list_sectors(s, a, site_id=b_site.id),
        "get_user": lambda: users.get_user(s, a, user_id=b_user.id),
        "update_user": lambda: users.update_user(s, a, user_id=b_user.id, is_active=False),
        "reset_password": lambda: users.reset_password(s, a, user_id=b_user.id, new_password="hijacked-pass-1"),
        "set_site_access(B user)": lambda: users.set_site_access(s, a, user_id=b_user.id, site_ids=[a_site.id]),
        "set_site_access(B site)": lambda: users.set_site_access(s, a, user_id=editor.id, site_ids=[b_site.id]),
        "revoke_site_access": lambda: users.revoke_site_access(s, a, user_id=b_user.id, site_id=b_site.id),
        "list_site_access": lambda: users.list_site_access(s, a, user_id=b_user.id),
        "create_cluster": lambda: clusters.create(s, a, site_id=b_site.id, sector_id=b_sector.id, name="X"),
        "create_keyword": lambda: keyword_edits.create_keyword(s, a, site_id=b_site.id, sector_id=b_sector.id,
                                                         keyword="stolen"),
        "create_keyword(B cluster)": lambda: keyword_edits.create_keyword(s, a, site_id=a_site.id, sector_id=a_sector.id,
                                                                    keyword="mine", cluster_id=b_cluster.id),
        "assign(B keyword)": lambda: clusters.assign_keywords(s, a, keyword_ids=[b_kw.id], cluster_id=a_cluster.id),
        "assign(B cluster)": lambda: clusters.assign_keywords(s, a, keyword_ids=[a_kw.id], cluster_id=b_cluster.id),
        "create_idea": lambda: ideas.create(s, a, cluster_id=b_cluster.id, title="Borrowed"),
        "update_account": lambda: accounts.update_account(s, a, account_id=w["b"].id, name="Renamed"),
    }


def test_core_writes_with_b_ids_are_refused_and_change_nothing(session, two_accounts):
    calls = _cross_account_writes(session, two_accounts)
    before = _snapshot(session, two_accounts["b"].id)
    for label, call in calls.items():
        err = f.refused(session, (NotFound, AccessDenied), call)
        assert str(err), f"{label}: empty message"
    assert len(calls) >= 20
    assert _snapshot(session, two_accounts["b"].id) == before


def test_list_functions_show_only_the_own_account(session, two_accounts):
    a, ca, cb = two_accounts["actor_a"], two_accounts["ctx_a"], two_accounts["ctx_b"]
    assert [s.id for s in sites.list_sites(session, a)] == [ca["site"].id]
    assert cb["user"].id not in {u.id for u in users.list_users(session, a)}
    assert [x.id for x in accounts.list_accounts(session, a)] == [two_accounts["a"].id]
    assert [s.id for s in sites.list_sectors(session, a, site_id=ca["site"].id)] == [ca["sector"].id]
