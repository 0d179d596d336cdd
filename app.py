"""IGNY8 Dashboard entry point: page config, login gate, scope picker, and the navigation the role may use."""
import streamlit as st

import ui

st.set_page_config(page_title="IGNY8 Dashboard", page_icon=":material/insights:", layout="wide")

# Every url_path differs from its file's name on purpose. Because a pages/ directory exists, Streamlit falls back
# to directory discovery until st.navigation has been called once in the process (and in every AppTest run); a
# url_path equal to the file name would then run that page directly, without this login gate. ui.current()
# checks the login again in every page for the same reason.
PAGES = {  # file in pages/: title, Material icon, url_path
    "overview": ("Overview", "dashboard", "home"),
    "sites": ("Sites & sectors", "language", "admin-sites"),
    "users": ("Users", "group", "admin-users"),
    "accounts": ("Accounts", "domain", "admin-accounts"),
    "plans": ("Plans", "sell", "admin-plans"),
    "keywords": ("Keywords", "key", "planner-keywords"),
    "clusters": ("Clusters", "hub", "planner-clusters"),
    "ideas": ("Ideas", "lightbulb", "planner-ideas"),
    "keyword_import": ("Import keywords", "upload_file", "planner-import"),
    "keyword_library": ("Keyword library", "local_library", "planner-library"),
    "writer_tasks": ("Writer queue", "edit_square", "writer-queue"),
    "content": ("Content", "article", "writer-content"),
    "article": ("Article", "description", "writer-article"),
    "publishing": ("Publishing calendar", "calendar_month", "publishing-calendar"),
    "wordpress": ("WordPress connection", "link", "publishing-wordpress"),
    "sync_log": ("Sync log", "history", "publishing-log"),
    "automation": ("Automation", "smart_toy", "automation-settings"),  # not "automation": see above
    "automation_runs": ("Automation runs", "manage_history", "automation-runs"),
    "schedulers": ("Scheduler status", "monitor_heart", "scheduler-status"),
    "my_account": ("My account", "person", "my-account"),
    "ai_settings": ("AI settings", "tune", "settings-ai"),
    "prompts": ("Prompts & voices", "edit_note", "settings-prompts"),
    "ai_admin": ("AI providers & models", "smart_toy", "admin-ai-providers"),
    "ai_pricing": ("Pricing & AI defaults", "price_change", "admin-ai-pricing"),
    "credit_usage": ("Credit usage", "monitoring", "billing-usage"),
    "credits": ("Credits", "toll", "billing-credits"),
}
page = {name: st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", url_path=url,
                      default=name == "overview")
        for name, (title, icon, url) in PAGES.items()}

# The login form runs under a hidden navigation of every page, so that the login lands on the page that was opened.
ctx = ui.gate(list(page.values()))  # the login form and a stop when nobody is logged in

# Only what the role may use is listed; core checks every action again.
sections: dict[str, list] = {"Workspace": [page["overview"], page["keywords"], page["clusters"], page["ideas"]]}
if ctx.actor.can_write:  # editors and up import keywords
    sections["Workspace"].insert(2, page["keyword_import"])
sections["Writer"] = [page["writer_tasks"], page["content"], page["article"]]
sections["Publishing"] = [page["publishing"], page["wordpress"], page["sync_log"]]
sections["Automation"] = [page["automation"], page["automation_runs"], page["schedulers"]]  # core checks writes
sections["Library"] = [page["keyword_library"]]  # everyone reads it; curating is for platform admins (core checks)
sections["Settings"] = [page["ai_settings"], page["prompts"]]
admin_pages = [page[n] for n in ("sites", "users", "ai_admin", "ai_pricing")] if ctx.actor.is_admin else []
if ctx.actor.is_developer:
    admin_pages += [page["accounts"], page["plans"]]
if ctx.actor.is_admin:
    sections["Billing"] = [page["credit_usage"], page["credits"]]
if admin_pages:
    sections["Admin"] = admin_pages
sections["Account"] = [page["my_account"]]

current = st.navigation(sections, expanded=True)  # every page listed, no "View more"
ui.sidebar(ctx)  # after st.navigation: its widgets keep their ids from run to run (see ui.gate)
current.run()
