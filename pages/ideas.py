"""Workspace: the sector's content ideas — filter by cluster and status, create and edit by hand, queue as writer
tasks, and Generate ideas (AI) for a cluster, with the estimated credits shown before it runs."""
import zlib

import streamlit as st

import ui
import ui_jobs
from core.ai import runs as planner_ai
from core.planner import clusters, ideas
from db.enums import ContentStructure, ContentType, IdeaStatus

ctx = ui.current("Ideas")
actor, scope, rt = ctx.actor, ctx.scope, ctx.rt
site_id, sector_id = ui.picked_sector(ctx)
JOB, EST = "ideas_job", "ideas_estimate"
TYPES, STRUCTURES = [t.value for t in ContentType], [c.value for c in ContentStructure]
ro = ui.view_only(actor)  # viewers: every write button disabled, with the reason as its help

with st.container():  # one slot, message or not, like the progress bar: the tabs below stay where they are
    done = ui_jobs.take(JOB)
    if done is not None:
        if done.error:
            st.error(ui.md(done.error))
        else:
            (st.warning if done.result.error else st.success)(ui.md(done.result.message))
ui_jobs.progress(JOB)

cluster_names = ui.run_action(lambda s: clusters.names(s, actor, sector_id=sector_id))
if cluster_names is None:
    st.stop()
filter_opts = {None: "All clusters", ideas.NO_CLUSTER: "No cluster", **cluster_names}

f1, f2, f3 = st.columns([2, 1, 2])
f_cluster = f1.selectbox("Cluster", list(filter_opts), format_func=filter_opts.__getitem__, key="id_cluster")
f_status = f2.selectbox("Status", ["", *[s.value for s in IdeaStatus]], format_func=lambda v: v or "Any",
                        key="id_status")
f_search = f3.text_input("Title contains", key="id_search")
filters = (sector_id, f_cluster, f_status, f_search)
if st.session_state.get("id_filters") != filters:
    st.session_state["id_filters"], st.session_state["id_pages"] = filters, [None]
cursors: list = st.session_state["id_pages"]

page = ui.run_action(lambda s: ideas.list_ideas(s, actor, sector_id=sector_id, cluster_id=f_cluster,
                                                status=f_status or None, search=f_search, after=cursors[-1]))
if page is None:
    st.stop()
st.caption(f"{page.total:,} idea(s) — page {len(cursors)}.")
ui.table(({"Title": r.title, "Cluster": r.cluster or "—", "Status": r.status, "Type": r.content_type,
           "Structure": r.content_structure, "Words": r.estimated_word_count, "Target keywords": r.target_keywords,
           "Created": ui.local_time(r.created_at, scope.timezone)} for r in page.rows),
         key="ideas_table", empty="No ideas match." if f_cluster is not None or f_status or f_search else
         "No ideas here yet." + ("" if ro else " Write one under “New idea”, or let “Generate ideas (AI)” suggest "
                                 "some for a cluster."))
ui.pager(cursors, page.next_after, state_key="id_pages", key="id")

rows = {r.id: r for r in page.rows}
picked: list[int] = st.multiselect("Selected ideas", list(rows), format_func=lambda i: rows[i].title,
                                   key=f"id_picked_{zlib.crc32(repr(list(rows)).encode())}")
q1, q2, q3 = st.columns([1, 2, 1], vertical_alignment="bottom")
if q1.button("Queue as writer tasks", key="id_queue", type="primary", disabled=bool(ro) or not picked,
             help=ro or ("Select ideas above first." if not picked else None)):
    res = ui.run_action(lambda s: ideas.queue(s, actor, idea_ids=picked))
    if res is not None:
        ui.flash(res.message)
        st.rerun()
sure = q2.checkbox("Yes, delete the selected ideas", key="id_delete_ok", disabled=bool(ro))
if q3.button("Delete", key="id_delete", disabled=bool(ro) or not (picked and sure), help=ro):
    ui.run_action(lambda s: ideas.delete(s, actor, idea_ids=picked), success=f"Deleted {len(picked)} idea(s).")

cluster_ids, cluster_label = ui.options_with_none(cluster_names, "— no cluster —")
# Number inputs carry no min/max: the browser would block the form's button without a word; core checks the range.
WORDS_HELP = "0 to 100,000."
tab_new, tab_edit, tab_ai = st.tabs(["New idea", "Edit an idea", "Generate ideas (AI)"], key="id_tab")

with tab_new, st.form("id_create"):
    n_cluster = st.selectbox("Cluster", cluster_ids, format_func=cluster_label, key="id_new_cluster",
                             disabled=bool(ro))
    n_title = st.text_input("Title", key="id_new_title", disabled=bool(ro))
    n_desc = st.text_area("Description", key="id_new_desc", disabled=bool(ro))
    n1, n2, n3 = st.columns(3)
    n_type = n1.selectbox("Content type", TYPES, key="id_new_type", disabled=bool(ro))
    n_struct = n2.selectbox("Structure", STRUCTURES, key="id_new_structure", disabled=bool(ro))
    n_words = n3.number_input("Estimated words", value=1000, step=100, key="id_new_words", disabled=bool(ro),
                              help=WORDS_HELP)
    n_kws = st.text_input("Target keywords (comma-separated)", key="id_new_keywords", disabled=bool(ro))
    if st.form_submit_button("Create idea", key="id_create_submit", type="primary", disabled=bool(ro), help=ro):
        ui.run_action(lambda s: ideas.create(s, actor, site_id=site_id, sector_id=sector_id, cluster_id=n_cluster,
                                             title=n_title, description=n_desc, content_type=n_type,
                                             content_structure=n_struct, target_keywords=n_kws,
                                             estimated_word_count=int(n_words)),
                      success=f"Idea “{n_title.strip()}” created.",
                      clear=("id_new_title", "id_new_desc", "id_new_keywords"))

with tab_edit:
    editable = {i: r for i, r in rows.items() if r.status == IdeaStatus.new.value}
    e_id = ui.pick("Idea", editable, name=lambda r: r.title, key="id_edit_pick",
                   empty="No new ideas on this page (queued and completed ideas are edited as writer tasks).")
    if e_id is not None:
        r = editable[e_id]
        with st.form(f"id_edit_{e_id}"):
            e_cluster = st.selectbox("Cluster", cluster_ids, index=ui.index_of(cluster_ids, r.cluster_id),
                                     format_func=cluster_label, key=f"id_edit_cluster_{e_id}", disabled=bool(ro))
            e_title = st.text_input("Title", value=r.title, key=f"id_edit_title_{e_id}", disabled=bool(ro))
            e_desc = st.text_area("Description", value=r.description, key=f"id_edit_desc_{e_id}", disabled=bool(ro))
            e1, e2, e3 = st.columns(3)
            e_type = e1.selectbox("Content type", TYPES, index=TYPES.index(r.content_type), key=f"id_edit_type_{e_id}",
                                  disabled=bool(ro))
            e_struct = e2.selectbox("Structure", STRUCTURES, index=STRUCTURES.index(r.content_structure),
                                    key=f"id_edit_structure_{e_id}", disabled=bool(ro))
            e_words = e3.number_input("Estimated words", value=r.estimated_word_count, step=100, help=WORDS_HELP,
                                      key=f"id_edit_words_{e_id}", disabled=bool(ro))
            e_kws = st.text_input("Target keywords (comma-separated)", value=r.target_keywords,
                                  key=f"id_edit_keywords_{e_id}", disabled=bool(ro))
            if st.form_submit_button("Save idea", key=f"id_edit_submit_{e_id}", disabled=bool(ro), help=ro):
                ui.run_action(lambda s: ideas.update(s, actor, idea_id=e_id, title=e_title, description=e_desc,
                                                     content_type=e_type, content_structure=e_struct,
                                                     target_keywords=e_kws, estimated_word_count=int(e_words),
                                                     cluster_id=e_cluster, clear_cluster=e_cluster is None),
                              success=f"Idea “{e_title.strip()}” saved.")

with tab_ai:
    if not cluster_names:
        st.info("Ideas are generated per cluster, and this sector has none yet: make them on the Clusters screen.")
    else:
        g_cluster = st.selectbox("Cluster", list(cluster_names), format_func=cluster_names.__getitem__,
                                 key="id_ai_cluster")
        g_count = st.number_input("Ideas", value=5, step=1, key="id_ai_count", help="1 to 20.", disabled=bool(ro))
        g_strategy = ui.strategy_picker(actor, prompt_type="ideas", sector_id=sector_id, key="id_ai_strategy")
        g_args = {"cluster_ids": [g_cluster], "count": int(g_count), "strategy_id": g_strategy}  # bound now
        ui.estimate_then_run(
            state_key=EST, inputs=(g_cluster, int(g_count), g_strategy), key="id_ai", job_key=JOB, kind="ideas",
            label="Generating ideas", estimate_button="Estimate credits", run_button="Generate ideas",
            estimate=lambda s: planner_ai.estimate_ideas(s, actor, **g_args),
            work=lambda report: planner_ai.generate_ideas(rt, actor, on_progress=report, **g_args),
            disabled=bool(ro) or not ui.within(("Ideas", g_count, 1, 20)), help=ro)
