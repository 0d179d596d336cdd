"""Demo pipeline rows: ideas for the biggest clusters, tasks, content in every status, images — and the AI calls
each step would have made (charged later by demo_usage)."""
from __future__ import annotations

import html
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.common.text import slugify
from core.demo.usage import UsageEvent
from core.planner import ideas
from core.tenancy import Actor
from db.enums import (
    ContentStatus,
    ContentStructure,
    IdeaStatus,
    ImageStatus,
    ImageType,
    SiteStatus,
    SyncStatus,
    TaskStatus,
)
from db.models import Content, ContentIdeas, Images, Tasks

CLUSTERS_WITH_IDEAS = 5  # per sector, the biggest by volume
IDEAS_PER_CLUSTER = 3
TASK_SHARE, CONTENT_SHARE = 0.7, 0.8  # of ideas that became tasks, of tasks that were written
# A real export carries a few adult terms; they stay in the keyword list but never headline a demo article.
UNPRESENTABLE = ("porn", "adult", "nsfw", "escort", "xxx", "sex")

TITLES = (
    ("The complete guide to {kw}", ContentStructure.guide),
    ("{Kw}: {n} options compared", ContentStructure.comparison),
    ("How to choose {kw} in {year}", ContentStructure.article),
    ("{n} best {kw} picks for small businesses", ContentStructure.listicle),
    ("{Kw} explained: what to know before you start", ContentStructure.article),
    ("Is {kw} worth it? An honest review", ContentStructure.review),
)
QUESTION_WORDS = frozenset("how what why when where which who can do does is are should".split())
SECTIONS = ("What {kw} means", "Why {kw} matters", "How to get started with {kw}", "Common mistakes with {kw}",
            "A checklist for {kw}", "Costs and alternatives", "Frequently asked questions")
SENTENCES = (
    "Most site owners meet {kw} sooner than they expect, usually when traffic starts to grow.",
    "The short answer is that {kw} works best when it is planned before the first page goes live.",
    "Teams that compare {kw} with {kw2} tend to pick the option that needs the least maintenance.",
    "Start with a small test on a staging copy of the site and measure the change for two weeks.",
    "Search data shows steady interest in {kw2}, which makes it a good supporting topic.",
    "Keep a written record of every change so that the next person can undo it in minutes.",
    "A backup before each change costs a few seconds and saves whole afternoons.",
    "Readers ask about {kw} in forums every week, and the same three questions come up again and again.",
    "If the budget is tight, the free options cover the basics well enough for a first year.",
    "Paid plans add support and automatic updates, which matter more as the site grows.",
    "Check the results against the goals you wrote down at the start rather than against a feeling.",
    "Small, regular improvements beat a large redesign that never ships.",
)


@dataclass(frozen=True)
class ClusterInfo:
    """What the pipeline needs to know of a demo cluster."""

    id: int
    site_id: int
    sector_id: int
    domain: str
    volume: int
    keywords: tuple[str, ...]  # presentable keywords, highest volume first
    at: datetime


@dataclass
class PipelineResult:
    ideas: int = 0
    tasks: int = 0
    content: Counter[str] = field(default_factory=Counter)
    scheduled: int = 0
    images: int = 0
    events: list[UsageEvent] = field(default_factory=list)


def presentable(keyword: str) -> bool:
    """Fit to headline a demo article (see UNPRESENTABLE)."""
    return not any(term in keyword for term in UNPRESENTABLE)


def pretty(keyword: str) -> str:
    """A keyword as prose writes it (search data is lowercase: "wordpress" → "WordPress")."""
    return " ".join("WordPress" if w == "wordpress" else w for w in keyword.split())


def _ids(session: Session, model: type, rows: list[dict]) -> list[int]:
    """Bulk insert returning the new ids in the order of `rows`."""
    if not rows:
        return []
    return list(session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def _who(rng: random.Random, site_id: int, editor_sites: frozenset[int]) -> str:
    if site_id in editor_sites and rng.random() < 0.6:
        return "editor"
    return rng.choices(("admin", "owner", "system"), weights=(4, 1, 3))[0]


def article_html(rng: random.Random, title: str, keywords: list[str]) -> tuple[str, int]:
    """A plausible article body built from the cluster's keywords, and its word count."""
    keywords = [pretty(k) for k in keywords]
    kw, rest = keywords[0], keywords[1:] or keywords
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading in rng.sample(SECTIONS, k=rng.randint(5, 7)):
        parts.append(f"<h2>{html.escape(heading.format(kw=kw))}</h2>")
        for _ in range(3):
            text = " ".join(s.format(kw=kw, kw2=rng.choice(rest)) for s in rng.sample(SENTENCES, k=rng.randint(3, 5)))
            parts.append(f"<p>{html.escape(text)}</p>")
    body = "\n".join(parts)
    return body, len(re.sub(r"<[^>]+>", " ", body).split())


def _before(at: datetime, limit: datetime) -> datetime:
    return min(at, limit)


def build(session: Session, actor: Actor, *, clusters: list[ClusterInfo], people: dict[str, int | None],
          editor_sites: frozenset[int], rng: random.Random, start: datetime, now: datetime) -> PipelineResult:
    """Ideas → tasks → content → images for the biggest clusters of every sector, dated across the period."""
    result = PipelineResult()
    span = now - start
    planned: list[tuple[ContentIdeas, ClusterInfo, datetime, str]] = []
    picked = _biggest(clusters)
    rng.shuffle(picked)
    for n, cluster in enumerate(picked):
        # Evenly spread (with jitter) over the period, so every week has work; the last days leave room for
        # tasks and writing.
        at = start + timedelta(days=1.5) + (span - timedelta(days=5.5)) * ((n + rng.random()) / len(picked))
        who = _who(rng, cluster.site_id, editor_sites)
        for title, structure, keywords in _idea_titles(rng, cluster, now.year):
            idea = ideas.create(session, actor, cluster_id=cluster.id, title=title, content_structure=structure,
                                description=f"Targets “{keywords[0]}” and related searches.",
                                target_keywords=keywords, estimated_word_count=rng.choice((1200, 1500, 2000)))
            idea.created_at = idea.updated_at = at
            planned.append((idea, cluster, at, who))
        result.events.append(UsageEvent(at, who, "idea_generation", cluster.site_id, "cluster", cluster.id,
                                        f"{IDEAS_PER_CLUSTER} ideas", items=IDEAS_PER_CLUSTER))
    result.ideas = len(planned)
    tasks = _tasks(session, planned, people, rng, now)
    result.tasks = len(tasks)
    _content(session, tasks, rng, now, result)
    session.flush()
    return result


def _biggest(clusters: list[ClusterInfo]) -> list[ClusterInfo]:
    by_sector: dict[int, list[ClusterInfo]] = {}
    for c in clusters:
        by_sector.setdefault(c.sector_id, []).append(c)
    return [c for sector_id in sorted(by_sector) for c in sorted(by_sector[sector_id], key=lambda c: (-c.volume, c.id))
            [:CLUSTERS_WITH_IDEAS] if c.keywords]


def _idea_titles(rng: random.Random, cluster: ClusterInfo,
                 year: int) -> Iterator[tuple[str, ContentStructure, list[str]]]:
    for i, (template, structure) in enumerate(rng.sample(TITLES, k=IDEAS_PER_CLUSTER)):
        kw = cluster.keywords[i % len(cluster.keywords)]
        shown = pretty(kw)
        if kw.split()[0] in QUESTION_WORDS:  # "how to …" reads badly inside a template: answer it instead
            template, structure = "{Kw}: a step-by-step answer", ContentStructure.guide
        title = template.format(kw=shown, Kw=shown[:1].upper() + shown[1:], n=rng.choice((5, 7, 10)), year=year)
        yield title, structure, [kw, *[k for k in cluster.keywords if k != kw][:3]]


@dataclass(frozen=True)
class _Task:
    idea: ContentIdeas
    cluster: ClusterInfo
    at: datetime
    who: str
    written_at: datetime | None  # when its content was generated; None: still queued


def _tasks(session: Session, ideas: list[tuple[ContentIdeas, ClusterInfo, datetime, str]], people: dict[str, int | None], rng: random.Random,
           now: datetime) -> list[tuple[int, _Task]]:
    plans = []
    for idea, cluster, at, who in ideas:
        if rng.random() >= TASK_SHARE:
            continue
        task_at = _before(at + timedelta(hours=rng.uniform(2, 72)), now - timedelta(hours=2))
        written = _before(task_at + timedelta(hours=rng.uniform(1, 48)), now - timedelta(hours=1))
        plans.append(_Task(idea, cluster, task_at, who, written if rng.random() < CONTENT_SHARE else None))
    rows = [{"account_id": t.idea.account_id, "site_id": t.idea.site_id, "sector_id": t.idea.sector_id,
             "title": t.idea.idea_title, "description": t.idea.description, "cluster_id": t.cluster.id,
             "idea_id": t.idea.id, "content_type": t.idea.content_type, "content_structure": t.idea.content_structure,
             "keywords": t.idea.target_keywords, "word_count": t.idea.estimated_word_count,
             "status": TaskStatus.completed if t.written_at else TaskStatus.queued, "created_by_id": people.get(t.who),
             "created_at": t.at, "updated_at": t.written_at or t.at} for t in plans]
    for t in plans:
        t.idea.status = IdeaStatus.completed if t.written_at else IdeaStatus.queued
        t.idea.updated_at = t.written_at or t.at
    return list(zip(_ids(session, Tasks, rows), plans, strict=True))


def _status_for(rank: float) -> ContentStatus:
    # The oldest work has travelled furthest through review.
    if rank < 0.35:
        return ContentStatus.published
    if rank < 0.55:
        return ContentStatus.approved
    if rank < 0.75:
        return ContentStatus.review
    return ContentStatus.draft


def _content(session: Session, tasks: list[tuple[int, _Task]], rng: random.Random, now: datetime,
             result: PipelineResult) -> None:
    written = sorted(((tid, t) for tid, t in tasks if t.written_at), key=lambda w: (w[1].written_at, w[0]))
    rows = [_content_row(rng, t.idea, t.cluster, tid, t.written_at, _status_for(rank / len(written)), now)
            for rank, (tid, t) in enumerate(written)]
    for cid, row, (_, t) in zip(_ids(session, Content, rows), rows, written, strict=True):
        result.content[row["status"].value] += 1
        result.scheduled += row["site_status"] == SiteStatus.scheduled
        _content_events(rng, cid, row, t.cluster, t.written_at, t.who, now, result)
        _images(session, rng, cid, row, t.cluster, t.written_at, t.who, result)


def _content_row(rng: random.Random, idea: ContentIdeas, cluster: ClusterInfo, task_id: int, at: datetime,
                 status: ContentStatus, now: datetime) -> dict:
    keywords = [k.strip() for k in idea.target_keywords.split(",") if k.strip()]
    body, words = article_html(rng, idea.idea_title, keywords)
    row = {"account_id": idea.account_id, "site_id": idea.site_id, "sector_id": idea.sector_id, "task_id": task_id,
           "title": idea.idea_title, "content_html": body, "word_count": words, "meta_title": idea.idea_title[:60],
           "meta_description": f"{idea.idea_title}: a practical answer for site owners, with examples."[:160],
           "primary_keyword": keywords[0], "secondary_keywords": keywords[1:], "cluster_id": cluster.id,
           "content_type": idea.content_type, "content_structure": idea.content_structure, "status": status,
           "site_status": SiteStatus.not_published, "scheduled_publish_at": None, "site_status_updated_at": None,
           "external_id": "", "external_url": "", "external_type": "", "sync_status": SyncStatus.pending,
           "created_at": at, "updated_at": at}
    if status == ContentStatus.approved and rng.random() < 0.5:
        when = (now + timedelta(days=rng.uniform(1, 10))).replace(minute=0, second=0, microsecond=0)
        row.update(site_status=SiteStatus.scheduled, scheduled_publish_at=when, site_status_updated_at=at)
    elif status == ContentStatus.published:
        published = _before(at + timedelta(days=rng.uniform(1, 5)), now - timedelta(minutes=10))
        post_id = rng.randint(100, 99999)
        row.update(site_status=SiteStatus.published, site_status_updated_at=published, external_id=str(post_id),
                   external_url=f"https://{cluster.domain}/{slugify(idea.idea_title)}/", external_type="post",
                   sync_status=SyncStatus.synced, updated_at=published)
    return row


def _content_events(rng: random.Random, cid: int, row: dict, cluster: ClusterInfo, at: datetime, who: str,
                    now: datetime, result: PipelineResult) -> None:
    words, site = row["word_count"], cluster.site_id
    title = row["title"][:80]
    result.events.append(UsageEvent(at, who, "content_generation", site, "content", cid, title, words=words))
    if row["status"] != ContentStatus.draft and rng.random() < 0.3:
        again = at + timedelta(hours=rng.uniform(6, 48))
        if again < now:
            result.events.append(UsageEvent(again, who, "content_generation", site, "content", cid,
                                            f"rewrite of {title}", words=words))
    if row["status"] in (ContentStatus.approved, ContentStatus.published):
        when = _before(at + timedelta(hours=rng.uniform(3, 30)), now - timedelta(minutes=5))
        result.events.append(UsageEvent(when, who, "optimization", site, "content", cid, title, words=words))


def _images(session: Session, rng: random.Random, cid: int, row: dict, cluster: ClusterInfo, at: datetime, who: str,
            result: PipelineResult) -> None:
    draft = row["status"] == ContentStatus.draft
    kinds = [ImageType.featured] + ([] if draft else [ImageType.in_article] * rng.randint(1, 2))
    base = {"account_id": row["account_id"], "site_id": row["site_id"], "sector_id": row["sector_id"],
            "content_id": cid, "task_id": row["task_id"], "created_at": at, "updated_at": at}
    rows = [{**base, "image_type": kind, "position": pos,
             "prompt": f"Editorial illustration for “{row['title']}”, clean flat style, no text",
             "alt_text": f"{row['primary_keyword']} illustration"[:255], "caption": "",
             "status": ImageStatus.pending if draft else ImageStatus.generated,
             "image_url": "" if draft else f"https://{cluster.domain}/wp-content/uploads/igny8/{cid}-{pos}.webp"}
            for pos, kind in enumerate(kinds)]
    ids = _ids(session, Images, rows)
    result.images += len(ids)
    if draft:
        return  # prompts written, images not generated yet: nothing charged
    made = at + timedelta(minutes=5)
    result.events.append(UsageEvent(made, who, "image_prompt_extraction", cluster.site_id, "content", cid,
                                    row["title"][:80], words=row["word_count"]))
    for image_id in ids:
        result.events.append(UsageEvent(made + timedelta(minutes=2), who, "image_generation", cluster.site_id,
                                        "image", image_id, row["title"][:80]))
