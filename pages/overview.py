"""Home: how much of the pipeline (keywords → clusters → ideas → tasks → content → publishing) is in each status."""
import streamlit as st

import ui
from core.planner import overview

ctx = ui.current("Overview")
scope = ctx.scope

if scope.site_id is None:
    st.info("There is no active site to show yet. "
            + ("Create one under Admin → Sites & sectors." if ctx.actor.is_admin
               else "Ask an admin to give you access to a site."))
    st.stop()

whole_site = st.toggle("All sectors of the site", key="overview_whole_site", value=scope.sector_id is None)
sector_id = None if whole_site else scope.sector_id
st.caption(f"{scope.site_name} · {scope.sector_name if sector_id is not None else 'all sectors'}")

stages = ui.run_action(lambda s: overview.pipeline_counts(s, ctx.actor, site_id=scope.site_id, sector_id=sector_id))
if stages is None:
    st.stop()

for column, stage in zip(st.columns(len(stages)), stages, strict=True):
    with column:
        st.metric(stage.label, f"{stage.total:,}")
        ui.table(({"Status": status.replace("_", " "), "Count": n} for status, n in stage.by_status.items()),
                 empty="—", key=f"overview_{stage.key}")
