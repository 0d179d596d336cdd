"""UI pieces the automation screens share: a run's status line with its progress bar, its Pause / Resume / Cancel /
Retry buttons (as its status allows; disabled for viewers) and the link to its page (?run=ID)."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

import ui
from core.automation import config, runs
from core.automation.runs import RunView
from core.tenancy import Actor

RUNS_PAGE = "pages/automation_runs.py"
LIVE = ("pending", "running")  # a screen showing such a run refreshes itself
REFRESH_S = 2.0
STATUS = {"pending": "waiting for a scheduler", "running": "running", "paused": "paused", "completed": "completed",
          "failed": "failed", "cancelled": "cancelled"}


def is_live(run: RunView | None) -> bool:
    return run is not None and run.status in LIVE


def stage_name(stage: int) -> str:
    return config.STAGES.get(stage, "finished")


def duration(value: timedelta | None) -> str:
    """A run's duration as h:mm:ss (empty before it started)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def summary(run: RunView) -> None:
    """The run's status, stage, items and credits on one line, a progress bar, and why it stopped."""
    st.markdown(f"**{ui.md(run.run_id)}** — {ui.md(STATUS.get(run.status, run.status))} · stage "
                f"{run.current_stage:d} of 8 ({ui.md(stage_name(run.current_stage))}) · {run.items_processed:,} of "
                f"{run.items_total:,} item(s) · {run.credits_used:,} credit(s) used of {run.forecast_credits:,} "
                "forecast")
    st.progress(run.progress, text=f"{run.progress:.0%} done")
    why = " — ".join(t for t in (run.reason, run.message) if t)
    if why:
        st.caption(ui.md(why))


def link(run: RunView, label: str = "Open the run's page") -> None:
    st.page_link(RUNS_PAGE, label=ui.md(label), icon=":material/open_in_new:", query_params={"run": str(run.id)})


def controls(actor: Actor, run: RunView, *, key: str, failed: int = 0) -> None:
    """Pause / Resume / Cancel (and Retry failed, given the failed items of a finished run) as its status allows."""
    ro = ui.view_only(actor)
    shown: list[tuple[str, str, str]] = []  # (label, verb, icon)
    if run.status in LIVE:
        shown.append(("Pause", "pause", "pause"))
    if run.status == "paused":
        shown.append(("Resume", "resume", "play_arrow"))
    if run.status in runs.ACTIVE:
        shown.append(("Cancel", "cancel", "cancel"))
    if run.status in runs.FINISHED and failed:
        shown.append((f"Retry {failed} failed item(s)", "retry", "replay"))
    if not shown:
        return
    for column, (label, verb, icon) in zip(st.columns(len(shown) + 2)[:len(shown)], shown, strict=True):
        if column.button(label, key=f"{key}_{verb}", icon=f":material/{icon}:", disabled=ro is not None, help=ro):
            _act(actor, run, verb)


def _act(actor: Actor, run: RunView, verb: str) -> None:
    name = run.run_id
    if verb == "pause":
        ui.run_action(lambda s: runs.pause(s, actor, run_id=run.id),
                      success=f"Paused {name}: its worker stops after the item in hand; it keeps its credits.")
    elif verb == "resume":
        ui.run_action(lambda s: runs.resume(s, actor, run_id=run.id),
                      success=f"Resumed {name}: a scheduler picks it up where it stopped.")
    elif verb == "cancel":
        ui.run_action(lambda s: runs.cancel(s, actor, run_id=run.id),
                      success=f"Cancelled {name}: nothing more is started and its credits are released.")
    else:
        count = ui.run_action(lambda s: runs.retry_failed(s, actor, run_id=run.id))
        if count is not None:
            ui.flash(f"Retrying {count} failed item(s) of {name}: the run waits for a scheduler.")
            st.rerun()
