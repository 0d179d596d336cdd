"""The credit ledger: lock the account, check, append with balance_after; idempotent; never negative."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import tenancy
from core.billing import usage_rollup
from core.errors import AccessDenied, Conflict, InsufficientCredits, NotFound, ValidationFailed
from core.tenancy import Actor
from db.base import utcnow
from db.enums import Role, TransactionType
from db.models import Account, CreditReservation, CreditTransaction, CreditUsageLog, Plan, Site

GRANT_TYPES = frozenset({TransactionType.purchase, TransactionType.subscription, TransactionType.refund,
                         TransactionType.adjustment})
MAX_AMOUNT = 100_000_000
GRANT_REFUSED = ("Credits are added by the platform team (developers and the system account's owners and admins); "
                 "ask them to top up this account.")
PLAN_GRANT_REFUSED = ("A plan's monthly credits are added by the scheduler (or the platform team), once a month; "
                      "nothing was added. Ask the platform team if this month's credits are missing.")


@dataclass(frozen=True)
class Usage:
    """What an AI call used, for its CreditUsageLog row."""

    operation_type: str
    model_used: str = ""
    tokens_input: int = 0
    tokens_output: int = 0
    cost_usd: Decimal = Decimal("0")
    site_id: int | None = None
    related_object_type: str = ""
    related_object_id: int | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    transaction_id: int
    credits: int
    balance_after: int
    usage_log_id: int | None
    replayed: bool  # True when the idempotency key had been charged before: nothing new was written


_acct, _tx, _log = Account.__table__, CreditTransaction.__table__, CreditUsageLog.__table__
_res = CreditReservation.__table__
_FIND_KEY = select(_tx.c.id, _tx.c.amount, _tx.c.balance_after).where(
    _tx.c.account_id == bindparam("aid"), _tx.c.idempotency_key == bindparam("key"))
# A charge spends `amt`, `use` of it from a reservation of its own (0 without one): what the account's other
# reservations hold is not spendable, so the check is credits - (credits_reserved - use) >= amt.
_DEDUCT = (update(_acct).where(_acct.c.id == bindparam("aid"),
                               _acct.c.credits - (_acct.c.credits_reserved - bindparam("use")) >= bindparam("amt"))
           .values(credits=_acct.c.credits - bindparam("amt"),
                   credits_reserved=_acct.c.credits_reserved - bindparam("use")).returning(_acct.c.credits))
_HOLD = (update(_acct).where(_acct.c.id == bindparam("aid"),
                             _acct.c.credits - _acct.c.credits_reserved >= bindparam("amt"))
         .values(credits_reserved=_acct.c.credits_reserved + bindparam("amt")).returning(_acct.c.credits_reserved))
_UNHOLD = (update(_acct).where(_acct.c.id == bindparam("aid"))
           .values(credits_reserved=_acct.c.credits_reserved - bindparam("amt")))
_HELD = select(_res.c.held).where(_res.c.id == bindparam("rid"), _res.c.account_id == bindparam("aid"),
                                  _res.c.released_at.is_(None)).with_for_update()
_SPEND_HELD = update(_res).where(_res.c.id == bindparam("rid")).values(held=_res.c.held - bindparam("use"))
_ADD = (update(_acct).where(_acct.c.id == bindparam("aid"), _acct.c.credits + bindparam("amt") >= 0)
        .values(credits=_acct.c.credits + bindparam("amt")).returning(_acct.c.credits))
_BALANCE = select(_acct.c.credits).where(_acct.c.id == bindparam("aid"))
_TX_INSERT = insert(_tx).returning(_tx.c.id)
_LOG_INSERT = insert(_log).returning(_log.c.id)


class DuplicateCharge(Conflict):
    """Another transaction charged the same idempotency key at the same moment; this one must not."""

    def __init__(self, key: str):
        super().__init__(f"This work was charged already (key “{key}”); nothing was charged twice.")


def _lock_account(session: Session, account_id: int) -> Account:
    # populate_existing: an Account this session loaded before the lock (the CLI looks it up first) is refreshed
    # from the locked row; the ORM would otherwise hand back its stale copy, balance included.
    account = session.scalars(select(Account).where(Account.id == account_id).with_for_update()
                              .execution_options(populate_existing=True)).one_or_none()
    if account is None:
        raise NotFound(f"Account #{account_id} was not found.")
    return account


def _existing(session: Session, account_id: int, key: str | None) -> CreditTransaction | None:
    if not key:
        return None
    return session.scalars(select(CreditTransaction).where(
        CreditTransaction.account_id == account_id, CreditTransaction.idempotency_key == key)).one_or_none()


def _amount(value: object) -> int:
    try:
        amount = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"The amount must be a whole number of credits, not “{value}”.") from exc
    if amount != value and not isinstance(value, str):
        raise ValidationFailed("The amount must be a whole number of credits.")
    if abs(amount) > MAX_AMOUNT:
        raise ValidationFailed(f"The amount must be at most {MAX_AMOUNT:,} credits.")
    return amount


def _append(session: Session, account: Account, *, amount: int, kind: TransactionType, description: str,
            key: str | None, created_by: int | None, metadata: dict | None = None,
            now: datetime | None = None) -> CreditTransaction:
    # The balance changes in SQL (never read-modify-write in Python), refusing to go below zero.
    after = session.connection().execute(_ADD, {"aid": account.id, "amt": amount}).scalar()
    if after is None:
        raise InsufficientCredits(needed=-amount, balance=account.credits)
    _refresh_loaded_account(session, account.id, after)
    tx = CreditTransaction(account_id=account.id, transaction_type=kind, amount=amount, balance_after=after,
                           description=description, idempotency_key=key, created_by_id=created_by,
                           metadata_=metadata or {}, created_at=now or utcnow())
    session.add(tx)
    session.flush()
    return tx


def grant(session: Session, actor: Actor, *, amount: int, kind: str, reason: str, account_id: int | None = None,
          idempotency_key: str | None = None) -> CreditTransaction:
    """Add (or, for an adjustment, remove) credits with a reason: platform admins only, to the account they name
    (`account_id`) or else the one in their scope. Customers pay for credits, so their owners and admins may not."""
    account_id = tenancy.platform_target(actor, account_id, refused=GRANT_REFUSED)
    try:
        kind_ = TransactionType(kind)
    except ValueError as exc:
        raise ValidationFailed(f"Kind must be one of {', '.join(sorted(t.value for t in GRANT_TYPES))}.") from exc
    if kind_ not in GRANT_TYPES:
        raise ValidationFailed("Deductions are made by charges, not grants.")
    amount_ = _amount(amount)
    if amount_ == 0 or (amount_ < 0 and kind_ != TransactionType.adjustment):
        raise ValidationFailed("Grant a positive number of credits (only an adjustment may be negative).")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("Say why the credits are added (the reason goes into the ledger).")
    account = _lock_account(session, account_id)
    previous = _existing(session, account_id, idempotency_key)
    if previous is not None:
        return previous
    return _append(session, account, amount=amount_, kind=kind_, description=reason[:1000], key=idempotency_key,
                   created_by=actor.user_id)


def grant_targets(session: Session, actor: Actor) -> dict[int, str]:
    """Every account a platform admin may add credits to, id → “name (slug)” by name (the grant form's choices)."""
    tenancy.require_platform_admin(actor, GRANT_REFUSED)
    rows = session.execute(select(Account.id, Account.name, Account.slug).order_by(Account.name, Account.id))
    return {row.id: f"{row.name} ({row.slug})" for row in rows}


def charge(session: Session, actor: Actor, *, credits: int, idempotency_key: str, description: str,
           usage: Usage | None = None, now: datetime | None = None,
           reservation_id: int | None = None) -> ChargeResult:
    """Deduct credits for work done in this same transaction; a repeated key charges nothing. With a
    `reservation_id` (an automation run's), the charge is paid from what it holds first."""
    account_id = tenancy.require_account(actor)
    tenancy.require_write(actor)
    amount = _amount(credits)
    if amount < 0:
        raise ValidationFailed("A charge cannot be negative.")
    if not idempotency_key:
        raise ValidationFailed("Every charge needs an idempotency key.")
    _check_site(session, actor, usage)
    # The hot path of every AI call: statements built once, run on the session's connection without the ORM
    # layer, and the account row locked for as short a time as possible. A replay is recognised before the
    # lock; a concurrent replay is stopped by the unique key.
    conn = session.connection()
    previous = conn.execute(_FIND_KEY, {"aid": account_id, "key": idempotency_key}).first()
    if previous is not None:
        return ChargeResult(previous.id, -previous.amount, previous.balance_after, None, replayed=True)
    use = 0
    if reservation_id is not None:  # lock order: the reservation, then the account (as release does)
        held = conn.execute(_HELD, {"rid": reservation_id, "aid": account_id}).scalar()
        use = min(held or 0, amount)
    # UPDATE … WHERE <available> >= amount takes the row lock and checks the balance in one round trip.
    after = conn.execute(_DEDUCT, {"aid": account_id, "amt": amount, "use": use}).scalar()
    if after is None:
        bal = conn.execute(_BALANCE, {"aid": account_id}).scalar()
        if bal is None:
            raise NotFound(f"Account #{account_id} was not found.")
        raise InsufficientCredits(needed=amount, balance=available(session, actor) + use)
    if use:
        conn.execute(_SPEND_HELD, {"rid": reservation_id, "use": use})
    _refresh_loaded_account(session, account_id, after)
    now = now or utcnow()
    tx_id = _insert_deduction(conn, actor, account_id=account_id, amount=amount, after=after,
                              description=description, key=idempotency_key, now=now)
    log_id = None
    if usage is not None:
        log_id = _log_usage(conn, account_id, actor, usage, credits=amount, transaction_id=tx_id, now=now)
    return ChargeResult(tx_id, amount, after, log_id, replayed=False)


def _insert_deduction(conn: Connection, actor: Actor, *, account_id: int, amount: int, after: int,
                      description: str, key: str, now: datetime) -> int:
    try:
        return conn.execute(_TX_INSERT, {
            "account_id": account_id, "transaction_type": TransactionType.deduction, "amount": -amount,
            "balance_after": after, "description": description[:1000], "reference_id": "",
            "idempotency_key": key, "created_by_id": actor.user_id, "metadata": {},
            "created_at": now, "updated_at": now}).scalar_one()
    except IntegrityError as exc:
        # Only the (account, key) unique index means "charged already": another session committed this key
        # between our look-up and our insert. Any other integrity error is a fault and is not disguised.
        if "idempotency_key" not in str(exc.orig):
            raise
        raise DuplicateCharge(key) from exc


def record_unbilled(session: Session, actor: Actor, *, usage: Usage, now: datetime | None = None) -> int:
    """A 0-credit usage row, without a ledger transaction, for provider work the account does not pay for (a
    failed run, answers thrown away); counted into the hourly rollup like a charge. Returns the row's id."""
    account_id = tenancy.require_account(actor)
    tenancy.require_write(actor)
    _check_site(session, actor, usage)
    return _log_usage(session.connection(), account_id, actor, usage, credits=0, transaction_id=None,
                      now=now or utcnow())


def _check_site(session: Session, actor: Actor, usage: Usage | None) -> None:
    # A usage row's site must be one the actor may see: another account's (or an ungranted one) is not found, the
    # same answer a read of it gets; a deleted site of ours still counts (the work was done for it).
    if usage is not None and usage.site_id is not None:
        tenancy.get(session, actor, Site, usage.site_id, include_deleted=True)


def _log_usage(conn: Connection, account_id: int, actor: Actor, usage: Usage, *, credits: int,
               transaction_id: int | None, now: datetime) -> int:
    # The log row and its rollup rows in one place, so the rollup always equals the log.
    log_id = conn.execute(_LOG_INSERT, {
        "account_id": account_id, "site_id": usage.site_id, "user_id": actor.user_id,
        "operation_type": usage.operation_type, "credits_used": credits, "cost_usd": usage.cost_usd,
        "model_used": usage.model_used, "tokens_input": usage.tokens_input, "tokens_output": usage.tokens_output,
        "related_object_type": usage.related_object_type, "related_object_id": usage.related_object_id,
        "transaction_id": transaction_id, "metadata": usage.metadata, "created_at": now, "updated_at": now}
    ).scalar_one()
    usage_rollup.add(conn, account_id=account_id, at=now, site_id=usage.site_id, user_id=actor.user_id,
                     operation=usage.operation_type, model=usage.model_used, credits=credits,
                     cost_usd=usage.cost_usd, tokens_input=usage.tokens_input, tokens_output=usage.tokens_output)
    return log_id


def _refresh_loaded_account(session: Session, account_id: int, credits: int) -> None:
    # An Account already loaded in this session must not keep (and later flush) a stale balance.
    loaded = session.identity_map.get(session.identity_key(Account, account_id))  # type: ignore[arg-type]
    if loaded is not None:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(loaded, "credits", credits)


def ensure_balance(session: Session, actor: Actor, *, needed: int, reservation_id: int | None = None) -> int:
    """Refuse up front when the spendable credits (the balance less what running automation holds, plus what
    `reservation_id` holds for this work) are below an estimate; returns them (no lock: a pre-check)."""
    spendable = available(session, actor)
    if reservation_id is not None:
        spendable += held(session, actor, reservation_id=reservation_id)
    if spendable < needed:
        raise InsufficientCredits(needed=needed, balance=spendable)
    return spendable


def available(session: Session, actor: Actor) -> int:
    """Credits the account in scope may spend now: its balance less what running automation runs hold."""
    account_id = tenancy.require_account(actor)
    row = session.execute(select(Account.credits, Account.credits_reserved).where(Account.id == account_id)).first()
    return (row.credits - row.credits_reserved) if row is not None else 0


def held(session: Session, actor: Actor, *, reservation_id: int) -> int:
    """What a reservation of the account in scope still holds (0 once released)."""
    account_id = tenancy.require_account(actor)
    return session.scalar(select(CreditReservation.held).where(
        CreditReservation.id == reservation_id, CreditReservation.account_id == account_id,
        CreditReservation.released_at.is_(None))) or 0


def reserve(session: Session, actor: Actor, *, amount: int, purpose: str) -> CreditReservation:
    """Hold `amount` credits for one piece of work (an automation run) so that no other work can spend them;
    refused when the spendable credits are short."""
    account_id = tenancy.require_account(actor)
    tenancy.require_write(actor)
    amount_ = _amount(amount)
    if amount_ < 0:
        raise ValidationFailed("A reservation cannot be negative.")
    if session.connection().execute(_HOLD, {"aid": account_id, "amt": amount_}).scalar() is None:
        raise InsufficientCredits(needed=amount_, balance=available(session, actor))
    row = CreditReservation(account_id=account_id, purpose=purpose[:255], amount=amount_, held=amount_)
    session.add(row)
    session.flush()
    return row


def extend(session: Session, actor: Actor, *, reservation_id: int, amount: int) -> int:
    """Hold `amount` more credits on a reservation (a run whose items cost more than forecast); returns what it
    holds now. Refused when the spendable credits are short."""
    account_id = tenancy.require_account(actor)
    tenancy.require_write(actor)
    amount_ = _amount(amount)
    conn = session.connection()
    current = conn.execute(_HELD, {"rid": reservation_id, "aid": account_id}).scalar()
    if current is None:
        raise NotFound(f"Credit reservation #{reservation_id} was not found or is released.")
    if amount_ <= 0:
        return current
    if conn.execute(_HOLD, {"aid": account_id, "amt": amount_}).scalar() is None:
        raise InsufficientCredits(needed=amount_, balance=available(session, actor))
    conn.execute(update(_res).where(_res.c.id == reservation_id).values(
        held=_res.c.held + amount_, amount=_res.c.amount + amount_))
    return current + amount_


def release(session: Session, actor: Actor, *, reservation_id: int) -> int:
    """Give back what a reservation still holds (a run finished or was cancelled); returns the credits freed.
    Releasing twice frees nothing the second time."""
    account_id = tenancy.require_account(actor)
    tenancy.require_write(actor)
    conn = session.connection()
    current = conn.execute(_HELD, {"rid": reservation_id, "aid": account_id}).scalar()
    if current is None:
        return 0
    conn.execute(_UNHOLD, {"aid": account_id, "amt": current})
    conn.execute(update(_res).where(_res.c.id == reservation_id).values(held=0, released_at=utcnow()))
    return current


def grant_plan_period(session: Session, actor: Actor, *, now: datetime | None = None) -> CreditTransaction | None:
    """The plan's monthly credits to the actor's account, once per calendar month (UTC); None when nothing is due."""
    if not _may_grant_plan_period(actor):
        raise AccessDenied(PLAN_GRANT_REFUSED)
    account_id = tenancy.require_account(actor)
    now = now or utcnow()
    account = _lock_account(session, account_id)
    plan = session.get(Plan, account.plan_id) if account.plan_id else None
    if plan is None or plan.included_credits <= 0:
        return None
    key = f"plan:{now:%Y-%m}"
    if _existing(session, account_id, key) is not None:
        return None
    period_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    account.credits_period_start = period_start
    return _append(session, account, amount=plan.included_credits, kind=TransactionType.subscription,
                   description=f"{plan.name} plan credits for {now:%B %Y}", key=key, created_by=actor.user_id,
                   now=now)


def _may_grant_plan_period(actor: Actor) -> bool:
    # The scheduler's own identity (tenancy.system_actor: no user, as no person may hold system_bot) or the
    # platform team (developers, operators at the command line, the system account's owners and admins).
    scheduler = actor.role == Role.system_bot and actor.user_id is None
    return scheduler or actor.is_platform_admin


def balance(session: Session, actor: Actor) -> int:
    """The current balance of the account in scope."""
    account_id = tenancy.require_account(actor)
    return session.scalar(select(Account.credits).where(Account.id == account_id)) or 0


def ledger_sum(session: Session, *, account_id: int) -> int:
    """Sum of every ledger amount of an account (equals its balance: a checked invariant)."""
    return session.scalar(select(func.coalesce(func.sum(CreditTransaction.amount), 0))
                          .where(CreditTransaction.account_id == account_id)) or 0


def list_ledger(session: Session, actor: Actor, *, limit: int = 100,
                before_id: int | None = None) -> list[CreditTransaction]:
    """The newest ledger rows first, keyset-paginated by id."""
    stmt = tenancy.scoped(select(CreditTransaction), CreditTransaction, actor)
    if before_id is not None:
        stmt = stmt.where(CreditTransaction.id < before_id)
    return list(session.scalars(stmt.order_by(CreditTransaction.id.desc()).limit(max(1, min(limit, 1000)))))


def accounts_due_plan_credits(session: Session, *, now: datetime | None = None) -> list[int]:
    """Active/trial accounts on a plan with monthly credits that have not had this month's grant yet."""
    now = now or utcnow()
    key = f"plan:{now:%Y-%m}"
    granted = select(CreditTransaction.account_id).where(CreditTransaction.idempotency_key == key)
    stmt = (select(Account.id).join(Plan, Plan.id == Account.plan_id)
            .where(Plan.included_credits > 0, Account.status.in_(["active", "trial"]), Account.id.not_in(granted))
            .order_by(Account.id))
    return list(session.scalars(stmt))
