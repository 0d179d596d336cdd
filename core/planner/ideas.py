"""Content ideas of a sector: list and filter, create and edit by hand, delete, and queue as writer tasks.

Only `new` ideas can be edited, deleted or queued: a queued idea has become a task (edit the task), a completed one
has content. Queueing is a compare-and-set UPDATE (status new → queued) followed by the task INSERTs in the same
transaction, so two people queueing the same idea at once create one task; a selection with any idea that is not
`new` (or has no cluster, which a task needs) is refused as a whole, with the titles named.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.common.text import clean_name, one_of
from core.errors import Conflict, ValidationFailed
from core.planner import clusters
from core.tenancy import Actor
from db.base import utcnow
from db.enums import ContentStructure, ContentType, IdeaStatus, TaskStatus
from db.models import Clusters, ContentIdeas, Sector, Tasks

PAGE = 50
MAX_PAGE = 500
NO_CLUSTER = 0  # filter value: ideas without a cluster


@dataclass(frozen=True)
class IdeaRow:
    id: int
    title: str
    description: str
    cluster_id: int | None
    cluster: str
    status: str
    content_type: str
    content_structure: str
    target_keywords: str
    estimated_word_count: int
    created_at: datetime


IdeaPage = Page[IdeaRow]
NEWEST = Order("newest", ContentIdeas.id, ContentIdeas.id, unique=True)


@dataclass(frozen=True)
class QueueResult:
    task_ids: list[int]

    @property
    def message(self) -> str:
        return f"Queued {len(self.task_ids)} idea(s) as writer tasks."


def _filtered(stmt: Select, actor: Actor, *, sector_id: int, cluster_id: int | None, status: str | None,
              search: str | None) -> Select:
    stmt = tenancy.scoped(stmt, ContentIdeas, actor).where(ContentIdeas.sector_id == sector_id)
    if cluster_id == NO_CLUSTER:
        stmt = stmt.where(ContentIdeas.keyword_cluster_id.is_(None))
    elif cluster_id is not None:
        stmt = stmt.where(ContentIdeas.keyword_cluster_id == cluster_id)
    if status:
        stmt = stmt.where(ContentIdeas.status == _status(status))
    if search and search.strip():
        stmt = stmt.where(func.lower(ContentIdeas.idea_title).contains(search.strip().lower(), autoescape=True))
    return stmt


def _status(value: str) -> IdeaStatus:
    return one_of(IdeaStatus, value, "Idea status")


def list_ideas(session: Session, actor: Actor, *, sector_id: int, cluster_id: int | None = None,
               status: str | None = None, search: str | None = None, after: Cursor | None = None,
               limit: int = PAGE) -> IdeaPage:
    """One page of a sector's ideas, newest first, filtered by cluster (0: none), status and title."""
    tenancy.get(session, actor, Sector, sector_id)
    where = {"sector_id": sector_id, "cluster_id": cluster_id, "status": status, "search": search}
    total = session.scalar(_filtered(select(func.count(ContentIdeas.id)), actor, **where)) or 0
    stmt = _filtered(select(ContentIdeas, Clusters.name).outerjoin(
        Clusters, Clusters.id == ContentIdeas.keyword_cluster_id), actor, **where)
    return paging.page(session, stmt, NEWEST, convert=_to_row, limit=paging.limit_of(limit, MAX_PAGE), after=after,
                       total=total)


def _to_row(r: Row) -> IdeaRow:
    i, name = r[0], r[1]
    return IdeaRow(i.id, i.idea_title, i.description, i.keyword_cluster_id, name or "", i.status.value,
                   i.content_type.value, i.content_structure.value, i.target_keywords, i.estimated_word_count,
                   i.created_at)


def _keywords(value: list[str] | str | None) -> list[str]:
    items = value.split(",") if isinstance(value, str) else (value or [])
    return [k.strip() for k in items if k and k.strip()]


def create(session: Session, actor: Actor, *, title: str, site_id: int | None = None, sector_id: int | None = None,
           cluster_id: int | None = None, description: str = "", content_type: str = ContentType.post,
           content_structure: str = ContentStructure.article, target_keywords: list[str] | str | None = None,
           estimated_word_count: int = 1000) -> ContentIdeas:
    """An idea for a cluster (its site and sector by default) or, until one is picked, for none in a sector."""
    if cluster_id is not None and (site_id is None or sector_id is None):
        cluster = tenancy.get(session, actor, Clusters, cluster_id, write=True)
        site_id, sector_id = cluster.site_id, cluster.sector_id
    if site_id is None or sector_id is None:
        raise ValidationFailed("An idea needs a cluster, or a site and a sector.")
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    cluster_row = clusters.in_sector(session, actor, cluster_id=cluster_id, sector_id=sector.id) \
        if cluster_id is not None else None
    idea = ContentIdeas(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id,
                        keyword_cluster_id=cluster_row.id if cluster_row else None,
                        idea_title=clean_name(title, "Idea title"), status=IdeaStatus.new)
    _set_fields(idea, description=description or "", content_type=content_type,
                content_structure=content_structure, target_keywords=_keywords(target_keywords),
                estimated_word_count=estimated_word_count)
    session.add(idea)
    session.flush()
    return idea


def _set_fields(idea: ContentIdeas, *, description: str | None = None, content_type: str | None = None,
                content_structure: str | None = None, target_keywords: list[str] | None = None,
                estimated_word_count: int | None = None) -> None:
    if description is not None:
        idea.description = description.strip()
    try:
        if content_type is not None:
            idea.content_type = ContentType(content_type)
        if content_structure is not None:
            idea.content_structure = ContentStructure(content_structure)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown content type or structure: {exc}.") from exc
    if target_keywords is not None:
        idea.target_keywords = ", ".join(target_keywords)
    if estimated_word_count is not None:
        try:
            words = int(estimated_word_count)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("Estimated word count must be a whole number.") from exc
        if not 0 <= words <= 100_000:
            raise ValidationFailed(f"Estimated word count must be between 0 and 100,000 ({words:,} given).")
        idea.estimated_word_count = words


def _for_write(session: Session, actor: Actor, idea_id: int) -> ContentIdeas:
    return tenancy.get_for_write(session, actor, ContentIdeas, idea_id)


def update(session: Session, actor: Actor, *, idea_id: int, title: str | None = None,
                description: str | None = None, content_type: str | None = None,
                content_structure: str | None = None, target_keywords: list[str] | str | None = None,
                estimated_word_count: int | None = None, cluster_id: int | None = None,
                clear_cluster: bool = False) -> ContentIdeas:
    """Edit a new idea (its text, type, keywords, words, cluster); queued and completed ideas are refused."""
    idea = _for_write(session, actor, idea_id)
    if idea.status != IdeaStatus.new:
        raise Conflict(f"Idea “{idea.idea_title}” is {idea.status.value} already; edit its writer task instead.")
    if title is not None:
        idea.idea_title = clean_name(title, "Idea title")
    if cluster_id is not None:
        idea.keyword_cluster_id = clusters.in_sector(session, actor, cluster_id=cluster_id,
                                                            sector_id=idea.sector_id).id
    elif clear_cluster:
        idea.keyword_cluster_id = None
    _set_fields(idea, description=description, content_type=content_type, content_structure=content_structure,
                target_keywords=None if target_keywords is None else _keywords(target_keywords),
                estimated_word_count=estimated_word_count)
    session.flush()
    return idea


def _selected(session: Session, actor: Actor, idea_ids: list[int]) -> list[ContentIdeas]:
    ids = sorted({int(i) for i in idea_ids})
    if not ids:
        raise ValidationFailed("Select at least one idea.")
    ideas = [_for_write(session, actor, i) for i in ids]
    return ideas


def _titles(ideas: list[ContentIdeas]) -> str:
    shown = ", ".join(f"“{i.idea_title}”" for i in ideas[:5])
    return shown + (f" and {len(ideas) - 5} more" if len(ideas) > 5 else "")


def delete(session: Session, actor: Actor, *, idea_ids: list[int]) -> int:
    """Soft-delete new ideas (queued and completed ones belong to the writer now)."""
    ideas = _selected(session, actor, idea_ids)
    busy = [i for i in ideas if i.status != IdeaStatus.new]
    if busy:
        raise Conflict(f"{len(busy)} of the selected ideas are queued or completed and cannot be deleted: "
                       f"{_titles(busy)}.")
    now = utcnow()
    for idea in ideas:
        idea.deleted_at = now
    session.flush()
    return len(ideas)


def queue(session: Session, actor: Actor, *, idea_ids: list[int]) -> QueueResult:
    """Queue new ideas as writer tasks: each idea becomes `queued` and gets a task, in this transaction."""
    ideas = _selected(session, actor, idea_ids)
    busy = [i for i in ideas if i.status != IdeaStatus.new]
    if busy:
        raise Conflict(f"{len(busy)} of the selected ideas are queued or completed already: {_titles(busy)}. "
                       "Nothing was queued; deselect them and try again.")
    lost = [i for i in ideas if i.keyword_cluster_id is None]
    if lost:
        raise ValidationFailed(f"{len(lost)} of the selected ideas have no cluster: {_titles(lost)}. A writer task "
                               "needs one; pick a cluster for them first.")
    ids = [i.id for i in ideas]
    # compare-and-set: a concurrent queue of the same idea leaves fewer rows to claim than were selected
    claimed = session.execute(sql_update(ContentIdeas).where(ContentIdeas.id.in_(ids), ContentIdeas.status == IdeaStatus.new)
                              .values(status=IdeaStatus.queued).execution_options(synchronize_session="fetch")).rowcount
    if claimed != len(ids):
        raise Conflict("Someone queued some of these ideas at the same moment; reload the list and try again.")
    tasks = [Tasks(account_id=i.account_id, site_id=i.site_id, sector_id=i.sector_id, title=i.idea_title,
                   description=i.description, cluster_id=i.keyword_cluster_id, idea_id=i.id,
                   content_type=i.content_type, content_structure=i.content_structure, keywords=i.target_keywords,
                   word_count=i.estimated_word_count, status=TaskStatus.queued, created_by_id=actor.user_id)
             for i in ideas]
    session.add_all(tasks)
    session.flush()
    return QueueResult([t.id for t in tasks])


def get(session: Session, actor: Actor, *, idea_id: int) -> ContentIdeas:
    """One idea the actor may see."""
    return tenancy.get(session, actor, ContentIdeas, idea_id)

