"""Developers: every tenant account — create one with its first owner, change its plan, status or system flag."""
import streamlit as st

import ui
from core.identity import accounts, users
from db.enums import AccountStatus

SYSTEM_HELP = ("The team running this dashboard: the owners and admins of a system account may change what every "
               "account shares (AI providers and models, the keyword library). Customer accounts are not system.")

ctx = ui.current("Accounts", developer=True)
platform = ctx.platform  # across all accounts, whatever the sidebar picked


def _load(s):
    plans = {p.id: p.name for p in accounts.list_plans(s, platform, include_inactive=True)}
    return accounts.list_accounts(s, platform), plans


loaded = ui.run_action(_load)
if loaded is None:
    st.stop()
account_rows, plan_names = loaded
account_by_id = {a.id: a for a in account_rows}
statuses = [s.value for s in AccountStatus]
plan_ids, plan_name = ui.options_with_none(plan_names, "no plan")

ui.table(({"ID": a.id, "Name": a.name, "Slug": a.slug, "Plan": plan_names.get(a.plan_id, ""),
           "Status": a.status.value, "System": a.is_system, "Credits": a.credits,
           "Created": ui.local_time(a.created_at)}
          for a in account_rows), empty="No accounts yet.", key="accounts_table")


def _create(s, *, name, slug, plan_id, status, system, email, password, first, last):
    """The account and its first owner in one transaction: neither exists without the other."""
    account = accounts.create_account(s, platform, name=name, slug=slug or None, plan_id=plan_id, status=status,
                                      is_system=system)
    users.create_user(s, platform.in_account(account.id), email=email, password=password, role="owner",
                      first_name=first, last_name=last)
    return account


with st.expander("Add an account", expanded=not account_rows), st.form("account_create"):
    name = st.text_input("Account name", key="account_name")
    slug = st.text_input("Slug (optional, made from the name)", key="account_slug")
    plan_id = st.selectbox("Plan", plan_ids, index=min(1, len(plan_ids) - 1), format_func=plan_name,
                           key="account_plan")
    status = st.selectbox("Status", statuses, index=ui.index_of(statuses, "trial"), key="account_status")
    system = st.checkbox("System account", key="account_system", help=SYSTEM_HELP)
    st.markdown("**First owner**")
    email = st.text_input("Owner e-mail", key="account_owner_email")
    password = st.text_input("Owner password", type="password", key="account_owner_password")
    first = st.text_input("Owner first name", key="account_owner_first")
    last = st.text_input("Owner last name", key="account_owner_last")
    if st.form_submit_button("Create account", key="account_create_submit", type="primary"):
        ui.run_action(lambda s: _create(s, name=name, slug=slug, plan_id=plan_id, status=status, system=system,
                                        email=email, password=password, first=first, last=last),
                      success=f"Account “{name.strip()}” created with owner {email.strip().lower()}.",
                      clear=("account_name", "account_slug", "account_owner_email", "account_owner_password",
                             "account_owner_first", "account_owner_last"))

if not account_rows:
    st.stop()

st.divider()
account_ids = list(account_by_id)
account_id = st.selectbox("Manage account", account_ids, index=ui.index_of(account_ids, ctx.scope.account_id),
                          format_func=lambda i: account_by_id[i].name, key="account_pick")
account = account_by_id[account_id]

with st.form(f"account_edit_{account.id}"):
    e_plan = st.selectbox("Plan", plan_ids, index=ui.index_of(plan_ids, account.plan_id), format_func=plan_name,
                          key=f"account_edit_plan_{account.id}")
    e_status = st.selectbox("Status", statuses, index=ui.index_of(statuses, account.status.value),
                            key=f"account_edit_status_{account.id}")
    e_system = st.checkbox("System account", value=account.is_system, key=f"account_edit_system_{account.id}",
                           help=SYSTEM_HELP)
    if st.form_submit_button("Save account", key=f"account_edit_submit_{account.id}"):
        ui.run_action(lambda s: accounts.update_account(s, platform, account_id=account.id, plan_id=e_plan,
                                                        status=e_status, is_system=e_system),
                      success=f"Account “{account.name}” saved.")
