"""The planner's AI buttons: estimate, then run, "Generate ideas" (several clusters) and "AI cluster / name clusters"
(a sector's new keywords). Runs go through core.ai.engine (claim → commit → call → record, metered in credits);
each cluster is its own engine job, so a failure part-way keeps (and charges) only the clusters that succeeded.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import engine
from core.ai.engine import JobResult
from core.ai.schemas import MAX_KEYWORDS_PER_JOB
from core.common.uow import UnitOfWork
from core.errors import DomainError, LimitExceeded, ValidationFailed
from core.tenancy import Actor
from db.enums import KeywordStatus
from db.models import Keywords

Progress = Callable[[str, float], None]  # (message, fraction done), as the offline clusterer reports
MAX_CLUSTERS = 20  # clusters per "Generate ideas" run
AI_MAX_KEYWORDS = MAX_KEYWORDS_PER_JOB


@dataclass(frozen=True)
class PlanEstimate:
    """The most a run would cost, shown before it starts."""

    function: str
    credits: int
    balance: int
    calls: int
    model: str
    items: int  # clusters or keywords the run covers
    available: int  # keywords in scope before the per-run cap (AI clustering)

    @property
    def affordable(self) -> bool:
        return self.balance >= self.credits

    @property
    def message(self) -> str:
        what = (f"{self.items} cluster(s)" if self.function == "generate_ideas" else
                f"{self.items:,} keyword(s)" + (f" (the highest-volume of {self.available:,} new keywords)"
                                                 if self.available > self.items else ""))
        text = (f"Estimated cost: up to {self.credits:,} credits for {what} — {self.calls} AI call(s) on "
                f"{self.model}. Balance: {self.balance:,} credits.")
        short = " Not enough credits: ask the platform team (the team running this dashboard) to top up the account."
        return text if self.affordable else text + short


@dataclass
class RunSummary:
    """What a multi-cluster run did: one engine result per cluster that succeeded, and the error that stopped it."""

    results: list[JobResult] = field(default_factory=list)
    error: str | None = None

    @property
    def credits(self) -> int:
        return sum(r.credits for r in self.results)

    def created(self, kind: str) -> list[int]:
        return [i for r in self.results for i in r.created.get(kind, [])]

    @property
    def message(self) -> str:
        text = " ".join(r.message for r in self.results) + f" {self.credits:,} credit(s) used."
        return text.strip() + (f" Stopped: {self.error}" if self.error else "")


def _quiet(message: str, fraction: float) -> None:
    """The default progress callback."""


def _cluster_ids(cluster_ids: list[int]) -> list[int]:
    ids = sorted({int(i) for i in cluster_ids})
    if not ids:
        raise ValidationFailed("Select at least one cluster.")
    if len(ids) > MAX_CLUSTERS:
        raise LimitExceeded(f"Generate ideas for at most {MAX_CLUSTERS} clusters at a time ({len(ids)} selected).")
    return ids


def estimate_ideas(session: Session, actor: Actor, *, cluster_ids: list[int], count: int = 5,
                   strategy_id: int | None = None) -> PlanEstimate:
    """The most "Generate ideas" would cost for these clusters (and the balance), without calling the AI; a
    strategy that does not fit a cluster (another sector, or not meant for ideas) is refused here already."""
    ids = _cluster_ids(cluster_ids)
    parts = [engine.estimate(session, actor, function="generate_ideas", cluster_id=cid, count=count,
                             strategy_id=strategy_id) for cid in ids]
    return PlanEstimate("generate_ideas", sum(p.credits for p in parts), parts[0].balance, sum(p.calls for p in parts),
                        parts[0].model, len(ids), len(ids))


def generate_ideas(uow: UnitOfWork, actor: Actor, *, cluster_ids: list[int], count: int = 5,
                   strategy_id: int | None = None, on_progress: Progress | None = None) -> RunSummary:
    """Ideas for each cluster in turn; the first failure stops the run (raised when nothing succeeded)."""
    ids, report, summary = _cluster_ids(cluster_ids), on_progress or _quiet, RunSummary()
    for n, cid in enumerate(ids):
        report(f"Generating ideas for cluster {n + 1} of {len(ids)}", n / len(ids))
        try:
            summary.results.append(engine.generate_ideas(uow, actor, cluster_id=cid, count=count,
                                                         strategy_id=strategy_id))
        except DomainError as exc:
            if not summary.results:
                raise
            summary.error = str(exc)
            break
    report("Done", 1.0)
    return summary


def ai_scope(session: Session, actor: Actor, *, site_id: int, sector_id: int, keyword_ids: list[int] | None = None,
             search: str | None = None) -> tuple[list[int], int]:
    """(keyword ids, keywords in scope): the given ones, or the sector's new keywords matching `search`, highest
    volume first, capped at what one AI run takes."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    if keyword_ids is not None:
        ids = sorted({int(i) for i in keyword_ids})
        if len(ids) > AI_MAX_KEYWORDS:
            raise LimitExceeded(f"AI clustering takes at most {AI_MAX_KEYWORDS:,} keywords per run "
                                f"({len(ids):,} selected).")
        return ids, len(ids)
    cond = tenancy.scoped(select(Keywords.id), Keywords, actor).where(
        Keywords.sector_id == sector.id, Keywords.status == KeywordStatus.new, Keywords.cluster_id.is_(None),
        Keywords.disabled.is_(False))
    if search and search.strip():
        cond = cond.where(func.lower(Keywords.keyword).contains(search.strip().lower(), autoescape=True))
    available = session.scalar(select(func.count()).select_from(cond.subquery())) or 0
    ids = list(session.scalars(cond.order_by(Keywords.volume.desc().nulls_last(), Keywords.id)
                               .limit(AI_MAX_KEYWORDS)))
    if not ids:
        raise ValidationFailed(f"Sector “{sector.name}” has no new keywords to cluster.")
    return ids, available


def estimate_ai_cluster(session: Session, actor: Actor, *, site_id: int, sector_id: int,
                        keyword_ids: list[int] | None = None, search: str | None = None) -> PlanEstimate:
    """The most "AI cluster / name clusters" would cost on this scope, without calling the AI."""
    ids, available = ai_scope(session, actor, site_id=site_id, sector_id=sector_id, keyword_ids=keyword_ids,
                              search=search)
    est = engine.estimate(session, actor, function="auto_cluster", sector_id=sector_id, keyword_ids=ids)
    return PlanEstimate("auto_cluster", est.credits, est.balance, est.calls, est.model, len(ids), available)


def ai_cluster(uow: UnitOfWork, actor: Actor, *, site_id: int, sector_id: int,
               keyword_ids: list[int] | None = None, search: str | None = None,
               on_progress: Progress | None = None) -> JobResult:
    """Group and name the scope's keywords with the AI (clusters created or extended, keywords mapped)."""
    report = on_progress or _quiet
    with uow() as session:
        ids, _ = ai_scope(session, actor, site_id=site_id, sector_id=sector_id, keyword_ids=keyword_ids,
                          search=search)
    return engine.auto_cluster(uow, actor, sector_id=sector_id, keyword_ids=ids,
                               on_progress=lambda done, total, msg: report(msg, done / max(total, 1)))
