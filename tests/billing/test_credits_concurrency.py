"""8 threads × 500 charges on one account (PostgreSQL): no lost update, balance == sum(ledger), never negative."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import reference, tenancy
from core.billing import credits
from db import migrate
from db.enums import Role, TransactionType
from db.models import Account, CreditTransaction
from db.session import make_engine, make_session_factory, transaction
from tests import factories as f

THREADS, PER_THREAD = 8, 500


@pytest.fixture(scope="module")
def pg_factory(backend, fresh_database):
    if backend != "postgresql":
        pytest.skip("row locks under real concurrency: PostgreSQL")
    eng = make_engine(fresh_database(), pool_size=THREADS + 2)
    migrate.upgrade(eng)
    factory = make_session_factory(eng)
    with transaction(factory) as s:
        reference.seed(s)
    yield factory
    eng.dispose()


def _new_account(factory, start: int) -> tenancy.Actor:
    with transaction(factory) as s:
        acct = f.account(s)
        owner = f.user(s, acct, role=Role.owner)
        actor = tenancy.actor_for(s, owner)
        credits.grant(s, tenancy.operator_actor(acct.id), amount=start, kind="purchase", reason="start")
    return actor


def _hammer(factory, actor, charge_fn, *, repeat_keys: bool = False,
            expected: tuple[type[Exception], ...] = ()) -> list[BaseException]:
    """THREADS × PER_THREAD charges, each in its own transaction; every error but the `expected` refusals."""
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        for i in range(PER_THREAD):
            key = f"k-{i}" if repeat_keys else f"t{t}-{i}"
            try:
                with transaction(factory) as s:
                    charge_fn(s, actor, key)
            except expected:
                pass  # refusals, not losses
            except Exception as exc:  # noqa: BLE001 - a raw database error included: reported by the test
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors


def check_invariants(factory, account_id: int, *, expected_charges: int) -> None:
    """balance == sum(ledger), balance_after never negative, and exactly the expected number of deductions."""
    with transaction(factory) as s:
        bal = s.scalar(select(Account.credits).where(Account.id == account_id))
        total = credits.ledger_sum(s, account_id=account_id)
        charges = s.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.account_id == account_id,
            CreditTransaction.transaction_type == TransactionType.deduction))
        lowest = s.scalar(select(func.min(CreditTransaction.balance_after))
                          .where(CreditTransaction.account_id == account_id))
    assert bal == total, f"lost updates: balance {bal} but ledger sums to {total}"
    assert lowest >= 0 and bal >= 0
    assert charges == expected_charges, f"{charges} deductions recorded, {expected_charges} expected"


def _real_charge(s, actor, key):
    credits.charge(s, actor, credits=1, idempotency_key=key, description="load")


def _unlocked_charge(s, actor, key):
    """The mutation: read-then-write without FOR UPDATE."""
    bal = s.scalar(select(Account.credits).where(Account.id == actor.account_id))
    s.execute(update(Account).where(Account.id == actor.account_id).values(credits=bal - 1))
    s.add(CreditTransaction(account_id=actor.account_id, transaction_type=TransactionType.deduction, amount=-1,
                            balance_after=bal - 1, idempotency_key=key))


def test_concurrent_charges_lose_nothing(pg_factory):
    actor = _new_account(pg_factory, THREADS * PER_THREAD)
    assert _hammer(pg_factory, actor, _real_charge) == []
    check_invariants(pg_factory, actor.account_id, expected_charges=THREADS * PER_THREAD)
    with transaction(pg_factory) as s:
        assert s.scalar(select(Account.credits).where(Account.id == actor.account_id)) == 0


def test_balance_never_goes_negative_under_contention(pg_factory):
    actor = _new_account(pg_factory, 1000)  # half of the attempts must be refused
    assert _hammer(pg_factory, actor, _real_charge, expected=(credits.InsufficientCredits,)) == []
    check_invariants(pg_factory, actor.account_id, expected_charges=1000)


def test_repeated_keys_charge_once_under_contention(pg_factory):
    actor = _new_account(pg_factory, 10_000)
    # Two sessions racing one key: the loser is told DuplicateCharge (or sees a replay), never a raw IntegrityError.
    assert _hammer(pg_factory, actor, _real_charge, repeat_keys=True, expected=(credits.DuplicateCharge,)) == []
    check_invariants(pg_factory, actor.account_id, expected_charges=PER_THREAD)


def _unconverted_charge(s, actor, key):
    """The mutation: a charge that lets the unique key's raw IntegrityError escape."""
    try:
        _real_charge(s, actor, key)
    except credits.DuplicateCharge as exc:
        raise exc.__cause__ from None


def test_the_check_reports_a_raw_unique_key_error(pg_factory):
    actor = _new_account(pg_factory, 10_000)
    errors = _hammer(pg_factory, actor, _unconverted_charge, repeat_keys=True, expected=(credits.DuplicateCharge,))
    assert errors and all(isinstance(e, IntegrityError) for e in errors), errors[:3]


def test_the_check_catches_an_unlocked_read_then_write(pg_factory):
    actor = _new_account(pg_factory, THREADS * PER_THREAD)
    _hammer(pg_factory, actor, _unlocked_charge)
    with pytest.raises(AssertionError, match="lost updates"):
        check_invariants(pg_factory, actor.account_id, expected_charges=THREADS * PER_THREAD)
