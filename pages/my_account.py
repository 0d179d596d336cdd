"""Everyone: who am I, change my own password, log out."""
import streamlit as st

import ui
from core.identity import accounts, auth

ctx = ui.current("My account")


account_names = ui.run_action(lambda s: {a.id: a.name for a in accounts.list_accounts(s, ctx.actor)}) or {}
st.markdown(f"**{ui.md(ctx.name)}**  \n{ui.md(ctx.email)}")
st.caption(f"Role: {ctx.actor.role.value} · Account: "
           f"{ui.md(account_names.get(ctx.actor.account_id, 'all accounts (developer)'))}")


def _change_password(s, current: str, new: str) -> auth.SessionTicket:
    """Change the password, then issue a new ticket: the change bumped the session version (other logins end)."""
    user, _ = auth.resume(s, ui.ticket())
    auth.change_password(s, user, current=current, new=new)
    return auth.issue_ticket(user)


st.subheader("Change password")
with st.form("password_change", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="pw_current")
    new = st.text_input("New password", type="password", key="pw_new",
                        help="At least 10 characters, not only letters or only digits.")
    repeat = st.text_input("New password again", type="password", key="pw_repeat")
    submitted = st.form_submit_button("Change password", key="pw_submit", type="primary")
if submitted:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        fresh = ui.run_action(lambda s: _change_password(s, current, new))
        if fresh is not None:
            ui.replace_ticket(fresh)
            ui.flash("Password changed. Other sessions of yours have ended.")
            st.rerun()

st.divider()
if st.button("Log out", key="logout_me", icon=":material/logout:"):
    ui.logout()
