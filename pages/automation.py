"""Automation: a site's automation settings (when it runs, how much each stage takes, delays, approval and
publishing, time and credit limits), when it runs next, the forecast of a run with today's data, Run now, and the
site's active run with its progress and Pause / Resume / Cancel."""
import streamlit as st

import ui
import ui_runs
from core.automation import config, runs, schedulers
from db.enums import Frequency

FREQUENCIES = [f.value for f in Frequency]
CHOICE = {"site": "Follow the site's publishing settings", "on": "On", "off": "Off"}
CLUSTERING = {"offline": "Offline (the built-in clusterer)", "ai": "AI (costs credits)"}
ADMIN_ONLY = "Owners and admins change the automation settings."
KEYS = {name: f"auto_{name}" for name in config.NAMES}  # one widget per setting, keyed by its name
SEEDED = "auto_settings_for"  # the site whose saved settings the widgets were last filled with

ctx = ui.current("Automation")
actor = ctx.actor
ro = ui.view_only(actor)
site_id = ui.picked_site(ctx)

view = ui.run_action(lambda s: config.get(s, actor, site_id=site_id))
if view is None:
    st.stop()
tz = view.timezone
st.caption(f"Site: {ui.md(view.site_name)} — times in the site's timezone, {ui.md(tz)}")


def next_run_text(v: config.ConfigView) -> str:
    local = v.next_run_local
    if local is None:
        return "Automation is off: no run is scheduled (Run now works all the same)."
    return f"Next run: {local:%a %Y-%m-%d %H:%M} {v.timezone}"


st.info(ui.md(next_run_text(view)))
if view.last_run_at is not None:
    st.caption(f"Last run: {ui.md(ui.local_time(view.last_run_at, tz))}")

# The widgets take the saved settings when the site changes, after a save, and when they were dropped (another page
# was open); otherwise they keep what was typed, a refused value included, so it can be corrected.
if st.session_state.get(SEEDED) != site_id or KEYS["is_enabled"] not in st.session_state:
    for name, value in view.settings.as_dict().items():
        st.session_state[KEYS[name]] = value
    st.session_state[SEEDED] = site_id

st.subheader("Settings")
if not view.saved:
    st.caption("Nothing saved yet: these are the defaults (automation off).")
with st.form(f"auto_settings_{site_id}"):
    values: dict[str, object] = {}
    c1, c2, c3 = st.columns(3)
    values["is_enabled"] = c1.toggle("Automation on (runs on its schedule)", key=KEYS["is_enabled"])
    values["frequency"] = c2.selectbox("Frequency", FREQUENCIES, key=KEYS["frequency"],
                                       help="Weekly runs on Mondays, monthly runs on the 1st.")
    values["scheduled_time"] = c3.text_input(f"Time of day (HH:MM, {ui.md(tz)})", key=KEYS["scheduled_time"])
    st.markdown("**Batch size per stage** — the items a stage takes in one run at most")
    columns = st.columns(4)
    for n in config.STAGES:
        name = f"stage_{n}_batch_size"
        values[name] = columns[(n - 1) % 4].number_input(config.LABELS[name], key=KEYS[name], step=1)
    st.markdown("**How it works**")
    c1, c2, c3 = st.columns(3)
    values["ideas_per_cluster"] = c1.number_input(config.LABELS["ideas_per_cluster"], step=1,
                                                  key=KEYS["ideas_per_cluster"])
    values["clustering"] = c2.selectbox("Clustering", list(CLUSTERING), format_func=CLUSTERING.__getitem__,
                                        key=KEYS["clustering"])
    values["stop_on_error"] = c3.toggle("Stop on the first error", key=KEYS["stop_on_error"])
    values["within_stage_delay"] = c1.number_input(config.LABELS["within_stage_delay"], step=1,
                                                   key=KEYS["within_stage_delay"])
    values["between_stage_delay"] = c2.number_input(config.LABELS["between_stage_delay"], step=1,
                                                    key=KEYS["between_stage_delay"])
    values["auto_approve"] = c1.selectbox("Approve the articles it writes", list(CHOICE), key=KEYS["auto_approve"],
                                          format_func=CHOICE.__getitem__)
    values["auto_publish"] = c2.selectbox("Put approved articles into publishing slots", list(CHOICE),
                                          key=KEYS["auto_publish"], format_func=CHOICE.__getitem__)
    st.markdown("**Limits of one run**")
    c1, c2, _ = st.columns(3)
    values["max_run_minutes"] = c1.number_input(config.LABELS["max_run_minutes"], step=1,
                                                key=KEYS["max_run_minutes"])
    values["credit_budget"] = c2.number_input(config.LABELS["credit_budget"], step=1, key=KEYS["credit_budget"])
    submitted = st.form_submit_button("Save settings", type="primary", key="auto_save", disabled=not actor.is_admin,
                                      help=None if actor.is_admin else ADMIN_ONLY)
if submitted:
    saved = ui.run_action(lambda s: config.update(s, actor, site_id=site_id, changes=values))
    if saved is not None:  # a refused value showed the core's message above and saved nothing
        st.session_state.pop(SEEDED, None)
        ui.flash(f"Automation settings saved. {next_run_text(saved)}")
        st.rerun()

recent = ui.run_action(lambda s: runs.list_runs(s, actor, site_id=site_id, limit=10)) or []
active = next((r for r in recent if r.status in runs.ACTIVE), None)

st.subheader("Forecast of a run now")
if actor.can_write:
    fc = ui.run_action(lambda s: runs.forecast(s, actor, site_id=site_id), warn=True)  # e.g. no AI provider yet
    if fc is not None:
        ui.table(({"Stage": f.stage, "What": f.name, "Items": f.items, "Credits": f.credits} for f in fc.stages),
                 key="auto_forecast", empty="No stage to forecast.")
        m1, m2, m3 = st.columns(3)
        m1.metric("Forecast", f"{fc.credits:,} credits", help=f"{fc.items:,} item(s) in all")
        m2.metric("Budget per run", f"{fc.budget:,} credits")
        m3.metric("Available", f"{fc.available:,} credits")
        if fc.nothing_to_do:
            st.caption("Nothing to do with today's data: a run now would stop at once.")
        else:
            st.caption(f"Run now holds {fc.reserve:,} credits (the forecast, at most the budget) until it ends.")
else:
    st.caption("The forecast is for editors and up.")

sched = ui.run_action(lambda s: schedulers.status(s, actor))
if sched is not None and sched.warning:
    st.warning(ui.md(sched.warning))


def start(s):
    run = runs.start(s, actor, site_id=site_id)
    return run.run_id, run.status.value, run.error_message  # read inside the transaction


busy = "This site has a run already: pause, resume or cancel it below." if active else None
if st.button("Run now", key="auto_run_now", type="primary", icon=":material/play_arrow:",
             disabled=ro is not None or active is not None, help=ro or busy):
    started = ui.run_action(start)
    if started is not None:
        run_id, status, message = started
        ui.flash(f"{run_id}: {message}" if status == "completed" else
                 f"Started {run_id}: it waits for a scheduler to pick it up.")
        st.rerun()


@st.fragment(run_every=ui_runs.REFRESH_S if ui_runs.is_live(active) else None)
def active_run(run_id: int) -> None:
    run = ui.run_action(lambda s: runs.get(s, actor, run_id=run_id))
    if run is None:
        return
    if run.status not in runs.ACTIVE:
        st.rerun()  # it finished: the whole page shows that (and stops refreshing)
    ui_runs.summary(run)
    ui_runs.controls(actor, run, key="auto")
    ui_runs.link(run)


if active is not None:
    st.subheader("Active run")
    active_run(active.id)
elif recent:
    last = recent[0]
    st.caption(f"Last run {ui.md(last.run_id)}: {ui.md(ui_runs.STATUS.get(last.status, last.status))}"
               + (f" — {ui.md(last.reason)}" if last.reason else ""))
    ui_runs.link(last)
