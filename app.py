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
planner_keywords = st.Page("pages/keywords.py", title="Keywords", icon=":material/key:", url_path="planner-keywords")
planner_clusters = st.Page("pages/clusters.py", title="Clusters", icon=":material/hub:", url_path="planner-clusters")
planner_ideas = st.Page("pages/ideas.py", title="Ideas", icon=":material/lightbulb:", url_path="planner-ideas")
planner_import = st.Page("pages/keyword_import.py", title="Import keywords", icon=":material/upload_file:",
                         url_path="planner-import")
planner_library = st.Page("pages/keyword_library.py", title="Keyword library", icon=":material/local_library:",
                          url_path="planner-library")
my_account = st.Page("pages/my_account.py", title="My account", icon=":material/person:", url_path="my-account")
ai_settings = st.Page("pages/ai_settings.py", title="AI settings", icon=":material/tune:", url_path="settings-ai")
prompts = st.Page("pages/prompts.py", title="Prompts & voices", icon=":material/edit_note:",
                  url_path="settings-prompts")
ai_admin = st.Page("pages/ai_admin.py", title="AI providers & models", icon=":material/smart_toy:",
                   url_path="admin-ai-providers")
ai_pricing = st.Page("pages/ai_pricing.py", title="Pricing & AI defaults", icon=":material/price_change:",
                     url_path="admin-ai-pricing")
credit_usage = st.Page("pages/credit_usage.py", title="Credit usage", icon=":material/monitoring:",
                        url_path="billing-usage")
credits_page = st.Page("pages/credits.py", title="Credits", icon=":material/toll:", url_path="billing-credits")

# Only what the role may use is listed; core checks every action again.
sections: dict[str, list] = {"Workspace": [overview, planner_keywords, planner_clusters, planner_ideas]}
if ctx.actor.can_write:  # editors and up import keywords
    sections["Workspace"].insert(2, planner_import)
sections["Library"] = [planner_library]  # everyone reads it; curating is for platform admins (core checks)
sections["Settings"] = [ai_settings, prompts]
admin_pages = [sites, users, ai_admin, ai_pricing] if ctx.actor.is_admin else []
if ctx.actor.is_developer:
    admin_pages += [accounts, plans]
if ctx.actor.is_admin:
    sections["Billing"] = [credit_usage, credits_page]
if admin_pages:
    sections["Admin"] = admin_pages
sections["Account"] = [my_account]

st.navigation(sections, expanded=True).run()  # every page listed, no "View more"
