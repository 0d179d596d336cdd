"""Writer: one article — the sanitized preview with its images, the HTML editor with a live preview, meta title and
description with counters and a search-result snippet, review steps and comments, images (prompts, generate,
upload, alt text, captions) and the revision history with a diff between any two revisions and restore."""
import streamlit as st

import ui
import ui_jobs
from core.ai import engine
from core.errors import DomainError
from core.publishing import service as publishing
from core.publishing import taxonomy
from core.writer import content, html, images, review, revisions

ctx = ui.current("Article")
actor, scope, rt = ctx.actor, ctx.scope, ctx.rt
ro = ui.view_only(actor)
IMG_JOB, IMG_EST = "art_images_job", "art_images_estimate"

wanted = st.session_state.get("article_id") or st.query_params.get("id")
if not wanted or not str(wanted).isdigit():
    st.info("Open an article from the Content screen (or the Writer queue).")
    st.page_link("pages/content.py", label="Go to Content")
    st.stop()
cid = int(wanted)
st.query_params["id"] = str(cid)  # a reload opens the same article

with st.container():  # the image job's result, once
    done = ui_jobs.take(IMG_JOB)
    if done is not None:
        (st.error if done.error else st.success)(ui.md(done.error or done.result.message))
ui_jobs.progress(IMG_JOB)

art = ui.run_action(lambda s: content.get_article(s, actor, content_id=cid))
if art is None:
    st.session_state.pop("article_id", None)
    st.stop()
st.subheader(ui.md(art.title))
st.caption(f"Status: **{ui.md(art.status)}** · publishing: {ui.md(art.site_status.replace('_', ' '))} · "
           f"{art.word_count:,} words · revision {art.revisions:,} · cluster {ui.md(art.cluster or '—')}")

# --- review -------------------------------------------------------------------------------------------------------
STEPS = {"draft": [("review", "Submit for review")] + ([("approved", "Approve")] if actor.is_admin else []),
         "review": [("approved", "Approve"), ("draft", "Send back to draft")],
         "approved": [("review", "Back to review"), ("draft", "Send back to draft")]}
steps = STEPS.get(art.status, [])
if steps:
    r1, *buttons = st.columns([3] + [1] * len(steps), vertical_alignment="bottom")
    comment = r1.text_input("Comment (required to send back to draft)", key=f"art_comment_{cid}", disabled=bool(ro))
    for col, (to, label) in zip(buttons, steps, strict=True):
        if col.button(label, key=f"art_to_{to}", disabled=bool(ro), help=ro,
                      type="primary" if to == "approved" else "secondary"):
            ui.run_action(lambda s, to=to: review.transition(s, actor, content_id=cid, to=to, comment=comment),
                          success=f"Moved to {to}.", clear=(f"art_comment_{cid}",))

tab_preview, tab_edit, tab_images, tab_publish, tab_history = st.tabs(
    ["Preview", "Edit", "Images", "Publishing", "History"], key="art_tab")

with tab_preview:
    shown = ui.run_action(lambda s: images.preview_html(s, actor, content_id=cid))
    with st.container(border=True, key="art_preview"):
        st.html(shown or "")

# --- the editor -------------------------------------------------------------------------------------------------
base_key = f"art_base_{cid}"
if base_key not in st.session_state:
    st.session_state[base_key] = art.version
keys = {f: f"art_{f}_{cid}" for f in ("title", "meta_title", "meta_description", "primary", "secondary", "body",
                                      "note")}
with tab_edit:
    if st.session_state[base_key] != art.version:
        st.warning(f"Someone saved this article since you opened it (now revision {art.revisions:,}). Your text is "
                   "kept below; “Load the newest version” replaces it.")
        if st.button("Load the newest version", key="art_reload"):
            for k in keys.values():
                st.session_state.pop(k, None)
            st.session_state[base_key] = art.version
            st.rerun()
    e_title = st.text_input("Title", value=art.title, key=keys["title"], disabled=bool(ro))
    m1, m2 = st.columns(2)
    e_meta = m1.text_input("Meta title", value=art.meta_title, key=keys["meta_title"], disabled=bool(ro))
    (m1.caption if len(e_meta) <= 60 else m1.warning)(f"{len(e_meta):,} / 60 characters")
    e_desc = m2.text_area("Meta description", value=art.meta_description, key=keys["meta_description"], height=90,
                          disabled=bool(ro))
    (m2.caption if len(e_desc) <= 160 else m2.warning)(f"{len(e_desc):,} / 160 characters")
    k1, k2 = st.columns(2)
    e_primary = k1.text_input("Primary keyword", value=art.primary_keyword, key=keys["primary"], disabled=bool(ro))
    e_secondary = k2.text_input("Secondary keywords (comma-separated)", value=", ".join(art.secondary_keywords),
                                key=keys["secondary"], disabled=bool(ro))
    snip = html.snippet(e_title, e_meta, e_desc)
    with st.container(border=True, key="art_snippet"):
        st.caption("Search result preview")
        st.markdown(f"**{ui.md(snip.title)}**")
        st.caption(ui.md(snip.description))
    left, right = st.columns(2)
    e_body = left.text_area("Article HTML", value=art.content_html, key=keys["body"], height=520, disabled=bool(ro),
                            help="Edits show on the right when you leave the box (or press Ctrl+Enter). Scripts, "
                                 "styles and event handlers are removed on save.")
    with right:
        st.caption(f"Live preview — {html.word_count(e_body):,} words (counted by us)")
        with st.container(border=True, height=520, key="art_live"):
            st.html(html.sanitize_html(e_body))
    e_note = st.text_input("What you changed (optional, kept with the revision)", key=keys["note"], disabled=bool(ro))
    if st.button("Save", key="art_save", type="primary", disabled=bool(ro), help=ro):
        try:
            with rt.transaction() as s:
                res = content.save(s, actor, content_id=cid, base_version=st.session_state[base_key], title=e_title,
                                   content_html=e_body, meta_title=e_meta, meta_description=e_desc,
                                   primary_keyword=e_primary, secondary_keywords=e_secondary, note=e_note)
        except DomainError as e:
            st.error(ui.md(e))  # the editor keeps every field as typed
        else:
            st.session_state[base_key] = res.version
            st.session_state.pop(keys["note"], None)
            ui.flash(res.message)
            st.rerun()

# --- images -------------------------------------------------------------------------------------------------------
with tab_images:
    listed = ui.run_action(lambda s: images.list_images(s, actor, content_id=cid)) or []
    waiting = [i for i in listed if i.status in ("pending", "failed")]
    c1, c2 = st.columns(2)
    with c1:
        ui.estimate_then_run(
            state_key=f"{IMG_EST}_prompts", inputs=("prompts", cid), key="art_prompts", job_key=IMG_JOB,
            kind="image_prompts", label="Writing image prompts", estimate_button="Plan images (estimate)",
            run_button="Write image prompts",
            estimate=lambda s: engine.estimate(s, actor, function="generate_image_prompts", content_id=cid),
            work=lambda report: engine.generate_image_prompts(rt, actor, content_id=cid),
            disabled=bool(ro), help=ro)
    with c2:
        ui.estimate_then_run(
            state_key=f"{IMG_EST}_all", inputs=("images", cid, len(waiting)), key="art_images", job_key=IMG_JOB,
            kind="images", label="Generating images", estimate_button=f"Generate {len(waiting)} image(s) (estimate)",
            run_button="Generate images",
            estimate=lambda s: engine.estimate(s, actor, function="generate_images", content_id=cid),
            work=lambda report: engine.generate_images(rt, actor, content_id=cid),
            disabled=bool(ro) or not waiting, help=ro or (None if waiting else "No image prompts are waiting."))
    if not listed:
        st.info("No images yet: plan them (the AI writes a featured and in-article prompts), or upload your own.")
    for img in listed:
        with st.container(border=True, key=f"art_img_{img.id}"):
            pic, form = st.columns([1, 3])
            if img.has_file:
                data = ui.run_action(lambda s, i=img.id: images.image_file(s, actor, image_id=i, size="thumbnail"))
                if data is not None:
                    pic.image(data[0], caption=None)
            else:
                pic.caption(ui.md(f"{img.status} — no file yet"))
            with form.form(f"art_img_form_{img.id}"):
                st.caption(ui.md(f"{img.type.replace('_', '-')} image · {img.source} · {img.status}"))
                p = st.text_area("Prompt", value=img.prompt, key=f"art_img_prompt_{img.id}", disabled=bool(ro))
                a = st.text_input("Alt text", value=img.alt_text, key=f"art_img_alt_{img.id}", disabled=bool(ro))
                c = st.text_input("Caption", value=img.caption, key=f"art_img_caption_{img.id}", disabled=bool(ro))
                if st.form_submit_button("Save image text", disabled=bool(ro), help=ro):
                    ui.run_action(lambda s, i=img.id, p=p, a=a, c=c: images.update_image(
                        s, actor, image_id=i, prompt=p, alt_text=a, caption=c), success="Image saved.")
            b1, b2 = form.columns(2)
            if b1.button("Regenerate", key=f"art_img_regen_{img.id}", disabled=bool(ro) or img.source != "ai",
                         help=ro):
                if ui.run_action(lambda s, i=img.id: images.request_regenerate(s, actor, image_ids=[i])) is not None:
                    ui_jobs.start(IMG_JOB, kind="images", label="Regenerating an image",
                                  work=lambda report, i=img.id: engine.generate_images(rt, actor, content_id=cid,
                                                                                       image_ids=[i]))
                    st.rerun()
            if b2.button("Delete image", key=f"art_img_delete_{img.id}", disabled=bool(ro), help=ro):
                ui.run_action(lambda s, i=img.id: images.delete_image(s, actor, image_id=i), success="Image deleted.")
    with st.form("art_upload", clear_on_submit=True):
        st.caption("Upload your own image (PNG, JPEG, WebP or GIF, up to 20 MB)")
        up = st.file_uploader("Image file", type=["png", "jpg", "jpeg", "webp", "gif"], key="art_upload_file",
                              disabled=bool(ro))
        u1, u2, u3 = st.columns(3)
        u_type = u1.selectbox("Use as", ["in_article", "featured"], key="art_upload_type", disabled=bool(ro),
                              format_func={"in_article": "In-article image", "featured": "Featured image"}.__getitem__)
        u_alt = u2.text_input("Alt text", key="art_upload_alt", disabled=bool(ro))
        u_caption = u3.text_input("Caption", key="art_upload_caption", disabled=bool(ro))
        if st.form_submit_button("Upload", disabled=bool(ro), help=ro) and up is not None:
            ui.run_action(lambda s: images.upload(s, actor, content_id=cid, data=up.getvalue(), filename=up.name,
                                                  image_type=u_type, alt_text=u_alt, caption=u_caption),
                          success=f"“{up.name}” uploaded.")

# --- publishing: terms, author, publish now / schedule / update / unpublish -------------------------------------------
with tab_publish:
    pub = ui.run_action(lambda s: (publishing.state(s, actor, content_id=cid),
                                   taxonomy.list_terms(s, actor, site_id=art.site_id),
                                   taxonomy.terms_of(s, actor, content_id=cid)))
    if pub is not None:
        state, all_terms, mine = pub
        when = ui.local_time(state.scheduled_at, scope.timezone) if state.scheduled_at else ""
        st.write(f"On WordPress: **{ui.md(state.site_status.replace('_', ' '))}**" + (f" for {when}" if when and
                 state.site_status == "scheduled" else "") + (f" — [{ui.md(state.url)}]({state.url})" if
                                                              state.url.startswith(("http://", "https://")) else ""))
        if state.error:
            st.error(f"Last attempt failed: {ui.md(state.error)}")
        for note in state.notes:
            st.caption(ui.md(note))
        if not state.connected:
            st.warning("This site has no working WordPress connection: set it up under Publishing → WordPress "
                       "connection.")
        names = {t.id: f"{t.taxonomy_type.value}: {t.name}" for t in all_terms}
        with st.form(f"art_terms_{cid}"):
            chosen = st.multiselect("Categories and tags", list(names), key="art_terms_pick", default=[t.id for t in mine],
                                    format_func=lambda i: names[i], disabled=bool(ro))
            new_cat = st.text_input("New category (made on WordPress when published)", key="art_new_term", disabled=bool(ro))
            if st.form_submit_button("Save categories and tags", key="art_terms_submit", disabled=bool(ro), help=ro):
                def save_terms(s):
                    extra = [taxonomy.create_term(s, actor, site_id=art.site_id, name=new_cat).id] if \
                        new_cat.strip() else []
                    return taxonomy.set_terms(s, actor, content_id=cid, taxonomy_ids=[*chosen, *extra])
                ui.run_action(save_terms, success="Categories and tags saved.")
        writers = ui.run_action(lambda s: taxonomy.authors(s, actor, site_id=art.site_id)) if state.connected else []
        if writers:
            by_id = {a["id"]: a["name"] for a in writers}
            options, label_of = ui.options_with_none(by_id, "The connection's user")
            a1, a2 = st.columns([3, 1], vertical_alignment="bottom")
            who = a1.selectbox("WordPress author", options, index=ui.index_of(options, state.author),
                               format_func=label_of, key="art_author", disabled=bool(ro))
            if a2.button("Set author", key="art_author_set", disabled=bool(ro), help=ro):
                ui.run_action(lambda s: taxonomy.set_author(s, actor, content_id=cid, author_id=who),
                              success="Author set.")
        p1, p2, p3 = st.columns(3, vertical_alignment="bottom")
        label = "Update on WordPress" if state.site_status == "published" else "Publish now"
        if p1.button(label, key="art_publish_now", type="primary", disabled=bool(ro) or art.status not in (
                "approved", "published"), help=ro or "Only approved articles are published."):
            out = ui.run_work(lambda w: publishing.publish(w, actor, content_id=cid), spinner="Publishing …")
            if out is not None:
                ui.flash(f"Published: {out.url}" if out.ok else f"Not published: {out.error}")
                st.rerun()
        at_day = p2.date_input("Day (site time)", key="art_pub_day", disabled=bool(ro))
        at_time = p3.time_input("Time (site time)", key="art_pub_time", disabled=bool(ro))
        s1, s2, s3 = st.columns(3)
        if s1.button("Schedule at this time", key="art_schedule", disabled=bool(ro), help=ro):
            at = ui.site_moment(at_day, at_time, scope.timezone)
            ui.run_action(lambda s: publishing.schedule(s, actor, content_id=cid, at=at), success="Scheduled.")
        if s2.button("Take off the calendar", key="art_unschedule", disabled=bool(ro) or state.site_status not in (
                "scheduled", "failed"), help=ro):
            ui.run_action(lambda s: publishing.unschedule(s, actor, content_id=cid), success="Taken off the calendar.")
        if s3.button("Unpublish (back to draft on WordPress)", key="art_unpublish", disabled=bool(ro) or
                     not state.post_id, help=ro):
            out = ui.run_work(lambda w: publishing.unpublish(w, actor, content_id=cid), spinner="Unpublishing …")
            if out is not None:
                ui.flash("Unpublished: the post is a draft on WordPress." if out.ok else f"Failed: {out.error}")
                st.rerun()
        ui.table(({"When": ui.local_time(r.created_at, scope.timezone), "Outcome": r.status.value,
                   "Post": r.destination_id, "Error": r.error_message} for r in state.attempts),
                 key="art_attempts", empty="Not published yet.")

# --- history, diff and restore ----------------------------------------------------------------------------------------
with tab_history:
    hist = ui.run_action(lambda s: (review.history(s, actor, content_id=cid),
                                    revisions.list_revisions(s, actor, content_id=cid)))
    entries, revs = hist or ([], [])
    ui.table(({"When": ui.local_time(h.created_at, scope.timezone), "Who": h.who, "What": h.summary,
               "Comment": h.comment} for h in entries), empty="No history yet.", key="art_history")
    with st.form("art_comment_form", clear_on_submit=True):
        note = st.text_area("Add a comment", key="art_new_comment", disabled=bool(ro))
        if st.form_submit_button("Comment", disabled=bool(ro), help=ro):
            ui.run_action(lambda s: review.add_comment(s, actor, content_id=cid, comment=note), success="Commented.")
    numbers = [r.number for r in revs]
    if len(numbers) >= 2:
        d1, d2 = st.columns(2)
        older = d1.selectbox("Compare revision", numbers, index=1, key="art_diff_a")
        newer = d2.selectbox("with revision", numbers, index=0, key="art_diff_b")
        diff = ui.run_action(lambda s: revisions.diff(s, actor, content_id=cid, a=older, b=newer))
        if diff is not None:
            for change in diff.fields:
                st.markdown(f"**{ui.md(change.label)}**: ~~{ui.md(change.old or '—')}~~ → {ui.md(change.new or '—')}")
            with st.container(border=True, key="art_diff"):
                for line in diff.body:
                    mark = {"added": ":green[+ ", "removed": ":red[− "}.get(line.kind)
                    text = ui.md(line.text)
                    st.markdown(f"{mark}{text}]" if mark else text)
                if not diff.fields and not diff.body:
                    st.caption("The two revisions are the same.")
    if numbers:
        g1, g2 = st.columns([1, 3], vertical_alignment="bottom")
        back_to = g1.selectbox("Revision", numbers, key="art_restore_pick")
        if g2.button("Restore this revision", key="art_restore", disabled=bool(ro), help=ro):
            res = ui.run_action(lambda s: revisions.restore(s, actor, content_id=cid, number=back_to,
                                                            base_version=st.session_state[base_key]))
            if res is not None:
                st.session_state[base_key] = res.version
                for k in keys.values():
                    st.session_state.pop(k, None)
                ui.flash(res.message)
                st.rerun()
