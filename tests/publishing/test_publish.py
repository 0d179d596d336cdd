"""Publishing one article to the real loopback WordPress: media with alt text, links rewritten, the post with its
terms, author, featured image and date_gmt; the record of each attempt; updates, unpublishing, and what is refused."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.errors import NotFound, ValidationFailed
from core.publishing import connection, events, service, taxonomy
from db.enums import ContentStatus, ContentType, PublishStatus, SiteStatus, TaxonomyType
from db.models import Content, PublishingRecord
from tests.fakes.wordpress import install_seo_fields
from tests.publishing.conftest import article, make_world


def _content(rt, content_id: int) -> Content:
    with rt.transaction() as s:
        c = s.get(Content, content_id)
        s.expunge(c)
        return c


def test_an_approved_article_goes_out_with_its_images_terms_and_seo_note(rt, wp, admin, world):
    cid = article(rt, world)
    with rt.transaction() as s:
        news = taxonomy.create_term(s, world.actor, site_id=world.site_id, name=f"News {world.marker}")
        tag = taxonomy.create_term(s, world.actor, site_id=world.site_id, name=f"burrs {world.marker}",
                                   taxonomy_type=TaxonomyType.tag)
        taxonomy.set_terms(s, world.actor, content_id=cid, taxonomy_ids=[news.id, tag.id])
    out = service.publish(rt, world.actor, content_id=cid)
    assert out.ok, out.error
    assert not out.adopted and len(out.media) == 3
    c = _content(rt, cid)
    assert (c.site_status, c.status, c.external_id) == (SiteStatus.published, ContentStatus.published, out.post_id)
    assert c.external_url.startswith(wp.url) and c.publish_error == ""
    post = admin.post(int(out.post_id))
    assert post["status"] == "publish" and post["title"]["raw"] == f"Best grinders {world.marker}"
    assert post["slug"] == c.external_metadata["wp_slug"] and post["slug"].endswith(f"-{cid}")
    assert post["excerpt"]["raw"] == "All about best grinders."
    featured = admin.media(post["featured_media"])
    assert featured["alt_text"] == "A grinder on a bench"
    inline = [admin.media(m["id"]) for k, m in c.external_metadata["media"].items() if m["id"] != featured["id"]]
    assert sorted(m["alt_text"] for m in inline) == ["Inline picture 0", "Inline picture 1"]
    raw = post["content"]["raw"]
    for m in inline:  # the article's images point at the media library, placed after the H2 sections
        assert m["source_url"] in raw
    assert raw.index(inline[0]["source_url"]) > raw.index("Burrs") and "<figcaption>Caption 0</figcaption>" in raw
    names = {t["name"] for t in admin.call("GET", "/wp/v2/categories", params={"include": post["categories"]}).json()}
    assert names == {f"News {world.marker}"}
    assert len(post["tags"]) == 1
    with rt.transaction() as s:  # the terms made on WordPress are now synced here
        terms = taxonomy.terms_of(s, world.actor, content_id=cid)
        assert all(t.external_id for t in terms)
        records = s.scalars(select(PublishingRecord).where(PublishingRecord.content_id == cid)).all()
        assert [(r.status, r.destination_id) for r in records] == [(PublishStatus.published, out.post_id)]
        log = events.list_events(s, world.actor, site_id=world.site_id, filters=events.Filter(action="publish"))
        assert [e.content_id for e in log.rows] == [cid] and log.rows[0].duration_ms > 0
    # the loopback WordPress has no SEO plugin: the meta title and description were not sent, and we say so
    assert any("no writable SEO field" in n for n in out.notes)


def test_seo_fields_are_written_where_the_site_exposes_them(rt, wp, admin):
    install_seo_fields(wp)  # pages get Yoast-style fields; posts have none
    w = make_world(rt, wp)
    connection.check(rt, w.actor, site_id=w.site_id)  # the doctor finds the fields
    cid = article(rt, w, title="About us", with_images=False, content_type=ContentType.page)
    out = service.publish(rt, w.actor, content_id=cid)
    assert out.ok and out.notes == [], out.error or out.notes
    page = admin.post(int(out.post_id), kind="pages")
    assert page["meta"]["_yoast_wpseo_title"] == "About us meta"
    assert page["meta"]["_yoast_wpseo_metadesc"] == "All about about us."
    assert _content(rt, cid).external_type == "page"


def test_a_user_who_may_not_publish_gets_wordpress_words(rt, wp, admin):
    name, password = admin.user("contributor")
    w = make_world(rt, wp, username=name, password=password)
    cid = article(rt, w, with_images=False)
    out = service.publish(rt, w.actor, content_id=cid)
    assert not out.ok and "WordPress answered 403" in out.error and "not allowed" in out.error
    c = _content(rt, cid)
    assert c.site_status == SiteStatus.failed and c.status == ContentStatus.approved
    assert admin.posts(w.marker) == []


def test_future_publishing_sends_date_gmt_and_an_update_edits_the_same_post(rt, admin, world):
    cid = article(rt, world, with_images=False)
    at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, second=0)
    out = service.publish(rt, world.actor, content_id=cid, at=at)
    assert out.ok, out.error
    post = admin.post(int(out.post_id))
    assert post["status"] == "future" and post["date_gmt"] == at.replace(tzinfo=None).isoformat()
    with rt.transaction() as s:
        c = s.get(Content, cid)
        c.title = f"Edited grinders {world.marker}"
        c.content_html = "<p>New body.</p>"
    again = service.publish(rt, world.actor, content_id=cid)
    assert again.ok and again.post_id == out.post_id
    post = admin.post(int(out.post_id))
    assert post["title"]["raw"] == f"Edited grinders {world.marker}" and "New body." in post["content"]["raw"]
    assert len(admin.posts(world.marker)) == 1


def test_unpublish_to_draft_or_trash_and_publish_again_reuses_the_post(rt, admin, world):
    cid = article(rt, world, with_images=False)
    first = service.publish(rt, world.actor, content_id=cid)
    down = service.unpublish(rt, world.actor, content_id=cid)
    assert down.ok and admin.post(int(first.post_id))["status"] == "draft"
    assert _content(rt, cid).site_status == SiteStatus.not_published
    back = service.publish(rt, world.actor, content_id=cid)
    assert back.post_id == first.post_id and admin.post(int(first.post_id))["status"] == "publish"
    gone = service.unpublish(rt, world.actor, content_id=cid, trash=True)
    assert gone.ok and admin.post(int(first.post_id))["status"] == "trash"


def test_only_approved_articles_of_connected_sites_are_published(rt, wp, world):
    draft = article(rt, world, status=ContentStatus.draft, with_images=False)
    with pytest.raises(ValidationFailed, match="only approved articles are published"):
        service.publish(rt, world.actor, content_id=draft)
    assert _content(rt, draft).site_status == SiteStatus.not_published
    bare = make_world(rt, wp)
    with rt.transaction() as s:
        connection.set_wordpress(s, bare.actor, site_id=bare.site_id, url="")
    cid = article(rt, bare, with_images=False)
    with pytest.raises(NotFound, match="no WordPress connection"):
        service.publish(rt, bare.actor, content_id=cid)
