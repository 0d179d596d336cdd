"""Automation runs: the runs of the picked site (or of every site) with their progress, credits and why they stopped;
a run's page (picked here, or named by ?run=ID) with its forecast against the credits it used, each stage's results,
the failed items with their messages, and Pause / Resume / Cancel / Retry failed as its status allows. While a run is
pending or running the screen refreshes itself every two seconds."""
import streamlit as st

import ui
import ui_runs
from core.automation import config, runs
from core.automation.runs import RunView

PICK = "runs_pick"
SEEN = "runs_query_seen"  # the ?run= value already taken over into the picker

ctx = ui.current("Automation runs")
actor = ctx.actor
tz = ctx.scope.timezone

all_sites = st.toggle("All sites", key="runs_all_sites", value=ctx.scope.site_id is None,
                      disabled=ctx.scope.site_id is None)
site_id = None if all_sites else ctx.scope.site_id
st.caption(("Every site of the account" if site_id is None else f"Site: {ui.md(ctx.scope.site_name)}")
           + f" — times in {ui.md(tz)}")


def listing() -> list[RunView]:
    return ui.run_action(lambda s: runs.list_runs(s, actor, site_id=site_id, limit=100)) or []


def label(run: RunView | None, run_id: int) -> str:
    if run is None:
        return f"Run #{run_id}"
    return f"{run.run_id} · {run.site_name} · {run.status} · {ui.local_time(run.created_at, tz)}"


def pick(rows: list[RunView]) -> int | None:
    """The run to show: the one ?run= names when it changed, else the one picked (the newest at first)."""
    named = st.query_params.get("run")
    if named is not None and named != st.session_state.get(SEEN):
        st.session_state[SEEN] = named
        if named.isdigit():
            st.session_state[PICK] = int(named)
    by_id = {r.id: r for r in rows}
    options = list(by_id)
    chosen = st.session_state.get(PICK)
    if chosen is not None and chosen not in by_id:
        if chosen == _named_id():
            options.insert(0, chosen)  # a run the link names that this list does not show (older, other site)
        else:
            st.session_state.pop(PICK)
    if not options:
        return None
    picked = st.selectbox("Run", options, key=PICK, format_func=lambda i: label(by_id.get(i), i))
    st.query_params["run"] = st.session_state[SEEN] = str(picked)  # the address names the run shown
    return picked


def _named_id() -> int | None:
    named = st.session_state.get(SEEN)
    return int(named) if named and named.isdigit() else None


def table(rows: list[RunView]) -> None:
    ui.table(({"Run": r.run_id, "Site": r.site_name, "Status": r.status, "Trigger": r.trigger,
               "Stage": f"{r.current_stage} · {ui_runs.stage_name(r.current_stage)}", "Progress": r.progress,
               "Credits used": r.credits_used, "Forecast": r.forecast_credits,
               "Duration": ui_runs.duration(r.duration), "Why it stopped": r.reason,
               "Created": ui.local_time(r.created_at, tz)} for r in rows),
             key="runs_table", empty="No automation run yet: start one on the Automation screen.",
             column_config={"Progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0,
                                                                        format="percent")})


def stage_rows(run: RunView) -> list[dict]:
    forecast = {s["stage"]: s for s in run.forecast.get("stages", [])}
    rows = []
    for n, name in config.STAGES.items():
        done, planned = run.stage_results.get(str(n)) or {}, forecast.get(n) or {}
        state = "done" if "finished_at" in done else "working" if done else "not reached"
        rows.append({"Stage": n, "What": name, "State": state, "Forecast items": planned.get("items", 0),
                     "Forecast credits": planned.get("credits", 0), "Planned": done.get("planned"),
                     "Done": done.get("done"), "Skipped": done.get("skipped"), "Failed": done.get("failed"),
                     "Credits": done.get("credits"),
                     "Time (s)": round(done["time_ms"] / 1000, 1) if "time_ms" in done else None})
    return rows


def run_page(run_id: int) -> None:
    run = ui.run_action(lambda s: runs.get(s, actor, run_id=run_id))
    if run is None:
        return
    failed = ui.run_action(lambda s: runs.items(s, actor, run_id=run_id, status="failed")) or []
    st.subheader(f"{ui.md(run.run_id)} · {ui.md(run.site_name)}")
    st.caption(f"{ui.md(run.trigger)} run · created {ui.md(ui.local_time(run.created_at, tz))}"
               + (f" · started {ui.md(ui.local_time(run.started_at, tz))}" if run.started_at else "")
               + (f" · ended {ui.md(ui.local_time(run.completed_at, tz))}" if run.completed_at else "")
               + (f" · took {ui.md(ui_runs.duration(run.duration))}" if run.duration else "")
               + (f" · worked by {ui.md(run.worker)}" if run.worker else ""))
    ui_runs.summary(run)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Forecast credits", f"{run.forecast_credits:,}")
    m2.metric("Credits used", f"{run.credits_used:,}", delta_color="inverse",
              delta=f"{run.credits_used - run.forecast_credits:+,} vs forecast")
    m3.metric("Budget", f"{run.budget:,}")
    m4.metric("Items", f"{run.items_processed:,} of {run.items_total:,}")
    ui_runs.controls(actor, run, key="run", failed=len(failed))
    st.markdown("**Stages**")
    ui.table(stage_rows(run), key="run_stages", empty="No stage.")
    st.markdown("**Failed items**")
    ui.table(({"Stage": i.stage, "Item": i.label, "Attempt": i.attempt, "Estimate": i.estimate,
               "Message": i.message} for i in failed), key="run_failed", empty="No item failed.")


def body(live: bool) -> None:
    rows = listing()
    if live and not any(r.status in ui_runs.LIVE for r in rows):
        st.rerun()  # nothing is moving any more: a full run draws the screen without the timer
    table(rows)
    chosen = pick(rows)
    if chosen is not None:
        run_page(chosen)


moving = any(r.status in ui_runs.LIVE for r in listing())
st.fragment(body, run_every=ui_runs.REFRESH_S if moving else None)(moving)
