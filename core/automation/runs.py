"""Automation runs (`AutomationRun`): the forecast, starting (manual or scheduled) with a credit reservation,
pause / resume / cancel / retry, and what the runs screens and the CLI show.

A run holds its credits while it runs: starting reserves the forecast (at most the run's budget), so other work
cannot spend them and the run's own charges are paid from them; finishing or cancelling releases the rest. One run
per site is active (pending, running or paused) at a time.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.automation import config, stages
from core.billing import credits
from core.errors import Conflict, DomainError, InsufficientCredits, NotFound, ValidationFailed
from core.tenancy import Actor
from db.enums import RunStatus, RunTrigger
from db.models import AutomationConfig, AutomationRun, AutomationRunItem, CreditReservation, Site

ACTIVE = (RunStatus.pending, RunStatus.running, RunStatus.paused)
FINISHED = (RunStatus.completed, RunStatus.failed, RunStatus.cancelled)
REASONS = {"budget": "stopped on its credit budget", "nothing_to_do": "found nothing to do",
           "max_time": "stopped at its maximum run time", "error": "stopped on an error",
           "cancelled": "cancelled", "credits": "could not start: not enough credits"}


@dataclass(frozen=True)
class StageForecast:
    stage: int
    name: str
    items: int
    credits: int


@dataclass(frozen=True)
class Forecast:
    """What a run would do and cost with the current data and settings."""

    site_id: int
    stages: list[StageForecast]
    budget: int
    available: int
    article: int = 0  # the estimate of one article (0 when the run writes none)

    @property
    def credits(self) -> int:
        return sum(s.credits for s in self.stages)

    @property
    def items(self) -> int:
        return sum(s.items for s in self.stages)

    @property
    def reserve(self) -> int:
        """What a start holds: the forecast, at most the budget."""
        return min(self.credits, self.budget)

    @property
    def nothing_to_do(self) -> bool:
        return self.items == 0

    def as_dict(self) -> dict:
        return {"credits": self.credits, "items": self.items, "budget": self.budget, "available": self.available,
                "stages": [{"stage": s.stage, "name": s.name, "items": s.items, "credits": s.credits}
                           for s in self.stages]}


def _count(session: Session, stmt) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def forecast(session: Session, actor: Actor, *, site_id: int, settings: config.Settings | None = None) -> Forecast:
    """Each stage's items (at most its batch size, counting what earlier stages will make) and their credits:
    the engine's estimate of each existing item, and of a typical item for those that earlier stages make."""
    tenancy.require_write(actor)
    site = tenancy.get(session, actor, Site, site_id)
    s = settings or config.settings_of(session, site_id=site.id)
    opts = s.as_dict()
    sampled: dict[int, int] | None = None

    def typical(stage: int) -> int:
        # the sample rows cost tens of ms: made only when some stage prices an item that does not exist yet
        nonlocal sampled
        if sampled is None:
            sampled = stages.typical(session, actor, site.id, opts)
        return sampled.get(stage, 0)

    out: list[StageForecast] = []

    def add(stage: int, existing: list[stages.Planned], made: int) -> int:
        items = min(s.batch(stage), len(existing) + made)
        real = [stages.estimate(session, actor, stage, p, opts) for p in existing[:items]]
        guessed = (items - len(real)) * typical(stage) if stages.function_of(stage, opts) and items > len(real) \
            else 0
        out.append(StageForecast(stage, config.STAGES[stage], items, sum(real) + guessed))
        return items

    kw = stages.plan_keywords(session, actor, site.id, s.batch(1))
    keywords = sum(len(p.payload["keyword_ids"]) for p in kw)
    out.append(StageForecast(1, config.STAGES[1], keywords, sum(stages.estimate(session, actor, 1, p, opts)
                                                                 for p in kw)))
    new_clusters = -(-keywords // 5)  # about five keywords a cluster
    clusters = add(2, stages.plan_clusters(session, actor, site.id, s.batch(2)), new_clusters)
    ideas = add(3, stages.plan_ideas(session, actor, site.id, s.batch(3)), clusters * s.ideas_per_cluster)
    articles = add(4, stages.plan_tasks(session, actor, site.id, s.batch(4)), ideas)
    prompts = add(5, stages.plan_prompts(session, actor, site.id, s.batch(5)), articles)
    add(6, stages.plan_images(session, actor, site.id, s.batch(6)), prompts)
    out.append(StageForecast(7, config.STAGES[7], min(s.batch(7), articles), 0))
    waiting = len(stages.plan_publishing(session, actor, site.id, s.batch(8)))
    out.append(StageForecast(8, config.STAGES[8], min(s.batch(8), waiting + articles), 0))
    article = out[3].credits // out[3].items if out[3].items else 0
    return Forecast(site.id, out, s.credit_budget, credits.available(session, actor), article)


def _active(session: Session, site_id: int) -> AutomationRun | None:
    return session.scalar(select(AutomationRun).where(AutomationRun.site_id == site_id,
                                                      AutomationRun.status.in_(ACTIVE)).limit(1))


def _lock_config(session: Session, site: Site) -> AutomationConfig:
    # One start at a time per site: the config row (made when missing) is the site's lock.
    row = session.scalar(select(AutomationConfig).where(AutomationConfig.site_id == site.id).with_for_update()
                         .execution_options(populate_existing=True))
    if row is None:  # a row this transaction inserts is locked by it until the commit
        row = AutomationConfig(account_id=site.account_id, site_id=site.id)
        session.add(row)
        session.flush()
    return row


def start(session: Session, actor: Actor, *, site_id: int, trigger: str = "manual",
          now: datetime | None = None) -> AutomationRun:
    """Start a run of the site's automation: forecast, refuse what cannot be paid, reserve the credits, and
    leave a pending run for the scheduler. A run with nothing to do is recorded as such (the overview shows it)."""
    tenancy.require_write(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    now = now or datetime.now(UTC)
    _lock_config(session, site)
    busy = _active(session, site.id)
    if busy is not None:
        raise Conflict(f"Site “{site.name}” has a run {busy.status.value} already ({busy.run_id}); pause, resume "
                       "or cancel it first.")
    s = config.settings_of(session, site_id=site.id)
    fc = forecast(session, actor, site_id=site.id, settings=s)
    run = AutomationRun(account_id=site.account_id, site_id=site.id, run_id=f"run-{uuid.uuid4().hex[:12]}",
                        trigger_type=RunTrigger(trigger), status=RunStatus.pending, started_by_id=actor.user_id,
                        forecast_credits=fc.credits, budget_credits=s.credit_budget, settings_json=s.as_dict(),
                        forecast_json=fc.as_dict(), items_total=fc.items, stage_results={}, current_stage=1)
    if fc.nothing_to_do:
        run.status, run.stop_reason, run.completed_at = RunStatus.completed, "nothing_to_do", now
        run.error_message = "Nothing to do: no new keywords, clusters, ideas, tasks or approved articles."
    else:
        if fc.stages[3].items and s.credit_budget < fc.article:
            raise ValidationFailed(f"The credit budget of {s.credit_budget:,} credits is lower than one article "
                                   f"(about {fc.article:,} credits): raise credit_budget in the automation settings.")
        try:
            hold = credits.reserve(session, actor, amount=fc.reserve, purpose=f"automation run {run.run_id}")
        except InsufficientCredits as exc:
            raise InsufficientCredits(needed=fc.reserve, balance=exc.balance) from None
        run.reservation_id = hold.id
    session.add(run)
    session.flush()
    return run


def start_scheduled(session: Session, *, config_id: int, due: datetime, now: datetime) -> AutomationRun | None:
    """The scheduler's start of a due run: advance `next_run_at` (compare-and-set: of several schedulers one
    wins) and start; a run that cannot start is recorded as failed with the reason (the overview shows it)."""
    row = session.get(AutomationConfig, config_id)
    if row is None:
        return None
    site = session.get(Site, row.site_id)
    following = config.next_run(config.settings_of(session, site_id=row.site_id), site.timezone if site else "UTC",
                                after=max(now, due))
    won = session.execute(update(AutomationConfig).where(AutomationConfig.id == config_id,
                                                         AutomationConfig.next_run_at == due)
                          .values(next_run_at=following, last_run_at=now)
                          .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return None
    actor = tenancy.system_actor(row.account_id)
    try:
        with session.begin_nested():
            return start(session, actor, site_id=row.site_id, trigger="scheduled", now=now)
    except DomainError as exc:
        if isinstance(exc, Conflict) and _active(session, row.site_id) is not None:
            return None  # the site's previous run is still going: this slot is skipped
        run = AutomationRun(account_id=row.account_id, site_id=row.site_id, run_id=f"run-{uuid.uuid4().hex[:12]}",
                            trigger_type=RunTrigger.scheduled, status=RunStatus.failed, completed_at=now,
                            stop_reason="credits" if isinstance(exc, InsufficientCredits) else "error",
                            error_message=str(exc), settings_json={}, forecast_json={}, stage_results={})
        session.add(run)
        session.flush()
        return run


# --- control ------------------------------------------------------------------------------------------------------

def _run_for_write(session: Session, actor: Actor, run_id: int) -> AutomationRun:
    run = session.scalar(tenancy.scoped(select(AutomationRun), AutomationRun, actor).where(AutomationRun.id == run_id)
                         .with_for_update().execution_options(populate_existing=True))
    if run is None:
        raise NotFound(f"Automation run #{run_id} was not found.")
    tenancy.site_for_write(session, actor, run.site_id)
    return run


def pause(session: Session, actor: Actor, *, run_id: int, now: datetime | None = None) -> AutomationRun:
    """Pause a pending or running run: its worker stops after the item in hand; it keeps its credits."""
    run = _run_for_write(session, actor, run_id)
    if run.status not in (RunStatus.pending, RunStatus.running):
        raise Conflict(f"Run {run.run_id} is {run.status.value}: only a pending or running run can be paused.")
    run.status, run.paused_at = RunStatus.paused, now or datetime.now(UTC)
    session.flush()
    return run


def resume(session: Session, actor: Actor, *, run_id: int, now: datetime | None = None) -> AutomationRun:
    """Resume a paused run: a scheduler picks it up where it stopped."""
    run = _run_for_write(session, actor, run_id)
    if run.status != RunStatus.paused:
        raise Conflict(f"Run {run.run_id} is {run.status.value}: only a paused run can be resumed.")
    run.status, run.resumed_at = RunStatus.pending, now or datetime.now(UTC)
    session.flush()
    return run


def cancel(session: Session, actor: Actor, *, run_id: int, now: datetime | None = None) -> AutomationRun:
    """Cancel a run: nothing more is started; its credits are released now, or by its worker once the item in
    hand is recorded (so that item's charge is still paid from them)."""
    run = _run_for_write(session, actor, run_id)
    if run.status in FINISHED:
        raise Conflict(f"Run {run.run_id} is {run.status.value} already.")
    now = now or datetime.now(UTC)
    worked = run.claimed_by is not None and run.lease_until is not None and run.lease_until > now
    run.status, run.cancelled_at, run.stop_reason = RunStatus.cancelled, now, "cancelled"
    run.completed_at = run.completed_at or now
    if not worked:
        release_credits(session, run)
    session.flush()
    return run


def release_abandoned(session: Session, *, now: datetime | None = None) -> int:
    """Release the credits of finished runs whose worker never did (it died after a cancel); how many runs."""
    now = now or datetime.now(UTC)
    stale = session.scalars(select(AutomationRun).join(
        CreditReservation, CreditReservation.id == AutomationRun.reservation_id).where(
        AutomationRun.status.in_(FINISHED), CreditReservation.released_at.is_(None),
        (AutomationRun.claimed_by.is_(None)) | (AutomationRun.lease_until < now))
        .with_for_update(skip_locked=True, of=AutomationRun).limit(100))
    count = 0
    for run in stale:
        release_credits(session, run)
        run.claimed_by, run.lease_until = None, None
        count += 1
    return count


def release_credits(session: Session, run: AutomationRun) -> int:
    """Give back what the run still holds (once)."""
    if run.reservation_id is None:
        return 0
    return credits.release(session, tenancy.system_actor(run.account_id), reservation_id=run.reservation_id)


def retry_failed(session: Session, actor: Actor, *, run_id: int) -> int:
    """Do the failed items of a finished run again (a new attempt: a new job key); how many. The run becomes
    pending with a new reservation for them."""
    run = _run_for_write(session, actor, run_id)
    if run.status not in FINISHED:
        raise Conflict(f"Run {run.run_id} is {run.status.value}: wait for it to finish, or cancel it.")
    if _active(session, run.site_id) is not None:
        raise Conflict("Another run of this site is active; retry when it has finished.")
    failed = list(session.scalars(select(AutomationRunItem).where(AutomationRunItem.run_id == run.id,
                                                                  AutomationRunItem.status == "failed")))
    if not failed:
        raise ValidationFailed(f"Run {run.run_id} has no failed items to retry.")
    need = sum(i.estimate_credits for i in failed)
    release_credits(session, run)
    hold = credits.reserve(session, actor, amount=need, purpose=f"retry of automation run {run.run_id}")
    run.budget_credits = max(run.budget_credits, run.total_credits_used + need)  # the retry may spend what it holds
    for item in failed:
        item.status, item.attempt, item.message = "pending", item.attempt + 1, ""
    first = min(i.stage for i in failed)
    run.status, run.stop_reason, run.error_message, run.completed_at = RunStatus.pending, "", "", None
    run.current_stage, run.reservation_id = first, hold.id
    run.settings_json = {**run.settings_json, "retry_only": True}
    run.deadline_at = None
    session.flush()
    return len(failed)


# --- views --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunView:
    id: int
    run_id: str
    site_id: int
    site_name: str
    status: str
    trigger: str
    current_stage: int
    items_processed: int
    items_total: int
    forecast_credits: int
    credits_used: int
    budget: int
    stop_reason: str
    message: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    worker: str | None
    stage_results: dict = field(default_factory=dict)
    forecast: dict = field(default_factory=dict)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.completed_at or datetime.now(UTC)) - self.started_at

    @property
    def progress(self) -> float:
        return min(self.items_processed / self.items_total, 1.0) if self.items_total else 0.0

    @property
    def reason(self) -> str:
        return REASONS.get(self.stop_reason, "")

    def as_dict(self) -> dict:
        return {"id": self.id, "run_id": self.run_id, "site_id": self.site_id, "site": self.site_name,
                "status": self.status, "trigger": self.trigger, "stage": self.current_stage,
                "items_processed": self.items_processed, "items_total": self.items_total,
                "forecast_credits": self.forecast_credits, "credits_used": self.credits_used, "budget": self.budget,
                "stop_reason": self.stop_reason, "message": self.message,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "completed_at": self.completed_at.isoformat() if self.completed_at else None,
                "stage_results": self.stage_results}


def _view(run: AutomationRun, site_name: str) -> RunView:
    return RunView(run.id, run.run_id, run.site_id, site_name, run.status.value, run.trigger_type.value,
                   run.current_stage, run.items_processed, run.items_total, run.forecast_credits,
                   run.total_credits_used, run.budget_credits, run.stop_reason, run.error_message, run.created_at,
                   run.started_at, run.completed_at, run.claimed_by, dict(run.stage_results or {}),
                   dict(run.forecast_json or {}))


def list_runs(session: Session, actor: Actor, *, site_id: int | None = None, limit: int = 50) -> list[RunView]:
    """The newest runs of the account (or of one site) first."""
    stmt = tenancy.scoped(select(AutomationRun, Site.name), AutomationRun, actor).join(
        Site, Site.id == AutomationRun.site_id)
    if site_id is not None:
        stmt = stmt.where(AutomationRun.site_id == site_id)
    rows = session.execute(stmt.order_by(AutomationRun.created_at.desc(), AutomationRun.id.desc())
                           .limit(max(1, min(limit, 500))))
    return [_view(run, name) for run, name in rows]


def get(session: Session, actor: Actor, *, run_id: int) -> RunView:
    """One run of the account."""
    run = tenancy.get(session, actor, AutomationRun, run_id)
    site = session.get(Site, run.site_id)
    return _view(run, site.name if site else "")


@dataclass(frozen=True)
class ItemView:
    stage: int
    label: str
    status: str
    attempt: int
    credits: int
    estimate: int
    message: str
    duration_ms: int


def items(session: Session, actor: Actor, *, run_id: int, status: str | None = None,
          limit: int = 500) -> list[ItemView]:
    """A run's items by stage (only those of `status` when given)."""
    run = tenancy.get(session, actor, AutomationRun, run_id)
    stmt = select(AutomationRunItem).where(AutomationRunItem.run_id == run.id)
    if status:
        stmt = stmt.where(AutomationRunItem.status == status)
    rows = session.scalars(stmt.order_by(AutomationRunItem.stage, AutomationRunItem.id).limit(limit))
    return [ItemView(i.stage, i.label, i.status, i.attempt, i.credits, i.estimate_credits, i.message, i.duration_ms)
            for i in rows]


def notifications(session: Session, actor: Actor, *, days: int = 7, limit: int = 20) -> list[RunView]:
    """Runs a manager should know about: failed, stopped on budget or time, or found nothing to do (newest first)."""
    since = datetime.now(UTC) - timedelta(days=days)
    stmt = tenancy.scoped(select(AutomationRun, Site.name), AutomationRun, actor).join(
        Site, Site.id == AutomationRun.site_id).where(
        AutomationRun.created_at >= since,
        (AutomationRun.status == RunStatus.failed) | AutomationRun.stop_reason.in_(
            ["budget", "nothing_to_do", "max_time", "error", "credits"]))
    rows = session.execute(stmt.order_by(AutomationRun.created_at.desc()).limit(limit))
    return [_view(run, name) for run, name in rows]
