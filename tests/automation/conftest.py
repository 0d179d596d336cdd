"""Automation fixtures: the loopback OpenAI-compatible server answering every pipeline step, a tenant with credits
and keywords, and a migrated database per module (runs commit between their phases)."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest

from core import tenancy
from core.automation import config, jobs
from core.billing import credits
from core.planner import keyword_edits
from core.runtime import Runtime
from tests import factories as f
from tests.ai.helpers import API_KEY, configure
from tests.fakes.openai_server import FakeAI
from tests.fakes.pipeline_ai import Pipeline

QUICK = {"within_stage_delay": 0, "between_stage_delay": 0}


@dataclass(frozen=True)
class World:
    account_id: int
    site_id: int
    sector_id: int
    actor: tenancy.Actor


@pytest.fixture(scope="module")
def fake():
    with FakeAI(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def pipeline(rt, fake) -> Pipeline:
    fake.reset()
    configure(rt, fake)
    fake.chat_responder = script = Pipeline()
    return script


def make_world(rt: Runtime, *, grant: int = 5000, keywords: int = 20, site_name: str | None = None,
               wordpress: object = None) -> World:
    with rt.transaction() as s:
        acct = f.account(s)
        actor = f.owner_actor(s, acct)
        site = f.site(s, acct, name=site_name)
        sector = f.sector(s, site)
        if grant:
            credits.grant(s, tenancy.operator_actor(acct.id), amount=grant, kind="purchase", reason="test credits")
        if wordpress is not None:  # a tests.fakes.wordpress.WP: the site publishes there
            from core.publishing import connection

            connection.set_wordpress(s, actor, site_id=site.id, url=wordpress.url, username=wordpress.user,
                                     app_password=wordpress.password)
        w = World(acct.id, site.id, sector.id, actor)
    add_keywords(rt, w, keywords)
    return w


def add_keywords(rt: Runtime, w: World, n: int) -> None:
    topics = ["espresso grinder", "milk frother", "pour over kettle", "french press", "cold brew"]
    tag = uuid.uuid4().hex[:4]
    with rt.transaction() as s:
        for i in range(n):
            keyword_edits.create_keyword(s, w.actor, site_id=w.site_id, sector_id=w.sector_id,
                                         keyword=f"best {topics[i % len(topics)]} {tag} {i // len(topics)}",
                                         volume=1000 - i)


def set_config(rt: Runtime, w: World, **changes) -> config.ConfigView:
    with rt.transaction() as s:
        return config.update(s, w.actor, site_id=w.site_id, changes={**QUICK, **changes})


def work_all(rt: Runtime, owner: str = "test-worker") -> list[str]:
    """What a scheduler pass does: start due runs, work every claimable run."""
    return jobs.tick(rt, owner=owner, stopping=threading.Event())


@pytest.fixture
def world(rt, pipeline) -> World:
    return make_world(rt)


def add_tasks(rt: Runtime, w: World, n: int, *, words: int = 300, title: str = "Grinder guide") -> list[int]:
    """`n` queued writer tasks of one cluster that has its idea (stages 1-3 then have nothing to do)."""
    from core.planner import clusters
    from db.enums import IdeaStatus
    from db.models import ContentIdeas, Tasks

    with rt.transaction() as s:
        cluster = clusters.create(s, w.actor, site_id=w.site_id, sector_id=w.sector_id,
                                  name=f"Grinders {uuid.uuid4().hex[:6]}")
        keyword_edits.create_keyword(s, w.actor, site_id=w.site_id, sector_id=w.sector_id,
                                     keyword=f"grinder {uuid.uuid4().hex[:6]}", cluster_id=cluster.id)
        s.add(ContentIdeas(account_id=w.account_id, site_id=w.site_id, sector_id=w.sector_id, idea_title="Grinders",
                           keyword_cluster_id=cluster.id, status=IdeaStatus.queued))
        rows = [Tasks(account_id=w.account_id, site_id=w.site_id, sector_id=w.sector_id, title=f"{title} {i}",
                      description="A guide", cluster_id=cluster.id, keywords="grinder", word_count=words)
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [t.id for t in rows]


def start(rt: Runtime, w: World):
    from core.automation import runs

    with rt.transaction() as s:
        return runs.start(s, w.actor, site_id=w.site_id).id


def reserved(rt: Runtime, w: World) -> int:
    from sqlalchemy import select

    from db.models import Account

    with rt.transaction() as s:
        return s.scalar(select(Account.credits_reserved).where(Account.id == w.account_id))


@pytest.fixture(autouse=True)
def _no_run_left_active(rt):
    """Runs a test left pending or paused would be worked by the next test's scheduler pass: cancel them."""
    yield
    from sqlalchemy import select

    from core.automation import runs
    from db.enums import RunStatus
    from db.models import AutomationRun

    with rt.transaction() as s:
        for run in s.scalars(select(AutomationRun).where(AutomationRun.status.in_(runs.ACTIVE))):
            runs.release_credits(s, run)
            run.status, run.claimed_by, run.lease_until = RunStatus.cancelled, None, None
