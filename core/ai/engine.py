"""How pages, the CLI and the scheduler run an AI function: claim → commit → work → record (house rule 9).

Phase 1 (a transaction): load the inputs through tenancy, estimate the credits, refuse when the balance is short;
commit. Phase 2 (no transaction): call the provider. Phase 3 (a new transaction): write the results and the charge
together, under an idempotency key derived from the job, so a retried job neither pays nor writes twice.

The estimate is a promise. Screens say “Estimated cost: up to N credits” and phase 1 checks the balance against
that N, so the charge, priced on the actual usage, is capped at the N this run checked: charge = min(actual,
estimate); the usage row's metadata keeps the uncapped price (`uncapped_credits`) and the estimate. We cap rather
than inflate the estimate into a true upper bound because only its token part has an honest bound (max_tokens per
call): the floors count the words the AI writes (per_100_words) and the clusters it makes (per_item), and bounding
those (max_tokens worth of words per article, a cluster per keyword) would quote several times the usual price and
refuse runs the account can afford. The cap also holds when prices change between the phases. What phase 1 cannot
promise is a balance spent meanwhile by another run: then the charge is refused and the results are thrown away.

A run that charges nothing after reaching the provider, because its call failed (malformed answers, a provider
error after some answers) or its results were thrown away (a replay, a conflict, a refused charge), still records
what the provider billed for it: a 0-credit usage row (credits.record_unbilled) in its own short transaction, so the
USD figures of the usage reports are the real spend. Answers thrown away inside a run that succeeds are counted in
its charged row instead (tokens and USD; credits are priced on the accepted answers only).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import client, functions, providers
from core.ai.base import Job, Outcome, Progress
from core.ai.errors import AIProviderError
from core.billing import credits
from core.billing.credits import DuplicateCharge
from core.common.uow import UnitOfWork
from core.errors import Conflict
from core.tenancy import Actor
from db.models import CreditTransaction, CreditUsageLog

log = logging.getLogger("igny8.ai")


@dataclass(frozen=True)
class Estimate:
    """What a run would cost at most, shown before it starts."""

    function: str
    operation_type: str
    model: str
    credits: int
    balance: int
    calls: int

    @property
    def affordable(self) -> bool:
        return self.balance >= self.credits

    @property
    def message(self) -> str:
        """What a screen says before the run."""
        text = (f"Estimated cost: up to {self.credits:,} credits — {self.calls} AI call(s) on {self.model}. "
                f"Balance: {self.balance:,} credits.")
        return text if self.affordable else text + " Not enough credits: ask the platform team to top up the account."


@dataclass(frozen=True)
class JobResult:
    """What a run did."""

    function: str
    idempotency_key: str
    object_type: str
    object_id: int
    credits: int
    replayed: bool  # True: this key had run before; nothing was called, written or charged now
    message: str
    created: dict[str, list[int]] = field(default_factory=dict)
    usage_log_id: int | None = None
    failures: list[str] = field(default_factory=list)


class _Replayed(Exception):
    """The key was charged by another run after our phase-1 check: roll this one back."""


def idempotency_key(job: Job, job_key: str) -> str:
    """The charge key of a job: function, object and the caller's attempt key."""
    return f"{job.function}:{job.object_type}:{job.object_id}:{job_key}"[:255]


def _prior(session: Session, actor: Actor, job: Job, key: str) -> JobResult | None:
    """The result of an earlier run with this key, if it was charged."""
    tx = session.execute(tenancy.scoped(select(CreditTransaction.id, CreditTransaction.amount), CreditTransaction,
                                        actor).where(CreditTransaction.idempotency_key == key)).first()
    if tx is None:
        return None
    log = session.scalars(tenancy.scoped(select(CreditUsageLog), CreditUsageLog, actor)
                          .where(CreditUsageLog.transaction_id == tx.id)).first()
    meta = dict(log.metadata_) if log is not None else {}
    return JobResult(job.function, key, job.object_type, job.object_id, -tx.amount, True,
                     meta.get("message", "This job ran already; nothing was done again."),
                     {k: list(v) for k, v in (meta.get("result") or {}).items()}, log.id if log else None)


def estimate(session: Session, actor: Actor, *, function: str, **params: object) -> Estimate:
    """The most a run would cost (and the balance), without calling the provider."""
    tenancy.require_write(actor)
    job = functions.make(function, params)
    job.prepare(session, actor)
    return Estimate(function, job.operation, job.model_name, job.estimate_credits(session),
                    credits.balance(session, actor), job.steps)


def _silent(done: int, total: int, message: str) -> None:
    """The default progress callback."""


def run(uow: UnitOfWork, actor: Actor, *, function: str, job_key: str | None = None,
        on_progress: Progress | None = None, reservation_id: int | None = None, **params: object) -> JobResult:
    """Run an AI function end to end (see the module docstring). `job_key` makes a retry of the same job
    idempotent (the scheduler passes its run and step); without it every call is a new job. `reservation_id`:
    an automation run's credit reservation, which the balance check counts and the charge is paid from."""
    report = on_progress or _silent
    job = functions.make(function, params)
    key = idempotency_key(job, job_key or uuid.uuid4().hex)
    with uow() as session:  # phase 1: inputs, estimate, balance check; committed before any HTTP call
        tenancy.require_write(actor)
        prior = _prior(session, actor, job, key)
        if prior is not None:
            return prior
        job.prepare(session, actor)
        ceiling = job.estimate_credits(session)
        credits.ensure_balance(session, actor, needed=ceiling, reservation_id=reservation_id)
    report(0, job.steps, "Asking the AI …")
    try:
        job.call(report)  # phase 2: outside any transaction; a failure here writes only its unbilled usage
    except Exception as exc:
        _unbilled(uow, actor, job, job_key, status="failed", reason=str(exc))
        raise
    saved = _save(uow, actor, job, key, job_key, ceiling, reservation_id)
    if isinstance(saved, JobResult):
        return saved
    outcome, charge = saved
    if outcome.error:  # nothing succeeded (images): statuses are saved, nothing was charged
        raise AIProviderError(outcome.error)
    report(job.steps, job.steps, outcome.message)
    return JobResult(job.function, key, job.object_type, job.object_id, charge.credits if charge else 0, False,
                     outcome.message, outcome.created, charge.usage_log_id if charge else None, outcome.failures)


def _save(transaction: UnitOfWork, actor: Actor, job: Job, key: str, job_key: str | None,
          ceiling: int, reservation_id: int | None) -> tuple[Outcome, credits.ChargeResult | None] | JobResult:
    """Phase 3 and its failures: results thrown away leave their unbilled usage; when another run of this key
    was saved first, its result is returned."""
    try:
        return _record(transaction, actor, job, key, job_key, ceiling, reservation_id)
    except (_Replayed, DuplicateCharge):
        job.discard()
        _unbilled(transaction, actor, job, job_key, status="discarded",
                  reason="Another run of this job was saved first.")
        with transaction() as session:
            prior = _prior(session, actor, job, key)
        if prior is None:
            raise Conflict("Another run of this job was saved at the same moment; try again.") from None
        return prior
    except BaseException as exc:
        job.discard()
        if isinstance(exc, Exception):
            _unbilled(transaction, actor, job, job_key, status="discarded", reason=str(exc))
        raise


def _record(transaction: UnitOfWork, actor: Actor, job: Job, key: str, job_key: str | None,
            ceiling: int, reservation_id: int | None) -> tuple[Outcome, credits.ChargeResult | None]:
    """Phase 3: results and charge (at most the estimate `ceiling`) in one transaction."""
    with transaction() as session:
        if _prior(session, actor, job, key) is not None:
            raise _Replayed(key)
        outcome = job.record(session, actor)
        if not outcome.chargeable:
            return outcome, None
        meta = {**outcome.usage.metadata, "function": job.function, "job_key": job_key or "",
                "message": outcome.message, "result": outcome.created, "uncapped_credits": outcome.credits,
                "estimated_credits": ceiling}
        charge = credits.charge(session, actor, credits=min(outcome.credits, ceiling), idempotency_key=key,
                                description=outcome.message, usage=replace(outcome.usage, metadata=meta),
                                reservation_id=reservation_id)
        if charge.replayed:
            raise _Replayed(key)
        return outcome, charge


def _unbilled(transaction: UnitOfWork, actor: Actor, job: Job, job_key: str | None, *, status: str,
              reason: str) -> None:
    """What the provider billed for a run that charges nothing, as a 0-credit usage row in its own transaction.
    A failure to write it is logged and never hides the run's own error."""
    try:
        with transaction() as session:
            usage = job.spent(session)
            if usage is None:
                return
            meta = {**usage.metadata, "function": job.function, "job_key": job_key or "", "status": status,
                    "reason": reason[:500]}
            credits.record_unbilled(session, actor, usage=replace(usage, metadata=meta))
    except Exception:
        log.exception("Could not record the unbilled usage of a %s run (%s).", job.function, status)


def check_provider(uow: UnitOfWork, actor: Actor, *, provider_id: str, model: str | None = None
                  ) -> client.ConnectionCheck:
    """Check a provider's endpoint and key (platform admins: it spends the shared key); the HTTP call happens
    outside the transaction."""
    tenancy.require_platform_admin(actor)
    with uow() as session:
        conn = providers.connection(session, provider_id=provider_id)
    return client.test_connection(conn, model=model)


# --- typed entry points (what screens, CLI and scheduler call) ----------------------------------------------------

def auto_cluster(uow: UnitOfWork, actor: Actor, *, sector_id: int, keyword_ids: list[int],
                 batch_size: int = 60, job_key: str | None = None, on_progress: Progress | None = None,
                 reservation_id: int | None = None) -> JobResult:
    """Group a sector's keywords into named clusters (new ones created, existing names extended)."""
    return run(uow, actor, function="auto_cluster", job_key=job_key, on_progress=on_progress,
               reservation_id=reservation_id, sector_id=sector_id, keyword_ids=keyword_ids, batch_size=batch_size)


def generate_ideas(uow: UnitOfWork, actor: Actor, *, cluster_id: int, count: int = 5,
                   strategy_id: int | None = None, job_key: str | None = None,
                   on_progress: Progress | None = None, reservation_id: int | None = None) -> JobResult:
    """Content ideas (status new) for a cluster, shaped by a content strategy when one is given."""
    return run(uow, actor, function="generate_ideas", job_key=job_key, on_progress=on_progress,
               reservation_id=reservation_id, cluster_id=cluster_id, count=count, strategy_id=strategy_id)


def generate_content(uow: UnitOfWork, actor: Actor, *, task_id: int, author_profile_id: int | None = None,
                     strategy_id: int | None = None, job_key: str | None = None,
                     on_progress: Progress | None = None, reservation_id: int | None = None) -> JobResult:
    """A draft article for a task (the task is completed), in an author's voice and a strategy when given."""
    return run(uow, actor, function="generate_content", job_key=job_key, on_progress=on_progress,
               reservation_id=reservation_id, task_id=task_id, author_profile_id=author_profile_id,
               strategy_id=strategy_id)


def generate_image_prompts(uow: UnitOfWork, actor: Actor, *, content_id: int, job_key: str | None = None,
                           on_progress: Progress | None = None, reservation_id: int | None = None) -> JobResult:
    """A featured and N in-article image prompts for an article (pending Images rows)."""
    return run(uow, actor, function="generate_image_prompts", job_key=job_key, on_progress=on_progress,
               reservation_id=reservation_id, content_id=content_id)


def generate_images(uow: UnitOfWork, actor: Actor, *, content_id: int, image_ids: list[int] | None = None,
                    job_key: str | None = None, on_progress: Progress | None = None,
                    reservation_id: int | None = None) -> JobResult:
    """The article's pending (or failed) images, or only `image_ids` (made again if generated), on the account's
    quality tier."""
    return run(uow, actor, function="generate_images", job_key=job_key, on_progress=on_progress,
               reservation_id=reservation_id, content_id=content_id, image_ids=image_ids)
