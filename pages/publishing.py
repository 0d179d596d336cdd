"""Publishing: a site's calendar of scheduled and published articles with its free slots (site time), the articles
waiting for a slot, and its publishing settings (auto-approve, auto-publish, limits, days, time slots)."""
from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

import ui
from core.publishing import settings as publishing_settings
from core.publishing import slots

ctx = ui.current("Publishing calendar")
actor = ctx.actor
ro = ui.view_only(actor)
site_id = ui.picked_site(ctx)
tz = ctx.scope.timezone
st.caption(f"Site: {ui.md(ctx.scope.site_name)} — times in the site's timezone, {ui.md(tz)}")

weeks = st.segmented_control("Show", [2, 4, 8], default=4, format_func=lambda n: f"{n} weeks", key="pub_weeks") or 4
days = ui.run_action(lambda s: slots.calendar(s, actor, site_id=site_id, days=7 * weeks))
if days is None:
    st.stop()

rows = []
for day in days:
    for item in day.items:
        rows.append({"Day": day.day.isoformat(), "When": item.local.replace(tzinfo=None),
                     "End": (item.local + timedelta(minutes=50)).replace(tzinfo=None), "What": item.status,
                     "Title": item.title})
    for slot in day.free:
        rows.append({"Day": day.day.isoformat(), "When": slot.local.replace(tzinfo=None),
                     "End": (slot.local + timedelta(minutes=50)).replace(tzinfo=None), "What": "free slot",
                     "Title": "free"})
if rows:
    frame = pd.DataFrame(rows)
    colors = {"scheduled": "#1f77b4", "publishing": "#ff7f0e", "published": "#2ca02c", "failed": "#d62728",
              "free slot": "#d9d9d9"}
    fig = px.timeline(frame, x_start="When", x_end="End", y="What", color="What", hover_data=["Title"],
                      color_discrete_map=colors)
    fig.update_layout(height=280, showlegend=False, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(fig, key="pub_timeline")
else:
    st.info("Nothing scheduled or published, and no free slot in this window (check the publishing days and "
            "limits below).")

st.subheader("Per day")
ui.table(({"Day": f"{d.day:%a %d %b}", "Scheduled": sum(i.status == "scheduled" for i in d.items),
           "Published": sum(i.status == "published" for i in d.items),
           "Failed": sum(i.status == "failed" for i in d.items),
           "Articles": "; ".join(f"{i.local:%H:%M} {i.title}" for i in d.items),
           "Free slots": ", ".join(f"{s.local:%H:%M}" for s in d.free)} for d in days if d.items or d.free),
         key="pub_days", empty="No publishing day in this window.")

plan = ui.run_action(lambda s: slots.plan(s, actor, site_id=site_id))
st.subheader("Waiting for a slot")
ui.table(({"Article": p.title, "Next free slot": p.slot.label} for p in (plan or [])), key="pub_plan",
         empty="No approved article is waiting: approve articles in Content, or they are all scheduled.")
if plan and st.button(f"Schedule these {len(plan)} article(s) into the slots", key="pub_place", type="primary",
                      disabled=not actor.can_write, help=ro):
    ui.run_action(lambda s: slots.place(s, actor, site_id=site_id), success=f"Scheduled {len(plan)} article(s).")

st.subheader("Publishing settings")
conf = ui.run_action(lambda s: publishing_settings.get(s, actor, site_id=site_id))
if conf is None:
    st.stop()
shown = conf if conf.configured else publishing_settings.defaults(site_id)
if not conf.configured:
    st.caption("Not set up yet: this site neither auto-approves nor auto-publishes. Saving starts from the defaults "
               "below.")
with st.form(f"pub_settings_{site_id}"):
    c1, c2 = st.columns(2)
    auto_approval = c1.toggle("Approve generated articles at once", key="pub_auto_approval", value=shown.auto_approval)
    auto_publish = c2.toggle("Put approved articles into the next free slot", key="pub_auto_publish", value=shown.auto_publish)
    l1, l2, l3 = st.columns(3)
    daily = l1.number_input("Per day", key="pub_daily", min_value=0, max_value=1000, value=shown.daily_limit, step=1)
    weekly = l2.number_input("Per week", key="pub_weekly", min_value=0, max_value=1000, value=shown.weekly_limit, step=1)
    monthly = l3.number_input("Per month", key="pub_monthly", min_value=0, max_value=1000, value=shown.monthly_limit, step=1)
    picked_days = st.multiselect("Publishing days", list(publishing_settings.DAYS), key="pub_days_pick", default=list(shown.days),
                                 format_func=lambda d: publishing_settings.DAY_NAMES[d])
    times = st.text_input("Time slots (HH:MM, comma-separated, site time)", key="pub_times", value=", ".join(shown.time_slots))
    if st.form_submit_button("Save settings", type="primary", key="pub_settings_submit", disabled=not actor.is_admin,
                             help=None if actor.is_admin else "Owners and admins change these."):
        ui.run_action(lambda s: publishing_settings.update(
            s, actor, site_id=site_id, auto_approval=auto_approval, auto_publish=auto_publish,
            daily_limit=int(daily), weekly_limit=int(weekly), monthly_limit=int(monthly), days=picked_days,
            time_slots=[t for t in (p.strip() for p in times.split(",")) if t]), success="Settings saved.")
