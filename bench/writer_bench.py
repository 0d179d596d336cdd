"""Bulk article generation (core.ai.bulk.run_batch): the wall time of one batch against a loopback provider that
answers every chat call after exactly --delay s, with the provider's max_concurrency --concurrency, against the
ideal tasks × delay / concurrency (50 × 1 s / 5 = 10 s; target ratio ≤ 1.3).

    python3 dev.py bench writer [--tasks 50] [--concurrency 5] [--delay 1.0] [--url postgresql+psycopg://…]

Default database: a fresh SQLite file in a temporary directory; --url names a PostgreSQL server, on which a scratch
database is made and dropped. Besides the ratio it prints the most calls the provider saw at once and the time each
article spent outside the provider call (the engine's three transactions and the batch's line writes).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config, reference, tenancy  # noqa: E402
from core.ai import bulk, providers  # noqa: E402
from core.billing import credits  # noqa: E402
from core.common import uow  # noqa: E402
from core.identity import accounts  # noqa: E402
from db import migrate, scratch  # noqa: E402
from db.enums import AccountStatus, Role  # noqa: E402
from db.models import Clusters, Sector, Site, Tasks  # noqa: E402
from db.session import make_engine, make_session_factory, transaction  # noqa: E402
from tests.fakes.openai_server import FakeAI, Reply, completion  # noqa: E402

TARGET = 1.3
ARTICLE = {"content_html": "<h2>Bench</h2><p>" + "A sentence of the benchmark article. " * 40 + "</p>",
           "meta_title": "Bench article", "meta_description": "A benchmark article.", "primary_keyword": "bench",
           "secondary_keywords": ["benchmark"]}


def _world(factory, fake: FakeAI, api_key: str, *, tasks: int, concurrency: int, delay: float
           ) -> tuple[tenancy.Actor, int, list[int]]:
    """An account with credits, one site and sector, `tasks` queued tasks, and the provider pointed at the fake."""
    with transaction(factory) as s:
        reference.seed(s)
        providers.update_provider(s, tenancy.operator_actor(), provider_id="openai", api_endpoint=fake.url,
                                  api_key=api_key, is_active=True,
                                  config={"max_concurrency": concurrency, "rpm": 100_000, "max_attempts": 1,
                                          "timeout_s": delay + 30})
        acct = accounts.create_account_record(s, name="Writer bench", slug="writer-bench", plan_slug="agency",
                                              status=AccountStatus.active)
        site = Site(account_id=acct.id, name="Bench site", slug="bench")
        s.add(site)
        s.flush()
        sector = Sector(account_id=acct.id, site_id=site.id, name="Bench", slug="bench")
        s.add(sector)
        s.flush()
        base = {"account_id": acct.id, "site_id": site.id, "sector_id": sector.id}
        cluster = Clusters(**base, name="Bench")
        s.add(cluster)
        s.flush()
        rows = [Tasks(**base, title=f"Bench article {i}", description="A benchmark article", cluster_id=cluster.id,
                      keywords=f"bench keyword {i}", word_count=300) for i in range(tasks)]
        s.add_all(rows)
        s.flush()
        credits.grant(s, tenancy.operator_actor(acct.id), amount=1_000_000, kind="purchase", reason="bench")
        return tenancy.Actor(None, Role.owner, acct.id, None, email="bench@example.com"), sector.id, [t.id for t in rows]


def _run(url: str, *, tasks: int, concurrency: int, delay: float) -> None:
    engine = make_engine(url, pool_size=concurrency + 5) if not url.startswith("sqlite") else make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        api_key = f"sk-bench-{secrets.token_hex(8)}"
        with FakeAI(api_key=api_key) as fake:
            fake.chat_responder = lambda body: Reply(body=completion(json.dumps(ARTICLE)), delay=delay)
            actor, sector_id, ids = _world(factory, fake, api_key, tasks=tasks, concurrency=concurrency, delay=delay)
            with transaction(factory) as s:  # the overlap guard (and its model) runs here, outside the timing
                batch_id = bulk.create_batch(s, actor, sector_id=sector_id, task_ids=ids, include_overlapping=True).id
            began = time.perf_counter()
            view = bulk.run_batch(uow.of(factory), actor, batch_id=batch_id)
            elapsed = time.perf_counter() - began
            calls = sorted(fake.posts("/chat/completions"), key=lambda r: r.started)
        ideal = tasks * delay / concurrency
        print(f"writer batch: {tasks} tasks, {concurrency} at a time, provider answers after {delay:g} s "
              f"({engine.dialect.name})")
        print(f"  {view.done} done, {view.failed} failed ({view.status}); {len(calls)} provider calls, at most "
              f"{fake.max_in_flight} at once")
        print(f"  elapsed {elapsed:.2f} s, ideal {ideal:.2f} s, ratio {elapsed / ideal:.3f} "
              f"(target ≤ {TARGET}: {'met' if elapsed / ideal <= TARGET else 'MISSED'})")
        if len(calls) > concurrency:
            # the gap between one call's end and the next call's start is the work a thread does between two calls:
            # record the article, write its line, start the next line, phase 1 of the next article
            ends = sorted(r.finished for r in calls)
            gaps = [start.started - end for start, end in zip(calls[concurrency:], ends, strict=False)]
            print(f"  between a call's answer and the next call: median {statistics.median(gaps) * 1000:.0f} ms, "
                  f"max {max(gaps) * 1000:.0f} ms; first call after {(calls[0].started - began) * 1000:.0f} ms "
                  f"(claim, first lines); after the last answer {(began + elapsed - ends[-1]) * 1000:.0f} ms")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench writer", description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=5)
    ap.add_argument("--delay", type=float, default=1.0, help="seconds the provider takes per answer")
    ap.add_argument("--url", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    args = ap.parse_args(argv)
    if not os.environ.get("IGNY8_SECRET_KEY"):  # the provider key is encrypted at rest: any key of this process
        os.environ["IGNY8_SECRET_KEY"] = secrets.token_urlsafe(32)
        config.settings.cache_clear()
    if args.url:
        url = scratch.create_database(args.url, "igny8_bench")
        try:
            _run(url, tasks=args.tasks, concurrency=args.concurrency, delay=args.delay)
        finally:
            scratch.drop_database(args.url, url)
        return
    with tempfile.TemporaryDirectory(prefix="igny8_writer_bench_") as tmp:
        _run(f"sqlite:///{tmp}/bench.sqlite3", tasks=args.tasks, concurrency=args.concurrency, delay=args.delay)


if __name__ == "__main__":
    main(sys.argv[1:])
