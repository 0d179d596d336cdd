"""Planner: a sector's keywords — search, filter, sort and page them; edit cells inline; act on a selection or on
everything filtered; restore deleted ones. Filtering, sorting and paging happen in the database (core.planner.keywords)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
import ui_jobs
from core.errors import DomainError
from core.planner import keyword_edits, keywords
from core.planner.keyword_edits import BulkAction
from core.planner.keywords import Deleted, KeywordFilter
from core.tenancy import Actor

ctx = ui.current("Keywords")
scope, actor = ctx.scope, ctx.actor
site_id, sector_id = ui.picked_sector(ctx, "Pick a site and a sector in the sidebar to see its keywords.")
st.caption(f"{ui.md(scope.site_name)} · {ui.md(scope.sector_name)}")

clusters = ui.run_action(lambda s: keywords.cluster_choices(s, actor, site_id=site_id, sector_id=sector_id))
if clusters is None:
    st.stop()

ANY, NONE = "any", "none"
SORT_LABELS = {"volume": "Volume", "difficulty": "Difficulty", "cpc": "CPC", "keyword": "Keyword",
               "created_at": "Added"}
SHOW = {Deleted.exclude: "Live keywords", Deleted.only: "Deleted (to restore)", Deleted.include: "All"}
TRI = {ANY: "Any", False: "Enabled only", True: "Disabled only"}
FLAG = {ANY: "Any", True: "Yes", False: "No"}  # the import's Branded/Local flags (Ahrefs)

# ---------------------------------------------------------------- filters (applied on submit)
with st.expander("Search & filters", expanded=True), st.form("kw_filters"):
    a, b, c = st.columns(3)
    search = a.text_input("Keyword contains", key="kw_f_search")
    status = b.selectbox("Status", [ANY, "new", "mapped"], key="kw_f_status", format_func=str.capitalize)
    cluster_opts = [ANY, NONE, *clusters]
    cluster = c.selectbox("Cluster", cluster_opts, key="kw_f_cluster",
                          format_func=lambda v: {ANY: "Any", NONE: "No cluster"}.get(v) or clusters.get(v, "?"))
    a, b, c, d = st.columns(4)
    # No min/max on the numbers: the browser would block Apply without a word; ui.within says what is wrong.
    vol_min = a.number_input("Volume from", value=None, step=1, key="kw_f_vol_min")
    vol_max = b.number_input("Volume to", value=None, step=1, key="kw_f_vol_max")
    diff_min = c.number_input("Difficulty from", value=None, step=1, key="kw_f_diff_min", help="0 to 100")
    diff_max = d.number_input("Difficulty to", value=None, step=1, key="kw_f_diff_max", help="0 to 100")
    a, b, c, d, e = st.columns(5)
    intent = a.text_input("Intent contains", key="kw_f_intent")
    branded = b.selectbox("Branded", list(FLAG), key="kw_f_branded", format_func=FLAG.__getitem__,
                          help="As marked by the keyword tool (Ahrefs): Branded / Non-branded")
    local = c.selectbox("Local", list(FLAG), key="kw_f_local", format_func=FLAG.__getitem__,
                        help="As marked by the keyword tool (Ahrefs): Local / Non-local")
    disabled = d.selectbox("Disabled", list(TRI), key="kw_f_disabled", format_func=TRI.__getitem__)
    show = e.selectbox("Show", list(SHOW), key="kw_f_deleted", format_func=SHOW.__getitem__)
    a, b, c = st.columns(3)
    sort = a.selectbox("Sort by", list(SORT_LABELS), key="kw_sort", format_func=SORT_LABELS.__getitem__)
    direction = b.radio("Order", ["desc", "asc"], key="kw_dir", horizontal=True,
                        format_func={"desc": "High → low", "asc": "Low → high"}.__getitem__)
    limit = c.selectbox("Rows per page", [25, 50, 100, 200], index=1, key="kw_limit")
    st.form_submit_button("Apply", key="kw_f_apply", type="primary")

if not ui.within(("Volume from", vol_min, 0, None), ("Volume to", vol_max, 0, None),
                 ("Difficulty from", diff_min, 0, 100), ("Difficulty to", diff_max, 0, 100)):
    st.stop()
filters = KeywordFilter(search=search, status=None if status == ANY else status,
                        cluster_id=cluster if isinstance(cluster, int) else None, unclustered=cluster == NONE,
                        intent=intent, volume_min=vol_min, volume_max=vol_max, difficulty_min=diff_min,
                        difficulty_max=diff_max, disabled=None if disabled == ANY else disabled, deleted=show,
                        branded=None if branded == ANY else branded, local=None if local == ANY else local)

# ---------------------------------------------------------------- paging state (per scope, filters and sort)
view = (site_id, sector_id, filters, sort, direction, limit)
state = st.session_state.get("kw_page")
if state is None or state["view"] != view:
    state = {"view": view, "after": None, "before": None, "no": 1, "version": (state or {}).get("version", 0) + 1}
    st.session_state["kw_page"] = state


def _turn(after, before, step: int) -> None:
    """Button callback: move one page before the script runs (the cursors come from the page shown)."""
    st.session_state["kw_page"].update(after=after, before=before, no=max(1, state["no"] + step),
                                       version=state["version"] + 1)


@st.cache_data(ttl=60, show_spinner=False, max_entries=256)
def _status_counts(database: str, who: Actor, site: int, sector: int, flt: KeywordFilter) -> dict[str, int]:
    """Counts per status scan the filtered sector (~0.2 s for a million keywords, see bench/keywords_bench.py), so
    reruns (every tick in the table) reuse them for a minute; this page's writes clear them."""
    with ui.get_runtime().transaction() as s:
        return keywords.count_by_status(s, who, site_id=site, sector_id=sector, filters=flt)


page = ui.run_action(lambda s: keywords.list_keywords(
    s, actor, site_id=site_id, sector_id=sector_id, filters=filters, sort=sort, direction=direction,
    after=state["after"], before=state["before"], limit=limit))
if page is None:
    st.stop()
try:
    counts = _status_counts(ui.get_runtime().engine.url.render_as_string(), actor, site_id, sector_id, filters)
except DomainError as e:
    st.error(ui.md(e))
    st.stop()
if page.prev_before is None:
    state["no"] = 1  # Previous ran into the top
matching = counts[filters.status] if filters.status else sum(counts.values())

cols = st.columns(len(counts) + 1)
for col, (name, n) in zip(cols, counts.items(), strict=False):
    col.metric(ui.md(name.capitalize()), f"{n:,}", help="Counted at most a minute ago")
cols[-1].metric("Matching filters", f"{matching:,}", help="Counted at most a minute ago")

# ---------------------------------------------------------------- the page as an editable table
live_view = show == Deleted.exclude and actor.can_write
EDITABLE = {"Volume": "volume", "Difficulty": "difficulty", "Intent": "intent", "CPC": "cpc", "Status": "status",
            "Cluster": "cluster_id", "Disabled": "disabled"}
ids = [r.id for r in page.rows]
frame = pd.DataFrame({
    "Select": [False] * len(ids),
    "Keyword": [r.keyword for r in page.rows],
    "Volume": pd.array([r.volume for r in page.rows], dtype="Int64"),
    "Difficulty": pd.array([r.difficulty for r in page.rows], dtype="Int64"),
    "Intent": [r.intent or "" for r in page.rows],
    "CPC": [float(r.cpc) if r.cpc is not None else None for r in page.rows],
    "Status": [r.status for r in page.rows],
    "Cluster": pd.array([r.cluster_id for r in page.rows], dtype="Int64"),
    "Disabled": [r.disabled for r in page.rows],
    "Added": [ui.local_time(r.created_at, scope.timezone) for r in page.rows],
}, columns=["Select", "Keyword", "Volume", "Difficulty", "Intent", "CPC", "Status", "Cluster", "Disabled", "Added"])
editor_key = f"kw_editor_{state['version']}"
if ids:
    st.data_editor(
        frame, key=editor_key, hide_index=True, num_rows="fixed",
        disabled=["Keyword", "Added"] if live_view else [c for c in frame.columns if c != "Select"],
        column_config={
            "Select": st.column_config.CheckboxColumn("✓", help="Pick rows for a bulk action", width="small"),
            "Volume": st.column_config.NumberColumn(min_value=0, step=1),
            "Difficulty": st.column_config.NumberColumn(min_value=0, max_value=100, step=1),
            "CPC": st.column_config.NumberColumn(min_value=0, step=0.01, format="%.2f"),
            "Status": st.column_config.SelectboxColumn(options=["new", "mapped"], required=True),
            "Cluster": st.column_config.SelectboxColumn(options=list(clusters), format_func=clusters.get,
                                                        help="Setting a cluster maps the keyword; clearing it "
                                                             "makes it new again"),
        })
else:
    none_yet = "This sector has no keywords yet." + (
        " Import a file under Import keywords, or add some from the Keyword library." if actor.can_write else "")
    st.info("Nothing to show here." if matching or show != Deleted.exclude else "No keywords match."
            if filters != KeywordFilter() else none_yet)
edited = (st.session_state.get(editor_key) or {}).get("edited_rows", {})
selected = [ids[int(pos)] for pos, cells in edited.items() if cells.get("Select") and int(pos) < len(ids)]
changes = {ids[int(pos)]: {EDITABLE[c]: v for c, v in cells.items() if c in EDITABLE}
           for pos, cells in edited.items() if int(pos) < len(ids)}
changes = {kid: cells for kid, cells in changes.items() if cells}


def _done(message: str) -> None:
    """After a committed write: fresh editor (the old edits are saved or moot), message on the next run."""
    st.session_state["kw_page"]["version"] = state["version"] + 1
    _status_counts.clear()
    ui.flash(message)
    st.rerun()


left, mid, right = st.columns([2, 1, 1], vertical_alignment="center")
left.caption(f"Page {state['no']:,} · {len(ids)} shown · {len(selected)} selected")
mid.button("◀ Previous", key="kw_prev", disabled=page.prev_before is None, on_click=_turn,
           args=(None, page.prev_before, -1), width="stretch")
right.button("Next ▶", key="kw_next", disabled=not page.has_more, on_click=_turn,
             args=(page.next_after, None, 1), width="stretch")
if live_view and st.button("Save changes", key="kw_save", type="primary", disabled=not changes,
                           help="Saves every edited cell of this page, or none if one is invalid"):
    n = ui.run_action(lambda s: keyword_edits.update_keywords(s, actor, changes=changes))
    if n is not None:
        _done(f"Saved changes to {n} keyword{'s' * (n != 1)}.")

# ---------------------------------------------------------------- bulk actions
if not actor.can_write:
    st.stop()
ACTION_LABELS = {BulkAction.delete: "Delete", BulkAction.restore: "Restore", BulkAction.set_status: "Set status",
                 BulkAction.assign_cluster: "Assign to cluster", BulkAction.remove_from_cluster: "Remove from cluster",
                 BulkAction.disable: "Disable", BulkAction.enable: "Enable"}
offered = [BulkAction.restore] if show == Deleted.only else [
    a for a in ACTION_LABELS if a != BulkAction.restore or show == Deleted.include]
BULK_JOB = "kw_bulk_job"
with st.container(border=True, key="kw_bulk"):
    st.markdown("**Bulk action**")
    finished = ui_jobs.take(BULK_JOB)
    if finished is not None and finished.error:
        st.error(ui.md(finished.error))
    elif finished is not None:
        _done(f"{finished.label}: {finished.result:,} keyword{'s' * (finished.result != 1)} changed.")
    running = ui_jobs.progress(BULK_JOB)  # an action on the filtered set runs in the background
    a, b, c = st.columns(3)
    action = a.selectbox("Action", offered, key="kw_bulk_action", format_func=ACTION_LABELS.__getitem__)
    new_status = b.selectbox("New status", ["new", "mapped"], key="kw_bulk_status",
                             help="“new” also takes keywords out of their cluster") \
        if action == BulkAction.set_status else None
    target_cluster = b.selectbox("Cluster", list(clusters), key="kw_bulk_cluster", format_func=clusters.get) \
        if action == BulkAction.assign_cluster else None
    # Fixed labels: a radio whose labels change on every tick loses its visible choice in the browser.
    target = c.radio("Apply to", ["selected", "filtered"], key="kw_bulk_target", help=f"{len(selected)} selected, "
                     f"{matching:,} match the filters", format_func={"selected": "Selected rows",
                                                                     "filtered": "All filtered keywords"}.__getitem__)
    confirmed = target == "selected" or st.checkbox(
        f"Yes, {ui.md(ACTION_LABELS[action].lower())} all {matching:,} keywords that match the filters",
        key="kw_bulk_confirm")
    if st.button("Apply", key="kw_bulk_apply", disabled=running, help="A bulk action is running" if running else None):
        if target == "selected" and not selected:
            st.warning("Tick the rows to act on in the ✓ column first.")
        elif not confirmed:
            st.warning("Tick the confirmation to act on every filtered keyword.")
        elif target == "selected":  # at most a page of rows: done within the request
            n = ui.run_action(lambda s: keyword_edits.bulk_update(
                s, actor, site_id=site_id, sector_id=sector_id, action=action, status=new_status,
                cluster_id=target_cluster, ids=selected))
            if n is not None:
                _done(f"{ACTION_LABELS[action]}: {n:,} keyword{'s' * (n != 1)} changed.")
        else:
            rt = ui.get_runtime()

            def work(report, action=action, status=new_status, cluster_id=target_cluster, filters=filters):
                return keyword_edits.run_bulk(rt, actor, site_id=site_id, sector_id=sector_id, action=action,
                                              status=status, cluster_id=cluster_id, filters=filters,
                                              on_progress=lambda frac, msg: report(msg, frac))
            if ui_jobs.start(BULK_JOB, kind="bulk", label=ACTION_LABELS[action], work=work):
                st.rerun()
