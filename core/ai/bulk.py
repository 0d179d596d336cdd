"""Writing many articles at once: a batch of writer tasks, estimated first, then run in the background with a line per
task, several at a time up to the provider's concurrency limit.

A batch is rows (WriterBatch, one WriterBatchItem per task), not a thread: the page's thread, the CLI or another
process runs it, and leaving the page and coming back shows it from the database. The process running it holds
the batch's lease (core.common.claim, house rule 9); every item's line is written only while that lease is held,
and a batch whose runner died (its lease ran out while items were still running) shows as interrupted and is
resumed by the next `run_batch`. Each task is one engine job (claim → commit → work → record), so a finished
article is saved and charged the moment it finishes, a failure is that task's line and costs nothing, and its job
key (`writer-batch:<batch id>`) makes a rerun of the same batch charge nothing twice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import engine, functions, providers
from core.ai import models as ai_models
from core.ai.limits import Limits
from core.billing import credits
from core.common import claim
from core.common.uow import UnitOfWork
from core.errors import DomainError, ValidationFailed
from core.tenancy import Actor
from core.writer import overlap
from db.base import utcnow
from db.enums import ItemStatus, RunStatus
from db.models import Clusters, Content, Sector, Tasks, User, WriterBatch, WriterBatchItem

log = logging.getLogger("igny8.ai.bulk")

MAX_TASKS = 500       # tasks of one batch
MAX_WORKERS = 16      # articles written at once in one process, whatever a provider allows
LEASE = timedelta(minutes=15)  # renewed at every article's start and end; one article takes at most a few minutes
BUSY = (RunStatus.pending, RunStatus.running)
FINISHED = (RunStatus.completed, RunStatus.failed, RunStatus.cancelled)
OPEN_ITEMS = (ItemStatus.pending, ItemStatus.running)
Report = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Excluded:
    """A chosen task that will not be written, and why."""

    task_id: int
    title: str
    reason: str


@dataclass(frozen=True)
class BatchEstimate:
    """What a batch would cost at most, and which tasks it leaves out."""

    credits: int
    balance: int
    runnable: int
    excluded: list[Excluded]
    model: str = ""
    concurrency: int = 1

    @property
    def affordable(self) -> bool:
        return self.balance >= self.credits

    @property
    def message(self) -> str:
        skipped = f" {len(self.excluded):,} chosen task(s) will be skipped (listed below)." if self.excluded else ""
        if not self.runnable:
            return "None of the chosen tasks can be written." + skipped
        text = (f"Estimated cost: up to {self.credits:,} credits for {self.runnable:,} article(s) on {self.model}, "
                f"{self.concurrency} at a time. Balance: {self.balance:,} credits.{skipped}")
        return text if self.affordable else text + " Not enough credits: ask the platform team to top up the account."


@dataclass(frozen=True)
class ItemView:
    task_id: int | None
    title: str
    status: str
    message: str
    credits: int
    attempts: int
    content_id: int | None


@dataclass(frozen=True)
class BatchView:
    """A batch as the screen shows it: totals, progress, and a line per task."""

    id: int
    status: str
    message: str
    total: int
    done: int
    failed: int
    skipped: int
    credits: int
    estimated_credits: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    interrupted: bool  # its runner stopped (the process died) with tasks left: resume it
    running: bool      # a live runner holds it now
    items: list[ItemView] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return 1.0 if not self.total else min((self.done + self.failed + self.skipped) / self.total, 1.0)


# --- planning -------------------------------------------------------------------------------------------------------

def _ids(task_ids: Iterable[object]) -> list[int]:
    ids: list[int] = []
    for value in task_ids or []:
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise ValidationFailed(f"Task ids are whole numbers, not “{value}”.")
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise ValidationFailed("Choose the tasks to write first.")
    if len(ids) > MAX_TASKS:
        raise ValidationFailed(f"{len(ids):,} tasks were chosen; one batch writes at most {MAX_TASKS:,}. Narrow the "
                               "filter or run several batches.")
    return ids


def _busy(session: Session, actor: Actor, ids: list[int]) -> dict[int, int]:
    """Tasks waiting or being written in an unfinished batch: task id → batch id."""
    rows = session.execute(tenancy.scoped(select(WriterBatchItem.task_id, WriterBatchItem.batch_id), WriterBatchItem,
                                          actor).join(WriterBatch, WriterBatch.id == WriterBatchItem.batch_id)
                           .where(WriterBatchItem.task_id.in_(ids), WriterBatchItem.status.in_(OPEN_ITEMS),
                                  WriterBatch.status.in_(BUSY)))
    return {task_id: batch_id for task_id, batch_id in rows}


@dataclass(frozen=True)
class _Known:
    """What the checks of a batch's tasks read, in one query each: their articles, clusters and busy batches."""

    articles: dict[int, int]                        # task id → content id
    clusters: dict[int, tuple[str, bool]]           # cluster id → (name, deleted)
    busy: dict[int, int]                            # task id → batch id

    @classmethod
    def load(cls, session: Session, actor: Actor, tasks: list[Tasks]) -> _Known:
        ids = [t.id for t in tasks]
        articles = dict(session.execute(select(Content.task_id, Content.id).where(Content.task_id.in_(ids))).all())
        clusters = {cid: (name, deleted is not None) for cid, name, deleted in session.execute(
            select(Clusters.id, Clusters.name, Clusters.deleted_at)
            .where(Clusters.id.in_({t.cluster_id for t in tasks})))}
        return cls(articles, clusters, _busy(session, actor, ids))


def _reason(task: Tasks, sector_id: int | None, known: _Known) -> str | None:
    if sector_id is not None and task.sector_id != sector_id:
        return "it belongs to another sector"
    if task.id in known.articles:
        return f"it has an article already (content #{known.articles[task.id]})"
    if task.id in known.busy:
        return f"batch #{known.busy[task.id]} is writing it already"
    name, deleted = known.clusters.get(task.cluster_id, ("", True))
    if deleted:
        named = f" “{name}”" if name else ""
        return f"its cluster{named} was deleted: give the task another cluster (Edit a task) or restore the cluster"
    return None


@dataclass
class _Plan:
    tasks: list[Tasks]
    credits: dict[int, int]
    excluded: list[Excluded]
    model: str = ""
    concurrency: int = 1


def _plan(session: Session, actor: Actor, *, task_ids: Iterable[object], author_profile_id: int | None,
          strategy_id: int | None, include_overlapping: bool, sector_id: int | None = None) -> _Plan:
    tenancy.require_write(actor)
    ids = _ids(task_ids)
    found = {t.id: t for t in session.scalars(tenancy.scoped(select(Tasks), Tasks, actor).where(Tasks.id.in_(ids)))}
    plan = _Plan([], {}, [Excluded(i, f"Task #{i}", "it was not found (deleted, or on a site you cannot see)")
                          for i in ids if i not in found])
    known = _Known.load(session, actor, list(found.values()))
    candidates = []
    for task in (found[i] for i in ids if i in found):
        reason = _reason(task, sector_id, known)
        if reason:
            plan.excluded.append(Excluded(task.id, task.title, reason))
        else:
            candidates.append(task)
    collisions = overlap.check_tasks(session, actor, task_ids=[t.id for t in candidates]) if candidates else {}
    for task in candidates:
        if collisions.get(task.id) and not include_overlapping:
            plan.excluded.append(Excluded(task.id, task.title, overlap.describe(collisions[task.id]) + " (tick “Also "
                                          "write tasks that collide” to write it anyway)"))
            continue
        job = functions.make("generate_content", {"task_id": task.id, "author_profile_id": author_profile_id,
                                                  "strategy_id": strategy_id})
        try:
            job.prepare(session, actor)
        except ValidationFailed:
            raise  # the same for every task (no text model, an unknown author profile): say it once
        except DomainError as exc:
            plan.excluded.append(Excluded(task.id, task.title, str(exc)))
            continue
        plan.tasks.append(task)
        plan.credits[task.id] = job.estimate_credits(session)
        plan.model = job.model_name
    if plan.tasks:
        plan.concurrency = concurrency(session)
    return plan


def concurrency(session: Session) -> int:
    """How many articles run at once: the text model's provider limit (max_concurrency), at most MAX_WORKERS."""
    model = ai_models.default_model(session, model_type="text")
    conn = providers.connection(session, provider_id=model.provider)
    return max(1, min(Limits.from_config(conn.config or {}).max_concurrency, MAX_WORKERS))


def estimate_batch(session: Session, actor: Actor, *, task_ids: list[int], author_profile_id: int | None = None,
                   strategy_id: int | None = None, include_overlapping: bool = False,
                   sector_id: int | None = None) -> BatchEstimate:
    """The most a batch of these tasks would cost, the balance, and the tasks it would skip with the reason (with
    `sector_id`, as create_batch would: tasks of other sectors are skipped)."""
    if sector_id is not None:
        tenancy.get(session, actor, Sector, sector_id)
    plan = _plan(session, actor, task_ids=task_ids, author_profile_id=author_profile_id, strategy_id=strategy_id,
                 include_overlapping=include_overlapping, sector_id=sector_id)
    return BatchEstimate(sum(plan.credits.values()), credits.balance(session, actor), len(plan.tasks), plan.excluded,
                         plan.model, plan.concurrency)


def create_batch(session: Session, actor: Actor, *, sector_id: int, task_ids: list[int],
                 author_profile_id: int | None = None, strategy_id: int | None = None,
                 include_overlapping: bool = False) -> WriterBatch:
    """A pending batch of a sector's tasks: a line per task, the excluded ones skipped with their reason. Refused
    when none can be written or the balance is below the estimate."""
    found = tenancy.get(session, actor, Sector, sector_id)
    sector = tenancy.sector_for_write(session, actor, site_id=found.site_id, sector_id=found.id)
    plan = _plan(session, actor, task_ids=task_ids, author_profile_id=author_profile_id, strategy_id=strategy_id,
                 include_overlapping=include_overlapping, sector_id=sector.id)
    if not plan.tasks:
        reasons = "; ".join(f"“{x.title}”: {x.reason}" for x in plan.excluded[:5])
        raise ValidationFailed(f"None of the {len(plan.excluded):,} chosen task(s) can be written — {reasons}.")
    estimated = sum(plan.credits.values())
    credits.ensure_balance(session, actor, needed=estimated)
    now = utcnow()
    batch = WriterBatch(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id,
                        author_profile_id=author_profile_id, strategy_id=strategy_id, created_by_id=actor.user_id,
                        estimated_credits=estimated, total=len(plan.tasks) + len(plan.excluded),
                        skipped=len(plan.excluded), status=RunStatus.pending,
                        message=f"Waiting to write {len(plan.tasks):,} article(s).")
    session.add(batch)
    session.flush()
    lines = [(t.id, t.title, ItemStatus.pending, "") for t in plan.tasks]
    lines += [(x.task_id if x.title != f"Task #{x.task_id}" else None, x.title, ItemStatus.skipped, x.reason)
              for x in plan.excluded]
    session.add_all(WriterBatchItem(account_id=batch.account_id, site_id=batch.site_id, sector_id=batch.sector_id,
                                    batch_id=batch.id, task_id=task_id, title=title[:255], position=n, status=status,
                                    message=message, finished_at=now if status == ItemStatus.skipped else None)
                    for n, (task_id, title, status, message) in enumerate(lines))
    session.flush()
    return batch


# --- running ----------------------------------------------------------------------------------------------------------

@dataclass
class _Runner:
    uow: UnitOfWork
    actor: Actor
    batch_id: int
    author_profile_id: int | None
    strategy_id: int | None
    total: int
    report: Report
    job_key: str = ""
    owner: str = field(default_factory=claim.worker_id)

    def _held(self):
        """Item writes are fenced by the batch's lease: only the runner holding it changes a line."""
        return WriterBatchItem.batch_id.in_(select(WriterBatch.id).where(
            WriterBatch.id == self.batch_id, WriterBatch.claimed_by == self.owner, WriterBatch.lease_until > utcnow()))

    def _item(self, session: Session, item_id: int, **values: object) -> bool:
        """Change a line that is still open (not cancelled meanwhile), while this runner holds the batch."""
        result = session.execute(update(WriterBatchItem).where(WriterBatchItem.id == item_id, self._held(),
                                                               WriterBatchItem.status.in_(OPEN_ITEMS))
                                 .values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def _start(self, item_id: int) -> bool:
        with self.uow() as s:
            status = s.scalar(select(WriterBatch.status).where(WriterBatch.id == self.batch_id))
            if status != RunStatus.running:
                return False  # cancelled meanwhile: leave the line pending (cancel marks it)
            claim.renew(s, WriterBatch, ids=[self.batch_id], owner=self.owner, lease=LEASE)
            return self._item(s, item_id, status=ItemStatus.running, attempts=WriterBatchItem.attempts + 1,
                              message="Writing …")

    def _finish(self, item_id: int, status: ItemStatus, message: str, content_id: int | None = None,
                charged: int = 0) -> None:
        counter = {ItemStatus.done: "done", ItemStatus.failed: "failed", ItemStatus.skipped: "skipped"}[status]
        with self.uow() as s:
            if not self._item(s, item_id, status=status, message=message, content_id=content_id, credits=charged,
                              finished_at=utcnow()):
                log.warning("writer batch %s: lease lost; the line of item %s was not written", self.batch_id, item_id)
                return
            column = getattr(WriterBatch, counter)
            s.execute(update(WriterBatch).where(WriterBatch.id == self.batch_id)
                      .values({counter: column + 1, "credits": WriterBatch.credits + charged})
                      .execution_options(synchronize_session=False))
            claim.renew(s, WriterBatch, ids=[self.batch_id], owner=self.owner, lease=LEASE)
            done = s.execute(select(WriterBatch.done, WriterBatch.failed, WriterBatch.skipped)
                             .where(WriterBatch.id == self.batch_id)).one()
        self.report(sum(done), self.total, message)

    def write(self, item_id: int, task_id: int) -> None:
        """One task: its own engine job; whatever it raises is its line, never the batch's end."""
        if not self._start(item_id):
            return
        try:
            result = engine.generate_content(self.uow, self.actor, task_id=task_id,
                                              author_profile_id=self.author_profile_id, strategy_id=self.strategy_id,
                                              job_key=self.job_key)
        except DomainError as exc:
            said = str(exc)
            self._finish(item_id, ItemStatus.failed, said if "charged" in said else f"{said} Nothing was charged.")
        except Exception as exc:  # noqa: BLE001 — a bug in one task must not stop the others; it is logged
            log.exception("writer batch %s: task %s failed", self.batch_id, task_id)
            self._finish(item_id, ItemStatus.failed, f"Unexpected error ({type(exc).__name__}: {exc}). Nothing was "
                         "charged; retry it, and tell the platform team if it happens again.")
        else:
            content_id = (result.created.get("content") or [None])[0]
            again = " (written before; not charged again)" if result.replayed else ""
            self._finish(item_id, ItemStatus.done, result.message + again, content_id, result.credits)


def _claim(uow: UnitOfWork, actor: Actor, batch_id: int, owner: str) -> WriterBatch | None:
    with uow() as s:
        # Lock and wait (not SKIP LOCKED): a racing runner's claim is committed first, so the loser sees its lease
        # and returns the batch as running, not as the pending batch it was before that claim.
        batch = _batch_for_write(s, actor, batch_id)
        won = claim.claim_due(s, WriterBatch, where=[WriterBatch.id == batch.id, WriterBatch.status.in_(BUSY)],
                              owner=owner, lease=LEASE, limit=1,
                              values={"status": RunStatus.running, "started_at": batch.started_at or utcnow(),
                                      "finished_at": None, "message": "Writing …"})
        if not won:
            return None
        s.expunge(batch)
        return batch


def run_batch(uow: UnitOfWork, actor: Actor, *, batch_id: int, job_key: str | None = None,
              on_progress: Report | None = None) -> BatchView:
    """Write the batch's pending tasks (and those a dead runner left running), several at a time; returns the batch
    as it ends. A batch another live process is running, or one already finished, is returned as it stands.
    Each task's engine job key is `writer-batch:<job_key or batch id>`: a rerun never pays twice for an article."""
    report = on_progress or (lambda done, total, message: None)
    runner = _Runner(uow, actor, batch_id, None, None, 0, report, f"writer-batch:{job_key or batch_id}")
    batch = _claim(uow, actor, batch_id, runner.owner)
    if batch is None:
        with uow() as s:
            return get_batch(s, actor, batch_id=batch_id)
    runner.author_profile_id, runner.strategy_id, runner.total = batch.author_profile_id, batch.strategy_id, batch.total
    with uow() as s:
        items = s.execute(select(WriterBatchItem.id, WriterBatchItem.task_id).where(
            WriterBatchItem.batch_id == batch_id, WriterBatchItem.status.in_(OPEN_ITEMS))
            .order_by(WriterBatchItem.position)).all()
        workers = concurrency(s) if items else 1
    lost = [item_id for item_id, task_id in items if task_id is None]  # its task was purged meanwhile
    for item_id in lost:
        runner._finish(item_id, ItemStatus.failed, "Its task no longer exists.")
    todo = [(item_id, task_id) for item_id, task_id in items if task_id is not None]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1)),
                            thread_name_prefix=f"writer-batch-{batch_id}") as pool:
        for future in [pool.submit(runner.write, item_id, task_id) for item_id, task_id in todo]:
            future.result()  # write() turns every failure into its line; this only waits
    _close(uow, runner)
    with uow() as s:
        return get_batch(s, actor, batch_id=batch_id)


def _close(uow: UnitOfWork, runner: _Runner) -> None:
    with uow() as s:
        b = s.execute(select(WriterBatch.status, WriterBatch.done, WriterBatch.failed, WriterBatch.skipped,
                             WriterBatch.credits).where(WriterBatch.id == runner.batch_id)).one()
        status = RunStatus.cancelled if b.status == RunStatus.cancelled else (
            RunStatus.failed if b.failed and not b.done else RunStatus.completed)
        text = (f"Wrote {b.done:,} article(s) for {b.credits:,} credits; {b.failed:,} failed, {b.skipped:,} "
                "skipped.") + (" Cancelled before the end." if status == RunStatus.cancelled else "")
        if not claim.record(s, WriterBatch, id=runner.batch_id, owner=runner.owner,
                            values={"status": status, "message": text, "finished_at": utcnow()}):
            log.warning("writer batch %s: the lease ran out before the end; the next run resumes it", runner.batch_id)


# --- after a run ------------------------------------------------------------------------------------------------------

def _batch_for_write(session: Session, actor: Actor, batch_id: int) -> WriterBatch:
    batch = tenancy.get_for_write(session, actor, WriterBatch, batch_id)
    return session.scalars(select(WriterBatch).where(WriterBatch.id == batch.id).with_for_update()
                           .execution_options(populate_existing=True)).one()


def retry_failed(session: Session, actor: Actor, *, batch_id: int) -> int:
    """Put a finished batch's failed tasks back in line (run_batch writes them); how many."""
    batch = _batch_for_write(session, actor, batch_id)
    if batch.status not in FINISHED:
        raise ValidationFailed(f"Batch #{batch.id} is still running; retry its failed tasks when it has finished.")
    n = session.execute(update(WriterBatchItem).where(WriterBatchItem.batch_id == batch.id,
                                                      WriterBatchItem.status == ItemStatus.failed,
                                                      WriterBatchItem.task_id.is_not(None))
                        .values(status=ItemStatus.pending, message="Waiting to be retried.", finished_at=None)
                        .execution_options(synchronize_session=False)).rowcount
    if not n:
        raise ValidationFailed(f"Batch #{batch.id} has no failed tasks to retry.")
    batch.status, batch.failed, batch.finished_at = RunStatus.pending, WriterBatch.failed - n, None
    batch.message = f"Waiting to retry {n:,} failed task(s)."
    session.flush()
    return n


def cancel_batch(session: Session, actor: Actor, *, batch_id: int) -> int:
    """Stop a batch: its waiting tasks are skipped (articles being written now still finish and are saved);
    how many were skipped."""
    batch = _batch_for_write(session, actor, batch_id)
    if batch.status not in BUSY:
        raise ValidationFailed(f"Batch #{batch.id} has finished already ({batch.status.value}); nothing to cancel.")
    who = actor.email or "an operator"
    n = session.execute(update(WriterBatchItem).where(WriterBatchItem.batch_id == batch.id,
                                                      WriterBatchItem.status == ItemStatus.pending)
                        .values(status=ItemStatus.skipped, message=f"Cancelled by {who}.", finished_at=utcnow())
                        .execution_options(synchronize_session=False)).rowcount
    batch.skipped = WriterBatch.skipped + n
    batch.status = RunStatus.cancelled
    running = session.scalar(select(WriterBatchItem.id).where(WriterBatchItem.batch_id == batch.id,
                                                              WriterBatchItem.status == ItemStatus.running).limit(1))
    if running is None:
        batch.finished_at, batch.claimed_by, batch.lease_until = utcnow(), None, None
    batch.message = f"Cancelled by {who}: {n:,} waiting task(s) skipped."
    session.flush()
    return n


def _view(session: Session, batch: WriterBatch, items: list[WriterBatchItem]) -> BatchView:
    now = utcnow()
    held = batch.claimed_by is not None and batch.lease_until is not None and batch.lease_until > now
    open_items = any(i.status in OPEN_ITEMS for i in items)
    interrupted = batch.status == RunStatus.running and not held and open_items
    who = session.scalar(select(User.email).where(User.id == batch.created_by_id)) if batch.created_by_id else None
    return BatchView(batch.id, batch.status.value, batch.message, batch.total, batch.done, batch.failed,
                     batch.skipped, batch.credits, batch.estimated_credits, who or "", batch.created_at,
                     batch.finished_at, interrupted, held,
                     [ItemView(i.task_id, i.title, i.status.value, i.message, i.credits, i.attempts, i.content_id)
                      for i in items])


def get_batch(session: Session, actor: Actor, *, batch_id: int) -> BatchView:
    """A batch with its lines, in the order the tasks were chosen."""
    batch = tenancy.get(session, actor, WriterBatch, batch_id)
    session.refresh(batch)
    items = list(session.scalars(select(WriterBatchItem).where(WriterBatchItem.batch_id == batch.id)
                                 .order_by(WriterBatchItem.position)))
    return _view(session, batch, items)


def latest_batches(session: Session, actor: Actor, *, sector_id: int, limit: int = 3) -> list[BatchView]:
    """A sector's newest batches, running ones first."""
    tenancy.get(session, actor, Sector, sector_id)
    rows = session.scalars(tenancy.scoped(select(WriterBatch), WriterBatch, actor)
                           .where(WriterBatch.sector_id == sector_id)
                           .order_by(WriterBatch.finished_at.is_not(None), WriterBatch.id.desc())
                           .limit(max(1, min(int(limit), 20))))
    return [get_batch(session, actor, batch_id=b.id) for b in rows]
