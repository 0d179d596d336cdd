"""Writer tasks of a sector (the writer queue): list, filter, sort and page; create and edit by hand; assign, set
due dates, delete and restore in bulk; the ids of the queued tasks in a filter; the header's counts.

Decisions:
- A task "has content" when a non-deleted Content row points at it (Content.task_id is unique).
- Bulk changes load the whole selection in one scoped query and refuse as a whole, with the titles named, before
  anything changes; the role and site checks run once per sector of the selection.
- Delete is a soft delete: the task keeps its link to its article, and its idea stays `queued`. A task of a writer
  batch still running is refused (cancel the batch first). Restore refuses a task whose cluster is deleted.
- Assignable are the active users of the site's account who may work on the site: owners, admins and developers
  of the account, and editors granted the site. Viewers and the scheduler are not.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum

from sqlalchemy import ColumnElement, Row, Select, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.common.text import clean_name, one_of
from core.errors import Conflict, NotFound, ValidationFailed
from core.tenancy import Actor
from db.base import utcnow
from db.enums import ContentStructure, ContentType, ItemStatus, Role, RunStatus, TaskStatus
from db.models import Clusters, Content, Sector, Site, SiteUserAccess, Tasks, User, WriterBatch, WriterBatchItem

PAGE = 50
MAX_PAGE = 500
MAX_BULK = 1000
MIN_WORDS, MAX_WORDS = 100, 20_000
MINE, UNASSIGNED = "mine", "unassigned"  # TaskFilter.assignee besides a user id
ACCOUNT_ROLES = (Role.owner, Role.admin, Role.developer)
BUSY_ITEMS = (ItemStatus.pending, ItemStatus.running)
BUSY_BATCHES = (RunStatus.pending, RunStatus.running, RunStatus.paused)
SORTS: dict[str, Order] = {
    "newest": Order("newest", Tasks.id, Tasks.id, unique=True),
    "oldest": Order("oldest", Tasks.id, Tasks.id, descending=False, unique=True),
    "due": Order("due", Tasks.due_date, Tasks.id, descending=False, nullable=True),
    "title": Order("title", func.lower(Tasks.title), Tasks.id, descending=False)}


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # update(): leave the field as it is (None clears an assignee or a due date)


@dataclass(frozen=True)
class TaskFilter:
    """What the queue shows; None (or False for `overdue`) leaves a criterion out."""

    status: str | None = None
    cluster_id: int | None = None
    content_type: str | None = None
    content_structure: str | None = None
    assignee: int | str | None = None  # a user id, MINE or UNASSIGNED
    due_before: date | None = None  # inclusive
    overdue: bool = False  # queued and due before today (UTC)
    has_content: bool | None = None
    search: str | None = None  # title contains, any case
    deleted: bool = False  # True: the soft-deleted tasks (to restore them)


@dataclass(frozen=True)
class TaskRow:
    """One task of the queue, with its cluster, assignee and article."""

    id: int
    title: str
    description: str
    cluster_id: int
    cluster: str  # "" when the cluster is deleted
    cluster_deleted: bool
    keywords: str
    content_type: str
    content_structure: str
    word_count: int
    status: str
    assigned_to_id: int | None
    assignee: str
    due_date: date | None
    content_id: int | None
    content_status: str | None
    overlap_score: float | None
    overlaps: list
    created_at: datetime


def _today() -> date:
    return utcnow().date()


def _has_content() -> ColumnElement[bool]:
    article = aliased(Content)  # the list joins Content too: an alias keeps this EXISTS correlated to Tasks only
    return exists().where(article.task_id == Tasks.id, article.deleted_at.is_(None))


def _assignee(actor: Actor, value: int | str) -> ColumnElement[bool]:
    if value == MINE:
        return Tasks.assigned_to_id == actor.user_id if actor.user_id is not None else false()
    if value == UNASSIGNED:
        return Tasks.assigned_to_id.is_(None)
    try:
        return Tasks.assigned_to_id == int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"Assignee must be a user, “{MINE}” or “{UNASSIGNED}”, not “{value}”.") from exc


def _filtered(stmt: Select, actor: Actor, sector_id: int, flt: TaskFilter) -> Select:
    stmt = tenancy.scoped(stmt, Tasks, actor, include_deleted=flt.deleted).where(Tasks.sector_id == sector_id)
    conds: list[ColumnElement[bool]] = [Tasks.deleted_at.is_not(None)] if flt.deleted else []
    if flt.status:
        conds.append(Tasks.status == one_of(TaskStatus, flt.status, "Task status"))
    if flt.cluster_id is not None:
        conds.append(Tasks.cluster_id == flt.cluster_id)
    if flt.content_type:
        conds.append(Tasks.content_type == one_of(ContentType, flt.content_type, "Content type"))
    if flt.content_structure:
        conds.append(Tasks.content_structure == one_of(ContentStructure, flt.content_structure, "Structure"))
    if flt.assignee is not None:
        conds.append(_assignee(actor, flt.assignee))
    if flt.due_before is not None:
        conds.append(Tasks.due_date <= _date(flt.due_before, "Due before"))
    if flt.overdue:
        conds += [Tasks.due_date < _today(), Tasks.status == TaskStatus.queued]
    if flt.has_content is not None:
        conds.append(_has_content() if flt.has_content else ~_has_content())
    if flt.search and flt.search.strip():
        conds.append(func.lower(Tasks.title).contains(flt.search.strip().lower(), autoescape=True))
    return stmt.where(*conds)


def list_tasks(session: Session, actor: Actor, *, sector_id: int, filter: TaskFilter = TaskFilter(),
               sort: str = "newest", after: Cursor | None = None, limit: int = PAGE) -> Page[TaskRow]:
    """One page of a sector's writer tasks (or of its deleted ones), filtered and sorted, with the total."""
    tenancy.get(session, actor, Sector, sector_id)
    if sort not in SORTS:
        raise ValidationFailed(f"Sort by one of {', '.join(SORTS)}, not “{sort}”.")
    total = session.scalar(_filtered(select(func.count(Tasks.id)), actor, sector_id, filter)) or 0
    stmt = (select(Tasks, Clusters.name, Clusters.deleted_at, User.email, User.first_name, User.last_name,
                   Content.id, Content.status)
            .outerjoin(Clusters, Clusters.id == Tasks.cluster_id)
            .outerjoin(User, User.id == Tasks.assigned_to_id)
            .outerjoin(Content, (Content.task_id == Tasks.id) & Content.deleted_at.is_(None)))
    return paging.page(session, _filtered(stmt, actor, sector_id, filter), SORTS[sort], convert=_to_row,
                       limit=paging.limit_of(limit, MAX_PAGE), after=after, total=total)


def _person(email: str | None, first: str | None, last: str | None) -> str:
    return " ".join(f"{first or ''} {last or ''}".split()) or email or ""


def _to_row(r: Row) -> TaskRow:
    t, cluster, cluster_deleted_at, email, first, last, content_id, content_status = r[:8]
    gone = cluster_deleted_at is not None
    return TaskRow(t.id, t.title, t.description, t.cluster_id, "" if gone else (cluster or ""), gone, t.keywords,
                   t.content_type.value, t.content_structure.value, t.word_count, t.status.value, t.assigned_to_id,
                   _person(email, first, last), t.due_date, content_id,
                   content_status.value if content_status is not None else None, t.overlap_score,
                   list(t.overlaps or []), t.created_at)


def queued_ids(session: Session, actor: Actor, *, sector_id: int, filter: TaskFilter = TaskFilter(),
               limit: int = MAX_PAGE) -> list[int]:
    """The queued, live tasks without an article that match the filter (oldest first), at most `limit`."""
    tenancy.get(session, actor, Sector, sector_id)
    flt = replace(filter, deleted=False, has_content=False)
    stmt = _filtered(select(Tasks.id), actor, sector_id, flt).where(Tasks.status == TaskStatus.queued)
    ids = list(session.scalars(stmt.order_by(Tasks.id).limit(limit + 1)))
    if len(ids) > limit:
        matched = session.scalar(select(func.count()).select_from(stmt.subquery()))
        raise ValidationFailed(f"{matched:,} queued tasks match this filter; at most {limit:,} can be written at "
                               "once. Narrow the filter (a cluster, an assignee, a due date) and try again.")
    return ids


def counts(session: Session, actor: Actor, *, sector_id: int) -> dict[str, int]:
    """The queue header's numbers: queued, completed, mine, overdue (live tasks) and deleted."""
    tenancy.get(session, actor, Sector, sector_id)
    live = Tasks.deleted_at.is_(None)
    mine = (Tasks.assigned_to_id == actor.user_id) if actor.user_id is not None else false()
    parts = {"queued": live & (Tasks.status == TaskStatus.queued),
             "completed": live & (Tasks.status == TaskStatus.completed), "mine": live & mine,
             "overdue": live & (Tasks.status == TaskStatus.queued) & (Tasks.due_date < _today()),
             "deleted": Tasks.deleted_at.is_not(None)}
    stmt = select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in parts.values()))
    row = session.execute(tenancy.scoped(stmt.select_from(Tasks), Tasks, actor, include_deleted=True)
                          .where(Tasks.sector_id == sector_id)).one()
    return {name: int(n) for name, n in zip(parts, row, strict=True)}


def get(session: Session, actor: Actor, *, task_id: int) -> Tasks:
    """One live task the actor may see."""
    return tenancy.get(session, actor, Tasks, task_id)


# --- Who may be assigned ------------------------------------------------------------------------------------------

def assignees(session: Session, actor: Actor, *, site_id: int) -> dict[int, str]:
    """The active users of the site's account who may work on it, by name: owners, admins, developers, and
    editors granted the site."""
    site = tenancy.get(session, actor, Site, site_id)
    granted = exists().where(SiteUserAccess.user_id == User.id, SiteUserAccess.site_id == site.id)
    stmt = tenancy.scoped(select(User), User, actor).where(
        User.account_id == site.account_id, User.is_active.is_(True),
        or_(User.role.in_(ACCOUNT_ROLES), (User.role == Role.editor) & granted))
    people = {u.id: _person(u.email, u.first_name, u.last_name) for u in session.scalars(stmt)}
    return dict(sorted(people.items(), key=lambda kv: (kv[1].lower(), kv[0])))


def _check_assignee(session: Session, actor: Actor, user_id: int | None, site_ids: Iterable[int]) -> int | None:
    if user_id is None:
        return None
    for site_id in sorted(set(site_ids)):
        if int(user_id) not in assignees(session, actor, site_id=site_id):
            site = session.get(Site, site_id)
            raise ValidationFailed(f"User #{user_id} cannot be given tasks of site “{site.name}”: only active "
                                   "owners, admins and editors with access to the site can.")
    return int(user_id)


# --- Create and edit ----------------------------------------------------------------------------------------------

def _date(value: object, what: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(f"{what} must be a date (YYYY-MM-DD), not “{value}”.") from exc


def _words(value: object) -> int:
    try:
        words = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"Target words must be a whole number, not “{value}”.") from exc
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise ValidationFailed(f"Target words must be between {MIN_WORDS:,} and {MAX_WORDS:,} ({words:,} given).")
    return words


def _keywords(value: str | list[str] | None) -> str:
    items = value.split(",") if isinstance(value, str) else (value or [])
    return ", ".join(k.strip() for k in items if k and k.strip())


def _cluster(session: Session, actor: Actor, cluster_id: int, sector_id: int) -> Clusters:
    cluster = tenancy.get(session, actor, Clusters, cluster_id, include_deleted=True)
    if cluster.deleted_at is not None:
        raise ValidationFailed(f"Cluster “{cluster.name}” is deleted; pick a live cluster.")
    if cluster.sector_id != sector_id:
        raise ValidationFailed(f"Cluster “{cluster.name}” belongs to another sector; a task and its cluster must be "
                               "in the same sector.")
    return cluster


def create(session: Session, actor: Actor, *, site_id: int, sector_id: int, title: str, cluster_id: int,
           description: str = "", keywords: str | list[str] = "", content_type: str = ContentType.post,
           content_structure: str = ContentStructure.article, word_count: int = 1000,
           assigned_to_id: int | None = None, due_date: date | None = None) -> Tasks:
    """A queued writer task written by hand, for a live cluster of the sector."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    task = Tasks(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id,
                 title=clean_name(title, "Task title"), cluster_id=_cluster(session, actor, cluster_id, sector.id).id,
                 description=(description or "").strip(), keywords=_keywords(keywords),
                 content_type=one_of(ContentType, content_type, "Content type"),
                 content_structure=one_of(ContentStructure, content_structure, "Structure"),
                 word_count=_words(word_count), status=TaskStatus.queued, created_by_id=actor.user_id,
                 assigned_to_id=_check_assignee(session, actor, assigned_to_id, [sector.site_id]),
                 due_date=_date(due_date, "Due date"))
    session.add(task)
    session.flush()
    return task


def update(session: Session, actor: Actor, *, task_id: int, title: str | None = None, cluster_id: int | None = None,
           description: str | None = None, keywords: str | list[str] | None = None, content_type: str | None = None,
           content_structure: str | None = None, word_count: int | None = None,
           assigned_to_id: int | None | _Keep = KEEP, due_date: date | None | _Keep = KEEP) -> Tasks:
    """Edit a live task; fields left out (None, or KEEP for the assignee and due date) stay as they are."""
    task = tenancy.get_for_write(session, actor, Tasks, task_id)
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = clean_name(title, "Task title")
    if cluster_id is not None:
        changes["cluster_id"] = _cluster(session, actor, cluster_id, task.sector_id).id
    if description is not None:
        changes["description"] = description.strip()
    if keywords is not None:
        changes["keywords"] = _keywords(keywords)
    if content_type is not None:
        changes["content_type"] = one_of(ContentType, content_type, "Content type")
    if content_structure is not None:
        changes["content_structure"] = one_of(ContentStructure, content_structure, "Structure")
    if word_count is not None:
        changes["word_count"] = _words(word_count)
    if assigned_to_id is not KEEP:
        changes["assigned_to_id"] = _check_assignee(session, actor, assigned_to_id, [task.site_id])
    if due_date is not KEEP:
        changes["due_date"] = _date(due_date, "Due date")
    for name, value in changes.items():  # every check passed: only now does the task change
        setattr(task, name, value)
    session.flush()
    return task


# --- Bulk ---------------------------------------------------------------------------------------------------------

def _titles(tasks: list[Tasks]) -> str:
    shown = ", ".join(f"“{t.title}”" for t in tasks[:5])
    return shown + (f" and {len(tasks) - 5} more" if len(tasks) > 5 else "")


def _selected(session: Session, actor: Actor, task_ids: Iterable[int], *, deleted: bool = False) -> list[Tasks]:
    """The selection, all visible and changeable by the actor, all live (or all deleted), else refused."""
    tenancy.require_write(actor)
    try:
        ids = sorted({int(i) for i in task_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Task ids must be whole numbers.") from exc
    if not ids:
        raise ValidationFailed("Select at least one task.")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"Select at most {MAX_BULK:,} tasks at once ({len(ids):,} selected).")
    stmt = tenancy.scoped(select(Tasks).where(Tasks.id.in_(ids)), Tasks, actor, include_deleted=True)
    tasks = list(session.scalars(stmt.order_by(Tasks.id)))
    missing = sorted(set(ids) - {t.id for t in tasks})
    if missing:
        raise NotFound(f"Task(s) #{', #'.join(map(str, missing[:10]))} were not found.")
    for site_id, sector_id in sorted({(t.site_id, t.sector_id) for t in tasks}):
        tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    wrong = [t for t in tasks if (t.deleted_at is None) == deleted]
    if wrong and deleted:
        raise ValidationFailed(f"{len(wrong)} of the selected tasks are not deleted: {_titles(wrong)}. Nothing was "
                               "restored.")
    if wrong:
        raise ValidationFailed(f"{len(wrong)} of the selected tasks are deleted: {_titles(wrong)}. Restore them "
                               "first; nothing was changed.")
    return tasks


def assign(session: Session, actor: Actor, *, task_ids: list[int], user_id: int | None) -> int:
    """Give the selected tasks to one person (None: to nobody); returns how many."""
    tasks = _selected(session, actor, task_ids)
    who = _check_assignee(session, actor, user_id, (t.site_id for t in tasks))
    for t in tasks:
        t.assigned_to_id = who
    session.flush()
    return len(tasks)


def set_due_date(session: Session, actor: Actor, *, task_ids: list[int], due_date: date | None) -> int:
    """Set (None: clear) the due date of the selected tasks; completed tasks get none; returns how many."""
    tasks = _selected(session, actor, task_ids)
    due = _date(due_date, "Due date")
    done = [t for t in tasks if t.status == TaskStatus.completed]
    if due is not None and done:
        raise ValidationFailed(f"{len(done)} of the selected tasks are completed already: {_titles(done)}. Nothing "
                               "was changed; deselect them and try again.")
    for t in tasks:
        t.due_date = due
    session.flush()
    return len(tasks)


def delete(session: Session, actor: Actor, *, task_ids: list[int]) -> int:
    """Soft-delete the selected tasks (they keep their article); tasks a batch is writing are refused."""
    tasks = _selected(session, actor, task_ids)
    busy = set(session.scalars(
        select(WriterBatchItem.task_id).join(WriterBatch, WriterBatch.id == WriterBatchItem.batch_id)
        .where(WriterBatchItem.task_id.in_([t.id for t in tasks]), WriterBatchItem.status.in_(BUSY_ITEMS),
               WriterBatch.status.in_(BUSY_BATCHES))))
    if busy:
        named = [t for t in tasks if t.id in busy]
        raise Conflict(f"{len(named)} of the selected tasks are being written by a batch: {_titles(named)}. "
                       "Nothing was deleted; wait for the batch or cancel it first.")
    now = utcnow()
    for t in tasks:
        t.deleted_at = now
    session.flush()
    return len(tasks)


def restore(session: Session, actor: Actor, *, task_ids: list[int]) -> int:
    """Bring deleted tasks back; a task whose cluster is deleted is refused (restore or merge the cluster)."""
    tasks = _selected(session, actor, task_ids, deleted=True)
    gone = set(session.scalars(select(Clusters.id).where(Clusters.id.in_({t.cluster_id for t in tasks}),
                                                         Clusters.deleted_at.is_not(None))))
    orphans = [t for t in tasks if t.cluster_id in gone]
    if orphans:
        raise ValidationFailed(f"{len(orphans)} of the selected tasks belong to a deleted cluster: {_titles(orphans)}."
                               " Nothing was restored; restore their cluster first.")
    for t in tasks:
        t.deleted_at = None
    session.flush()
    return len(tasks)
