"""core.writer.content: the sector's article list and counts, the article for the editor, and saving it (sanitized,
checked, optimistic lock raced by processes on PostgreSQL); the `content` CLI command."""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core import tenancy
from core.cli import main as cli
from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from core.writer import content, revisions
from core.writer.html import word_count
from db.enums import ContentStatus, ImageStatus, Role, SiteStatus
from db.models import Clusters, Content, ContentRevision, Images, SiteUserAccess, Tasks, User
from tests import factories as f
from tests import races

BODY = "<h2>Grinders</h2><p>A burr grinder makes even grounds.</p><ul><li>Flat burrs</li><li>Conical burrs</li></ul>"


def article(ws: SimpleNamespace, *, title: str = "Best grinders", body: str = BODY, cluster: str | None = "Grinders",
            status: ContentStatus = ContentStatus.draft, site_status: SiteStatus = SiteStatus.not_published,
            task: bool = True) -> Content:
    """A generated article in the workspace's sector (revision 1), with its cluster and task."""
    s = ws.s
    where = {"account_id": ws.acct.id, "site_id": ws.site.id, "sector_id": ws.sector.id}
    cl = None
    if cluster:
        cl = s.scalar(select(Clusters).where(Clusters.sector_id == ws.sector.id, Clusters.name == cluster))
        if cl is None:
            cl = Clusters(**where, name=cluster)
            s.add(cl)
            s.flush()
    t = None
    if task:
        t = Tasks(**where, title=f"Task of {title}", cluster_id=cl.id if cl else _any_cluster(ws).id)
        s.add(t)
        s.flush()
    c = Content(**where, title=title, content_html=body, word_count=word_count(body), meta_title=f"{title} meta",
                meta_description="How to choose.", primary_keyword="grinder", secondary_keywords=["burr grinder"],
                cluster_id=cl.id if cl else None, task_id=t.id if t else None, status=status, site_status=site_status)
    s.add(c)
    s.flush()
    revisions.record_generated(s, ws.actor, content=c)
    return c


def _any_cluster(ws: SimpleNamespace) -> Clusters:
    cl = Clusters(account_id=ws.acct.id, site_id=ws.site.id, sector_id=ws.sector.id, name=f"c{f._seq.__next__()}")
    ws.s.add(cl)
    ws.s.flush()
    return cl


def fields(c: Content | content.Article, **changes: Any) -> dict[str, Any]:
    """The save arguments of an article as the editor shows it, with `changes`."""
    base = {"content_id": c.id, "base_version": c.version, "title": c.title, "content_html": c.content_html,
            "meta_title": c.meta_title, "meta_description": c.meta_description, "primary_keyword": c.primary_keyword,
            "secondary_keywords": list(c.secondary_keywords)}
    return base | changes


def revision_count(s, content_id: int) -> int:
    return s.scalar(select(func.count(ContentRevision.id)).where(ContentRevision.content_id == content_id))


@pytest.fixture
def ws(session):
    return f.workspace(session)


def _editor(ws: SimpleNamespace, *, role: Role = Role.editor, granted: bool = True) -> tenancy.Actor:
    u = f.user(ws.s, ws.acct, role=role)
    if granted:
        ws.s.add(SiteUserAccess(account_id=ws.acct.id, site_id=ws.site.id, user_id=u.id))
        ws.s.flush()
    return f.actor(ws.s, u)


# --- the list -----------------------------------------------------------------------------------------------------

def test_pages_walk_every_row_once_newest_first_with_the_total(ws):
    made = [article(ws, title=f"Article {i}", task=False).id for i in range(7)]
    other = f.sector(ws.s, ws.site)
    ws.s.add(Content(account_id=ws.acct.id, site_id=ws.site.id, sector_id=other.id, title="elsewhere"))
    seen, after, pages = [], None, 0
    while True:
        page = content.list_content(ws.s, ws.actor, sector_id=ws.sector.id, limit=3, after=after)
        assert page.total == 7 and page.fetched <= 4
        seen += [r.id for r in page.rows]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(made, reverse=True) and pages == 3


def test_rows_carry_cluster_images_and_meta_length_and_filters_narrow(ws):
    a = article(ws, title="Espresso guide", status=ContentStatus.review)
    b = article(ws, title="Kettle picks", cluster=None, task=False, site_status=SiteStatus.published)
    where = {"account_id": ws.acct.id, "site_id": ws.site.id, "sector_id": ws.sector.id, "content_id": a.id}
    ws.s.add_all([Images(**where, status=ImageStatus.generated), Images(**where), Images(**where, deleted_at=a.created_at)])
    ws.s.flush()
    rows = {r.id: r for r in content.list_content(ws.s, ws.actor, sector_id=ws.sector.id).rows}
    assert (rows[a.id].cluster, rows[a.id].images, rows[a.id].meta_title_length) == ("Grinders", 2, len(a.meta_title))
    assert (rows[a.id].status, rows[a.id].task_id, rows[a.id].word_count) == ("review", a.task_id, a.word_count)
    assert (rows[b.id].cluster, rows[b.id].images, rows[b.id].site_status) == ("", 0, "published")

    def ids(**kw) -> list[int]:
        return [r.id for r in content.list_content(ws.s, ws.actor, sector_id=ws.sector.id, **kw).rows]
    assert ids(status="review") == [a.id]
    assert ids(site_status="published") == [b.id]
    assert ids(search="ESPRESSO") == [a.id]
    assert ids(search="100%_") == []  # LIKE wildcards are text
    with pytest.raises(ValidationFailed, match="Status must be one of draft, review"):
        ids(status="lost")


def test_counts_group_by_status_with_zeros(ws):
    for st in (ContentStatus.draft, ContentStatus.draft, ContentStatus.approved):
        article(ws, status=st, task=False, site_status=SiteStatus.scheduled if st == "approved" else
                SiteStatus.not_published)
    by_status, by_site = content.counts(ws.s, ws.actor, sector_id=ws.sector.id)
    assert by_status == {"draft": 2, "review": 0, "approved": 1, "published": 0}
    assert by_site == {"not_published": 2, "scheduled": 1, "publishing": 0, "published": 0, "failed": 0}


def test_other_accounts_and_unGranted_sites_are_not_found(ws):
    a = article(ws)
    stranger = f.owner_actor(ws.s, f.account(ws.s))
    outsider = _editor(ws, granted=False)
    for who in (stranger, outsider):
        with pytest.raises(NotFound):
            content.list_content(ws.s, who, sector_id=ws.sector.id)
        with pytest.raises(NotFound):
            content.counts(ws.s, who, sector_id=ws.sector.id)
        with pytest.raises(NotFound):
            content.get_article(ws.s, who, content_id=a.id)
        f.refused(ws.s, NotFound, lambda who=who: content.save(ws.s, who, **fields(a, title="Taken over")))


def test_get_article_has_everything_the_editor_needs(ws):
    a = article(ws)
    content.save(ws.s, ws.actor, **fields(a, title="Better grinders"))
    art = content.get_article(ws.s, ws.actor, content_id=a.id)
    assert (art.title, art.version, art.revisions, art.updated_by) == ("Better grinders", 2, 2, ws.owner.email)
    assert (art.task, art.cluster, art.status, art.site_status) == ("Task of Best grinders", "Grinders", "draft",
                                                                    "not_published")
    assert (art.content_html, art.secondary_keywords, art.word_count) == (BODY, ["burr grinder"], word_count(BODY))


# --- saving -------------------------------------------------------------------------------------------------------

def test_save_writes_a_revision_naming_the_changed_fields_and_recounts_words(ws):
    a = article(ws)
    body = "<h2>Grinders</h2><p>One two three four five.</p>"
    res = content.save(ws.s, ws.actor, **fields(a, content_html=body, meta_title="New meta", note="Shorter",
                                                 secondary_keywords="burr grinder, Hand grinder , burr GRINDER,"))
    assert (res.version, res.revision, res.word_count, res.removed) == (2, 2, 6, False)
    assert res.changed == ["content_html", "meta_title", "secondary_keywords"]
    assert res.message == "Saved revision 2 (body, meta title, secondary keywords changed; 6 words)."
    ws.s.expire_all()
    row = ws.s.get(Content, a.id)
    assert (row.word_count, row.version, row.updated_by_id) == (6, 2, ws.owner.id)
    assert row.secondary_keywords == ["burr grinder", "Hand grinder"]
    rev = revisions.get_revision(ws.s, ws.actor, content_id=a.id, number=2)
    assert (rev.kind, rev.note, rev.changed, rev.content_html) == ("edit", "Shorter", res.changed, body)


def test_a_save_that_changes_nothing_writes_no_revision(ws):
    a = article(ws)
    res = content.save(ws.s, ws.actor, **fields(a, title="  Best   grinders ", secondary_keywords="burr grinder"))
    assert (res.version, res.revision, res.changed) == (1, 1, [])
    assert res.message == "Nothing changed since revision 1: no new revision was written."
    assert revision_count(ws.s, a.id) == 1 and ws.s.get(Content, a.id).version == 1


UNSAFE = ('<p>Hello <img src="x" onerror="alert(1)"> world</p><script>alert(2)</script>'
          '<p><a href="javascript:alert(3)">click</a> <a href="https://example.com" onclick="x()">ok</a></p>')


def test_save_sanitizes_the_stored_html_and_every_revision(ws):
    a = article(ws)
    res = content.save(ws.s, ws.actor, **fields(a, content_html=UNSAFE))
    assert res.removed and "Markup that is not allowed was removed" in res.message
    restored = revisions.restore(ws.s, ws.actor, content_id=a.id, number=1, base_version=res.version)
    content.save(ws.s, ws.actor, **fields(a, base_version=restored.version, content_html=UNSAFE + "<p>again</p>"))
    ws.s.expire_all()
    stored = [ws.s.get(Content, a.id).content_html] + list(ws.s.scalars(
        select(ContentRevision.content_html).where(ContentRevision.content_id == a.id)))
    assert len(stored) == 5
    for text in stored:
        for bad in ("<script", "onerror", "javascript:", "onclick", "alert("):
            assert bad not in text
    assert 'href="https://example.com"' in stored[0] and "Hello" in stored[0]


def test_a_clean_body_is_not_reported_as_removed(ws):
    a = article(ws)
    res = content.save(ws.s, ws.actor, **fields(a, content_html='<P>Upper <A HREF="https://x.org">case</A></P>'))
    assert not res.removed and "removed" not in res.message


BIG = "<p>" + "word " * 210_000 + "</p>"  # 1,050,007 bytes
HUGE = "<p>" + "x" * (5_000_000 - 7) + "</p>"  # 5 MB


@pytest.mark.parametrize(("changes", "message"), [
    ({"content_html": "<p>  </p><script>x()</script>"}, "The article body has no text left after removing markup"),
    ({"content_html": ""}, "The article body has no text: write the article"),
    ({"content_html": None}, "The article body has no text: write the article"),
    ({"content_html": "<p>&nbsp;</p>\n<p> </p>"}, "The article body has no text: write the article"),
    ({"content_html": BIG}, r"The article body is 1.05 MB \(1,050,007 bytes\); the limit is 1 MB"),
    ({"content_html": HUGE}, r"The article body is 5.00 MB \(5,000,000 bytes\); the limit is 1 MB\. Split it"),
    ({"title": "  "}, "The title is required"),
    ({"title": "x" * 256}, r"The title is too long \(256 characters; at most 255\)"),
    ({"meta_title": "m" * 256}, "The meta title is 256 characters; at most 255 are stored .search results show about 60"),
    ({"meta_title": "m" * 1000}, r"The meta title is 1,000 characters; at most 255 are stored \(search results show "
                                 r"about 60\)\."),
    ({"meta_description": "d" * 1001}, "The meta description is 1,001 characters; at most 1,000 are stored"),
    ({"primary_keyword": "k\0ey"}, r"The primary keyword cannot contain the NUL character"),
    ({"secondary_keywords": ["ok", "b\0ad"]}, r"A secondary keyword cannot contain the NUL"),
    ({"secondary_keywords": [f"kw {i}" for i in range(51)]}, "51 secondary keywords were given; at most 50"),
    ({"content_html": "<p>a\0b</p>"}, "The article body cannot contain the NUL"),
    ({"note": "n" * 501}, "The note is 501 characters; at most 500"),
    ({"base_version": "two"}, "The version the editor started from is a whole number"),
    ({"base_version": "²"}, "The version the editor started from is a whole number"),  # a digit int() refuses
    ({"base_version": 10**30}, "The version the editor started from is a whole number"),  # past the column
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(ws, changes, message):
    a = article(ws)
    before = (a.title, a.content_html, a.meta_title, a.version)
    f.refused(ws.s, ValidationFailed, lambda: content.save(ws.s, ws.actor, **fields(a, **changes)), match=message)
    ws.s.expire_all()
    row = ws.s.get(Content, a.id)
    assert (row.title, row.content_html, row.meta_title, row.version) == before


def test_keywords_are_kept_as_plain_text(ws):
    a = article(ws)
    content.save(ws.s, ws.actor, **fields(a, primary_keyword="<b>burr</b>  grinder",
                                          secondary_keywords=["<i>hand</i> mill", "a &amp; b"]))
    ws.s.expire_all()
    row = ws.s.get(Content, a.id)
    assert (row.primary_keyword, row.secondary_keywords) == ("burr grinder", ["hand mill", "a & b"])


def test_a_save_from_an_older_version_is_refused_naming_who_saved(ws):
    a = article(ws)
    other = _editor(ws)
    first = content.save(ws.s, other, **fields(a, title="Theirs"))
    exc = f.refused(ws.s, Conflict, lambda: content.save(ws.s, ws.actor, **fields(a, base_version=1, title="Mine")))
    email = ws.s.get(User, other.user_id).email
    assert f"“{email}” saved this article meanwhile (revision 2;" in str(exc)
    assert "Your text is still in the editor and nothing was lost" in str(exc)
    ws.s.expire_all()
    assert (ws.s.get(Content, a.id).title, ws.s.get(Content, a.id).version) == ("Theirs", first.version)


def test_viewers_cannot_save_and_granted_editors_can(ws):
    a = article(ws)
    viewer = _editor(ws, role=Role.viewer)
    f.refused(ws.s, AccessDenied, lambda: content.save(ws.s, viewer, **fields(a, title="Viewer was here")))
    assert content.get_article(ws.s, viewer, content_id=a.id).title == "Best grinders"  # viewers read
    res = content.save(ws.s, _editor(ws), **fields(a, title="Edited"))
    assert res.revision == 2


def test_editing_published_content_says_wordpress_is_not_updated(ws):
    a = article(ws, status=ContentStatus.published, site_status=SiteStatus.published)
    res = content.save(ws.s, ws.actor, **fields(a, title="Fixed a typo"))
    assert res.revision == 2 and "The post on WordPress is not updated by saving" in res.message


# --- N processes save one article from the same version (PostgreSQL) ------------------------------------------------

def _saver(url: str, content_id: int, user_id: int, n: int, go: Any) -> str:
    def work(s, actor):
        art = content.get_article(s, actor, content_id=content_id)
        content.save(s, actor, **fields(art, base_version=1, title=f"Process {n}"))
    return races.as_user(url, user_id, go, work)

@pytest.mark.pg_only
def test_processes_saving_one_version_exactly_one_wins(pg_runtime):
    with pg_runtime() as s:
        w = f.workspace(s)
        cid, uid = article(w).id, w.owner.id
    url = pg_runtime.engine.url.render_as_string(hide_password=False)
    out = races.run_together(_saver, [(url, cid, uid, n) for n in range(4)])
    assert out.count("won") == 1, out
    assert all("saved this article meanwhile (revision 2;" in o for o in out if o != "won")
    with pg_runtime() as s:
        assert revision_count(s, cid) == 2 and s.get(Content, cid).version == 2
        assert s.get(Content, cid).title.startswith("Process ")


# --- the CLI ------------------------------------------------------------------------------------------------------

def _cli(s, *argv: str) -> Any:
    args = cli.build_parser().parse_args(["content", *argv])
    return args.handler(s, args)


def test_cli_lists_a_sector_and_shows_an_article(ws):
    a = article(ws, title="Grinder “deluxe” *bold*")
    b = article(ws, title="Second", status=ContentStatus.review, task=False)
    where = ("--account", ws.acct.slug, "--site", ws.site.slug, "--sector", ws.sector.slug)
    lines = _cli(ws.s, *where)
    assert lines[0].startswith(f"Sector “{ws.sector.name}” of site “{ws.site.name}”: 2 articles")
    assert any(str(b.id) in line and "review" in line and "Second" in line for line in lines)
    only = _cli(ws.s, *where, "--status", "review", "--json")
    assert [r["id"] for r in only] == [b.id] and only[0]["sector"] == ws.sector.name
    shown = "\n".join(_cli(ws.s, "--account", ws.acct.slug, "--id", str(a.id)))
    assert "Grinder “deluxe” *bold*" in shown and BODY in shown and "1  generated" in shown
    data = json.loads(json.dumps(_cli(ws.s, "--account", ws.acct.slug, "--id", str(a.id), "--json"), default=str))
    assert data["version"] == 1 and data["content_html"] == BODY and data["revisions"][0]["number"] == 1
    with pytest.raises(NotFound):
        _cli(ws.s, "--account", f.account(ws.s).slug, "--id", str(a.id))


def test_cli_lists_every_sector_of_a_site_when_none_is_named(ws):
    article(ws, title="First sector article", task=False)
    other = f.sector(ws.s, ws.site, name="Tea")
    ws.s.execute(update(Content).where(Content.id == article(ws, title="Tea article", task=False).id)
                 .values(sector_id=other.id))
    rows = _cli(ws.s, "--account", ws.acct.slug, "--site", ws.site.slug, "--json")
    assert {(r["sector"], r["title"]) for r in rows} == {(ws.sector.name, "First sector article"),
                                                        ("Tea", "Tea article")}
