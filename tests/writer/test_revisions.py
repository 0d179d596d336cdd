"""core.writer.revisions: the history list, one revision, the diff of any two (fields and body blocks), restore
(a new revision under the editor's optimistic lock, raced by processes on PostgreSQL), tenancy and roles, and the
first save of an article from before revisions were kept."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core import tenancy
from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from core.writer import content, revisions
from core.writer.html import word_count
from core.writer.revisions import DiffLine, FieldChange
from db.base import utcnow
from db.enums import ContentSource, RevisionKind, Role, SiteStatus
from db.models import Content, ContentRevision, SiteUserAccess, User
from tests import factories as f
from tests import races

BODY = "<h2>Grinders</h2><p>A burr grinder makes even grounds.</p><ul><li>Flat burrs</li><li>Conical burrs</li></ul>"


@pytest.fixture
def ws(session) -> SimpleNamespace:
    return f.workspace(session)


def editor(ws: SimpleNamespace, *, role: Role = Role.editor, granted: bool = True) -> tenancy.Actor:
    u = f.user(ws.s, ws.acct, role=role)
    if granted:
        ws.s.add(SiteUserAccess(account_id=ws.acct.id, site_id=ws.site.id, user_id=u.id))
        ws.s.flush()
    return f.actor(ws.s, u)


def article(ws: SimpleNamespace, *, body: str = BODY, site_status: SiteStatus = SiteStatus.not_published,
            generated: bool = True, source: ContentSource = ContentSource.igny8) -> Content:
    """An article in the workspace's sector; `generated`: with revision 1 written by the scheduler, else none (an
    article from before revisions were kept)."""
    c = Content(account_id=ws.acct.id, site_id=ws.site.id, sector_id=ws.sector.id, title="Best grinders",
                content_html=body, word_count=word_count(body), meta_title="Best grinders meta",
                meta_description="How to choose.", primary_keyword="grinder", secondary_keywords=["burr grinder"],
                site_status=site_status, source=source)
    ws.s.add(c)
    ws.s.flush()
    if generated:
        revisions.record_generated(ws.s, tenancy.system_actor(ws.acct.id), content=c)
    return c


def save(ws: SimpleNamespace, actor: tenancy.Actor, content_id: int, *, base_version: int | None = None,
         note: str = "", **changes: Any) -> revisions.SaveResult:
    """Save the article as the editor shows it now, with `changes`."""
    art = content.get_article(ws.s, actor, content_id=content_id)
    base = {"title": art.title, "content_html": art.content_html, "meta_title": art.meta_title,
            "meta_description": art.meta_description, "primary_keyword": art.primary_keyword,
            "secondary_keywords": art.secondary_keywords}
    return content.save(ws.s, actor, content_id=content_id, note=note,
                        base_version=art.version if base_version is None else base_version, **(base | changes))


def stored(s, content_id: int) -> tuple:
    s.expire_all()
    c = s.get(Content, content_id)
    return (c.title, c.content_html, c.meta_title, c.meta_description, c.primary_keyword, c.secondary_keywords,
            c.word_count, c.version)


def revision_numbers(s, content_id: int) -> list[int]:
    return list(s.scalars(select(ContentRevision.number).where(ContentRevision.content_id == content_id)
                          .order_by(ContentRevision.number)))


def email(ws: SimpleNamespace, actor: tenancy.Actor) -> str:
    return ws.s.get(User, actor.user_id).email


# --- the list and one revision --------------------------------------------------------------------------------------

def test_the_list_is_newest_first_with_who_what_kind_and_which_fields_changed(ws):
    a = article(ws)
    ed = editor(ws)
    save(ws, ed, a.id, title="Better grinders", note="Sharper title")
    save(ws, ws.actor, a.id, content_html="<p>One two three.</p>", meta_description="Pick one.")
    revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=3)
    rows = revisions.list_revisions(ws.s, ed, content_id=a.id)
    assert [(r.number, r.kind, r.by) for r in rows] == [
        (4, "restore", ws.owner.email), (3, "edit", ws.owner.email), (2, "edit", email(ws, ed)), (1, "generated", "")]
    assert [r.changed for r in rows] == [["title", "content_html", "meta_description"],
                                        ["content_html", "meta_description"], ["title"], list(revisions.FIELDS)]
    assert [r.note for r in rows] == ["Restored revision 1", "", "Sharper title", "Written by the AI"]
    assert [r.word_count for r in rows] == [word_count(BODY), 3, word_count(BODY), word_count(BODY)]
    assert all(newer.at >= older.at for newer, older in zip(rows, rows[1:], strict=False))


def test_get_revision_returns_that_revision_with_its_body(ws):
    a = article(ws)
    save(ws, ws.actor, a.id, content_html="<p>Second text.</p>")
    first = revisions.get_revision(ws.s, ws.actor, content_id=a.id, number=1)
    second = revisions.get_revision(ws.s, ws.actor, content_id=a.id, number="2")  # a number from a text field
    assert (first.kind, first.content_html, first.title) == (RevisionKind.generated, BODY, "Best grinders")
    assert (second.kind, second.content_html, second.word_count) == (RevisionKind.edit, "<p>Second text.</p>", 2)


def test_a_missing_revision_names_the_ones_there_are(ws):
    a = article(ws)
    with pytest.raises(NotFound, match=r"“Best grinders” has no revision 2 \(it has only revision 1\)"):
        revisions.get_revision(ws.s, ws.actor, content_id=a.id, number=2)
    save(ws, ws.actor, a.id, title="Best grinders 2026")
    with pytest.raises(NotFound, match=r"has no revision 7 \(its revisions are 1 to 2\)"):
        revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=7)
    with pytest.raises(NotFound, match=r"has no revision 1 \(it has no revisions yet: the first save makes them\)"):
        revisions.get_revision(ws.s, ws.actor, content_id=article(ws, generated=False).id, number=1)


def test_other_accounts_and_ungranted_sites_see_no_revision(ws):
    a = article(ws)
    save(ws, ws.actor, a.id, title="Better grinders")
    stranger = f.owner_actor(ws.s, f.account(ws.s))
    outsider = editor(ws, granted=False)
    for who in (stranger, outsider):
        with pytest.raises(NotFound):
            revisions.list_revisions(ws.s, who, content_id=a.id)
        with pytest.raises(NotFound):
            revisions.get_revision(ws.s, who, content_id=a.id, number=1)
        with pytest.raises(NotFound):
            revisions.diff(ws.s, who, content_id=a.id, a=1, b=2)
        f.refused(ws.s, NotFound, lambda who=who: revisions.restore(ws.s, who, content_id=a.id, number=1,
                                                                    base_version=2))
    assert stored(ws.s, a.id)[0] == "Better grinders"


# --- the diff -------------------------------------------------------------------------------------------------------

OLD = ["Grinders", *(f"Paragraph {i}." for i in range(1, 14))]  # a heading and 13 paragraphs


def body_of(lines: list[str]) -> str:
    return "<h2>" + lines[0] + "</h2>" + "".join(f"<p>{t}</p>" for t in lines[1:])


def two_revisions(ws: SimpleNamespace) -> Content:
    """Revision 1 with OLD; revision 2: paragraph 7 rewritten, one paragraph added at the end, a new title and
    secondary keywords."""
    new = [*OLD[:7], "Paragraph 7, rewritten.", *OLD[8:], "A closing paragraph."]
    a = article(ws, body=body_of(OLD))
    save(ws, ws.actor, a.id, title="Better grinders", content_html=body_of(new),
         secondary_keywords=["burr grinder", "hand grinder"])
    return a


def test_the_diff_shows_changed_fields_with_labels_and_the_body_block_by_block(ws):
    a = two_revisions(ws)
    d = revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=2)
    assert (d.a, d.b) == (1, 2)
    assert d.fields == [FieldChange("title", "Title", "Best grinders", "Better grinders"),
                        FieldChange("secondary_keywords", "Secondary keywords", "burr grinder",
                                    "burr grinder, hand grinder")]
    assert d.body == [DiffLine("fold", "… 5 unchanged …"), DiffLine("same", "Paragraph 5."),
                      DiffLine("same", "Paragraph 6."), DiffLine("removed", "Paragraph 7."),
                      DiffLine("added", "Paragraph 7, rewritten."), DiffLine("same", "Paragraph 8."),
                      DiffLine("same", "Paragraph 9."), DiffLine("fold", "… 2 unchanged …"),
                      DiffLine("same", "Paragraph 12."), DiffLine("same", "Paragraph 13."),
                      DiffLine("added", "A closing paragraph.")]
    lines = d.lines()
    assert lines[:2] == ["Title: “Best grinders” → “Better grinders”",
                         "Secondary keywords: “burr grinder” → “burr grinder, hand grinder”"]
    assert "− Paragraph 7." in lines and "+ Paragraph 7, rewritten." in lines and "  … 5 unchanged …" in lines


def test_the_diff_the_other_way_round_swaps_old_and_new(ws):
    a = two_revisions(ws)
    forward = revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=2)
    back = revisions.diff(ws.s, ws.actor, content_id=a.id, a=2, b=1)
    assert (back.a, back.b) == (2, 1)
    assert [(c.field, c.old, c.new) for c in back.fields] == [(c.field, c.new, c.old) for c in forward.fields]
    swap = {"added": "removed", "removed": "added"}
    assert sorted((swap.get(x.kind, x.kind), x.text) for x in back.body) == sorted((x.kind, x.text)
                                                                                  for x in forward.body)
    assert DiffLine("removed", "A closing paragraph.") in back.body


def test_a_revision_against_itself_or_its_restored_copy_is_the_same(ws):
    a = two_revisions(ws)
    same = revisions.diff(ws.s, ws.actor, content_id=a.id, a=2, b=2)
    assert (same.fields, same.body, same.lines()) == ([], [], ["Revisions 2 and 2 are the same."])
    revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=2)
    copy = revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=3)
    assert (copy.fields, copy.body) == ([], [])


def test_a_body_that_changed_only_its_markup_says_so(ws):
    a = article(ws, body="<p>Read the guide.</p>")
    save(ws, ws.actor, a.id, content_html='<p>Read <a href="https://example.com/guide">the guide</a>.</p>')
    d = revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=2)
    assert (d.fields, d.body) == ([], [DiffLine("fold", revisions.MARKUP_ONLY)])


@pytest.mark.parametrize("bad", ["two", "", None, 1.5, True, [1]])
def test_a_revision_number_that_is_not_a_whole_number_is_refused(ws, bad):
    a = article(ws)
    with pytest.raises(ValidationFailed, match="A revision number is a whole number, not “"):
        revisions.diff(ws.s, ws.actor, content_id=a.id, a=1, b=bad)
    with pytest.raises(ValidationFailed, match="A revision number is a whole number"):
        revisions.get_revision(ws.s, ws.actor, content_id=a.id, number=bad)


@pytest.mark.parametrize("bad", [0, -1, "-1", 10**30])
def test_a_revision_number_out_of_range_is_refused(ws, bad):
    a = article(ws)
    with pytest.raises(ValidationFailed, match="A revision number is a whole number from 1 to 2,147,483,647, not"):
        revisions.diff(ws.s, ws.actor, content_id=a.id, a=bad, b=1)


def test_whole_numbers_given_as_text_or_float_are_accepted(ws):
    a = article(ws)
    assert revisions.diff(ws.s, ws.actor, content_id=a.id, a=" 1 ", b=1.0).lines() == ["Revisions 1 and 1 are the "
                                                                                        "same."]


# --- restore --------------------------------------------------------------------------------------------------------

def test_restore_brings_the_text_back_as_a_new_revision(ws):
    a = article(ws)
    first = stored(ws.s, a.id)
    save(ws, ws.actor, a.id, title="Other title", content_html="<p>Short now.</p>", primary_keyword="mill",
         secondary_keywords=[])
    ed = editor(ws)
    res = revisions.restore(ws.s, ed, content_id=a.id, number=1, base_version=2)
    assert (res.version, res.revision, res.word_count, res.removed) == (3, 3, word_count(BODY), False)
    assert res.changed == ["title", "content_html", "primary_keyword", "secondary_keywords"]
    assert res.message == (f"Restored revision 1 as revision 3 (title, body, primary keyword, secondary keywords "
                           f"changed; {word_count(BODY)} words).")
    assert stored(ws.s, a.id) == (*first[:-1], 3)
    rev = revisions.get_revision(ws.s, ws.actor, content_id=a.id, number=3)
    assert (rev.kind, rev.note, rev.created_by_id, rev.content_html) == (RevisionKind.restore, "Restored revision 1",
                                                                         ed.user_id, BODY)
    art = content.get_article(ws.s, ws.actor, content_id=a.id)
    assert (art.version, art.revisions, art.updated_by) == (3, 3, email(ws, ed))


def test_restore_from_an_older_version_is_refused_naming_who_saved(ws):
    a = article(ws)
    ed = editor(ws)
    save(ws, ed, a.id, title="Their title")
    exc = f.refused(ws.s, Conflict, lambda: revisions.restore(ws.s, ws.actor, content_id=a.id, number=1,
                                                              base_version=1))
    assert str(exc).startswith(f"“{email(ws, ed)}” saved this article meanwhile (revision 2; you started from "
                               "version 1, it is at version 2 now), so nothing was restored.")
    assert "Your text is still in the editor" not in str(exc)  # a restore has no text in the editor
    assert stored(ws.s, a.id)[0] == "Their title" and revision_numbers(ws.s, a.id) == [1, 2]


def test_viewers_cannot_restore_but_can_read_the_history(ws):
    a = article(ws)
    save(ws, ws.actor, a.id, title="Better grinders")
    viewer = editor(ws, role=Role.viewer)
    f.refused(ws.s, AccessDenied, lambda: revisions.restore(ws.s, viewer, content_id=a.id, number=1, base_version=2),
              match="Viewers can look but not change anything")
    assert [r.number for r in revisions.list_revisions(ws.s, viewer, content_id=a.id)] == [2, 1]
    assert revisions.diff(ws.s, viewer, content_id=a.id, a=1, b=2).fields[0].new == "Better grinders"
    assert stored(ws.s, a.id)[0] == "Better grinders"


def test_restoring_what_the_article_holds_now_changes_nothing(ws):
    a = article(ws)
    save(ws, ws.actor, a.id, title="Better grinders")
    before = stored(ws.s, a.id)
    res = revisions.restore(ws.s, ws.actor, content_id=a.id, number=2, base_version=2)
    assert (res.version, res.revision, res.changed) == (2, 2, [])
    assert res.message == "Revision 2 is what the article holds now: nothing to restore."
    assert stored(ws.s, a.id) == before and revision_numbers(ws.s, a.id) == [1, 2]
    revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=2)
    again = revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=3)  # rev 3 is rev 1's text
    assert (again.version, again.revision, again.changed) == (3, 3, [])
    assert revision_numbers(ws.s, a.id) == [1, 2, 3]


@pytest.mark.parametrize(("number", "base_version", "message"), [
    ("one", 2, "A revision number is a whole number, not “one”"),
    (1, "v2", "The version you started from is a whole number, not “v2”"),
    (1, 0, "The version you started from is a whole number from 1 to"),
    (3, 2, r"has no revision 3 \(its revisions are 1 to 2\)"),
])
def test_restore_with_bad_numbers_is_refused_with_a_message(ws, number, base_version, message):
    a = article(ws)
    save(ws, ws.actor, a.id, title="Better grinders")
    f.refused(ws.s, (ValidationFailed, NotFound), lambda: revisions.restore(ws.s, ws.actor, content_id=a.id,
                                                                             number=number,
                                                                             base_version=base_version),
              match=message)
    assert stored(ws.s, a.id)[0] == "Better grinders"


def test_restoring_a_published_article_says_wordpress_is_not_updated(ws):
    a = article(ws, site_status=SiteStatus.published)
    save(ws, ws.actor, a.id, title="Better grinders")
    res = revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=2)
    assert "The post on WordPress is not updated by saving" in res.message


def test_a_save_of_an_article_deleted_meanwhile_is_refused(ws):
    a = article(ws)
    loaded = tenancy.get_for_write(ws.s, ws.actor, Content, a.id)
    ws.s.execute(update(Content).where(Content.id == a.id).values(deleted_at=utcnow())
                 .execution_options(synchronize_session=False))  # another session deletes it meanwhile
    values = {fld: getattr(loaded, fld) for fld in revisions.FIELDS} | {"title": "Mine"}
    with pytest.raises(Conflict, match="This article was deleted meanwhile, so your save was not written"):
        revisions.store(ws.s, ws.actor, content=loaded, base_version=1, values=values, kind=RevisionKind.edit,
                        note="")
    assert revision_numbers(ws.s, a.id) == [1]


# --- articles from before revisions were kept ----------------------------------------------------------------------

@pytest.mark.parametrize(("source", "kind"), [(ContentSource.igny8, "generated"), (ContentSource.wordpress, "edit")])
def test_the_first_save_of_an_article_without_revisions_keeps_its_old_text_first(ws, source, kind):
    a = article(ws, generated=False, source=source)
    old = stored(ws.s, a.id)
    res = save(ws, ws.actor, a.id, title="Better grinders", content_html="<p>New text.</p>")
    assert (res.revision, res.version) == (2, 2)
    rows = revisions.list_revisions(ws.s, ws.actor, content_id=a.id)
    assert [(r.number, r.kind, r.note) for r in rows] == [(2, "edit", ""), (1, kind, revisions.BASELINE_NOTE)]
    assert rows[1].changed == list(revisions.FIELDS) and rows[1].word_count == old[6]
    revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=2)
    assert stored(ws.s, a.id) == (*old[:-1], 3)


def test_a_refused_first_save_writes_no_revision_either(ws):
    a = article(ws, generated=False)
    ws.s.execute(update(Content).where(Content.id == a.id).values(version=2)
                 .execution_options(synchronize_session=False))  # someone saved meanwhile
    f.refused(ws.s, Conflict, lambda: save(ws, ws.actor, a.id, base_version=1, title="Mine"))
    assert revision_numbers(ws.s, a.id) == []


# --- processes saving and restoring one article from the same version (PostgreSQL) ---------------------------------

def _racer(url: str, content_id: int, user_id: int, n: int, go: Any) -> str:
    def work(s, actor):
        if n % 2:
            revisions.restore(s, actor, content_id=content_id, number=1, base_version=2)
            return
        art = content.get_article(s, actor, content_id=content_id)
        content.save(s, actor, content_id=content_id, base_version=2, title=f"Process {n}",
                     content_html=art.content_html, meta_title=art.meta_title,
                     meta_description=art.meta_description, primary_keyword=art.primary_keyword,
                     secondary_keywords=art.secondary_keywords)
    return races.as_user(url, user_id, go, work)

@pytest.mark.pg_only
def test_processes_saving_and_restoring_one_version_exactly_one_wins(pg_runtime):
    with pg_runtime() as s:
        w = f.workspace(s)
        a = article(w)
        content.save(s, w.actor, content_id=a.id, base_version=1, title="Second", content_html=BODY,
                     meta_title=a.meta_title, meta_description=a.meta_description, primary_keyword="grinder",
                     secondary_keywords=["burr grinder"])
        cid, uid = a.id, w.owner.id
    url = pg_runtime.engine.url.render_as_string(hide_password=False)
    out = races.run_together(_racer, [(url, cid, uid, n) for n in range(4)])
    assert out.count("won") == 1, out
    assert all("saved this article meanwhile (revision 3;" in o for o in out if o != "won"), out
    with pg_runtime() as s:
        assert revision_numbers(s, cid) == [1, 2, 3]
        row = s.get(Content, cid)
        assert row.version == 3 and (row.title == "Best grinders" or row.title.startswith("Process "))
        assert s.scalar(select(func.count(ContentRevision.id)).where(ContentRevision.content_id == cid,
                                                                    ContentRevision.kind.in_(["edit", "restore"]))) == 2

