"""Developer screens: accounts (created with their first owner in one transaction) and plans."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.identity import accounts
from db.enums import AccountStatus, Role
from tests.pages.conftest import PASSWORD, click, go, login, texts

DEV = "dev@example.com"


@pytest.fixture(scope="module")
def developer(app_db):
    return app_db.add_user(DEV, Role.developer)


def _accounts(app_db):
    with app_db.tx() as s:
        return {a.name: a for a in accounts.list_accounts(s, app_db.actor(s, DEV))}


def _plans(app_db):
    with app_db.tx() as s:
        return {p.slug: p for p in accounts.list_plans(s, app_db.actor(s, DEV), include_inactive=True)}


def _fill_account(at, name: str, plan_id: int, status: str, email: str, password: str):
    at.text_input(key="account_name").input(name)
    at.selectbox(key="account_plan").set_value(plan_id)
    at.selectbox(key="account_status").set_value(status)
    at.text_input(key="account_owner_email").input(email)
    at.text_input(key="account_owner_password").input(password)
    at.text_input(key="account_owner_first").input("Olga")
    return click(at, "account_create_submit")


def test_developer_creates_account_with_owner(app_db, developer):
    starter = _plans(app_db)["starter"]
    at = go(login(DEV, PASSWORD), "pages/accounts.py")
    at = _fill_account(at, "Acme Media", starter.id, "active", "olga@acme.example", "acme-owner-2024")
    assert texts(at.success) == ["Account “Acme Media” created with owner olga@acme.example."]
    acme = _accounts(app_db)["Acme Media"]
    assert (acme.slug, acme.plan_id, acme.status, acme.credits) == ("acme-media", starter.id, AccountStatus.active, 0)
    with app_db.tx() as s:
        owner = app_db.user(s, "olga@acme.example")
        assert (owner.role, owner.account_id, owner.first_name) == (Role.owner, acme.id, "Olga")
        assert acme.owner_id == owner.id
    table = at.container(key="accounts_table").dataframe[0].value
    assert table[table["Name"] == "Acme Media"].iloc[0]["Plan"] == starter.name
    assert table.set_index("Name")["System"].to_dict() == {"Acme Media": False, "My Agency": True}
    assert "Acme Media" in at.sidebar.selectbox(key="scope_account_id").options
    assert texts(login("olga@acme.example", "acme-owner-2024").title) == ["Overview"]


def test_account_and_owner_are_one_transaction(app_db, developer):
    at = go(login(DEV, PASSWORD), "pages/accounts.py")
    at = _fill_account(at, "Half Made", _plans(app_db)["free"].id, "trial", "half@example.com", "weak")
    assert texts(at.error) == ["The password needs at least 10 characters."]
    assert "Half Made" not in _accounts(app_db)  # the owner failed, so the account was rolled back too


def test_developer_changes_plan_and_status(app_db, developer):
    plans = _plans(app_db)
    home = _accounts(app_db)["My Agency"]
    at = go(login(DEV, PASSWORD), "pages/accounts.py")
    at.selectbox(key="account_pick").set_value(home.id).run()
    at.selectbox(key=f"account_edit_plan_{home.id}").set_value(plans["growth"].id)
    at.selectbox(key=f"account_edit_status_{home.id}").set_value("suspended")
    click(at, f"account_edit_submit_{home.id}")
    assert texts(at.success) == ["Account “My Agency” saved."]
    changed = _accounts(app_db)["My Agency"]
    assert (changed.plan_id, changed.status) == (plans["growth"].id, AccountStatus.suspended)
    at.selectbox(key=f"account_edit_status_{home.id}").set_value("active")  # back, for the other tests
    at.selectbox(key=f"account_edit_plan_{home.id}").set_value(plans["agency"].id)
    click(at, f"account_edit_submit_{home.id}")
    assert _accounts(app_db)["My Agency"].status == AccountStatus.active


def test_developer_sets_the_system_flag(app_db, developer):
    home = _accounts(app_db)["My Agency"]
    assert home.is_system  # the first owner's account runs the platform
    at = go(login(DEV, PASSWORD), "pages/accounts.py")
    at.selectbox(key="account_pick").set_value(home.id).run()
    at.checkbox(key=f"account_edit_system_{home.id}").uncheck()
    click(at, f"account_edit_submit_{home.id}")
    assert not _accounts(app_db)["My Agency"].is_system
    at.checkbox(key=f"account_edit_system_{home.id}").check()  # back, for the other tests
    click(at, f"account_edit_submit_{home.id}")
    assert _accounts(app_db)["My Agency"].is_system


def test_developer_creates_and_edits_a_plan(app_db, developer):
    at = go(login(DEV, PASSWORD), "pages/plans.py")
    at.text_input(key="plan_name").input("Enterprise")
    at.text_input(key="plan_price_monthly").input("499.90")
    at.text_input(key="plan_price_yearly").input("4999.00")
    at.number_input(key="plan_max_sites").set_value(50)
    at.number_input(key="plan_included_credits").set_value(100000)
    click(at, "plan_create_submit")
    assert texts(at.success) == ["Plan “Enterprise” created."]
    plan = _plans(app_db)["enterprise"]
    assert (plan.price_monthly, plan.price_yearly, plan.max_sites, plan.included_credits) == (
        Decimal("499.90"), Decimal("4999.00"), 50, 100000)

    at.selectbox(key="plan_pick").set_value(plan.id).run()
    at.text_input(key=f"plan_edit_monthly_{plan.id}").input("549.00")
    at.number_input(key=f"plan_edit_{plan.id}_max_users").set_value(25)
    at.checkbox(key=f"plan_edit_active_{plan.id}").uncheck()
    click(at, f"plan_edit_submit_{plan.id}")
    assert texts(at.success) == ["Plan “Enterprise” saved."]
    edited = _plans(app_db)["enterprise"]
    assert (edited.price_monthly, edited.max_users, edited.max_sites, edited.is_active) == (
        Decimal("549.00"), 25, 50, False)
    table = at.container(key="plans_table").dataframe[0].value
    assert table[table["Slug"] == "enterprise"].iloc[0]["Monthly"] == "549.00"


def test_bad_price_is_a_message(app_db, developer):
    at = go(login(DEV, PASSWORD), "pages/plans.py")
    at.text_input(key="plan_name").input("Cheap")
    at.text_input(key="plan_price_monthly").input("1.999")
    click(at, "plan_create_submit")
    assert texts(at.error) == ["Monthly price must be between 0 and 99,999,999.99 with at most 2 decimals."]
    assert "cheap" not in _plans(app_db)
