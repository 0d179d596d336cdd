"""The home screen's numbers: how many keywords, clusters, ideas, tasks and content items sit in each status."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.enums import ClusterStatus, ContentStatus, IdeaStatus, KeywordStatus, SiteStatus, TaskStatus
from db.models import Clusters, Content, ContentIdeas, Keywords, Sector, Site, Tasks

# (key, label, model, status column, statuses in workflow order); publishing is content's site_status.
STAGES: tuple[tuple[str, str, type, str, type[StrEnum]], ...] = (
    ("keywords", "Keywords", Keywords, "status", KeywordStatus),
    ("clusters", "Clusters", Clusters, "status", ClusterStatus),
    ("ideas", "Ideas", ContentIdeas, "status", IdeaStatus),
    ("tasks", "Tasks", Tasks, "status", TaskStatus),
    ("content", "Content", Content, "status", ContentStatus),
    ("publishing", "Publishing", Content, "site_status", SiteStatus),
)


@dataclass(frozen=True)
class StageCounts:
    """Row counts of one pipeline stage, every status present (zeros included) in workflow order."""

    key: str
    label: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def pipeline_counts(session: Session, actor: Actor, *, site_id: int,
                    sector_id: int | None = None) -> list[StageCounts]:
    """Counts by status of each pipeline stage for one site (or one of its sectors), grouped in SQL."""
    tenancy.get(session, actor, Site, site_id)  # NotFound when the site is outside the actor's scope
    if sector_id is not None:
        sector = tenancy.get(session, actor, Sector, sector_id)
        if sector.site_id != site_id:
            raise ValidationFailed(f"Sector “{sector.name}” does not belong to this site.")
    return [_count_stage(session, actor, key, label, model, column, statuses, site_id, sector_id)
            for key, label, model, column, statuses in STAGES]


def _count_stage(session: Session, actor: Actor, key: str, label: str, model: type, column: str,
                 statuses: type[StrEnum], site_id: int, sector_id: int | None) -> StageCounts:
    status_col = getattr(model, column)
    stmt = select(status_col, func.count()).where(model.site_id == site_id)
    if sector_id is not None:
        stmt = stmt.where(model.sector_id == sector_id)
    stmt = tenancy.scoped(stmt, model, actor).group_by(status_col)
    found = {str(status): int(n) for status, n in session.execute(stmt)}
    return StageCounts(key, label, {s.value: found.get(s.value, 0) for s in statuses})
