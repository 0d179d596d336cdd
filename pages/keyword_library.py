"""Library: the global keyword library per industry sector. Everyone browses it and adds its keywords to their
sector in bulk (the industry match is enforced by core); platform admins (developers, the system account's owners
and admins) curate it (add, edit, disable, import a CSV)."""
import zlib

import pandas as pd
import streamlit as st

import ui
from core.identity import sites
from core.planner import library

ctx = ui.current("Keyword library")
actor, scope = ctx.actor, ctx.scope
ro = ui.view_only(actor)  # viewers browse; their Add buttons are disabled, with the reason as help


def _load_pickers(s):
    industry, isec = library.default_library(s, actor, site_id=scope.site_id, sector_id=scope.sector_id)
    return industry, isec, {i.id: i.name for i in sites.list_industries(s)}


loaded = ui.run_action(_load_pickers)
if loaded is None:
    st.stop()
default_industry, default_isec, industries = loaded
if not industries:
    st.info("No industries are set up yet.")
    st.stop()
ind_ids = list(industries)
c1, c2 = st.columns(2)
industry_id = c1.selectbox("Industry", ind_ids, index=ui.index_of(ind_ids, default_industry),
                           format_func=industries.__getitem__, key="lib_industry")
isecs = ui.run_action(lambda s: {x.id: x.name for x in sites.list_industry_sectors(s, industry_id=industry_id)})
if not isecs:
    st.info("This industry has no sectors yet.")
    st.stop()
isec_ids = list(isecs)
isec_id = c2.selectbox("Industry sector", isec_ids, index=ui.index_of(isec_ids, default_isec),
                       format_func=isecs.__getitem__, key=f"lib_isec_{industry_id}")

s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
search = s1.text_input("Search", key="lib_search")
show_disabled = s2.checkbox("Show disabled", key="lib_disabled") if actor.is_platform_admin else False
filters = (isec_id, search, show_disabled)
if st.session_state.get("lib_filters") != filters:
    st.session_state["lib_filters"], st.session_state["lib_pages"] = filters, [None]
cursors: list = st.session_state["lib_pages"]
page = ui.run_action(lambda s: library.list_seeds(s, actor, industry_sector_id=isec_id, search=search,
                                                  include_inactive=show_disabled, after=cursors[-1]))
if page is None:
    st.stop()
st.caption(f"{page.total:,} library keyword(s) in “{ui.md(isecs[isec_id])}” — page {len(cursors)}.")
ui.table(({"Keyword": k.keyword, "Volume": k.volume, "Difficulty": k.difficulty,
           "CPC": float(k.cpc) if k.cpc is not None else None, "Intent": k.intent, "Active": k.is_active}
          for k in page.rows), key="library_table", empty="No library keywords here." + (
             " Add some under “Curate the library” below." if actor.is_platform_admin and not search else ""))
ui.pager(cursors, page.next_after, state_key="lib_pages", key="lib")

rows = {k.id: k for k in page.rows}
picked: list[int] = st.multiselect("Selected library keywords", list(rows), format_func=lambda i: rows[i].keyword,
                                   key=f"lib_picked_{zlib.crc32(repr(list(rows)).encode())}")

st.subheader("Add to my sector")
missing = ui.missing_scope(ctx, "Pick a site and a sector in the sidebar to add library keywords to it.")
if missing is not None:
    st.info(ui.md(missing))
else:
    st.caption(f"Adds to sector “{ui.md(scope.sector_name)}” of “{ui.md(scope.site_name)}”. Keywords already there "
               "are skipped; the metrics are copied once and can then be changed per site on the Keywords screen.")
    a1, a2, _ = st.columns([1, 1, 2])
    target = {"site_id": scope.site_id, "sector_id": scope.sector_id}
    add: dict | None = None
    if a1.button("Add selected", key="lib_add_selected", type="primary", disabled=bool(ro) or not picked,
                 help=ro or ("Select library keywords above first." if not picked else None)):
        add = {"seed_ids": picked}
    if a2.button(f"Add all {page.total:,} shown by the filter", key="lib_add_all", disabled=bool(ro) or not page.total,
                 help=ro):
        add = {"search": search, "industry_sector_id": isec_id}
    if add is not None:
        res = ui.run_action(lambda s: library.add_to_sector(s, actor, **target, **add))
        if res is not None:
            ui.flash(res.message)
            st.rerun()

if not actor.is_platform_admin:  # the library is shared by every account (core checks every change)
    st.stop()

st.subheader("Curate the library")
t_add, t_edit, t_toggle, t_import = st.tabs(["Add", "Edit", "Enable / disable", "Import CSV"])
with t_add, st.form("lib_create"):
    n_kw = st.text_input("Keyword", key="lib_new_keyword")
    n1, n2, n3, n4 = st.columns(4)
    n_vol = n1.text_input("Volume", key="lib_new_volume")
    n_diff = n2.text_input("Difficulty (0–100)", key="lib_new_difficulty")
    n_cpc = n3.text_input("CPC", key="lib_new_cpc")
    n_intent = n4.text_input("Intent", key="lib_new_intent")
    if st.form_submit_button("Add to the library", key="lib_create_submit", type="primary"):
        ui.run_action(lambda s: library.create_seed(s, actor, industry_sector_id=isec_id, keyword=n_kw, volume=n_vol,
                                                    difficulty=n_diff, cpc=n_cpc, intent=n_intent),
                      success=f"“{n_kw.strip()}” added to the library of “{isecs[isec_id]}”.",
                      clear=("lib_new_keyword", "lib_new_volume", "lib_new_difficulty", "lib_new_cpc",
                             "lib_new_intent"))

with t_edit:
    e_id = ui.pick("Library keyword", rows, name=lambda k: k.keyword, empty="Nothing on this page to edit.",
                   key="lib_edit_pick")
    if e_id is not None:
        k = rows[e_id]
        with st.form(f"lib_edit_{e_id}"):
            e1, e2, e3, e4 = st.columns(4)
            e_vol = e1.text_input("Volume", value="" if k.volume is None else str(k.volume), key=f"lib_e_vol_{e_id}")
            e_diff = e2.text_input("Difficulty", value="" if k.difficulty is None else str(k.difficulty),
                                   key=f"lib_e_diff_{e_id}")
            e_cpc = e3.text_input("CPC", value="" if k.cpc is None else str(k.cpc), key=f"lib_e_cpc_{e_id}")
            e_intent = e4.text_input("Intent", value=k.intent or "", key=f"lib_e_intent_{e_id}")
            if st.form_submit_button("Save", key=f"lib_edit_submit_{e_id}"):
                ui.run_action(lambda s: library.update_seed(s, actor, seed_id=e_id, volume=e_vol, difficulty=e_diff,
                                                            cpc=e_cpc, intent=e_intent),
                              success=f"“{k.keyword}” saved.")

with t_toggle:
    st.caption("Disabled library keywords are hidden from users and never added to sectors.")
    b1, b2, _ = st.columns([1, 1, 3])
    for col, active, label in ((b1, False, "Disable selected"), (b2, True, "Enable selected")):
        if col.button(ui.md(label), key=f"lib_{'enable' if active else 'disable'}", disabled=not picked):
            ui.run_action(lambda s, a=active: library.set_active(s, actor, seed_ids=picked, active=a),
                          success=f"{len(picked)} library keyword(s) {'enabled' if active else 'disabled'}.")

with t_import:
    st.caption("An export of Semrush, Ahrefs, Keyword Planner or Moz, or one column of keywords (read like the "
               "Keywords import: other columns are kept as attributes).")
    upload = st.file_uploader("CSV file", type=["csv", "txt", "tsv"], key="lib_import_file")
    update_existing = st.checkbox("Update the metrics of keywords already in the library", value=True,
                                  key="lib_import_update")
    if st.button("Import", key="lib_import", disabled=upload is None):
        report = ui.run_action(lambda s: library.import_seeds(s, actor, industry_sector_id=isec_id,
                                                              data=upload.getvalue(), name=upload.name,
                                                              update_existing=update_existing))
        if report is not None:
            st.success(ui.md(report.message))
            if report.skipped:
                if report.skipped_total > len(report.skipped):
                    st.caption(f"The first {len(report.skipped):,} skipped rows:")
                skipped = pd.DataFrame(report.skipped, columns=["Line", "Reason"])
                st.dataframe(skipped, hide_index=True)
                st.download_button("Download the skipped rows", skipped.to_csv(index=False), "skipped.csv",
                                   key="lib_import_skipped")
