"""Home: how much of the pipeline (keywords → clusters → ideas → tasks → content → publishing) is in each status,
and the automation runs of the last days a manager should know about (failed, stopped on budget or time, found
nothing to do), each linking to its run's page."""
import streamlit as st

import ui
import ui_runs
from core.automation import runs
from core.planner import overview

ctx = ui.current("Overview")
scope = ctx.scope

missing = ui.missing_scope(ctx, sector=False)
if missing is not None:
    st.info(ui.md(missing))
    st.stop()

whole_site = st.toggle("All sectors of the site", key="overview_whole_site", value=scope.sector_id is None)
sector_id = None if whole_site else scope.sector_id
st.caption(f"{ui.md(scope.site_name)} · {ui.md(scope.sector_name) if sector_id is not None else 'all sectors'}")

stages = ui.run_action(lambda s: overview.pipeline_counts(s, ctx.actor, site_id=scope.site_id, sector_id=sector_id))
if stages is None:
    st.stop()

for column, stage in zip(st.columns(len(stages)), stages, strict=True):
    with column:
        st.metric(ui.md(stage.label), f"{stage.total:,}")
        ui.table(({"Status": status.replace("_", " "), "Count": n} for status, n in stage.by_status.items()),
                 empty="—", key=f"overview_{stage.key}")

notices = ui.run_action(lambda s: runs.notifications(s, ctx.actor)) or []
if notices:
    st.subheader("Automation notices")
    for notice in notices:
        line = (f"**{ui.md(notice.site_name)}** · {ui.md(notice.run_id)} — "
                f"{ui.md(notice.reason or notice.status)}" + (f": {ui.md(notice.message)}" if notice.message else ""))
        (st.error if notice.status == "failed" else st.warning)(line)
        ui_runs.link(notice)
