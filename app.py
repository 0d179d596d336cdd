"""IGNY8 Dashboard entry point: page config, login gate, scope picker, and the navigation the role may use."""
import streamlit as st

import ui

st.set_page_config(page_title="IGNY8 Dashboard", page_icon=":material/insights:", layout="wide")

ctx = ui.gate()  # the login form and a stop when nobody is logged in

# Every url_path differs from its file's name on purpose. Because a pages/ directory exists, Streamlit falls back
# to directory discovery until st.navigation has been called once in the process (and in every AppTest run); a
# url_path equal to the file name would then run that page directly, without this login gate. ui.current()
# checks the login again in every page for the same reason.
overview = st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="home",
                   default=True)
sites = st.Page("pages/sites.py", title="Sites & sectors", icon=":material/language:", url_path="admin-sites")
users = st.Page("pages/users.py", title="Users", icon=":material/group:", url_path="admin-users")
accounts = st.Page("pages/accounts.py", title="Accounts", icon=":material/domain:", url_path="admin-accounts")
plans = st.Page("pages/plans.py", title="Plans", icon=":material/sell:", url_path="admin-plans")
my_account = st.Page("pages/my_account.py", title="My account", icon=":material/person:", url_path="my-account")

# Only what the role may use is listed; core checks every action again.
sections: dict[str, list] = {"Workspace": [overview]}
admin_pages = [sites, users] if ctx.actor.is_admin else []
if ctx.actor.is_developer:
    admin_pages += [accounts, plans]
if admin_pages:
    sections["Admin"] = admin_pages
sections["Account"] = [my_account]

st.navigation(sections).run()
