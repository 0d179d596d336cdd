"""Fill a prepared database with a realistic account: sites, users, clusters/tasks/content, N usage rows over D days
and the matching ledger (one deduction per AI call, a purchase every 30 days). COPY on PostgreSQL, executemany on
SQLite; both in one transaction. Used by bench/usage_bench.py."""
from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from sqlalchemy.engine import make_url

from core import tenancy
from core.identity import sites, users
from core.runtime import Runtime
from db.models import Clusters, Content, Tasks

# operation → (weight, models, credits range, USD per credit, related object type)
OPERATIONS = {
    "clustering": (10, ("gpt-4o-mini",), (1, 10), "0.0005", "cluster"),
    "idea_generation": (15, ("gpt-4o", "gpt-4o-mini"), (2, 20), "0.0010", "cluster"),
    "content_generation": (30, ("gpt-4o", "gpt-5.1"), (10, 80), "0.0040", "task"),
    "optimization": (10, ("gpt-4o-mini", "gpt-4o"), (5, 30), "0.0020", "content"),
    "image_prompt_extraction": (10, ("gpt-4o-mini",), (1, 5), "0.0005", "content"),
    "image_generation": (25, ("dall-e-3", "runware:97@1", "bria:10@1"), (3, 15), "0.0080", "content"),
}
USAGE_COLUMNS = ("account_id", "site_id", "user_id", "operation_type", "credits_used", "cost_usd", "model_used",
                 "tokens_input", "tokens_output", "related_object_type", "related_object_id", "metadata",
                 "created_at", "updated_at")
TX_COLUMNS = ("account_id", "transaction_type", "amount", "balance_after", "description", "reference_id",
              "metadata", "created_at", "updated_at")
TOPUP = 30  # days between purchases


@dataclass
class World:
    account_id: int
    site_ids: list[int]
    user_ids: list[int]
    related: dict[str, list[int]]  # object type → ids


def make_world(rt: Runtime, owner_email: str, *, n_sites: int = 5, per_site: int = 200) -> World:
    """Sites (the first in Europe/Berlin), users, and clusters/tasks/content to point the usage at."""
    from sqlalchemy import select

    from db.models import User

    with rt.transaction() as s:
        owner = s.scalars(select(User).where(User.email == owner_email)).one()
        actor = tenancy.actor_for(s, owner)
        site_ids, user_ids, related = [], [owner.id], {"cluster": [], "task": [], "content": []}
        for i in range(n_sites):
            site = sites.create_site(s, actor, name=f"Bench site {i + 1}",
                                     timezone="Europe/Berlin" if i == 0 else "UTC")
            sector = sites.create_sector(s, actor, site_id=site.id, name="General")
            site_ids.append(site.id)
            kw = {"account_id": owner.account_id, "site_id": site.id, "sector_id": sector.id}
            clusters = [Clusters(name=f"Cluster {i}-{j}", **kw) for j in range(per_site)]
            s.add_all(clusters)
            s.flush()
            tasks = [Tasks(title=f"Article {i}-{j}", cluster_id=c.id, **kw) for j, c in enumerate(clusters)]
            s.add_all(tasks)
            s.flush()
            content = [Content(title=f"Article {i}-{j} (draft)", task_id=t.id, **kw) for j, t in enumerate(tasks)]
            s.add_all(content)
            s.flush()
            related["cluster"] += [c.id for c in clusters]
            related["task"] += [t.id for t in tasks]
            related["content"] += [c.id for c in content]
        for role in ("admin", "editor", "editor", "viewer"):
            u = users.create_user(s, actor, email=f"{role}{len(user_ids)}@bench.example",
                                  password="bench-password-1", role=role)
            user_ids.append(u.id)
        return World(owner.account_id, site_ids, user_ids, related)


def generate(world: World, *, rows: int, days: int, now: datetime,
             seed: int = 7) -> Iterator[tuple[tuple, tuple | None, tuple | None]]:
    """(usage row, its ledger deduction, a purchase before it or None) in time order."""
    rng = random.Random(seed)
    ops = list(OPERATIONS)
    weights = [OPERATIONS[o][0] for o in ops]
    picked = rng.choices(ops, weights=weights, k=rows)
    start = now - timedelta(days=days)
    step = timedelta(days=days) / rows
    avg = 25
    topup = avg * rows * TOPUP // days + 10_000
    balance, next_topup, meta = 0, start, json.dumps({"bench": True})
    for i, op in enumerate(picked):
        _, models, (lo, hi), per_credit, rel_type = OPERATIONS[op]
        at = start + step * i + step * rng.random() * 0.9
        purchase = None
        if at >= next_topup:
            balance += topup
            purchase = (world.account_id, "purchase", topup, balance, "bench purchase", "", "{}", at, at)
            next_topup += timedelta(days=TOPUP)
        credits = rng.randint(lo, hi)
        balance -= credits
        site = rng.choice(world.site_ids) if rng.random() > 0.02 else None
        user = rng.choice(world.user_ids) if rng.random() > 0.3 else None
        tin, tout = (rng.randint(200, 4000), rng.randint(100, 3000)) if "image_gen" not in op else (0, 0)
        usage = (world.account_id, site, user, op, credits, (Decimal(per_credit) * credits).quantize(Decimal("1e-6")),
                 rng.choice(models), tin, tout, rel_type, rng.choice(world.related[rel_type]), meta, at, at)
        tx = (world.account_id, "deduction", -credits, balance, f"{op}", "", "{}", at + timedelta(microseconds=1),
              at + timedelta(microseconds=1))
        yield usage, tx, purchase


def fill_postgres(url: str, world: World, *, rows: int, days: int, now: datetime) -> int:
    """COPY the rows in; returns the final balance (also written to the account)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    balance = 0
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY credit_usage_log ({', '.join(USAGE_COLUMNS)}) FROM STDIN") as cp_usage:
            txs = []
            for usage, tx, purchase in generate(world, rows=rows, days=days, now=now):
                cp_usage.write_row(usage)
                if purchase:
                    txs.append(purchase)
                txs.append(tx)
        with cur.copy(f"COPY credit_transaction ({', '.join(TX_COLUMNS)}) FROM STDIN") as cp_tx:
            for tx in txs:
                cp_tx.write_row(tx)
        balance = txs[-1][3]
        cur.execute("UPDATE account SET credits = %s WHERE id = %s", (balance, world.account_id))
    return balance


def _sqlite_value(v: object) -> object:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    if isinstance(v, Decimal):
        return float(v)
    return v


def fill_sqlite(url: str, world: World, *, rows: int, days: int, now: datetime) -> int:
    """executemany in one transaction; returns the final balance."""
    conn = sqlite3.connect(make_url(url).database)
    txs: list[tuple] = []
    usage_sql = (f"INSERT INTO credit_usage_log ({', '.join(USAGE_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(USAGE_COLUMNS))})")
    tx_sql = f"INSERT INTO credit_transaction ({', '.join(TX_COLUMNS)}) VALUES ({', '.join('?' * len(TX_COLUMNS))})"
    with conn:
        batch = []
        for usage, tx, purchase in generate(world, rows=rows, days=days, now=now):
            batch.append(tuple(map(_sqlite_value, usage)))
            if purchase:
                txs.append(tuple(map(_sqlite_value, purchase)))
            txs.append(tuple(map(_sqlite_value, tx)))
            if len(batch) == 50_000:
                conn.executemany(usage_sql, batch)
                batch = []
        conn.executemany(usage_sql, batch)
        conn.executemany(tx_sql, txs)
        balance = txs[-1][3]
        conn.execute("UPDATE account SET credits = ? WHERE id = ?", (balance, world.account_id))
    conn.execute("ANALYZE")
    conn.close()
    return balance

