"""Auto-approval end to end: an article generated through the engine (against the fake OpenAI server) on a site
that approves generated content is approved at once, with its history line; elsewhere it stays a draft."""
from __future__ import annotations

from sqlalchemy import select

from core.ai import engine
from core.writer import review
from db.enums import ContentStatus
from db.models import Content, ContentComment, User
from tests.ai.helpers import task

ARTICLE = {"content_html": "<h2>Grip</h2><p>Lugs bite into mud and roots on steep trails.</p>",
           "meta_title": "Trail shoes guide", "meta_description": "How to pick trail shoes.",
           "primary_keyword": "trail shoes", "secondary_keywords": ["grip"]}


def _generate(rt, fake, world) -> int:
    tid = task(rt, world)
    fake.reply_json(ARTICLE, prompt_tokens=300, completion_tokens=400)
    return engine.generate_content(rt, world.actor, task_id=tid).created["content"][0]


def test_a_generated_article_is_approved_at_once_where_the_site_wants_it(rt, fake, world):
    draft_id = _generate(rt, fake, world)  # no publishing settings yet: auto-approval is off
    with rt.transaction() as s:
        review.set_auto_approval(s, world.actor, site_id=world.site_id, enabled=True)
    approved_id = _generate(rt, fake, world)
    with rt.transaction() as s:
        assert s.get(Content, draft_id).status == ContentStatus.draft
        assert s.scalars(select(ContentComment).where(ContentComment.content_id == draft_id)).all() == []
        assert s.get(Content, approved_id).status == ContentStatus.approved
        entries = review.history(s, world.actor, content_id=approved_id)
        email = s.get(User, world.actor.user_id).email
    assert [(e.kind, e.who) for e in entries] == [("step", email), ("revision", email)]
    assert entries[0].summary == f"Approved without review: “{review.AUTO_APPROVED}”"
    assert (entries[0].from_status, entries[0].to_status) == ("draft", "approved")
    assert entries[1].summary.startswith("Revision 1 (generated)")
