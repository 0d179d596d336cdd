"""Working one claimed run, stage by stage (claim → commit → work → record, house rule 9).

The worker holds the run's lease (`claimed_by`, `lease_until`). Each stage's items are planned once (rows of
`automation_run_item`) when the stage starts; each item is done outside any transaction and recorded in a short
one that is fenced by the claim, with the run's counters changed in SQL. Between items the worker renews its lease,
beats its heartbeat, and obeys the run's status (paused, cancelled), the scheduler's stop (SIGTERM), the deadline
and the budget. A worker that dies leaves its lease to run out; the next one continues with the items still
pending, and the engine's job keys make a redone AI item a replay (charged once).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import config as app_config
from core import tenancy
from core.ai import bulk
from core.automation import config, runs, stages
from core.billing import credits
from core.common import claim
from core.common.uow import UnitOfWork
from core.errors import DomainError, InsufficientCredits
from core.writer import review
from db.enums import RunStatus
from db.models import AutomationConfig, AutomationRun, AutomationRunItem, Content, PublishingSettings

log = logging.getLogger("igny8.automation")
DB_RETRY_S = 60.0  # how long a worker keeps trying while the database is away (then its lease runs out)


def lease() -> timedelta:
    return timedelta(seconds=max(10, app_config.settings().automation_lease_seconds))


@dataclass
class Gate:
    """What the worker may do next: go, or why it stops."""

    verdict: str  # go | paused | cancelled | stopping | max_time | budget | credits | lost
    message: str = ""


def claim_next(uow: UnitOfWork, *, owner: str, run_id: int | None = None, now: datetime | None = None) -> int | None:
    """Claim the oldest run a scheduler should work (pending, or running with its worker's lease run out), or
    exactly run `run_id` when it is claimable."""
    now = now or datetime.now(UTC)
    where = [AutomationRun.status.in_([RunStatus.pending, RunStatus.running])]
    if run_id is not None:
        where.append(AutomationRun.id == run_id)
    with uow() as session:
        ids = claim.claim_due(session, AutomationRun, where=where, owner=owner, lease=lease(), limit=1, now=now,
                              order_by=[AutomationRun.created_at, AutomationRun.id],
                              values={"status": RunStatus.running, "heartbeat_at": now})
        if not ids:
            return None
        run = session.get(AutomationRun, ids[0])
        if run.started_at is None:
            run.started_at = now
        if run.deadline_at is None:
            minutes = int((run.settings_json or {}).get("max_run_minutes") or config.Settings().max_run_minutes)
            run.deadline_at = now + timedelta(minutes=minutes)
        return ids[0]


class Worker:
    """Works one claimed run to its end, or until it must stop."""

    def __init__(self, uow: UnitOfWork, run_id: int, *, owner: str, stopping: threading.Event | None = None,
                 sleep: Callable[[float], None] | None = None):
        self.uow, self.run_id, self.owner = uow, run_id, owner
        self.stopping = stopping or threading.Event()
        self._sleep = sleep
        with uow() as session:
            run = session.get(AutomationRun, run_id)
            self.account_id, self.site_id, self.run_key = run.account_id, run.site_id, run.run_id
            self.settings = dict(run.settings_json or {})
            self.reservation_id = run.reservation_id
            self.budget = run.budget_credits
            self.base_used = run.total_credits_used  # what earlier workers of this run recorded
            self.deadline = run.deadline_at
            approve, publish = _choices(session, run.site_id, self.settings)
            self.concurrency = _concurrency(session)
        self.actor = tenancy.system_actor(self.account_id)
        self.ctx = stages.Context(uow, self.actor, self.run_key, self.site_id, self.settings, self.reservation_id,
                                  approve, publish)
        # Budget bookkeeping of this worker, changed under the lock as items start and settle (an item's thread
        # settles it right after its record committed): credits recorded, and estimates of items in flight.
        self._lock = threading.Lock()
        self.used = 0
        self.in_flight = 0

    # --- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> str:
        """Work the run; what became of it (completed, failed, paused, cancelled, released, lost)."""
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(done,), name=f"lease-{self.run_id}", daemon=True)
        beat.start()
        try:
            return self._retrying()
        finally:
            done.set()
            beat.join(timeout=5)

    def _retrying(self) -> str:
        started = time.monotonic()
        while True:
            try:
                return self._loop()
            except DBAPIError as exc:  # the database went away: keep the run, try again, then let the lease lapse
                if time.monotonic() - started > DB_RETRY_S:
                    log.error("run %s: the database is unreachable (%s); leaving it to the next scheduler",
                              self.run_key, exc)
                    return "lost"
                log.warning("run %s: database error (%s); trying again", self.run_key, exc)
                time.sleep(2.0)

    def _heartbeat(self, done: threading.Event) -> None:
        """Renew the lease while items run (an article may take longer than the lease); stops with the process."""
        every = max(lease().total_seconds() / 4, 1.0)
        while not done.wait(every):
            try:
                now = datetime.now(UTC)
                with self.uow() as session:
                    session.execute(update(AutomationRun).where(AutomationRun.id == self.run_id,
                                                                AutomationRun.claimed_by == self.owner)
                                    .values(lease_until=now + lease(), heartbeat_at=now))
            except DBAPIError as exc:
                log.warning("run %s: could not renew the lease (%s)", self.run_key, exc)

    def _loop(self) -> str:
        while True:
            gate = self._gate(0)
            if gate.verdict != "go":
                return self._stop(gate)
            stage = self._stage()
            if stage is None:
                return "lost"
            if stage > 8:
                return self._finish(RunStatus.completed, "", "")
            pending = self._plan(stage)
            if pending:
                gate = self._work_items(stage, pending)
                if gate.verdict != "go":
                    return self._stop(gate)
            if not self._close_stage(stage):
                return "lost"
            if stage < 8 and pending and self._pause(float(self.settings.get("between_stage_delay") or 0)):
                continue

    def _pause(self, seconds: float) -> bool:
        """Wait between items or stages, waking early to stop; True when the wait ran out."""
        if seconds <= 0:
            return True
        if self._sleep is not None:
            self._sleep(seconds)
            return True
        return not self.stopping.wait(seconds)

    # --- gate: control, deadline, lease, budget ---------------------------------------------------------------------

    def _gate(self, estimate: int) -> Gate:
        """Renew the lease and decide whether the next item (costing up to `estimate`) may start."""
        now = datetime.now(UTC)
        with self.uow() as session:
            run = session.scalar(select(AutomationRun).where(AutomationRun.id == self.run_id)
                                 .execution_options(populate_existing=True))
            if run is None or run.claimed_by != self.owner:
                return Gate("lost")
            if run.status == RunStatus.paused:
                return Gate("paused")
            if run.status == RunStatus.cancelled:
                return Gate("cancelled")
            if self.stopping.is_set():
                return Gate("stopping")
            if self.deadline is not None and now >= self.deadline:
                return Gate("max_time", "The run reached its maximum run time; what is left waits for the next run.")
            session.execute(update(AutomationRun).where(AutomationRun.id == self.run_id,
                                                        AutomationRun.claimed_by == self.owner)
                            .values(lease_until=now + lease(), heartbeat_at=now))
            if estimate <= 0:
                return Gate("go")
            with self._lock:
                committed, in_flight = self.base_used + self.used + self.in_flight, self.in_flight
            if committed + estimate > self.budget:
                return Gate("budget", f"The next item would cost up to {estimate:,} credits; with "
                                      f"{committed:,} of the {self.budget:,}-credit budget used or in use, the run "
                                      "stopped on its budget.")
            return self._hold(session, estimate, in_flight)

    def _hold(self, session: Session, estimate: int, in_flight: int) -> Gate:
        """Make the reservation hold what the items in flight and this one may cost."""
        if self.reservation_id is None:
            return Gate("go")
        held = credits.held(session, self.actor, reservation_id=self.reservation_id)
        short = in_flight + estimate - held
        if short > 0:
            try:
                credits.extend(session, self.actor, reservation_id=self.reservation_id, amount=short)
            except InsufficientCredits as exc:
                return Gate("credits", f"The account cannot cover the next item: {exc}")
        return Gate("go")

    def _stop(self, gate: Gate) -> str:
        if gate.verdict == "lost":
            return "lost"
        if gate.verdict in ("paused", "stopping"):
            with self.uow() as session:
                claim.release(session, AutomationRun, ids=[self.run_id], owner=self.owner)
            return "paused" if gate.verdict == "paused" else "released"
        if gate.verdict == "cancelled":
            return self._finish(RunStatus.cancelled, "cancelled", "Cancelled.")
        if gate.verdict == "max_time":
            return self._finish(RunStatus.completed, "max_time", gate.message)
        if gate.verdict in ("budget", "credits"):
            return self._finish(RunStatus.completed, "budget", gate.message)
        return self._finish(RunStatus.failed, "error", gate.message)

    # --- stages -----------------------------------------------------------------------------------------------------

    def _stage(self) -> int | None:
        with self.uow() as session:
            return session.scalar(select(AutomationRun.current_stage).where(
                AutomationRun.id == self.run_id, AutomationRun.claimed_by == self.owner))

    def _plan(self, stage: int) -> list[AutomationRunItem]:
        """The stage's pending items, planned first when the stage has not been (a retry plans nothing new)."""
        with self.uow() as session:
            run = session.get(AutomationRun, self.run_id)
            results = dict(run.stage_results or {})
            if str(stage) not in results and not self.settings.get("retry_only"):
                planned = self._candidates(session, stage)
                for p in planned:
                    cost = stages.estimate(session, self.actor, stage, p, self.settings)
                    session.add(AutomationRunItem(account_id=self.account_id, site_id=self.site_id, run_id=run.id,
                                                  stage=stage, object_type=p.object_type, object_id=p.object_id,
                                                  sector_id=p.sector_id, label=p.label[:255], payload=p.payload,
                                                  estimate_credits=cost))
                forecast = next((s["items"] for s in (run.forecast_json or {}).get("stages", [])
                                 if s["stage"] == stage), 0)
                results[str(stage)] = {"planned": len(planned), "started_at": datetime.now(UTC).isoformat()}
                session.execute(update(AutomationRun).where(AutomationRun.id == run.id).values(
                    stage_results=results, items_total=AutomationRun.items_total + len(planned) - forecast))
            session.flush()
            pending = list(session.scalars(select(AutomationRunItem).where(
                AutomationRunItem.run_id == run.id, AutomationRunItem.stage == stage,
                AutomationRunItem.status == "pending").order_by(AutomationRunItem.id)))
            session.expunge_all()
            return pending

    def _candidates(self, session: Session, stage: int) -> list[stages.Planned]:
        size = int(self.settings.get(f"stage_{stage}_batch_size") or 1)
        if stage == 7:
            tasks = list(session.scalars(select(AutomationRunItem.object_id).where(
                AutomationRunItem.run_id == self.run_id, AutomationRunItem.stage == 4,
                AutomationRunItem.status == "done")))
            articles = list(session.scalars(select(Content.id).where(Content.task_id.in_(tasks)))) if tasks else []
            return stages.plan_review(session, self.actor, self.site_id, size, article_ids=articles)
        planner = {1: stages.plan_keywords, 2: stages.plan_clusters, 3: stages.plan_ideas, 4: stages.plan_tasks,
                   5: stages.plan_prompts, 6: stages.plan_images, 8: stages.plan_publishing}[stage]
        return planner(session, self.actor, self.site_id, size)

    def _close_stage(self, stage: int) -> bool:
        """Sum the stage's items into `stage_results` and move to the next stage (fenced by the claim)."""
        with self.uow() as session:
            run = session.get(AutomationRun, self.run_id)
            rows = session.execute(select(AutomationRunItem.status, func.count(), func.sum(AutomationRunItem.credits),
                                          func.sum(AutomationRunItem.duration_ms))
                                   .where(AutomationRunItem.run_id == self.run_id, AutomationRunItem.stage == stage)
                                   .group_by(AutomationRunItem.status)).all()
            counts = {status: n for status, n, _, _ in rows}
            results = dict(run.stage_results or {})
            entry = dict(results.get(str(stage)) or {})
            entry.update({"name": config.STAGES[stage], "done": counts.get("done", 0),
                          "skipped": counts.get("skipped", 0), "failed": counts.get("failed", 0),
                          "credits": int(sum(c or 0 for _, _, c, _ in rows)),
                          "time_ms": int(sum(d or 0 for _, _, _, d in rows)),
                          "finished_at": datetime.now(UTC).isoformat()})
            results[str(stage)] = entry
            moved = session.execute(update(AutomationRun).where(AutomationRun.id == self.run_id,
                                                                AutomationRun.claimed_by == self.owner)
                                    .values(stage_results=results, current_stage=stage + 1)).rowcount
            return moved == 1

    # --- items ------------------------------------------------------------------------------------------------------

    def _work_items(self, stage: int, pending: list[AutomationRunItem]) -> Gate:
        if stage in stages.CONCURRENT and self.concurrency > 1:
            return self._work_concurrently(stage, pending)
        delay = float(self.settings.get("within_stage_delay") or 0)
        for n, item in enumerate(pending):
            if n and not self._pause(delay):
                return Gate("stopping")
            gate = self._gate(item.estimate_credits)
            if gate.verdict != "go":
                return gate
            done = self._do(stage, item)
            gate = self._after(done)
            if gate.verdict != "go":
                return gate
        return Gate("go")

    def _work_concurrently(self, stage: int, pending: list[AutomationRunItem]) -> Gate:
        """Up to the provider's concurrency at once; new items start only while the gate says go."""
        stop: Gate | None = None
        queue = list(pending)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"run-{self.run_id}") as pool:
            running: dict[Future, AutomationRunItem] = {}
            while queue or running:
                while queue and stop is None and len(running) < self.concurrency:
                    item = queue[0]
                    gate = self._gate(item.estimate_credits)
                    if gate.verdict != "go":
                        stop = gate
                        break
                    queue.pop(0)
                    with self._lock:  # counted from the gate on, so the next gate sees it
                        self.in_flight += item.estimate_credits
                    running[pool.submit(self._do, stage, item, counted=True)] = item
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    gate = self._after(future.result())
                    if gate.verdict != "go" and stop is None:
                        stop = gate
                if stop is not None and not running:
                    break
        return stop or Gate("go")

    def _after(self, done: stages.Done | None) -> Gate:
        if done is None:
            return Gate("lost")
        if done.status == "failed" and self.settings.get("stop_on_error"):
            return Gate("error", f"Stopped on an error (stop on error is on): {done.message}")
        return Gate("go")

    def _do(self, stage: int, item: AutomationRunItem, *, counted: bool = False) -> stages.Done | None:
        """Do one item and record it, keeping the budget bookkeeping; None when the claim was lost."""
        if not counted:
            with self._lock:
                self.in_flight += item.estimate_credits
        done: stages.Done | None = None
        try:
            done = self._do_item(stage, item)
            return done
        finally:
            with self._lock:
                self.in_flight -= item.estimate_credits
                self.used += done.credits if done is not None else 0

    def _do_item(self, stage: int, item: AutomationRunItem) -> stages.Done | None:
        """Do one item and record it; None when the claim was lost (nothing recorded)."""
        took = time.monotonic()
        plan = stages.Planned(item.object_type, item.object_id, item.sector_id, item.label, dict(item.payload or {}))
        lost = False

        def record(session: Session, done: stages.Done) -> None:
            nonlocal lost
            lost = not self._record(session, item, done, int((time.monotonic() - took) * 1000))
            if lost:
                raise claim.LeaseLost(AutomationRun, self.run_id, self.owner)

        try:
            if stage == 1 and stages.function_of(1, self.settings) is None:
                return stages.cluster_offline(self.ctx, plan, record)
            if stage == 8:
                return stages.schedule(self.ctx, plan, record)
            if stage in (3, 7):
                with self.uow() as session:
                    done = (stages.queue_idea if stage == 3 else stages.approve)(session, self.ctx, plan)
                    record(session, done)
                return done
            done = stages.run_ai(self.ctx, stage, plan, item.attempt)
        except claim.LeaseLost:
            return None
        except InsufficientCredits as exc:
            done = stages.Done("failed", 0, str(exc))
        except DomainError as exc:
            done = stages.Done("failed", 0, str(exc))
        except DBAPIError:
            raise
        except Exception as exc:  # a fault in one item must not lose the run: recorded with its message
            log.exception("run %s: item %s of stage %s failed", self.run_key, item.object_id, stage)
            done = stages.Done("failed", 0, f"Unexpected error: {exc}")
        with self.uow() as session:
            if not self._record(session, item, done, int((time.monotonic() - took) * 1000)):
                return None
        return done

    def _record(self, session: Session, item: AutomationRunItem, done: stages.Done, duration_ms: int) -> bool:
        """The fenced record of one item and the run's counters (in SQL); False when the claim was lost."""
        now = datetime.now(UTC)
        ours = session.execute(update(AutomationRun).where(AutomationRun.id == self.run_id,
                                                           AutomationRun.claimed_by == self.owner)
                               .values(items_processed=AutomationRun.items_processed + 1,
                                       total_credits_used=AutomationRun.total_credits_used + done.credits,
                                       heartbeat_at=now)).rowcount
        if ours != 1:
            return False
        session.execute(update(AutomationRunItem).where(AutomationRunItem.id == item.id,
                                                        AutomationRunItem.status == "pending")
                        .values(status=done.status, credits=done.credits, message=done.message[:4000],
                                duration_ms=duration_ms, finished_at=now))
        return True

    # --- the end ----------------------------------------------------------------------------------------------------

    def _finish(self, status: RunStatus, reason: str, message: str) -> str:
        now = datetime.now(UTC)
        with self.uow() as session:
            run = session.scalar(select(AutomationRun).where(AutomationRun.id == self.run_id).with_for_update()
                                 .execution_options(populate_existing=True))
            if run is None or run.claimed_by != self.owner:
                return "lost"
            if run.status == RunStatus.cancelled:
                status, reason, message = RunStatus.cancelled, "cancelled", run.error_message or "Cancelled."
            failed = session.scalar(select(func.count()).where(AutomationRunItem.run_id == run.id,
                                                               AutomationRunItem.status == "failed")) or 0
            if status == RunStatus.completed and not reason and failed:
                message = f"Finished with {failed} failed item(s); retry them from the run's page."
            run.status, run.stop_reason, run.error_message = status, reason, message
            run.completed_at = now
            run.claimed_by, run.lease_until = None, None
            runs.release_credits(session, run)
            session.execute(update(AutomationConfig).where(AutomationConfig.site_id == run.site_id)
                            .values(last_run_at=now))
        log.info("run %s %s%s", self.run_key, status.value, f" ({reason})" if reason else "")
        return status.value


def _choices(session: Session, site_id: int, settings: dict) -> tuple[bool, bool]:
    """Whether the run approves its drafts and schedules approved articles: its own choice, or the site's."""
    row = session.scalar(select(PublishingSettings).where(PublishingSettings.site_id == site_id))
    site_approve = review.auto_approval(session, site_id=site_id)
    site_publish = bool(row.auto_publish_enabled) if row is not None else False

    def pick(value: object, site: bool) -> bool:
        return site if value in (None, "site") else value == "on"

    return pick(settings.get("auto_approve"), site_approve), pick(settings.get("auto_publish"), site_publish)


def _concurrency(session: Session) -> int:
    try:
        return bulk.concurrency(session)
    except DomainError:
        return 1
