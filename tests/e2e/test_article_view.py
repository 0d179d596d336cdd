"""In Chromium: an article whose stored HTML carries a <script>, an onerror= handler and javascript: links (as an AI
or an old import might have written it, bypassing our sanitizer) runs nothing when viewed — in the preview, the
live preview of the editor and the revision diff. Its text shows; no dialog opens, no marker is set, the browser
asks the attacker's host for nothing, and no link or handler of that kind is in the DOM."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import tenancy
from core.identity import sites
from core.planner import clusters
from core.writer import tasks
from db.enums import RevisionKind
from db.models import Content, ContentRevision, User
from tests.e2e.conftest import OWNER_EMAIL
from tests.e2e.seeded import dashboard_on, log_in

EVIL_HTML = ('<h2>Grip on wet rock</h2><p>Lugs bite into mud.</p>'
             '<script>window.__pwned = "script"; alert("script")</script>'
             '<img src="https://evil.example/x.png" onerror="window.__pwned=\'onerror\'; alert(\'onerror\')">'
             '<p><a href="javascript:window.__pwned=\'link\'">Click for a discount</a> '
             '<a href="JaVaScRiPt:alert(1)">and another</a></p>'
             '<svg onload="window.__pwned=\'svg\'"><circle r="4"/></svg>'
             '<iframe src="javascript:alert(\'frame\')"></iframe>'
             '<p onclick="window.__pwned=\'click\'">Sticky rubber matters most.</p>')
ARTICLE: dict[str, int] = {}


def _fill(rt) -> None:
    with rt.transaction() as s:
        owner = tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER_EMAIL)).one())
        site = sites.create_site(s, owner, name="Trail Blog")
        sector = sites.create_sector(s, owner, site_id=site.id, name="Shoes")
        cluster = clusters.create(s, owner, site_id=site.id, sector_id=sector.id, name="Grip")
        task = tasks.create(s, owner, site_id=site.id, sector_id=sector.id, title="Grip guide", cluster_id=cluster.id)
        c = Content(account_id=site.account_id, site_id=site.id, sector_id=sector.id, task_id=task.id,
                    title="Grip guide", content_html=EVIL_HTML, word_count=12, cluster_id=cluster.id)
        s.add(c)
        s.flush()
        for number in (1, 2):  # two revisions holding the raw HTML: the diff shows it as text
            s.add(ContentRevision(account_id=c.account_id, site_id=c.site_id, sector_id=c.sector_id, content_id=c.id,
                                  number=number, kind=RevisionKind.edit, title=c.title,
                                  content_html=EVIL_HTML + ("<p>Second.</p>" if number == 2 else ""),
                                  meta_title="", meta_description="", primary_keyword="", secondary_keywords=[],
                                  word_count=12, changed=["content_html"], note=""))
        ARTICLE["id"] = c.id


@pytest.fixture(scope="module")
def article_dashboard(backend, fresh_database, tmp_path_factory):
    with dashboard_on(fresh_database(), tmp_path_factory.mktemp("e2e-article"), _fill) as url:
        yield url


def test_an_article_with_scripts_handlers_and_javascript_links_runs_nothing(browser, article_dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    dialogs: list[str] = []
    asked: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: asked.append(r.url) if "evil.example" in r.url else None)
    try:
        log_in(page, article_dashboard)
        page.goto(f"{article_dashboard}/writer-article?id={ARTICLE['id']}")
        preview = page.locator(".st-key-art_preview")
        expect(preview.get_by_text("Sticky rubber matters most.")).to_be_visible(timeout=30_000)
        expect(preview.get_by_text("Click for a discount")).to_be_visible()
        page.get_by_role("tab", name="Edit").click()
        expect(page.locator(".st-key-art_live").get_by_text("Sticky rubber matters most.")).to_be_visible()
        page.get_by_role("tab", name="History").click()
        expect(page.locator(".st-key-art_diff").get_by_text("Second.")).to_be_visible()
        page.get_by_role("tab", name="Preview").click()
        preview.get_by_text("Click for a discount").click()  # a link that survived would run here
        preview.get_by_text("Sticky rubber matters most.").click()
        page.wait_for_timeout(1000)

        assert page.evaluate("window.__pwned === undefined"), page.evaluate("window.__pwned")
        assert dialogs == []
        assert asked == []
        for selector in ("a[href^='javascript' i]", "[onerror]", "[onclick]", "[onload]", "iframe[src^='javascript' i]"):
            assert page.locator(selector).count() == 0, selector
        assert page.locator(".st-key-art_preview script, .st-key-art_live script").count() == 0
    finally:
        ctx.close()
