"""Writer: the sector's articles by workflow status (draft, review, approved, published) and publishing status,
with counts; open one in the article view; approve a selection in bulk."""
import zlib

import streamlit as st

import ui
from core.writer import content, review
from db.enums import ContentStatus, SiteStatus

ctx = ui.current("Content")
actor, scope = ctx.actor, ctx.scope
site_id, sector_id = ui.picked_sector(ctx)
ro = ui.view_only(actor)

counts = ui.run_action(lambda s: content.counts(s, actor, sector_id=sector_id))
if counts is None:
    st.stop()
by_status, by_site = counts
cols = st.columns(len(ContentStatus) + 1)
for col, status in zip(cols, ContentStatus, strict=False):
    col.metric(ui.md(status.value.capitalize()), f"{by_status.get(status.value, 0):,}")
cols[-1].metric("Scheduled", f"{by_site.get(SiteStatus.scheduled.value, 0):,}")

f1, f2, f3 = st.columns([1, 1, 2])
STATUS = ["", *[s.value for s in ContentStatus]]
f_status = f1.selectbox("Workflow status", STATUS, key="ct_status",
                        format_func=lambda v: f"{v} ({by_status.get(v, 0):,})" if v else "Any")
SITE = ["", *[s.value for s in SiteStatus]]
f_site = f2.selectbox("Publishing status", SITE, key="ct_site_status",
                      format_func=lambda v: f"{v.replace('_', ' ')} ({by_site.get(v, 0):,})" if v else "Any")
f_search = f3.text_input("Title contains", key="ct_search")
filters = (sector_id, f_status, f_site, f_search)
if st.session_state.get("ct_filters") != filters:
    st.session_state["ct_filters"], st.session_state["ct_pages"] = filters, [None]
cursors: list = st.session_state["ct_pages"]

first = len(cursors) == 1  # the filter's total is counted on its first page and kept for the next ones
page = ui.run_action(lambda s: content.list_content(s, actor, sector_id=sector_id, status=f_status or None,
                                                    site_status=f_site or None, search=f_search or None,
                                                    after=cursors[-1], with_total=first))
if page is None:
    st.stop()
if first:
    st.session_state["ct_total"] = page.total
st.caption(f"{st.session_state.get('ct_total') or 0:,} article(s) — page {len(cursors)}.")
ui.table(({"Title": r.title, "Status": r.status, "Publishing": r.site_status.replace("_", " "),
           "Words": r.word_count, "Primary keyword": r.primary_keyword, "Cluster": r.cluster or "—",
           "Images": r.images, "Updated": ui.local_time(r.updated_at, scope.timezone)} for r in page.rows),
         key="ct_table", empty="No articles match." if f_status or f_site or f_search else
         "No articles here yet. Generate them from the Writer queue.")
ui.pager(cursors, page.next_after, state_key="ct_pages", key="ct")

rows = {r.id: r for r in page.rows}
picked: list[int] = st.multiselect("Selected articles", list(rows), format_func=lambda i: rows[i].title,
                                   key=f"ct_picked_{zlib.crc32(repr(list(rows)).encode())}")
b1, b2 = st.columns([1, 3], vertical_alignment="bottom")
if b1.button("Approve selected", key="ct_approve", type="primary", disabled=bool(ro) or not picked,
             help=ro or ("Select articles above first." if not picked else None)):
    res = ui.run_action(lambda s: review.bulk_approve(s, actor, content_ids=picked))
    if res is not None:
        ui.flash(res.message)
        st.rerun()
opened = b2.selectbox("Open an article", [None, *rows], key="ct_open_pick",
                      format_func=lambda i: "—" if i is None else rows[i].title)
if opened is not None and b2.button("Open", key="ct_open"):
    st.session_state["article_id"] = opened
    st.switch_page("pages/article.py")
