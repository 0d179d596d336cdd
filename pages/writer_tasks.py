"""Writer queue: the sector's writer tasks — filter, sort and page; create and edit by hand; assign, set due dates,
delete and restore in bulk; and Generate articles for the selection (or all queued in the filter) as a batch that
runs in the background, a line per task, still shown when the user comes back."""
import zlib

import streamlit as st

import ui
import ui_jobs
from core.ai import bulk, prompts
from core.planner import clusters
from core.writer import tasks
from db.enums import ContentStructure, ContentType, TaskStatus

ctx = ui.current("Writer queue")
actor, scope, rt = ctx.actor, ctx.scope, ctx.rt
site_id, sector_id = ui.picked_sector(ctx)
JOB, EST = "wq_job", "wq_estimate"
TYPES, STRUCTURES = [t.value for t in ContentType], [c.value for c in ContentStructure]
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "due": "Due date", "title": "Title"}
ro = ui.view_only(actor)

with st.container():  # the result of a batch started here, once
    done = ui_jobs.take(JOB)
    if done is not None and done.error:
        st.error(ui.md(done.error))

loaded = ui.run_action(lambda s: (tasks.counts(s, actor, sector_id=sector_id),
                                  clusters.names(s, actor, sector_id=sector_id),
                                  tasks.assignees(s, actor, site_id=site_id),
                                  {a.id: a.name for a in prompts.list_author_profiles(s, actor)}))
if loaded is None:
    st.stop()
counts, cluster_names, people, authors = loaded
m = st.columns(5)
for col, (label, name) in zip(m, [("Queued", "queued"), ("Completed", "completed"), ("Mine", "mine"),
                                  ("Overdue", "overdue"), ("Deleted", "deleted")], strict=True):
    col.metric(label, f"{counts.get(name, 0):,}")

# --- filters ---------------------------------------------------------------------------------------------------
ASSIGNEE = {None: "Anyone", tasks.MINE: "My tasks", tasks.UNASSIGNED: "Unassigned", **people}
f1, f2, f3, f4 = st.columns(4)
f_status = f1.selectbox("Status", ["", *[s.value for s in TaskStatus]], format_func=lambda v: v or "Any",
                        key="wq_status")
f_cluster = f2.selectbox("Cluster", [None, *cluster_names], key="wq_cluster",
                         format_func=lambda v: "All clusters" if v is None else cluster_names[v])
f_assignee = f3.selectbox("Assignee", list(ASSIGNEE), format_func=ASSIGNEE.__getitem__, key="wq_assignee")
f_sort = f4.selectbox("Sort by", list(SORTS), format_func=SORTS.__getitem__, key="wq_sort")
g1, g2, g3, g4 = st.columns(4)
f_type = g1.selectbox("Content type", ["", *TYPES], format_func=lambda v: v or "Any", key="wq_type")
f_struct = g2.selectbox("Structure", ["", *STRUCTURES], format_func=lambda v: v or "Any", key="wq_structure")
HAS = {None: "Either", True: "Has an article", False: "No article yet"}
f_has = g3.selectbox("Article", list(HAS), format_func=HAS.__getitem__, key="wq_has")
f_due = g4.date_input("Due by", value=None, key="wq_due")
h1, h2, h3 = st.columns([2, 1, 1])
f_search = h1.text_input("Title contains", key="wq_search")
f_overdue = h2.checkbox("Overdue only", key="wq_overdue")
f_deleted = h3.checkbox("Deleted tasks", key="wq_deleted", help="Show deleted tasks, to restore them.")
flt = tasks.TaskFilter(status=f_status or None, cluster_id=f_cluster, content_type=f_type or None,
                       content_structure=f_struct or None, assignee=f_assignee, due_before=f_due,
                       overdue=f_overdue, has_content=f_has, search=f_search or None, deleted=f_deleted)
if st.session_state.get("wq_filters") != (sector_id, flt, f_sort):
    st.session_state["wq_filters"], st.session_state["wq_pages"] = (sector_id, flt, f_sort), [None]
cursors: list = st.session_state["wq_pages"]

page = ui.run_action(lambda s: tasks.list_tasks(s, actor, sector_id=sector_id, filter=flt, sort=f_sort,
                                                after=cursors[-1]))
if page is None:
    st.stop()
st.caption(f"{page.total:,} task(s) — page {len(cursors)}.")
ui.table(({"Title": r.title, "Cluster": r.cluster + (" (deleted)" if r.cluster_deleted else ""),
           "Status": r.status, "Article": r.content_status or "—", "Type": r.content_type,
           "Structure": r.content_structure, "Words": r.word_count, "Assignee": r.assignee or "—",
           "Due": r.due_date.isoformat() if r.due_date else "—",
           "Overlap": f"{r.overlap_score:.2f}" if r.overlap_score is not None else "—",
           "Created": ui.local_time(r.created_at, scope.timezone)} for r in page.rows),
         key="wq_table", empty="No tasks match." if page.total == 0 and (f_status or f_search or f_deleted) else
         "No writer tasks here yet. Queue ideas on the Ideas screen, or write one under “New task”.")
ui.pager(cursors, page.next_after, state_key="wq_pages", key="wq")

rows = {r.id: r for r in page.rows}
picked: list[int] = st.multiselect("Selected tasks", list(rows), format_func=lambda i: rows[i].title,
                                   key=f"wq_picked_{zlib.crc32(repr(list(rows)).encode())}")

# --- bulk actions on the selection -------------------------------------------------------------------------------
none_picked = "Select tasks above first."
b1, b2, b3, b4 = st.columns(4, vertical_alignment="bottom")
who = b1.selectbox("Assign to", [None, *people], key="wq_assign_to",
                   format_func=lambda v: "— nobody —" if v is None else people[v])
if b1.button("Assign", key="wq_assign", disabled=bool(ro) or not picked,
             help=ro or (none_picked if not picked else None)):
    ui.run_action(lambda s: tasks.assign(s, actor, task_ids=picked, user_id=who),
                  success=f"{len(picked)} task(s) assigned.")
due = b2.date_input("Due date", value=None, key="wq_due_to")
if b2.button("Set due date", key="wq_set_due", disabled=bool(ro) or not picked, help=ro):
    ui.run_action(lambda s: tasks.set_due_date(s, actor, task_ids=picked, due_date=due),
                  success=f"Due date of {len(picked)} task(s) {'set' if due else 'cleared'}.")
if f_deleted:
    if b3.button("Restore", key="wq_restore", disabled=bool(ro) or not picked, help=ro):
        ui.run_action(lambda s: tasks.restore(s, actor, task_ids=picked), success=f"Restored {len(picked)} task(s).")
else:
    sure = b3.checkbox("Yes, delete them", key="wq_delete_ok", disabled=bool(ro))
    if b4.button("Delete", key="wq_delete", disabled=bool(ro) or not (picked and sure), help=ro):
        ui.run_action(lambda s: tasks.delete(s, actor, task_ids=picked),
                      success=f"Deleted {len(picked)} task(s); tick “Deleted tasks” to restore them.")

tab_gen, tab_new, tab_edit = st.tabs(["Generate articles", "New task", "Edit a task"], key="wq_tab")

# --- bulk generation ------------------------------------------------------------------------------------------------
with tab_gen:
    scope_pick = st.radio("Which tasks", ["selected", "filter"], horizontal=True, key="wq_gen_scope",
                          format_func={"selected": "The selected tasks",
                                       "filter": "All queued tasks in this filter (without an article)"}.__getitem__)
    a1, a2 = st.columns(2)
    author_ids, author_name = ui.options_with_none(authors, "No author profile (the defaults)")
    g_author = a1.selectbox("Author profile", author_ids, format_func=author_name, key="wq_gen_author")
    with a2:
        g_strategy = ui.strategy_picker(actor, prompt_type="content_generation", sector_id=sector_id,
                                        key="wq_gen_strategy")
    g_overlap = st.checkbox("Also write tasks that collide with existing content or other tasks", key="wq_gen_overlap",
                            help="Off: such tasks are skipped, and their line says what they collide with.")
    if scope_pick == "filter":
        g_ids = ui.run_action(lambda s: tasks.queued_ids(s, actor, sector_id=sector_id, filter=flt)) or []
    else:
        g_ids = list(picked)
    st.caption(f"{len(g_ids):,} task(s) chosen.")
    g_inputs = (tuple(g_ids), g_author, g_strategy, g_overlap)
    if st.button("Estimate credits", key="wq_gen_estimate", disabled=bool(ro) or not g_ids,
                 help=ro or (none_picked if not g_ids else None)):
        est = ui.run_action(lambda s: bulk.estimate_batch(s, actor, task_ids=g_ids, author_profile_id=g_author,
                                                          strategy_id=g_strategy, include_overlapping=g_overlap,
                                                          sector_id=sector_id))
        st.session_state[EST] = (g_inputs, est) if est is not None else None
    held = st.session_state.get(EST)
    if held is not None and held[0] == g_inputs and not ro:
        est = held[1]
        (st.info if est.affordable else st.error)(ui.md(est.message))
        if est.excluded:
            ui.table(({"Task": x.title, "Why it will not be written": x.reason} for x in est.excluded),
                     empty="", key="wq_gen_excluded")
        running = ui_jobs.get(JOB) is not None and not ui_jobs.get(JOB).finished
        if st.button(f"Generate {est.runnable:,} article(s) (up to {est.credits:,} credits)", key="wq_gen_run",
                     type="primary", disabled=not est.affordable or est.runnable == 0 or running):
            batch = ui.run_action(lambda s: bulk.create_batch(
                s, actor, sector_id=sector_id, task_ids=g_ids, author_profile_id=g_author, strategy_id=g_strategy,
                include_overlapping=g_overlap))
            if batch is not None:
                batch_id = batch.id
                ui_jobs.start(JOB, kind="writer_batch", label=f"Writing {len(g_ids)} article(s)",
                              work=lambda report: bulk.run_batch(rt, actor, batch_id=batch_id))
                st.session_state.pop(EST, None)
                st.rerun()


@st.fragment(run_every=1.0)
def _batch_panel() -> None:
    """The running or latest batches of this sector, from the database: still there after a reload."""
    found = ui.run_action(lambda s: bulk.latest_batches(s, actor, sector_id=sector_id, limit=3))
    for view in found or []:
        finished = view.finished_at is not None
        label = f"Batch #{view.id} — {view.status}" + (" (interrupted)" if view.interrupted else "")
        with st.expander(ui.md(label), expanded=not finished):
            st.progress(view.fraction, text=ui.md(view.message or f"{view.done + view.failed + view.skipped:,} of "
                                                  f"{view.total:,} done"))
            ui.table(({"Task": i.title, "Status": i.status, "Line": i.message, "Credits": i.credits,
                       "Attempts": i.attempts} for i in view.items), empty="No tasks.", key=f"wq_batch_{view.id}")
            c1, c2, c3 = st.columns(3)
            if view.failed and finished and c1.button("Retry the failed ones", key=f"wq_retry_{view.id}",
                                                      disabled=bool(ro), help=ro):
                again = ui.run_action(lambda s, b=view.id: bulk.retry_failed(s, actor, batch_id=b))
                if again:
                    ui_jobs.start(JOB, kind="writer_batch", label=f"Retrying batch #{view.id}",
                                  work=lambda report, b=view.id: bulk.run_batch(rt, actor, batch_id=b))
                    st.rerun(scope="app")
            if view.interrupted and c2.button("Resume", key=f"wq_resume_{view.id}", disabled=bool(ro), help=ro):
                ui_jobs.start(JOB, kind="writer_batch", label=f"Resuming batch #{view.id}",
                              work=lambda report, b=view.id: bulk.run_batch(rt, actor, batch_id=b))
                st.rerun(scope="app")
            if not finished and c3.button("Cancel the rest", key=f"wq_cancel_{view.id}", disabled=bool(ro), help=ro):
                ui.run_action(lambda s, b=view.id: bulk.cancel_batch(s, actor, batch_id=b))


with tab_gen:
    _batch_panel()

# --- by hand --------------------------------------------------------------------------------------------------------
cluster_ids = list(cluster_names)
WORDS_HELP = "100 to 20,000."
with tab_new:
    if not cluster_ids:
        st.info("A task needs a cluster, and this sector has none yet: make them on the Clusters screen.")
    else:
        with st.form("wq_create"):
            n_title = st.text_input("Title", key="wq_new_title", disabled=bool(ro))
            n_cluster = st.selectbox("Cluster", cluster_ids, format_func=cluster_names.__getitem__,
                                     key="wq_new_cluster", disabled=bool(ro))
            n_brief = st.text_area("Brief", key="wq_new_brief", disabled=bool(ro))
            n_kws = st.text_input("Keywords (comma-separated; the first is the primary)", key="wq_new_keywords",
                                  disabled=bool(ro))
            n1, n2, n3 = st.columns(3)
            n_type = n1.selectbox("Content type", TYPES, key="wq_new_type", disabled=bool(ro))
            n_struct = n2.selectbox("Structure", STRUCTURES, key="wq_new_structure", disabled=bool(ro))
            n_words = n3.number_input("Target words", value=1000, step=100, key="wq_new_words", help=WORDS_HELP,
                                      disabled=bool(ro))
            n4, n5 = st.columns(2)
            n_who = n4.selectbox("Assignee", [None, *people], key="wq_new_assignee", disabled=bool(ro),
                                 format_func=lambda v: "— nobody —" if v is None else people[v])
            n_due = n5.date_input("Due date", value=None, key="wq_new_due", disabled=bool(ro))
            if st.form_submit_button("Create task", key="wq_create_submit", type="primary", disabled=bool(ro),
                                     help=ro):
                ui.run_action(lambda s: tasks.create(
                    s, actor, site_id=site_id, sector_id=sector_id, title=n_title, cluster_id=n_cluster,
                    description=n_brief, keywords=n_kws, content_type=n_type, content_structure=n_struct,
                    word_count=int(n_words), assigned_to_id=n_who, due_date=n_due),
                    success=f"Task “{n_title.strip()}” created.",
                    clear=("wq_new_title", "wq_new_brief", "wq_new_keywords"))

with tab_edit:
    e_id = ui.pick("Task", rows, name=lambda r: r.title, key="wq_edit_pick", empty="No tasks on this page.")
    if e_id is not None:
        r = rows[e_id]
        if r.overlaps:
            st.warning(ui.md("This task collides with: " + "; ".join(
                f"{o['kind']} “{o['title']}” ({o['score']:.2f})" for o in r.overlaps)))
        with st.form(f"wq_edit_{e_id}"):
            e_title = st.text_input("Title", value=r.title, key=f"wq_edit_title_{e_id}", disabled=bool(ro))
            e_cluster = st.selectbox("Cluster", cluster_ids, index=ui.index_of(cluster_ids, r.cluster_id),
                                     format_func=cluster_names.__getitem__, key=f"wq_edit_cluster_{e_id}",
                                     disabled=bool(ro) or not cluster_ids)
            e_brief = st.text_area("Brief", value=r.description, key=f"wq_edit_brief_{e_id}", disabled=bool(ro))
            e_kws = st.text_input("Keywords", value=r.keywords, key=f"wq_edit_keywords_{e_id}", disabled=bool(ro))
            e1, e2, e3 = st.columns(3)
            e_type = e1.selectbox("Content type", TYPES, index=ui.index_of(TYPES, r.content_type),
                                  key=f"wq_edit_type_{e_id}", disabled=bool(ro))
            e_struct = e2.selectbox("Structure", STRUCTURES, index=ui.index_of(STRUCTURES, r.content_structure),
                                    key=f"wq_edit_structure_{e_id}", disabled=bool(ro))
            e_words = e3.number_input("Target words", value=r.word_count, step=100, help=WORDS_HELP,
                                      key=f"wq_edit_words_{e_id}", disabled=bool(ro))
            e_due = st.date_input("Due date", value=r.due_date, key=f"wq_edit_due_{e_id}", disabled=bool(ro))
            if st.form_submit_button("Save task", key=f"wq_edit_submit_{e_id}", disabled=bool(ro), help=ro):
                ui.run_action(lambda s: tasks.update(
                    s, actor, task_id=e_id, title=e_title, cluster_id=e_cluster, description=e_brief,
                    keywords=e_kws, content_type=e_type, content_structure=e_struct, word_count=int(e_words),
                    due_date=e_due), success=f"Task “{e_title.strip()}” saved.")
        if r.content_id and st.button("Open its article", key=f"wq_open_{e_id}"):
            st.session_state["article_id"] = r.content_id
            st.switch_page("pages/article.py")
