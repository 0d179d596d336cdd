"""Charges per second on one hot account, 8 threads: core.billing.credits.charge vs the bare locked transaction.

    python3 dev.py bench credits   [--threads 8] [--per-thread 500] [--url postgresql+psycopg://…]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from core import reference, tenancy  # noqa: E402
from core.billing import credits
from core.identity import accounts
from db import migrate, scratch  # noqa: E402
from db.enums import AccountStatus, Role  # noqa: E402
from db.session import make_engine, make_session_factory, transaction  # noqa: E402

DEFAULT = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def scratch_db(base: str) -> str:
    """A scratch database for one benchmark run."""
    return scratch.create_database(base, "igny8_bench")


def drop_db(base: str, url: str) -> None:
    """Drop the benchmark's scratch database."""
    scratch.drop_database(base, url)


def run_threads(threads: int, per_thread: int, body) -> float:
    def worker(t: int) -> None:
        for i in range(per_thread):
            body(t, i)

    ths = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--per-thread", type=int, default=500)
    ap.add_argument("--url", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    n = args.threads * args.per_thread
    url = scratch_db(args.url)
    try:
        eng = make_engine(url, pool_size=args.threads + 2)
        migrate.upgrade(eng)
        factory = make_session_factory(eng)
        with transaction(factory) as s:
            reference.seed(s)
            acct = accounts.create_account_record(s, name="Bench", plan_slug="agency", status=AccountStatus.active)
            actor = tenancy.Actor(None, Role.owner, acct.id, None)
            credits.grant(s, tenancy.operator_actor(acct.id), amount=10 * n * args.rounds, kind="purchase",
                          reason="bench")
        acct_id = acct.id

        def bare(t: int, i: int) -> None:  # the same work by hand: lock, check key, update, insert
            with eng.begin() as c:
                bal = c.execute(text("SELECT credits FROM account WHERE id=:a FOR UPDATE"), {"a": acct_id}).scalar()
                key = f"bare-{t}-{i}"
                if c.execute(text("SELECT id FROM credit_transaction WHERE account_id=:a AND idempotency_key=:k"),
                             {"a": acct_id, "k": key}).first() is None:
                    c.execute(text("UPDATE account SET credits=credits-1 WHERE id=:a"), {"a": acct_id})
                    c.execute(text("INSERT INTO credit_transaction (account_id, transaction_type, amount, "
                                   "balance_after, description, reference_id, idempotency_key, metadata, created_at,"
                                   " updated_at) VALUES (:a, 'deduction', -1, :b, '', '', :k, '{}', now(), now())"),
                              {"a": acct_id, "b": bal - 1, "k": key})

        def core_charge(t: int, i: int) -> None:
            with transaction(factory) as s:
                credits.charge(s, actor, credits=1, idempotency_key=f"core-{t}-{i}", description="bench",
                               usage=credits.Usage(operation_type="clustering", model_used="gpt-4o-mini",
                                                   tokens_input=100, tokens_output=50))

        # Alternate rounds and keep each one's best, so a burst of other load does not favour either side.
        t_bare = t_core = float("inf")
        for r in range(args.rounds):
            t_bare = min(t_bare, run_threads(args.threads, args.per_thread, lambda t, i, r=r: bare(t, i + r * 10**6)))
            t_core = min(t_core, run_threads(args.threads, args.per_thread,
                                             lambda t, i, r=r: core_charge(t, i + r * 10**6)))
        with transaction(factory) as s:
            bal = credits.balance(s, actor)
            total = credits.ledger_sum(s, account_id=acct_id)
        print(f"charges: {args.threads} threads x {args.per_thread} on one account (PostgreSQL), best of {args.rounds}")
        print(f"  bare SELECT FOR UPDATE/UPDATE/INSERT : {n / t_bare:8.0f} charges/s ({t_bare:.2f} s)")
        print(f"  core.billing.credits.charge (+ usage log)    : {n / t_core:8.0f} charges/s ({t_core:.2f} s)")
        print(f"  ratio core/bare                      : {t_bare / t_core:8.2f}  (target >= 0.50)")
        print(f"  balance {bal} == sum(ledger) {total}: {bal == total}")
        eng.dispose()
    finally:
        drop_db(args.url, url)


if __name__ == "__main__":
    main()
