"""Workspace: the sector's clusters — statistics, create/rename/merge/split/delete, drill-down to keywords,
offline clustering (preview in the background, then apply) and the AI buttons with their estimated credits."""
import zlib

import streamlit as st

import ui
import ui_jobs
from core.ai import runs as planner_ai
from core.planner import clusters
from core.planner.clustering import apply as clustering_apply

ctx = ui.current("Clusters")
actor, scope, rt = ctx.actor, ctx.scope, ctx.rt
site_id, sector_id = ui.picked_sector(ctx)
JOB, PREVIEW, AI_EST, IDEAS_EST = "clusters_job", "clusters_preview", "clusters_ai_estimate", "clusters_ideas_estimate"
TABS = ["Create & edit", "Keywords of a cluster", "Cluster keywords", "Generate ideas (AI)"]
ro = ui.view_only(actor)  # viewers: every write button disabled, with the reason as its help

# --- a background job that finished since the last run: its result, once --------------------------------------
with st.container():  # one slot, message or not, like the progress bar: the tabs below stay where they are
    done = ui_jobs.take(JOB)
    if done is not None:
        if done.error:
            st.error(ui.md(done.error))
        elif done.kind == "preview":
            st.session_state[PREVIEW] = done.result
        elif done.kind == "ai_cluster":
            st.success(f"{ui.md(done.result.message)} {done.result.credits:,} credit(s) used.")
        else:
            (st.warning if done.result.error else st.success)(ui.md(done.result.message))
ui_jobs.progress(JOB)

# --- the list ----------------------------------------------------------------------------------------------------
f1, f2, f3 = st.columns([3, 1, 1])
search = f1.text_input("Search clusters", key="cl_search")
status = f2.selectbox("Status", ["", "new", "mapped"], format_func=lambda v: v or "Any", key="cl_status")
sort = f3.selectbox("Sort by", list(clusters.SORTS), key="cl_sort")
filters = (sector_id, search, status, sort)
if st.session_state.get("cl_filters") != filters:
    st.session_state["cl_filters"], st.session_state["cl_pages"] = filters, [None]
cursors: list = st.session_state["cl_pages"]

loaded = ui.run_action(lambda s: (
    clusters.list_clusters(s, actor, sector_id=sector_id, search=search, status=status or None, sort=sort,
                           after=cursors[-1]),
    clusters.names(s, actor, sector_id=sector_id)))
if loaded is None:
    st.stop()
page, all_names = loaded
st.caption(f"{page.total:,} cluster(s) in “{ui.md(scope.sector_name)}” — page {len(cursors)}.")
ui.table(({"Name": r.name, "Keywords": r.keywords, "Volume": r.volume, "Avg. difficulty": r.avg_difficulty,
           "Ideas": r.ideas, "Status": r.status, "Created": ui.local_time(r.created_at, scope.timezone)}
          for r in page.rows), key="clusters_table",
         empty="No clusters match." if search or status else "No clusters here yet." + ("" if ro else
               " Create one under “Create & edit”, or let “Cluster keywords” group the sector's keywords."))
ui.pager(cursors, page.next_after, state_key="cl_pages", key="cl")

row_names = {r.id: r.name for r in page.rows}
picked: list[int] = st.multiselect(
    "Selected clusters (for merge, delete and Generate ideas)", list(row_names), format_func=row_names.__getitem__,
    key=f"cl_picked_{zlib.crc32(repr(list(row_names)).encode())}")
name_ids = list(all_names)

# A key keeps the tabs the same element on every run, so the open tab stays open (a preview shows where it started).
tab_edit, tab_drill, tab_cluster, tab_ideas = st.tabs(TABS, key="cl_tab")

with tab_edit:
    with st.form("cl_create"):
        new_name = st.text_input("New cluster name", key="cl_new_name", disabled=bool(ro))
        new_desc = st.text_input("Description", key="cl_new_desc", disabled=bool(ro))
        if st.form_submit_button("Create cluster", key="cl_create_submit", type="primary", disabled=bool(ro),
                                 help=ro):
            ui.run_action(lambda s: clusters.create(s, actor, site_id=site_id, sector_id=sector_id, name=new_name,
                                                    description=new_desc),
                          success=f"Cluster “{new_name.strip()}” created.", clear=("cl_new_name", "cl_new_desc"))
    if name_ids:
        with st.form("cl_rename"):
            ren_id = st.selectbox("Cluster", name_ids, format_func=all_names.__getitem__, key="cl_rename_pick")
            ren_name = st.text_input("New name", key="cl_rename_name", disabled=bool(ro))
            ren_desc = st.text_input("New description (empty: keep)", key="cl_rename_desc", disabled=bool(ro))
            if st.form_submit_button("Rename", key="cl_rename_submit", disabled=bool(ro), help=ro):
                ui.run_action(lambda s: clusters.rename(s, actor, cluster_id=ren_id, name=ren_name,
                                                        description=ren_desc or None),
                              success=f"Cluster renamed to “{ren_name.strip()}”.", clear=("cl_rename_name",))
        m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
        target = m1.selectbox("Merge the selected clusters into", name_ids, format_func=all_names.__getitem__,
                              key="cl_merge_target", disabled=bool(ro))
        if m2.button("Merge", key="cl_merge", disabled=bool(ro) or not picked,
                     help=ro or ("Select clusters above first." if not picked else None)):
            res = ui.run_action(lambda s: clusters.merge(s, actor, source_ids=picked, target_id=target))
            if res is not None:
                ui.flash(f"Merged {res.merged:,} cluster(s) into “{all_names[target]}”: {res.keywords:,} keyword(s), "
                         f"{res.ideas:,} idea(s) and {res.tasks:,} task(s) moved.")
                st.rerun()
        d1, d2 = st.columns([3, 1], vertical_alignment="bottom")
        sure = d1.checkbox("Yes, delete the selected clusters (their keywords become new again)", key="cl_delete_ok",
                           disabled=bool(ro))
        if d2.button("Delete", key="cl_delete", disabled=bool(ro) or not (picked and sure), help=ro):
            res = ui.run_action(lambda s: clusters.delete(s, actor, cluster_ids=picked))
            if res is not None:
                ui.flash(f"Deleted {res.clusters:,} cluster(s): {res.keywords_released:,} keyword(s) are new again, "
                         f"{res.ideas_unassigned:,} idea(s) no longer have a cluster.")
                st.rerun()

with tab_drill:
    if not name_ids:
        st.info("No clusters yet: their keywords show here once there are some.")
    else:
        drill = st.selectbox("Cluster", name_ids, format_func=all_names.__getitem__, key="cl_drill")
        if st.session_state.get("cl_kw_for") != drill:
            st.session_state["cl_kw_for"], st.session_state["cl_kw_pages"] = drill, [None]
        kw_cursors: list = st.session_state["cl_kw_pages"]
        kw_page = ui.run_action(lambda s: clusters.cluster_keywords(s, actor, cluster_id=drill,
                                                                    after=kw_cursors[-1]))
        if kw_page is not None:
            st.caption(f"{kw_page.total:,} keyword(s) — page {len(kw_cursors)}.")
            ui.table(({"Keyword": k.keyword, "Volume": k.volume, "Difficulty": k.difficulty, "Intent": k.intent,
                       "Status": k.status} for k in kw_page.rows), empty="This cluster has no keywords.",
                     key="cluster_keywords_table")
            ui.pager(kw_cursors, kw_page.next_after, state_key="cl_kw_pages", key="cl_kw")
            kw_names = {k.id: k.keyword for k in kw_page.rows}
            with st.form(f"cl_split_{drill}"):
                moving = st.multiselect("Keywords to move to a new cluster", list(kw_names), disabled=bool(ro),
                                        format_func=kw_names.__getitem__, key=f"cl_split_kws_{drill}")
                split_name = st.text_input("New cluster name", key=f"cl_split_name_{drill}", disabled=bool(ro))
                if st.form_submit_button("Split", key=f"cl_split_submit_{drill}", disabled=bool(ro), help=ro):
                    ui.run_action(lambda s: clusters.split(s, actor, cluster_id=drill, keyword_ids=moving,
                                                           name=split_name),
                                  success=f"Moved {len(moving)} keyword(s) to the new cluster “{split_name.strip()}”.")

with tab_cluster:
    how = st.radio("Keywords", ["all", "search"], horizontal=True, key="cl_scope",
                   format_func={"all": "All new keywords of the sector", "search": "New keywords containing …"}.get)
    text = st.text_input("Containing", key="cl_scope_text", disabled=how != "search")
    scope_search = text if how == "search" else None
    g1, g2 = st.columns(2)
    granularity = g1.slider("Granularity", 0.0, 1.0, 0.5, 0.05, key="cl_granularity",
                            help="0: few broad clusters; 1: many tight ones.")
    semantic_ok, semantic_why = clustering_apply.semantic_available()
    mode = g2.radio("Mode", ["lexical", "semantic"] if semantic_ok else ["lexical"], horizontal=True, key="cl_mode")
    if not semantic_ok:
        g2.caption(f"Semantic mode is not installed. {ui.md(semantic_why)}")
    if st.button("Preview", key="cl_preview", type="primary", disabled=bool(ro) or ui_jobs.get(JOB) is not None,
                 help=ro):
        args = {"site_id": site_id, "sector_id": sector_id, "search": scope_search, "granularity": granularity,
                "mode": mode}  # bound now: the thread outlives this run of the script
        if ui_jobs.start(JOB, kind="preview", label="Clustering", work=lambda report: clustering_apply.preview(
                rt, actor, on_progress=report, **args)):
            st.session_state.pop(PREVIEW, None)
            st.rerun()

    preview = st.session_state.get(PREVIEW)
    if preview is not None and preview.sector_id == sector_id:
        st.subheader("Preview (nothing written yet)")
        c = st.columns(4)
        c[0].metric("Clusters", f"{len(preview.clusters):,}")
        c[1].metric("Keywords clustered", f"{preview.clustered:,} of {preview.total:,}")
        c[2].metric("Unclustered", f"{preview.unclustered_share:.1%}")
        c[3].metric("Quality (silhouette)", f"{preview.quality:.2f}")
        st.caption(f"Granularity {preview.granularity:g}, {ui.md(preview.mode)} mode, {preview.elapsed:.1f} s; "
                   f"{preview.extending:,} cluster(s) would extend an existing cluster of the same name.")
        ui.table(({"Name": pc.name, "Keywords": pc.size, "Volume": pc.volume, "Examples": ", ".join(pc.samples),
                   "Extends existing": pc.existing_id is not None} for pc in preview.clusters[:300]),
                 empty="No clusters were found; try a higher granularity.", key="cluster_preview_table")
        extend = st.checkbox("Extend existing clusters of the same name", value=True, key="cl_extend")
        a1, a2, _ = st.columns([1, 1, 4])
        if a1.button("Apply", key="cl_apply", type="primary", disabled=not preview.clusters):
            res = ui.run_action(lambda s: clustering_apply.apply(s, actor, preview=preview, extend_existing=extend))
            if res is not None:
                st.session_state.pop(PREVIEW, None)
                ui.flash(res.message)
                st.rerun()
        if a2.button("Discard", key="cl_discard"):
            st.session_state.pop(PREVIEW, None)
            st.rerun()

    st.divider()
    st.markdown("**AI cluster / name clusters** — the AI groups and names the same keywords (metered in credits).")
    ai_args = {"site_id": site_id, "sector_id": sector_id, "search": scope_search}  # bound now: the thread outlives this run
    ui.estimate_then_run(
        state_key=AI_EST, inputs=(sector_id, scope_search), key="cl_ai", job_key=JOB, kind="ai_cluster",
        label="AI clustering", estimate_button="Estimate AI clustering", run_button="Run AI clustering",
        estimate=lambda s: planner_ai.estimate_ai_cluster(s, actor, **ai_args),
        work=lambda report: planner_ai.ai_cluster(rt, actor, on_progress=report, **ai_args),
        disabled=bool(ro), help=ro)

with tab_ideas:
    st.markdown("Content ideas for the **selected clusters** (title, description, type, structure, keywords, words).")
    count = st.number_input("Ideas per cluster", value=5, step=1, key="cl_ideas_count", disabled=bool(ro),
                            help="1 to 20.")  # no min/max: the browser would keep the old number without a word
    strategy = ui.strategy_picker(actor, prompt_type="ideas", sector_id=sector_id, key="cl_ideas_strategy")
    ideas_args = {"cluster_ids": list(picked), "count": int(count), "strategy_id": strategy}
    ui.estimate_then_run(
        state_key=IDEAS_EST, inputs=(tuple(sorted(picked)), int(count), strategy), key="cl_ideas", job_key=JOB,
        kind="ideas", label="Generating ideas", estimate_button="Estimate credits", run_button="Generate ideas",
        estimate=lambda s: planner_ai.estimate_ideas(s, actor, **ideas_args),
        work=lambda report: planner_ai.generate_ideas(rt, actor, on_progress=report, **ideas_args),
        disabled=bool(ro) or not picked or not ui.within(("Ideas per cluster", count, 1, 20)),
        help=ro or ("Select clusters above first." if not picked else None))
