"""Publishing: the sync log of a site's WordPress integration — every check, sync and publish action with its
duration and outcome, filtered by action, outcome and article."""
import streamlit as st

import ui
from core.publishing import events

ctx = ui.current("Sync log")
actor = ctx.actor
site_id = ui.picked_site(ctx)

f1, f2, f3 = st.columns(3)
action = f1.selectbox("Action", ["", *events.ACTIONS], key="log_action", format_func=lambda a: a or "Any")
outcome = f2.selectbox("Outcome", ["any", "failed", "succeeded"], key="log_outcome")
content_id = f3.number_input("Article id", min_value=0, value=0, step=1, key="log_content",
                             help="0: every article")
filters = events.Filter(action=action or None, success={"any": None, "failed": False, "succeeded": True}[outcome],
                        content_id=int(content_id) or None)
if st.session_state.get("log_filters") != (site_id, filters):
    st.session_state["log_filters"], st.session_state["log_pages"] = (site_id, filters), [None]
cursors: list = st.session_state["log_pages"]
page = ui.run_action(lambda s: events.list_events(s, actor, site_id=site_id, filters=filters, after=cursors[-1]))
if page is None:
    st.stop()
ui.table(({"When": ui.local_time(e.created_at, ctx.scope.timezone), "Action": e.action,
           "Outcome": "ok" if e.success else "failed", "Article": e.content_id or "", "WordPress id": e.external_id,
           "ms": e.duration_ms, "Error": e.error_message} for e in page.rows),
         key="log_table", empty="Nothing logged yet: checks, syncs and publishing show here.")
ui.pager(cursors, page.next_after, state_key="log_pages", key="log")
