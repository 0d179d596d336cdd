"""The eight stages of an automation run: what each takes (its candidates, at most its batch size), what one
item costs (the engine's estimate), and how one item is done.

AI items go through the engine with a job key made of the run, stage, object and attempt, so an item redone after
a crash is replayed by the engine (charged once); database-only items are done and recorded in one transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from core import tenancy
from core.ai import engine
from core.ai import settings as ai_settings
from core.common.uow import UnitOfWork
from core.planner import ideas as planner_ideas
from core.planner.clustering import apply as clustering
from core.publishing import service as publishing
from core.publishing import slots
from core.tenancy import Actor
from core.writer import review
from db.enums import (
    ClusterStatus,
    ContentStatus,
    IdeaStatus,
    ImageStatus,
    ImageType,
    KeywordStatus,
    SiteStatus,
    TaskStatus,
)
from db.models import Clusters, Content, ContentIdeas, Images, Keywords, Sector, Tasks

CONCURRENT = frozenset({4, 5, 6})  # articles, image prompts and images go as wide as the provider allows
ACTIVE = (ContentStatus.draft, ContentStatus.review, ContentStatus.approved)


@dataclass(frozen=True)
class Planned:
    """One item a stage will do."""

    object_type: str
    object_id: int
    sector_id: int | None
    label: str
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """What doing one item gave: its status (done | skipped | failed), credits charged and a message."""

    status: str
    credits: int = 0
    message: str = ""


@dataclass(frozen=True)
class Context:
    """What a stage's work needs: the unit of work, the run's actor, ids and choices."""

    uow: UnitOfWork
    actor: Actor
    run_key: str
    site_id: int
    settings: dict
    reservation_id: int | None
    approve: bool
    publish: bool

    def job_key(self, stage: int, object_id: int, attempt: int) -> str:
        return f"automation:{self.run_key}:s{stage}:{object_id}:a{attempt}"


def _sectors(session: Session, actor: Actor, site_id: int) -> list[Sector]:
    return list(session.scalars(tenancy.scoped(select(Sector), Sector, actor).where(Sector.site_id == site_id)
                                .order_by(Sector.id)))


# --- candidates ---------------------------------------------------------------------------------------------------

def _new_keywords(actor: Actor, sector_id: int):
    return tenancy.scoped(select(Keywords.id), Keywords, actor).where(
        Keywords.sector_id == sector_id, Keywords.status == KeywordStatus.new, Keywords.cluster_id.is_(None),
        Keywords.disabled.is_(False))


def plan_keywords(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 1: the sectors' unclustered keywords, highest volume first, `limit` keywords in all."""
    out: list[Planned] = []
    left = limit
    for sector in _sectors(session, actor, site_id):
        if left <= 0:
            break
        ids = list(session.scalars(_new_keywords(actor, sector.id).order_by(Keywords.volume.desc().nulls_last(),
                                                                             Keywords.id).limit(left)))
        if ids:
            out.append(Planned("sector", sector.id, sector.id, f"{len(ids)} keyword(s) of {sector.name}",
                               {"keyword_ids": ids}))
            left -= len(ids)
    return out


def _without_ideas(actor: Actor, site_id: int):
    idea = aliased(ContentIdeas)
    return tenancy.scoped(select(Clusters), Clusters, actor).where(
        Clusters.site_id == site_id, Clusters.disabled.is_(False), Clusters.keywords_count > 0,
        ~exists().where(idea.keyword_cluster_id == Clusters.id))


def plan_clusters(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 2: clusters without ideas yet, largest volume first."""
    rows = session.scalars(_without_ideas(actor, site_id).order_by(Clusters.volume.desc(), Clusters.id).limit(limit))
    return [Planned("cluster", c.id, c.sector_id, c.name) for c in rows]


def plan_ideas(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 3: new ideas with a cluster, oldest first."""
    rows = session.scalars(tenancy.scoped(select(ContentIdeas), ContentIdeas, actor).where(
        ContentIdeas.site_id == site_id, ContentIdeas.status == IdeaStatus.new,
        ContentIdeas.keyword_cluster_id.is_not(None)).order_by(ContentIdeas.id).limit(limit))
    return [Planned("idea", i.id, i.sector_id, i.idea_title) for i in rows]


def plan_tasks(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 4: queued tasks without an article, oldest first."""
    article = aliased(Content)
    rows = session.scalars(tenancy.scoped(select(Tasks), Tasks, actor).where(
        Tasks.site_id == site_id, Tasks.status == TaskStatus.queued,
        ~exists().where(article.task_id == Tasks.id, article.deleted_at.is_(None))).order_by(Tasks.id).limit(limit))
    return [Planned("task", t.id, t.sector_id, t.title) for t in rows]


def _articles(actor: Actor, site_id: int):
    return tenancy.scoped(select(Content), Content, actor).where(
        Content.site_id == site_id, Content.status.in_(ACTIVE), Content.site_status != SiteStatus.published)


def plan_prompts(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 5: articles that have no images planned yet."""
    image = aliased(Images)
    rows = session.scalars(_articles(actor, site_id).where(
        ~exists().where(image.content_id == Content.id, image.deleted_at.is_(None))).order_by(Content.id).limit(limit))
    return [Planned("content", c.id, c.sector_id, c.title) for c in rows]


def plan_images(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 6: articles with image prompts waiting (or failed) to be made."""
    image = aliased(Images)
    rows = session.scalars(_articles(actor, site_id).where(exists().where(
        image.content_id == Content.id, image.deleted_at.is_(None),
        image.status.in_([ImageStatus.pending, ImageStatus.failed]), func.length(image.prompt) > 0))
        .order_by(Content.id).limit(limit))
    return [Planned("content", c.id, c.sector_id, c.title) for c in rows]


def plan_review(session: Session, actor: Actor, site_id: int, limit: int, *, article_ids: list[int]) -> list[Planned]:
    """Stage 7: the drafts this run wrote (other people's drafts are theirs to review)."""
    if not article_ids:
        return []
    rows = session.scalars(_articles(actor, site_id).where(Content.id.in_(article_ids),
                                                           Content.status == ContentStatus.draft)
                           .order_by(Content.id).limit(limit))
    return [Planned("content", c.id, c.sector_id, c.title) for c in rows]


def plan_publishing(session: Session, actor: Actor, site_id: int, limit: int) -> list[Planned]:
    """Stage 8: approved articles waiting for a slot, each with the next free slot of the site."""
    placements = slots.plan(session, actor, site_id=site_id)[:limit]
    rows = {c.id: c for c in session.scalars(select(Content).where(Content.id.in_([p.content_id
                                                                                   for p in placements])))}
    return [Planned("content", p.content_id, rows[p.content_id].sector_id, p.title,
                    {"slot": p.slot.utc.isoformat(), "slot_label": p.slot.label}) for p in placements]


# --- estimates ----------------------------------------------------------------------------------------------------

FUNCTIONS = {2: "generate_ideas", 4: "generate_content", 5: "generate_image_prompts", 6: "generate_images"}


def params(stage: int, item: Planned, settings: dict) -> dict:
    """The engine parameters of one item."""
    if stage == 1:
        return {"sector_id": item.object_id, "keyword_ids": list(item.payload.get("keyword_ids") or [])}
    if stage == 2:
        return {"cluster_id": item.object_id, "count": int(settings.get("ideas_per_cluster", 3))}
    if stage == 4:
        return {"task_id": item.object_id}
    return {"content_id": item.object_id}


def function_of(stage: int, settings: dict) -> str | None:
    """The engine function a stage runs (None: no AI in this stage)."""
    if stage == 1:
        return "auto_cluster" if settings.get("clustering") == "ai" else None
    return FUNCTIONS.get(stage)


def estimate(session: Session, actor: Actor, stage: int, item: Planned, settings: dict) -> int:
    """The engine's estimate of one item (0 for stages without AI)."""
    function = function_of(stage, settings)
    if function is None:
        return 0
    return engine.estimate(session, actor, function=function, **params(stage, item, settings)).credits


def typical(session: Session, actor: Actor, site_id: int, settings: dict) -> dict[int, int]:
    """The engine's estimate of a typical item of each AI stage, for items that do not exist yet when a run is
    forecast (ideas of clusters stage 1 will make, articles of tasks stage 3 will queue …): made on sample rows
    (a cluster with a keyword, a task of the default length, its article and images) that are rolled back."""
    sector = next(iter(_sectors(session, actor, site_id)), None)
    if sector is None:
        return {}
    account_id = tenancy.require_account(actor)
    out: dict[int, int] = {}
    with session.begin_nested() as sample:
        own = {"account_id": account_id, "site_id": site_id, "sector_id": sector.id}
        cluster = Clusters(name="sample cluster", keywords_count=1, status=ClusterStatus.new, **own)
        session.add(cluster)
        session.flush()
        norm = f"sample keyword {uuid.uuid4().hex}"  # unique: the sector may hold any real keyword
        session.add(Keywords(keyword="sample keyword", keyword_norm=norm, cluster_id=cluster.id, **own))
        task = Tasks(title="A sample article", cluster_id=cluster.id, keywords="sample keyword", **own)
        session.add(task)
        session.flush()
        words = " ".join(["word"] * max(task.word_count, 1))
        content = Content(title=task.title, content_html=f"<p>{words}</p>",
                          word_count=task.word_count, cluster_id=cluster.id, **own)
        session.add(content)
        session.flush()
        images = 1 + ai_settings.effective(session, account_id=account_id).max_images
        session.add_all([Images(content_id=content.id, prompt="a sample picture", position=n,
                                image_type=ImageType.featured if n == 0 else ImageType.in_article,
                                status=ImageStatus.pending, **own) for n in range(images)])
        session.flush()
        for stage, object_id in ((2, cluster.id), (4, task.id), (5, content.id), (6, content.id)):
            item = Planned("sample", object_id, sector.id, "sample")
            out[stage] = estimate(session, actor, stage, item, settings)
        sample.rollback()
    return out


# --- doing one item -----------------------------------------------------------------------------------------------

def cluster_offline(ctx: Context, item: Planned, record: Callable[[Session, Done], None]) -> Done:
    """Stage 1 with the built-in clusterer: computed outside any transaction, applied and recorded in one."""
    ids = list(item.payload.get("keyword_ids") or [])
    preview = clustering.preview(ctx.uow, ctx.actor, site_id=ctx.site_id, sector_id=item.object_id,
                                 keyword_ids=ids)
    with ctx.uow() as session:
        if not preview.clusters:
            done = Done("skipped", 0, "No keyword to cluster any more.")
        else:
            result = clustering.apply(session, ctx.actor, preview=preview)
            done = Done("done", 0, result.message)
        record(session, done)
    return done


def run_ai(ctx: Context, stage: int, item: Planned, attempt: int) -> Done:
    """An AI item through the engine (its job key makes a redo after a crash a replay)."""
    key = ctx.job_key(stage, item.object_id, attempt)
    kw = {"job_key": key, "reservation_id": ctx.reservation_id}
    if stage == 1:
        result = engine.auto_cluster(ctx.uow, ctx.actor, **params(stage, item, ctx.settings), **kw)
    elif stage == 2:
        result = engine.generate_ideas(ctx.uow, ctx.actor, **params(stage, item, ctx.settings), **kw)
    elif stage == 4:
        result = engine.generate_content(ctx.uow, ctx.actor, task_id=item.object_id, **kw)
    elif stage == 5:
        result = engine.generate_image_prompts(ctx.uow, ctx.actor, content_id=item.object_id, **kw)
    else:
        result = engine.generate_images(ctx.uow, ctx.actor, content_id=item.object_id, **kw)
    message = result.message + (f" ({'; '.join(result.failures)})" if result.failures else "")
    return Done("done", result.credits, message)


def queue_idea(session: Session, ctx: Context, item: Planned) -> Done:
    """Stage 3: the idea becomes a writer task (in the caller's transaction, with the item's record)."""
    idea = session.get(ContentIdeas, item.object_id)
    if idea is None or idea.deleted_at is not None or idea.status != IdeaStatus.new:
        return Done("skipped", 0, "The idea was queued, completed or deleted meanwhile.")
    planner_ideas.queue(session, ctx.actor, idea_ids=[item.object_id])
    return Done("done", 0, f"Queued “{item.label}” as a writer task.")


def approve(session: Session, ctx: Context, item: Planned) -> Done:
    """Stage 7: approve the run's draft, or leave it for people."""
    if not ctx.approve:
        return Done("skipped", 0, "Left for review by people (auto-approve is off).")
    content = session.get(Content, item.object_id)
    if content is None or content.deleted_at is not None or content.status != ContentStatus.draft:
        return Done("skipped", 0, "The article was reviewed, changed or deleted meanwhile.")
    review.approve_automatically(session, ctx.actor, content=content)
    return Done("done", 0, f"Approved “{item.label}”.")


def schedule(ctx: Context, item: Planned, record: Callable[[Session, Done], None]) -> Done:
    """Stage 8: put the article on the calendar at its slot, then send it to WordPress as scheduled for that
    time. When WordPress refuses, the article stays on the calendar and the publishing job sends it at its slot."""
    if not ctx.publish:
        with ctx.uow() as session:
            done = Done("skipped", 0, "Left unscheduled (auto-publish is off).")
            record(session, done)
        return done
    at = datetime.fromisoformat(str(item.payload["slot"]))
    label = item.payload.get("slot_label", "")
    with ctx.uow() as session:
        content = session.get(Content, item.object_id)
        if content is not None and content.site_status == SiteStatus.published:
            done = Done("skipped", 0, "Already on WordPress.")
            record(session, done)
            return done
        publishing.schedule(session, ctx.actor, content_id=item.object_id, at=at)
    outcome = publishing.publish(ctx.uow, ctx.actor, content_id=item.object_id, at=at)
    with ctx.uow() as session:
        if outcome.ok:
            done = Done("done", 0, f"Scheduled for {label} on WordPress: {outcome.url}")
        else:
            publishing.schedule(session, ctx.actor, content_id=item.object_id, at=at)
            done = Done("failed", 0, f"On the calendar for {label}, but WordPress refused it now: {outcome.error} "
                                     "(the publishing job tries again at the slot).")
        record(session, done)
    return done
