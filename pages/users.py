"""Admin: the account's users — create, change role or names, (de)activate, reset a password, grant sites."""
import streamlit as st

import ui
from core.identity import sites, users

ctx = ui.current("Users", admin=True)
actor = ctx.actor
tz = ctx.scope.timezone


def _load(s):
    return users.list_users(s, actor), {x.id: x.name for x in sites.list_sites(s, actor)}


loaded = ui.run_action(_load)
if loaded is None:
    st.stop()
user_rows, site_names = loaded
user_by_id = {u.id: u for u in user_rows}
roles = [r.value for r in users.assignable_roles(actor)]

ui.table(({"E-mail": u.email, "Name": f"{u.first_name} {u.last_name}".strip(), "Role": u.role.value,
           "Active": u.is_active, f"Last login ({tz})": ui.local_time(u.last_login_at, tz),
           "Failed logins": u.failed_logins, "Locked until": ui.local_time(u.locked_until, tz)}
          for u in user_rows), empty="No users yet.", key="users_table")

with st.expander("Add a user"), st.form("user_create"):
    email = st.text_input("E-mail", key="user_email")
    password = st.text_input("Password", type="password", key="user_password",
                             help="At least 10 characters, not only letters or only digits.")
    role = st.selectbox("Role", roles, index=ui.index_of(roles, "editor"), key="user_role")
    first = st.text_input("First name", key="user_first")
    last = st.text_input("Last name", key="user_last")
    if st.form_submit_button("Create user", key="user_create_submit", type="primary"):
        ui.run_action(lambda s: users.create_user(s, actor, email=email, password=password, role=role,
                                                  first_name=first, last_name=last),
                      success=f"User {email.strip().lower()} created.",
                      clear=("user_email", "user_password", "user_first", "user_last"))

if not user_rows:
    st.stop()

st.divider()
user_ids = list(user_by_id)
user_id = st.selectbox("Manage user", user_ids, key="user_pick",
                       format_func=lambda i: f"{user_by_id[i].email} ({user_by_id[i].role.value})")
user = user_by_id[user_id]
uid = user.id

with st.form(f"user_edit_{uid}"):
    st.markdown(f"**{ui.md(user.email)}**")
    e_role = st.selectbox("Role", roles, index=ui.index_of(roles, user.role.value), key=f"user_edit_role_{uid}")
    e_first = st.text_input("First name", value=user.first_name, key=f"user_edit_first_{uid}")
    e_last = st.text_input("Last name", value=user.last_name, key=f"user_edit_last_{uid}")
    e_active = st.checkbox("Active", value=user.is_active, key=f"user_edit_active_{uid}")
    if st.form_submit_button("Save user", key=f"user_edit_submit_{uid}"):
        ui.run_action(lambda s: users.update_user(s, actor, user_id=uid, role=e_role, is_active=e_active,
                                                  first_name=e_first, last_name=e_last),
                      success=f"User {user.email} saved.")

with st.expander("Reset password"), st.form(f"user_reset_{uid}", clear_on_submit=True):
    new_password = st.text_input("New password", type="password", key=f"user_reset_password_{uid}")
    if st.form_submit_button("Set password", key=f"user_reset_submit_{uid}"):
        ui.run_action(lambda s: users.reset_password(s, actor, user_id=uid, new_password=new_password),
                      success=f"Password of {user.email} changed; their open sessions ended.")

st.subheader("Site access")
if user.role not in users.SITE_SCOPED_ROLES:
    role_name = user.role.value
    st.caption(f"{'An' if role_name[:1] in 'aeiou' else 'A'} {role_name} sees every site of the account.")
    st.stop()

granted = ui.run_action(lambda s: [x.id for x in users.list_site_access(s, actor, user_id=uid)])
if granted is None:
    st.stop()
with st.form(f"user_sites_{uid}"):
    picked = st.multiselect("Sites this user may use", list(site_names), default=granted,
                            format_func=site_names.__getitem__, key=f"user_sites_pick_{uid}")
    if st.form_submit_button("Save site access", key=f"user_sites_submit_{uid}"):
        ui.run_action(lambda s: users.set_site_access(s, actor, user_id=uid, site_ids=picked),
                      success=f"Site access of {user.email} saved.")
