"""Roles and permissions, checked in core (not only in the UI): viewer, editor, admin, owner; plan limits."""
from __future__ import annotations

import pytest

from core.errors import AccessDenied, LimitExceeded, NotFound, ValidationFailed
from core.identity import accounts, sites, users
from core.planner import clusters, ideas, keyword_edits
from db.enums import Role
from db.models import Plan, Site, User
from tests import factories as f

PASSWORD = "another-pass-77"


@pytest.fixture
def team(session):
    """Account with an owner, two sites (one sector each), a cluster and a keyword in site 1."""
    acct = f.account(session)
    owner_user = f.user(session, acct, role=Role.owner)
    owner = f.actor(session, owner_user)
    s1, s2 = sites.create_site(session, owner, name="One"), sites.create_site(session, owner, name="Two")
    sec1 = sites.create_sector(session, owner, site_id=s1.id, name="Hosting")
    sec2 = sites.create_sector(session, owner, site_id=s2.id, name="Themes")
    cluster = clusters.create(session, owner, site_id=s1.id, sector_id=sec1.id, name="Cheap hosting")
    kw = keyword_edits.create_keyword(session, owner, site_id=s1.id, sector_id=sec1.id, keyword="cheap hosting")
    return {"acct": acct, "owner_user": owner_user, "owner": owner, "s1": s1, "s2": s2, "sec1": sec1, "sec2": sec2,
            "cluster": cluster, "kw": kw}


def member(session, team, role: Role, site_ids=()):
    """A user of the team's account with `role`, granted `site_ids` when site-scoped; returns (user, actor)."""
    u = f.user(session, team["acct"], role=role)
    if role in (Role.editor, Role.viewer):
        users.set_site_access(session, team["owner"], user_id=u.id, site_ids=list(site_ids))
    return u, f.actor(session, u)


def _all_writes(s, a, t, other: User) -> dict:
    s1, sec1 = t["s1"], t["sec1"]
    return {
        "create_site": lambda: sites.create_site(s, a, name="New"),
        "update_site": lambda: sites.update_site(s, a, site_id=s1.id, name="Renamed"),
        "create_sector": lambda: sites.create_sector(s, a, site_id=s1.id, name="Another"),
        "update_sector": lambda: sites.update_sector(s, a, site_id=s1.id, sector_id=sec1.id, is_active=False),
        "create_user": lambda: users.create_user(s, a, email="new@example.com", password=PASSWORD, role="viewer"),
        "update_user": lambda: users.update_user(s, a, user_id=other.id, first_name="X"),
        "reset_password": lambda: users.reset_password(s, a, user_id=other.id, new_password=PASSWORD),
        "set_site_access": lambda: users.set_site_access(s, a, user_id=other.id, site_ids=[s1.id]),
        "create_cluster": lambda: clusters.create(s, a, site_id=s1.id, sector_id=sec1.id, name="Mine"),
        "create_keyword": lambda: keyword_edits.create_keyword(s, a, site_id=s1.id, sector_id=sec1.id, keyword="mine"),
        "assign_to_cluster": lambda: clusters.assign_keywords(s, a, keyword_ids=[t["kw"].id],
                                                               cluster_id=t["cluster"].id),
        "create_idea": lambda: ideas.create(s, a, cluster_id=t["cluster"].id, title="Idea"),
        "update_account": lambda: accounts.update_account(s, a, account_id=t["acct"].id, name="Renamed"),
        "create_account": lambda: accounts.create_account(s, a, name="Shadow"),
        "create_plan": lambda: accounts.create_plan(s, a, name="Secret plan"),
    }


HELPFUL = ("Viewers can look but not change anything", "Only an owner, admin or developer", "Only a developer")


def test_viewer_cannot_change_anything(session, team):
    other, _ = member(session, team, Role.editor, [team["s1"].id])
    _, viewer = member(session, team, Role.viewer, [team["s1"].id])
    calls = _all_writes(session, viewer, team, other)
    for label, call in calls.items():
        err = f.refused(session, AccessDenied, call)
        assert any(h in str(err) for h in HELPFUL), f"{label}: unhelpful message {err}"
    assert "ask an admin" in str(f.refused(session, AccessDenied, calls["create_keyword"])).lower()


def test_editor_cannot_manage_users_or_sites(session, team):
    other, _ = member(session, team, Role.viewer, [team["s1"].id])
    _, editor = member(session, team, Role.editor, [team["s1"].id])
    calls = _all_writes(session, editor, team, other)
    for label in ("create_site", "update_site", "create_sector", "update_sector", "create_user", "update_user",
                  "reset_password", "set_site_access", "update_account", "create_account", "create_plan"):
        err = f.refused(session, AccessDenied, calls[label])
        assert "Only" in str(err), label


def test_editor_plans_in_granted_sites_only(session, team):
    _, editor = member(session, team, Role.editor, [team["s1"].id])
    c = clusters.create(session, editor, site_id=team["s1"].id, sector_id=team["sec1"].id, name="Mine")
    kw = keyword_edits.create_keyword(session, editor, site_id=team["s1"].id, sector_id=team["sec1"].id, keyword="mine")
    assert clusters.assign_keywords(session, editor, keyword_ids=[kw.id], cluster_id=c.id) == 1
    assert ideas.create(session, editor, cluster_id=c.id, title="An idea").site_id == team["s1"].id
    s2, sec2 = team["s2"], team["sec2"]
    f.refused(session, NotFound, lambda: clusters.create(session, editor, site_id=s2.id, sector_id=sec2.id,
                                                                name="Elsewhere"))
    f.refused(session, NotFound, lambda: keyword_edits.create_keyword(session, editor, site_id=s2.id, sector_id=sec2.id,
                                                                keyword="elsewhere"))


def test_admin_cannot_create_owners_or_developers(session, team):
    _, admin = member(session, team, Role.admin)
    for role in ("owner", "developer"):
        err = f.refused(session, AccessDenied, lambda r=role: users.create_user(
            session, admin, email=f"{r}@example.com", password=PASSWORD, role=r))
        assert f"cannot give the {role} role" in str(err)
    f.refused(session, AccessDenied, lambda: users.update_user(session, admin, user_id=team["owner_user"].id,
                                                               first_name="Boss"))
    made = users.create_user(session, admin, email="ed@example.com", password=PASSWORD, role="editor")
    assert made.role == Role.editor and made.account_id == team["acct"].id
    err = f.refused(session, AccessDenied, lambda: users.update_user(session, admin, user_id=made.id, role="owner"))
    assert "owner role" in str(err)


def test_owner_creates_owners_but_not_developers(session, team):
    second = users.create_user(session, team["owner"], email="co@example.com", password=PASSWORD, role="owner")
    assert second.role == Role.owner and second.account_id == team["acct"].id
    f.refused(session, AccessDenied, lambda: users.create_user(session, team["owner"], email="dev@example.com",
                                                               password=PASSWORD, role="developer"))
    err = f.refused(session, ValidationFailed, lambda: users.create_user(
        session, team["owner"], email="bot@example.com", password=PASSWORD, role="system_bot"))
    assert "scheduler" in str(err)


def test_last_active_owner_cannot_be_demoted_or_deactivated(session, team):
    dev = f.actor(session, f.user(session, None, role=Role.developer)).in_account(team["acct"].id)
    owner_id = team["owner_user"].id
    for change in ({"role": "admin"}, {"is_active": False}):
        err = f.refused(session, ValidationFailed, lambda c=change: users.update_user(session, dev, user_id=owner_id,
                                                                                      **c))
        assert "at least one active owner" in str(err)
    users.create_user(session, dev, email="heir@example.com", password=PASSWORD, role="owner")
    assert users.update_user(session, dev, user_id=owner_id, role="admin").role == Role.admin


def test_nobody_deactivates_themselves(session, team):
    users.create_user(session, team["owner"], email="co@example.com", password=PASSWORD, role="owner")
    admin_user, admin = member(session, team, Role.admin)
    cases = [(team["owner"], team["owner_user"].id), (admin, admin_user.id)]
    for actor, uid in cases:
        err = f.refused(session, ValidationFailed, lambda a=actor, u=uid: users.update_user(session, a, user_id=u,
                                                                                            is_active=False))
        assert "cannot deactivate yourself" in str(err)
    assert session.get(User, admin_user.id).is_active


def test_site_access_only_for_editors_and_viewers(session, team):
    admin_user, _ = member(session, team, Role.admin)
    for uid in (admin_user.id, team["owner_user"].id):
        err = f.refused(session, ValidationFailed, lambda u=uid: users.set_site_access(
            session, team["owner"], user_id=u, site_ids=[team["s1"].id]))
        assert "editors and viewers" in str(err)


def test_site_access_takes_effect_in_actor_for(session, team):
    editor_user, editor = member(session, team, Role.editor)
    assert editor.site_ids == frozenset() and sites.list_sites(session, editor) == []
    users.set_site_access(session, team["owner"], user_id=editor_user.id, site_ids=[team["s1"].id, team["s2"].id])
    assert {s.id for s in sites.list_sites(session, f.actor(session, editor_user))} == {team["s1"].id, team["s2"].id}
    users.set_site_access(session, team["owner"], user_id=editor_user.id, site_ids=[team["s2"].id])
    narrowed = f.actor(session, editor_user)
    assert narrowed.site_ids == frozenset({team["s2"].id})
    assert [s.id for s in sites.list_sites(session, narrowed)] == [team["s2"].id]
    assert [s.id for s in users.list_site_access(session, team["owner"], user_id=editor_user.id)] == [team["s2"].id]
    users.revoke_site_access(session, team["owner"], user_id=editor_user.id, site_id=team["s2"].id)
    assert f.actor(session, editor_user).site_ids == frozenset()
    f.refused(session, NotFound, lambda: users.revoke_site_access(session, team["owner"], user_id=editor_user.id,
                                                                  site_id=team["s2"].id))


def test_admin_and_owner_see_every_site(session, team):
    _, admin = member(session, team, Role.admin)
    for actor in (admin, team["owner"]):
        assert actor.site_ids is None
        assert {s.id for s in sites.list_sites(session, actor)} == {team["s1"].id, team["s2"].id}


def test_free_plan_allows_one_site(session):
    acct = f.account(session, plan="free")
    owner = f.owner_actor(session, acct)
    first = sites.create_site(session, owner, name="Only")
    err = f.refused(session, LimitExceeded, lambda: sites.create_site(session, owner, name="Second"))
    assert "Plan “Free” allows 1 active site(s)" in str(err)
    sites.update_site(session, owner, site_id=first.id, is_active=False)
    replacement = sites.create_site(session, owner, name="Replacement")
    assert replacement.is_active
    err = f.refused(session, LimitExceeded, lambda: sites.update_site(session, owner, site_id=first.id,
                                                                      is_active=True))
    assert "Upgrade the plan" in str(err)
    assert session.get(Site, first.id).is_active is False


def test_free_plan_allows_one_user(session):
    acct = f.account(session, plan="free")
    owner_user = f.user(session, acct, role=Role.owner)
    owner = f.actor(session, owner_user)
    err = f.refused(session, LimitExceeded, lambda: users.create_user(session, owner, email="two@example.com",
                                                                      password=PASSWORD, role="editor"))
    assert "Plan “Free” allows 1 active user(s)" in str(err)
    assert accounts.count_active_users(session, acct.id) == 1
    assert session.get(Plan, acct.plan_id).max_users == 1
    dormant = f.user(session, acct, role=Role.viewer)
    dormant.is_active = False
    session.flush()
    err = f.refused(session, LimitExceeded, lambda: users.update_user(session, owner, user_id=dormant.id,
                                                                      is_active=True))
    assert "deactivate a user first" in str(err)


def test_developer_cannot_grant_a_site_of_another_account(session, team):
    """Regression: a developer looking across accounts could tie an editor to another account's site."""
    editor_user, _ = member(session, team, Role.editor)
    foreign_site = f.site(session, f.account(session))
    dev = f.actor(session, f.user(session, None, role=Role.developer))
    err = f.refused(session, ValidationFailed, lambda: users.set_site_access(
        session, dev, user_id=editor_user.id, site_ids=[team["s1"].id, foreign_site.id]))
    assert "another account" in str(err)
    assert users.set_site_access(session, dev, user_id=editor_user.id, site_ids=[team["s1"].id])[0].id == \
        team["s1"].id
    assert f.actor(session, editor_user).site_ids == frozenset({team["s1"].id})


def test_a_write_naming_an_ungranted_sector_reads_like_a_missing_one(session, team):
    # An editor of site One names site Two's sector with site One: the answer used to be "Sector “Themes” does not
    # belong to site “One”", telling the editor the name of a sector of a site not granted to them.
    _, editor = member(session, team, Role.editor, [team["s1"].id])
    calls = [lambda: keyword_edits.bulk_update(session, editor, site_id=team["s1"].id, sector_id=team["sec2"].id,
                                               action="disable", ids=[team["kw"].id]),
             lambda: clusters.create(session, editor, site_id=team["s1"].id, sector_id=team["sec2"].id, name="X")]
    for call in calls:
        with pytest.raises(NotFound) as info:
            call()
        assert str(info.value) == f"Sector #{team['sec2'].id} was not found."
        assert "Themes" not in str(info.value) and "Two" not in str(info.value)


def test_strategies_of_an_ungranted_site_are_not_listed(session, team):
    from core.ai import prompts
    owner = team["owner"]
    shared = prompts.create_strategy(session, owner, name="House style", description="for every sector")
    mine = prompts.create_strategy(session, owner, name="Hosting angle", site_id=team["s1"].id,
                                   sector_id=team["sec1"].id)
    secret = prompts.create_strategy(session, owner, name="Secret theme plans", description="Q3 launch of site Two",
                                     site_id=team["s2"].id, sector_id=team["sec2"].id)
    _, editor = member(session, team, Role.editor, [team["s1"].id])
    everyone = {st.id for st in prompts.list_strategies(session, owner)}  # the owner sees every site's (and global)
    assert {shared.id, mine.id, secret.id} <= everyone
    assert {st.id for st in prompts.list_strategies(session, editor)} == everyone - {secret.id}
