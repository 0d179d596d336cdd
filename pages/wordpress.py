"""Publishing: a site's WordPress connection — URL, user and Application Password (owners and admins), the
connection doctor's steps with the fix for each failure, and the sync of categories, tags and authors."""
import streamlit as st

import ui
from core.publishing import connection, taxonomy

MARK = {"ok": "✅", "warning": "⚠️", "failed": "❌", "skipped": "⏭️"}

ctx = ui.current("WordPress connection")
actor = ctx.actor
ro = ui.view_only(actor)
site_id = ui.picked_site(ctx)
st.caption(f"Site: {ui.md(ctx.scope.site_name)}")

login = ui.run_action(lambda s: connection.wordpress_login(s, actor, site_id=site_id))
if login is None:
    st.info("This site has no WordPress connection yet." + ("" if actor.is_admin else
                                                             " An owner or admin of the account sets it."))

if actor.is_admin:
    with st.expander("Connection settings", expanded=login is None), st.form(f"wp_connect_{site_id}"):
        url = st.text_input("Site address", key="wp_url", value=login.url if login else "", placeholder="https://example.com",
                            help="The site's home address (not /wp-admin).")
        user = st.text_input("WordPress user name", key="wp_user", value=login.username if login else "")
        password = st.text_input("Application Password", type="password", key="wp_password",
                                 placeholder=login.password_masked if login else "abcd efgh ijkl mnop qrst uvwx",
                                 help="WordPress → Users → Profile → Application Passwords. Leave empty to keep "
                                      "the stored one.")
        if st.form_submit_button("Save connection", type="primary", key="wp_connect_submit"):
            ui.run_action(lambda s: connection.set_wordpress(s, actor, site_id=site_id, url=url, username=user,
                                                             app_password=password or None),
                          success="Connection saved. Run the connection doctor to check it.")

if login is not None:
    st.subheader("Connection doctor")
    verdict = {"unknown": "not checked yet", "connected": "connected", "warning": "connected, with warnings",
               "error": "cannot publish"}.get(login.status, login.status)
    st.write(f"Status: **{ui.md(verdict)}**" + (f" — checked {ui.local_time(login.checked_at, ctx.scope.timezone)}"
                                              if login.checked_at else ""))
    if st.button("Run the connection doctor", key="wp_doctor", disabled=not actor.can_write,
                 help=ro):
        report = ui.run_work(lambda rt: connection.check(rt, actor, site_id=site_id), spinner="Checking …")
        if report is not None:
            ui.flash(f"Checked: {report.status}.")
            st.rerun()
    for check in login.checks:
        line = f"{MARK.get(check.status, '•')} **{ui.md(check.name)}** — {ui.md(check.detail)}"
        (st.error if check.status == "failed" else st.warning if check.status == "warning" else st.write)(line)
        if check.fix and check.status in ("failed", "warning"):
            st.caption(f"Fix: {ui.md(check.fix)}")

    st.subheader("Categories, tags and authors")
    terms = ui.run_action(lambda s: taxonomy.list_terms(s, actor, site_id=site_id)) or []
    authors = ui.run_action(lambda s: taxonomy.authors(s, actor, site_id=site_id)) or []
    st.caption(f"{sum(t.taxonomy_type.value == 'category' for t in terms)} categories, "
               f"{sum(t.taxonomy_type.value == 'tag' for t in terms)} tags, {len(authors)} authors known here.")
    if st.button("Sync from WordPress", key="wp_sync", disabled=not actor.can_write, help=ro):
        res = ui.run_work(lambda rt: taxonomy.sync(rt, actor, site_id=site_id), spinner="Reading WordPress …")
        if res is not None:
            ui.flash(f"Synced: {res.categories} categories, {res.tags} tags, {res.authors} authors "
                     f"({res.added} new, {res.gone} gone from WordPress) in {res.duration_ms} ms.")
            st.rerun()
    ui.table(({"Type": t.taxonomy_type.value, "Name": t.name, "Slug": t.slug, "Posts": t.count,
               "On WordPress": "yes" if t.external_id else "made here (created when published)"} for t in terms),
             key="wp_terms", empty="No categories or tags yet: sync them, or add them on an article.")
