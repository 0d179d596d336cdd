"""core.writer.tasks: the writer queue — list, filter, sort and keyset pages; create and edit; bulk assign, due
dates, delete and restore (refused as a whole, writing nothing); queued ids; counts; assignees; tenancy."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from core.identity import users
from core.planner import clusters
from core.tenancy import operator_actor
from core.writer import tasks
from core.writer.tasks import TaskFilter
from db.base import utcnow
from db.enums import ContentStatus, ItemStatus, Role, RunStatus, TaskStatus
from db.models import Clusters, Content, SiteUserAccess, Tasks, WriterBatch, WriterBatchItem
from tests import factories as f

TODAY = utcnow().date()


@pytest.fixture
def w(session):
    w = f.workspace(session)
    w.cid = clusters.create(session, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Trail shoes").id
    return w


def _task(w, title: str = "How to choose trail shoes", **kw) -> Tasks:
    return tasks.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, title=title,
                        cluster_id=kw.pop("cluster_id", w.cid), **kw)


def _content(w, task: Tasks, *, status: ContentStatus = ContentStatus.draft, deleted: bool = False) -> Content:
    c = Content(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, task_id=task.id, title=task.title,
                status=status, deleted_at=utcnow() if deleted else None)
    w.s.add(c)
    w.s.flush()
    return c


def _person(w, role: Role, *, granted: bool = False, **names):
    u = f.user(w.s, w.acct, role=role)
    for k, v in names.items():
        setattr(u, k, v)
    if granted:
        w.s.add(SiteUserAccess(account_id=w.acct.id, site_id=w.site.id, user_id=u.id))
    w.s.flush()
    return u


def _ids(w, flt: TaskFilter | None = None, **kw) -> list[int]:
    return [r.id for r in tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id, filter=flt or TaskFilter(),
                                           limit=500, **kw).rows]


def _snapshot(s) -> list[tuple]:
    return list(s.execute(select(Tasks.id, Tasks.title, Tasks.cluster_id, Tasks.description, Tasks.keywords,
                                 Tasks.word_count, Tasks.status, Tasks.assigned_to_id, Tasks.due_date,
                                 Tasks.deleted_at).order_by(Tasks.id)).all())


def _refused(s, exc, fn, match: str):
    """fn() raises exc (message matching) and no task changed and no row was added (checked before any rollback)."""
    before, rows = _snapshot(s), f.row_counts(s)
    with pytest.raises(exc, match=match) as info:
        fn()
    assert _snapshot(s) == before and f.row_counts(s) == rows
    return info.value


# --- create, update, get --------------------------------------------------------------------------------------

def test_create_with_every_field_and_the_row_shows_cluster_assignee_and_article(w):
    ann = _person(w, Role.editor, granted=True, first_name="Ann", last_name="Lee")
    t = _task(w, "  Best   trail shoes ", description=" Roundup ", keywords="trail shoes, , grip ",
              content_type="page", content_structure="listicle", word_count=1800, assigned_to_id=ann.id,
              due_date=TODAY + timedelta(days=3))
    assert (t.title, t.description, t.keywords, t.word_count, t.status) == (
        "Best trail shoes", "Roundup", "trail shoes, grip", 1800, TaskStatus.queued)
    assert (t.assigned_to_id, t.due_date, t.created_by_id, t.account_id) == (
        ann.id, TODAY + timedelta(days=3), w.owner.id, w.acct.id)
    assert tasks.get(w.s, w.actor, task_id=t.id) is t
    c = _content(w, t, status=ContentStatus.review)
    row = tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id).rows[0]
    assert (row.id, row.cluster, row.cluster_deleted, row.assignee, row.content_id, row.content_status) == (
        t.id, "Trail shoes", False, "Ann Lee", c.id, "review")
    assert (row.content_type, row.content_structure, row.overlaps, row.overlap_score) == ("page", "listicle", [], None)
    plain = _task(w, "No name", assigned_to_id=w.owner.id)
    assert next(r for r in tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id).rows
                if r.id == plain.id).assignee == w.owner.email  # no name: the e-mail


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"title": "   "}, ValidationFailed, "Task title is required"),
    ({"title": "x" * 256}, ValidationFailed, "too long"),
    ({"word_count": 99}, ValidationFailed, "between 100 and 20,000"),
    ({"word_count": 20_001}, ValidationFailed, "between 100 and 20,000"),
    ({"word_count": "lots"}, ValidationFailed, "whole number"),
    ({"content_type": "poem"}, ValidationFailed, "Content type must be one of"),
    ({"content_structure": "sonnet"}, ValidationFailed, "Structure must be one of"),
    ({"due_date": "next week"}, ValidationFailed, "YYYY-MM-DD"),
    ({"cluster_id": 10**9}, NotFound, "was not found"),
])
def test_create_refuses_bad_input_writing_nothing(w, kw, exc, match):
    _refused(w.s, exc, lambda: _task(w, **{"title": "Fine", **kw}), match)


def test_create_refuses_a_deleted_cluster_another_sectors_cluster_and_an_unassignable_user(w):
    gone = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Old").id
    w.s.get(Clusters, gone).deleted_at = utcnow()
    other_sector = f.sector(w.s, w.site)
    elsewhere = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=other_sector.id, name="Road").id
    viewer = _person(w, Role.viewer, granted=True)
    ungranted = _person(w, Role.editor)
    _refused(w.s, ValidationFailed, lambda: _task(w, cluster_id=gone), "Cluster “Old” is deleted")
    _refused(w.s, ValidationFailed, lambda: _task(w, cluster_id=elsewhere), "belongs to another sector")
    for u in (viewer, ungranted):
        _refused(w.s, ValidationFailed, lambda u=u: _task(w, assigned_to_id=u.id), "cannot be given tasks of site")


def test_update_changes_only_what_is_given_and_none_clears_assignee_and_due_date(w):
    t = _task(w, "Alpha", assigned_to_id=w.owner.id, due_date=TODAY, keywords="a, b")
    road = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Road shoes").id
    tasks.update(w.s, w.actor, task_id=t.id, title=" Beta ", cluster_id=road, word_count=500)
    assert (t.title, t.cluster_id, t.word_count, t.keywords, t.assigned_to_id, t.due_date) == (
        "Beta", road, 500, "a, b", w.owner.id, TODAY)
    tasks.update(w.s, w.actor, task_id=t.id, assigned_to_id=None, due_date=None, keywords=["x ", " y"])
    assert (t.assigned_to_id, t.due_date, t.keywords, t.title) == (None, None, "x, y", "Beta")
    # one bad field refuses the whole edit: the good title given with it is not applied either
    _refused(w.s, ValidationFailed, lambda: tasks.update(w.s, w.actor, task_id=t.id, title="Gamma", word_count=5),
             "between 100")
    assert t.title == "Beta"


# --- tenancy and roles ------------------------------------------------------------------------------------------

def test_another_accounts_task_is_not_found_anywhere(w):
    mine = _task(w)
    other = f.workspace(w.s)
    ocid = clusters.create(w.s, other.actor, site_id=other.site.id, sector_id=other.sector.id, name="Theirs").id
    theirs = tasks.create(w.s, other.actor, site_id=other.site.id, sector_id=other.sector.id, title="Theirs",
                          cluster_id=ocid)
    assert _ids(w) == [mine.id]
    for call in (lambda: tasks.get(w.s, w.actor, task_id=theirs.id),
                 lambda: tasks.update(w.s, w.actor, task_id=theirs.id, title="Mine now"),
                 lambda: tasks.list_tasks(w.s, w.actor, sector_id=other.sector.id),
                 lambda: tasks.counts(w.s, w.actor, sector_id=other.sector.id),
                 lambda: tasks.assignees(w.s, w.actor, site_id=other.site.id),
                 lambda: _task(w, cluster_id=ocid),
                 lambda: tasks.delete(w.s, w.actor, task_ids=[mine.id, theirs.id]),
                 lambda: tasks.assign(w.s, w.actor, task_ids=[theirs.id], user_id=None)):
        _refused(w.s, NotFound, call, "not found")
    _refused(w.s, ValidationFailed, lambda: tasks.assign(w.s, w.actor, task_ids=[mine.id], user_id=other.owner.id),
             "cannot be given tasks")


def test_editor_works_only_on_granted_sites_and_viewer_only_reads(w):
    t = _task(w)
    editor = _person(w, Role.editor)
    outsider = f.actor(w.s, editor)  # no site granted yet
    _refused(w.s, NotFound, lambda: tasks.get(w.s, outsider, task_id=t.id), "not found")
    _refused(w.s, NotFound, lambda: tasks.delete(w.s, outsider, task_ids=[t.id]), "not found")
    _refused(w.s, NotFound, lambda: tasks.create(w.s, outsider, site_id=w.site.id, sector_id=w.sector.id,
                                                 title="Mine", cluster_id=w.cid), "not found")
    w.s.add(SiteUserAccess(account_id=w.acct.id, site_id=w.site.id, user_id=editor.id))
    w.s.flush()
    granted = f.actor(w.s, editor)
    assert tasks.assign(w.s, granted, task_ids=[t.id], user_id=editor.id) == 1 and t.assigned_to_id == editor.id
    viewer = f.actor(w.s, _person(w, Role.viewer, granted=True))
    assert [r.id for r in tasks.list_tasks(w.s, viewer, sector_id=w.sector.id).rows] == [t.id]
    for call in (lambda: tasks.create(w.s, viewer, site_id=w.site.id, sector_id=w.sector.id, title="V", cluster_id=w.cid),
                 lambda: tasks.update(w.s, viewer, task_id=t.id, title="V"),
                 lambda: tasks.assign(w.s, viewer, task_ids=[t.id], user_id=None),
                 lambda: tasks.set_due_date(w.s, viewer, task_ids=[t.id], due_date=TODAY),
                 lambda: tasks.delete(w.s, viewer, task_ids=[t.id]),
                 lambda: tasks.restore(w.s, viewer, task_ids=[t.id])):
        _refused(w.s, AccessDenied, call, "Viewers can look")


def test_assignees_are_active_account_people_and_editors_of_the_site(w):
    ann = _person(w, Role.editor, granted=True, first_name="Ann")
    _person(w, Role.editor)  # no access to the site
    _person(w, Role.viewer, granted=True)
    admin = _person(w, Role.admin, first_name="Zed")
    gone = _person(w, Role.admin)
    users.update_user(w.s, w.actor, user_id=gone.id, is_active=False)
    f.user(w.s, f.account(w.s))  # another account's owner
    people = tasks.assignees(w.s, w.actor, site_id=w.site.id)
    assert people == {ann.id: "Ann", w.owner.id: w.owner.email, admin.id: "Zed"}
    assert list(people) == [ann.id, w.owner.id, admin.id]  # by name


# --- list: sorts, pages and filters ---------------------------------------------------------------------------

def test_keyset_pages_cover_every_row_once_in_each_sort_with_null_due_dates_last(w):
    titles = ["delta", "Alpha", "charlie", "Bravo", "echo", "Echo", "foxtrot", "golf", "Hotel", "india", "juliet"]
    dues = [TODAY, None, TODAY - timedelta(days=2), None, TODAY, TODAY + timedelta(days=9), None, TODAY, None,
            TODAY - timedelta(days=2), TODAY + timedelta(days=1)]
    made = [_task(w, t, due_date=d) for t, d in zip(titles, dues, strict=True)]
    expected = {
        "newest": sorted(made, key=lambda t: -t.id), "oldest": sorted(made, key=lambda t: t.id),
        "due": sorted(made, key=lambda t: (t.due_date is None, t.due_date or TODAY, t.id)),
        "title": sorted(made, key=lambda t: (t.title.lower(), t.id))}
    for sort, want in expected.items():
        seen, after, pages = [], None, 0
        while True:
            page = tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id, sort=sort, after=after, limit=3)
            assert page.total == len(made) and len(page.rows) <= 3
            seen += [r.id for r in page.rows]
            pages += 1
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == [t.id for t in want], sort
        assert pages == 4
    _refused(w.s, ValidationFailed, lambda: tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id, sort="random"),
             "Sort by one of newest, oldest, due, title")


def test_filters(w):
    road = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Road").id
    ann = _person(w, Role.editor, granted=True)
    a = _task(w, "Alpha 100%_guide", due_date=TODAY - timedelta(days=1), assigned_to_id=w.owner.id)
    b = _task(w, "Beta guide", cluster_id=road, content_type="page", due_date=TODAY, assigned_to_id=ann.id)
    c = _task(w, "Gamma", content_structure="review", due_date=TODAY - timedelta(days=5))
    d = _task(w, "Delta", due_date=TODAY + timedelta(days=2))
    c.status = TaskStatus.completed
    _content(w, c)
    _content(w, d, deleted=True)  # a deleted article does not count
    e = _task(w, "Echo guide")
    tasks.delete(w.s, w.actor, task_ids=[e.id])
    assert _ids(w) == [d.id, c.id, b.id, a.id]
    cases = {
        TaskFilter(status="completed"): [c.id], TaskFilter(status="queued"): [d.id, b.id, a.id],
        TaskFilter(cluster_id=road): [b.id], TaskFilter(content_type="page"): [b.id],
        TaskFilter(content_structure="review"): [c.id], TaskFilter(assignee=tasks.MINE): [a.id],
        TaskFilter(assignee=ann.id): [b.id], TaskFilter(assignee=tasks.UNASSIGNED): [d.id, c.id],
        TaskFilter(due_before=TODAY): [c.id, b.id, a.id], TaskFilter(overdue=True): [a.id],  # c is completed
        TaskFilter(has_content=True): [c.id], TaskFilter(has_content=False): [d.id, b.id, a.id],
        TaskFilter(search="GUIDE"): [b.id, a.id], TaskFilter(search="%_"): [a.id],  # wildcards are literal
        TaskFilter(deleted=True): [e.id], TaskFilter(deleted=True, search="nothing"): [],
        TaskFilter(status="queued", assignee=tasks.UNASSIGNED, due_before=TODAY + timedelta(days=2)): [d.id]}
    for flt, want in cases.items():
        page = tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id, filter=flt)
        assert ([r.id for r in page.rows], page.total) == (want, len(want)), flt
    _refused(w.s, ValidationFailed, lambda: _ids(w, TaskFilter(status="done")), "Task status must be one of")
    _refused(w.s, ValidationFailed, lambda: _ids(w, TaskFilter(assignee="boss")), "Assignee must be")
    operator = operator_actor(w.acct.id)  # no user: nothing is "mine"
    assert tasks.list_tasks(w.s, operator, sector_id=w.sector.id, filter=TaskFilter(assignee=tasks.MINE)).rows == []


def test_deleted_cluster_shows_empty_name(w):
    t = _task(w)
    w.s.get(Clusters, w.cid).deleted_at = utcnow()
    w.s.flush()
    row = tasks.list_tasks(w.s, w.actor, sector_id=w.sector.id).rows[0]
    assert (row.id, row.cluster, row.cluster_deleted, row.cluster_id) == (t.id, "", True, w.cid)


def test_queued_ids_and_counts(w):
    a = _task(w, "Alpha guide", assigned_to_id=w.owner.id, due_date=TODAY - timedelta(days=1))
    b = _task(w, "Beta guide")
    c = _task(w, "Gamma guide", due_date=TODAY - timedelta(days=3))
    written = _task(w, "Delta guide")
    _content(w, written)
    c.status = TaskStatus.completed
    gone = _task(w, "Echo guide")
    tasks.delete(w.s, w.actor, task_ids=[gone.id])
    _task(w, "Other")
    sid = w.sector.id
    assert tasks.queued_ids(w.s, w.actor, sector_id=sid, filter=TaskFilter(search="guide")) == [a.id, b.id]
    assert tasks.queued_ids(w.s, w.actor, sector_id=sid, filter=TaskFilter(search="guide", deleted=True,
                                                                           has_content=True)) == [a.id, b.id]
    assert tasks.queued_ids(w.s, w.actor, sector_id=sid, filter=TaskFilter(status="completed")) == []
    _refused(w.s, ValidationFailed, lambda: tasks.queued_ids(w.s, w.actor, sector_id=sid, limit=2),
             "3 queued tasks match this filter; at most 2")
    assert tasks.counts(w.s, w.actor, sector_id=sid) == {"queued": 4, "completed": 1, "mine": 1, "overdue": 1,
                                                         "deleted": 1}


# --- bulk -------------------------------------------------------------------------------------------------------

def test_assign_and_due_dates_in_bulk_refuse_as_a_whole(w):
    ann = _person(w, Role.editor, granted=True)
    viewer = _person(w, Role.viewer, granted=True)
    a, b, c = _task(w, "Alpha"), _task(w, "Beta"), _task(w, "Gamma")
    assert tasks.assign(w.s, w.actor, task_ids=[a.id, b.id, a.id], user_id=ann.id) == 2
    assert (a.assigned_to_id, b.assigned_to_id, c.assigned_to_id) == (ann.id, ann.id, None)
    assert tasks.assign(w.s, w.actor, task_ids=[a.id], user_id=None) == 1 and a.assigned_to_id is None
    _refused(w.s, ValidationFailed, lambda: tasks.assign(w.s, w.actor, task_ids=[c.id], user_id=viewer.id),
             "cannot be given tasks")
    due = TODAY + timedelta(days=7)
    assert tasks.set_due_date(w.s, w.actor, task_ids=[a.id, c.id], due_date=due) == 2
    assert (a.due_date, b.due_date, c.due_date) == (due, None, due)
    b.status = TaskStatus.completed
    _refused(w.s, ValidationFailed, lambda: tasks.set_due_date(w.s, w.actor, task_ids=[a.id, b.id],
                                                               due_date=date(2030, 1, 1)),
             "1 of the selected tasks are completed already: “Beta”")
    assert tasks.set_due_date(w.s, w.actor, task_ids=[a.id, b.id], due_date=None) == 2 and a.due_date is None
    _refused(w.s, ValidationFailed, lambda: tasks.assign(w.s, w.actor, task_ids=[], user_id=None), "at least one")
    _refused(w.s, ValidationFailed, lambda: tasks.assign(w.s, w.actor, task_ids=["x"], user_id=None), "whole numbers")
    _refused(w.s, NotFound, lambda: tasks.set_due_date(w.s, w.actor, task_ids=[a.id, 10**9], due_date=due),
             f"#{10**9} were not found")


def test_delete_and_restore(w):
    a, b = _task(w, "Alpha"), _task(w, "Beta")
    c = _content(w, a)
    assert tasks.delete(w.s, w.actor, task_ids=[a.id, b.id]) == 2
    assert a.deleted_at is not None and c.task_id == a.id  # the article keeps its task
    assert _ids(w) == [] and _ids(w, TaskFilter(deleted=True)) == [b.id, a.id]
    _refused(w.s, NotFound, lambda: tasks.get(w.s, w.actor, task_id=a.id), "not found")
    _refused(w.s, ValidationFailed, lambda: tasks.assign(w.s, w.actor, task_ids=[a.id], user_id=None),
             "are deleted: “Alpha”. Restore them first")
    live = _task(w, "Gamma")
    _refused(w.s, ValidationFailed, lambda: tasks.restore(w.s, w.actor, task_ids=[a.id, live.id]),
             "1 of the selected tasks are not deleted: “Gamma”")
    assert tasks.restore(w.s, w.actor, task_ids=[a.id]) == 1 and a.deleted_at is None
    road = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Road").id
    tasks.update(w.s, w.actor, task_id=live.id, cluster_id=road)
    tasks.delete(w.s, w.actor, task_ids=[live.id])
    w.s.get(Clusters, road).deleted_at = utcnow()
    _refused(w.s, ValidationFailed, lambda: tasks.restore(w.s, w.actor, task_ids=[b.id, live.id]),
             "belong to a deleted cluster: “Gamma”. Nothing was restored")
    assert b.deleted_at is not None


def test_delete_refuses_tasks_a_running_batch_is_writing(w):
    a, b = _task(w, "Alpha"), _task(w, "Beta")
    batch = WriterBatch(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, status=RunStatus.running)
    w.s.add(batch)
    w.s.flush()
    w.s.add_all([WriterBatchItem(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, batch_id=batch.id,
                                 task_id=a.id, status=ItemStatus.pending),
                 WriterBatchItem(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, batch_id=batch.id,
                                 task_id=b.id, status=ItemStatus.done)])
    w.s.flush()
    _refused(w.s, Conflict, lambda: tasks.delete(w.s, w.actor, task_ids=[a.id, b.id]),
             "1 of the selected tasks are being written by a batch: “Alpha”")
    assert tasks.delete(w.s, w.actor, task_ids=[b.id]) == 1  # its item is done
    batch.status = RunStatus.cancelled
    assert tasks.delete(w.s, w.actor, task_ids=[a.id]) == 1
