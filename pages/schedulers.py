"""Scheduler status: every scheduler process seen lately (host, pid, start, last heartbeat, what it works on, alive),
and a warning when none has been seen for a while — automation runs and scheduled posts wait for one."""
from datetime import UTC, datetime

import streamlit as st

import ui
from core.automation import schedulers

ctx = ui.current("Scheduler status")
tz = ctx.scope.timezone if ctx.scope.site_id is not None else "UTC"


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(int((now - moment).total_seconds()), 0)
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago" if seconds < 7200 else \
        f"{seconds // 3600} h ago"


status = ui.run_action(lambda s: schedulers.status(s, ctx.actor))
if status is None:
    st.stop()
now = datetime.now(UTC)
if status.warning:
    st.warning(ui.md(status.warning))
else:
    st.success(f"{status.alive:,} scheduler process(es) running.")
st.caption(f"A process that has not beaten for {int(status.stale_after.total_seconds()):,} s counts as gone. "
           f"Times in {ui.md(tz)}.")
ui.table(({"Host": p.host, "PID": p.pid, "Started": ui.local_time(p.started_at, tz),
           "Last heartbeat": f"{ui.local_time(p.heartbeat_at, tz)} ({ago(p.heartbeat_at, now)})",
           "Working on": p.working_on or "—",
           "Alive": "yes" if p.alive else "stopped" if p.stopped_at else "no heartbeat",
           "Stopped": ui.local_time(p.stopped_at, tz)} for p in status.processes),
         key="sched_table", empty="No scheduler process has reported in the last two days.")
if st.button("Refresh", key="sched_refresh", icon=":material/refresh:"):
    st.rerun()
