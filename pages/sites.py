"""Admin: the account's sites (create, edit, deactivate) and each site's sectors (at most 5 active)."""
import streamlit as st

import ui
from core.identity import sites
from core.publishing import connection

ctx = ui.current("Sites & sectors", admin=True)
actor = ctx.actor


def _load_sites(s):
    rows = sites.list_sites(s, actor)
    industries = {i.id: i.name for i in sites.list_industries(s)}
    return rows, industries


loaded = ui.run_action(_load_sites)
if loaded is None:
    st.stop()
site_rows, industries = loaded
site_by_id = {x.id: x for x in site_rows}

ui.table(({"Name": x.name, "Slug": x.slug, "Domain": x.domain, "Industry": industries.get(x.industry_id, ""),
           "Time zone": x.timezone, "Active": x.is_active, "Created": ui.local_time(x.created_at, x.timezone)}
          for x in site_rows), empty="No sites yet.", key="sites_table")

industry_ids, industry_name = ui.options_with_none(industries)

with st.expander("Add a site", expanded=not site_rows), st.form("site_create", clear_on_submit=False):
    name = st.text_input("Name", key="site_name")
    slug = st.text_input("Slug (optional, made from the name)", key="site_slug")
    domain = st.text_input("Domain", key="site_domain", placeholder="example.com")
    industry_id = st.selectbox("Industry", industry_ids, format_func=industry_name, key="site_industry")
    timezone = st.selectbox("Time zone", ui.timezones(), index=ui.timezones().index("UTC"), key="site_timezone")
    if st.form_submit_button("Create site", key="site_create_submit", type="primary"):
        ui.run_action(lambda s: sites.create_site(s, actor, name=name, slug=slug or None, domain=domain,
                                                  industry_id=industry_id, timezone=timezone),
                      success=f"Site “{name.strip()}” created.", clear=("site_name", "site_slug", "site_domain"))

if not site_rows:
    st.stop()

st.divider()
site_ids = list(site_by_id)
site_id = st.selectbox("Manage site", site_ids, index=ui.index_of(site_ids, ctx.scope.site_id),
                       format_func=lambda i: site_by_id[i].name + ("" if site_by_id[i].is_active else " (inactive)"),
                       key="site_pick")
site = site_by_id[site_id]

with st.expander(f"Edit “{ui.md(site.name)}”"), st.form(f"site_edit_{site.id}"):
    e_name = st.text_input("Name", value=site.name, key=f"site_edit_name_{site.id}")
    e_domain = st.text_input("Domain", value=site.domain, key=f"site_edit_domain_{site.id}")
    e_industry = st.selectbox("Industry", industry_ids, index=ui.index_of(industry_ids, site.industry_id),
                              format_func=industry_name, key=f"site_edit_industry_{site.id}")
    e_tz = st.selectbox("Time zone", ui.timezones(), index=ui.index_of(ui.timezones(), site.timezone),
                        key=f"site_edit_timezone_{site.id}")
    e_active = st.checkbox("Active", value=site.is_active, key=f"site_edit_active_{site.id}")
    if st.form_submit_button("Save site", key=f"site_edit_submit_{site.id}"):
        ui.run_action(lambda s: sites.update_site(s, actor, site_id=site.id, name=e_name, domain=e_domain,
                                                  industry_id=e_industry, timezone=e_tz, is_active=e_active),
                      success=f"Site “{e_name.strip()}” saved.")

WP_STATUS = {"unknown": "not checked yet", "connected": "connected", "warning": "connected, with warnings",
             "error": "cannot publish"}
if site.is_active:  # an inactive site is out of every scope, its connection included
    wp_login = ui.run_action(lambda s: connection.wordpress_login(s, actor, site_id=site.id))
    if wp_login is None:
        st.caption("WordPress: not connected.")
    else:
        checked = f", checked {ui.local_time(wp_login.checked_at, site.timezone)}" if wp_login.checked_at else ""
        st.caption(f"WordPress: {ui.md(wp_login.url)} — {ui.md(WP_STATUS.get(wp_login.status, wp_login.status))}"
                   f"{checked}" + (f" — {ui.md(wp_login.error)}" if wp_login.error else ""))
    st.page_link("pages/wordpress.py", label="WordPress connection and doctor")

st.subheader(f"Sectors of “{ui.md(site.name)}”")


def _load_sectors(s):
    rows = sites.list_sectors(s, actor, site_id=site.id)
    choices = ({i.id: i.name for i in sites.list_industry_sectors(s, industry_id=site.industry_id)}
               if site.industry_id is not None else {})
    return rows, choices


loaded_sectors = ui.run_action(_load_sectors)
if loaded_sectors is None:
    st.stop()
sector_rows, industry_sectors = loaded_sectors
st.caption(f"{sum(x.is_active for x in sector_rows)} of {sites.MAX_ACTIVE_SECTORS} active sectors in use.")
ui.table(({"Name": x.name, "Slug": x.slug, "Industry sector": industry_sectors.get(x.industry_sector_id, ""),
           "Active": x.is_active, "Created": ui.local_time(x.created_at, site.timezone)} for x in sector_rows),
         empty="No sectors yet. Add the first one below (at most 5 active per site).", key="sectors_table")

isec_ids, isec_name = ui.options_with_none(industry_sectors)
with st.form(f"sector_create_{site.id}"):
    sec_name = st.text_input("New sector name", key=f"sector_name_{site.id}")
    sec_isec = st.selectbox("Industry sector", isec_ids, format_func=isec_name, key=f"sector_isec_{site.id}",
                            help="The site's industry offers these; set the industry first to choose one.")
    if st.form_submit_button("Add sector", key=f"sector_create_submit_{site.id}", type="primary"):
        ui.run_action(lambda s: sites.create_sector(s, actor, site_id=site.id, name=sec_name,
                                                    industry_sector_id=sec_isec),
                      success=f"Sector “{sec_name.strip()}” added.", clear=(f"sector_name_{site.id}",))

if sector_rows:
    sector_by_id = {x.id: x for x in sector_rows}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    sector_id = left.selectbox("Sector", list(sector_by_id), key=f"sector_pick_{site.id}",
                               format_func=lambda i: sector_by_id[i].name
                               + ("" if sector_by_id[i].is_active else " (inactive)"))
    sector = sector_by_id[sector_id]
    if right.button("Deactivate" if sector.is_active else "Activate", key=f"sector_toggle_{site.id}"):
        ui.run_action(lambda s: sites.update_sector(s, actor, site_id=site.id, sector_id=sector.id,
                                                    is_active=not sector.is_active),
                      success=f"Sector “{sector.name}” {'deactivated' if sector.is_active else 'activated'}.")
