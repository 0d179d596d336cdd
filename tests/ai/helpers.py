"""Helpers of the AI tests: a tenant with credits, providers pointed at the fake server, planner and writer rows."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from core import tenancy
from core.ai import providers
from core.planner import clusters, keyword_edits
from core.runtime import Runtime
from db.enums import Role
from db.models import Account, Content, Tasks
from tests import factories as f
from tests.fakes.openai_server import FakeAI

API_KEY = f"sk-test-{uuid.uuid4().hex}"
# Small waits so fault tests run in seconds; the timeout is generous for loopback.
FAST = {"max_attempts": 4, "timeout_s": 2.0, "backoff_base_s": 0.01, "backoff_max_s": 0.05}


@dataclass(frozen=True)
class World:
    """One tenant ready for AI work: account with credits, owner actor, site and sector."""

    account_id: int
    actor: tenancy.Actor
    site_id: int
    sector_id: int


def configure(rt: Runtime, fake: FakeAI, *, openai_config: dict | None = None,
              runware_config: dict | None = None) -> None:
    """Point both AI providers at the fake server (global rows: every test sets them again)."""
    op = tenancy.operator_actor()
    with rt.transaction() as s:
        providers.update_provider(s, op, provider_id="openai", api_endpoint=fake.url, api_key=API_KEY,
                                  config={**FAST, **(openai_config or {})}, is_active=True)
        providers.update_provider(s, op, provider_id="runware", api_endpoint=fake.runware_url, api_key=API_KEY,
                                  config={**FAST, **(runware_config or {})}, is_active=True)


def balance(rt: Runtime, w: World) -> int:
    with rt.transaction() as s:
        return s.scalar(select(Account.credits).where(Account.id == w.account_id))


def keywords(rt: Runtime, w: World, texts: list[str], *, cluster_id: int | None = None) -> list[int]:
    with rt.transaction() as s:
        return [keyword_edits.create_keyword(s, w.actor, site_id=w.site_id, sector_id=w.sector_id, keyword=t,
                                       volume=100 + i, cluster_id=cluster_id).id for i, t in enumerate(texts)]


def cluster(rt: Runtime, w: World, name: str = "Trail running", kws: tuple[str, ...] = ("trail shoes",)) -> int:
    with rt.transaction() as s:
        cid = clusters.create(s, w.actor, site_id=w.site_id, sector_id=w.sector_id, name=name,
                                     description="Shoes and gear for trails").id
    keywords(rt, w, list(kws), cluster_id=cid)
    return cid


def task(rt: Runtime, w: World, *, title: str = "How to choose trail shoes", idea_id: int | None = None) -> int:
    cid = cluster(rt, w, name=f"Cluster {uuid.uuid4().hex[:6]}", kws=(f"kw {uuid.uuid4().hex[:6]}",))
    with rt.transaction() as s:
        t = Tasks(account_id=w.account_id, site_id=w.site_id, sector_id=w.sector_id, title=title,
                  description="A buyer's guide", cluster_id=cid, idea_id=idea_id, keywords="trail shoes, grip",
                  word_count=1200)
        s.add(t)
        s.flush()
        return t.id


def content(rt: Runtime, w: World, *, html: str = "<h2>Grip</h2><p>Lugs matter on mud.</p>") -> int:
    with rt.transaction() as s:
        c = Content(account_id=w.account_id, site_id=w.site_id, sector_id=w.sector_id, title="Trail shoes guide",
                    content_html=html, word_count=5)
        s.add(c)
        s.flush()
        return c.id


def viewer(rt: Runtime, w: World) -> tenancy.Actor:
    with rt.transaction() as s:
        acct = s.get(Account, w.account_id)
        return f.actor(s, f.user(s, acct, role=Role.viewer))
