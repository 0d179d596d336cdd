"""The credit usage screen on 1,000,000 usage rows: fill time, each core.billing.usage query for a 30- and a 90-day window,
and the AppTest render time of pages/credit_usage.py (target: under one second each).

    python3 dev.py bench usage   [--rows 1000000] [--days 90] [--url postgresql+psycopg://…] [--sqlite] [--repeat 3]

A scratch PostgreSQL database is made and dropped (COPY fills it); with --sqlite a temporary SQLite file as well.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IGNY8_SECRET_KEY", "bench-secret-key-not-for-production")
os.environ.setdefault("IGNY8_DATA_DIR", tempfile.mkdtemp(prefix="igny8-bench-"))

from sqlalchemy import text  # noqa: E402

from bench import usage_fill  # noqa: E402
from bench.credits_bench import DEFAULT, drop_db, scratch_db  # noqa: E402
from core import config, tenancy  # noqa: E402
from core import runtime as core_runtime  # noqa: E402
from core.billing import usage, usage_rollup  # noqa: E402
from core.identity import auth  # noqa: E402
from core.runtime import Runtime  # noqa: E402

OWNER, PASSWORD = "owner@bench.example", "bench-owner-pass-1"
PAGE = ROOT / "pages" / "credit_usage.py"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first, median of the rest) run times in milliseconds."""
    runs = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return runs[0], statistics.median(runs[1:] or runs)


def _owner_actor(rt: Runtime) -> tenancy.Actor:
    from sqlalchemy import select

    from db.models import User

    with rt.transaction() as s:
        return tenancy.actor_for(s, s.scalars(select(User).where(User.email == OWNER)).one())


def query_times(rt: Runtime, days: int, repeat: int) -> list[tuple[str, float, float]]:
    """Each core.billing.usage function on the last `days` days (UTC), in its own transaction as a page would run it."""
    actor = _owner_actor(rt)
    end = datetime.now(UTC).date()
    kw = {"start": end - timedelta(days=days - 1), "end": end}
    with rt.transaction() as s:
        second_page = usage.list_usage(s, actor, **kw, limit=50)[-1].id

    def run(fn: Callable) -> Callable[[], object]:
        def go() -> object:
            with rt.transaction() as s:
                return fn(s)
        return go

    cases: list[tuple[str, Callable]] = [
        ("summary", lambda s: usage.summary(s, actor, **kw)),
        ("credits_per_day_by_operation", lambda s: usage.credits_per_day_by_operation(s, actor, **kw)),
        ("  … in Europe/Berlin days", lambda s: usage.credits_per_day_by_operation(s, actor, **kw,
                                                                                   tz="Europe/Berlin")),
        ("by_site", lambda s: usage.by_site(s, actor, **kw)),
        ("by_model", lambda s: usage.by_model(s, actor, **kw)),
        ("by_user", lambda s: usage.by_user(s, actor, **kw)),
        ("balance_over_time", lambda s: usage.balance_over_time(s, actor, **kw)),
        ("most_expensive_tasks", lambda s: usage.most_expensive_tasks(s, actor, **kw)),
        ("summary, one site", lambda s: usage.summary(s, actor, **kw, site_ids=[actor_site(s)])),
        ("list_usage first page", lambda s: usage.list_usage(s, actor, **kw, limit=50)),
        ("list_usage next page (keyset)", lambda s: usage.list_usage(s, actor, **kw, limit=50,
                                                                     before_id=second_page)),
        ("report (all of the screen)", lambda s: usage.report(s, actor, **kw)),
    ]
    return [(name, *timed(run(fn), repeat)) for name, fn in cases]


def actor_site(s) -> int:
    return s.scalar(text("SELECT min(id) FROM site"))


def export_time(rt: Runtime, days: int) -> tuple[int, float, int]:
    """(rows, ms, bytes) of the CSV export of the last `days` days."""
    actor = _owner_actor(rt)
    end = datetime.now(UTC).date()
    out = io.StringIO()
    t0 = time.perf_counter()
    with rt.transaction() as s:
        n = usage.export_usage_csv(s, actor, start=end - timedelta(days=days - 1), end=end, out=out)
    return n, (time.perf_counter() - t0) * 1000, len(out.getvalue())


def render_times(rt: Runtime, repeat: int) -> list[tuple[str, float, float]]:
    """AppTest runs of the page as the logged-in owner: default 30 days, then 90 days; cold = data cache cleared."""
    import streamlit as st
    from streamlit import logger
    from streamlit.testing.v1 import AppTest

    from db.models import User

    with rt.transaction() as s:
        from sqlalchemy import select

        ticket = auth.issue_ticket(s.scalars(select(User).where(User.email == OWNER)).one())
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["auth_ticket"] = ticket
    at.run()  # warm-up: the app's runtime (engine, migration check) is built once per process
    logger.set_log_level("error")  # after a run (which sets it up): st.cache_data.clear() in bare mode warns
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 3, "the page drew no charts"
    today = datetime.now(UTC).date()

    def cold(days: int) -> Callable[[], object]:
        def go() -> object:
            st.cache_data.clear()
            at.session_state["usage_rows"] = {}  # the usage table is re-read too
            return _render(at, today, days)
        return go

    out = []
    for days in (30, 90):
        out.append((f"page, {days} days, cold (no cached data)", *timed(cold(days), repeat)))
        out.append((f"page, {days} days, cached", *timed(lambda d=days: _render(at, today, d), repeat)))
    return out


def _render(at, today: date, days: int) -> None:
    at.date_input(key="usage_dates").set_value((today - timedelta(days=days - 1), today))
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])


def bench_database(kind: str, url: str, args) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["IGNY8_OWNER_EMAIL"], os.environ["IGNY8_OWNER_PASSWORD"] = OWNER, PASSWORD
    rt = core_runtime.start(config.load(), url=url)
    world = usage_fill.make_world(rt, OWNER)
    fill = usage_fill.fill_postgres if kind == "postgresql" else usage_fill.fill_sqlite
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    balance = fill(url, world, rows=args.rows, days=args.days, now=now)
    t_fill = time.perf_counter() - t0
    t0 = time.perf_counter()
    with rt.transaction() as s:  # the bulk load bypassed credits.charge: sum its rows into the hourly rollup
        rollup_rows = usage_rollup.rebuild(s, account_id=world.account_id)
    t_rollup = time.perf_counter() - t0
    t0 = time.perf_counter()
    if kind == "postgresql":  # what autovacuum does after a bulk load: statistics and the visibility map
        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for table in ("credit_usage_log", "credit_transaction", "credit_usage_rollup"):
                c.execute(text(f"VACUUM ANALYZE {table}"))
    t_vacuum = time.perf_counter() - t0
    print(f"-- {kind}: {args.rows:,} usage rows + {args.rows:,} ledger rows over {args.days} days, 1 account, "
          f"{len(world.site_ids)} sites, {len(world.user_ids)} users", flush=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the queries", flush=True)
    print(f"fill: {t_fill:.1f} s ({args.rows / t_fill:,.0f} usage rows/s incl. the ledger); "
          f"vacuum/analyze {t_vacuum:.1f} s; final balance {balance:,}", flush=True)
    print(f"rollup rebuild: {rollup_rows:,} hourly rows in {t_rollup:.1f} s", flush=True)
    print(f"{'query':<40}{'30 days: first':>16}{'median':>10}{'90 days: first':>18}{'median':>10}   (ms)")
    q30, q90 = query_times(rt, 30, args.repeat), query_times(rt, 90, args.repeat)
    for (name, f30, m30), (_, f90, m90) in zip(q30, q90, strict=True):
        print(f"{name:<40}{f30:>16.0f}{m30:>10.0f}{f90:>18.0f}{m90:>10.0f}")
    for days in (30, 90):
        n, ms, size = export_time(rt, days)
        print(f"export_usage_csv {days} days: {n:,} rows, {size / 1e6:.0f} MB in {ms:.0f} ms", flush=True)
    if not args.no_render:
        print(f"{'AppTest render of pages/credit_usage.py':<52}{'first':>10}{'median':>10}   (ms)")
        for name, first, median in render_times(rt, args.repeat):
            print(f"{name:<52}{first:>10.0f}{median:>10.0f}", flush=True)
    rt.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--url", default=DEFAULT, help="PostgreSQL server to make the scratch database on")
    ap.add_argument("--sqlite", action="store_true", help="also run on a temporary SQLite file")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-render", action="store_true", help="skip the AppTest render")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the databases (their URLs are printed)")
    args = ap.parse_args(argv)
    if not args.no_postgres:
        url = scratch_db(args.url)
        try:
            bench_database("postgresql", url, args)
        finally:
            _release_app_runtime()
            if args.keep:
                print(f"kept: {url}")
            else:
                drop_db(args.url, url)
    if args.sqlite:
        tmp = tempfile.mkdtemp(prefix="igny8-usage-bench-")
        try:
            bench_database("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args)
        finally:
            _release_app_runtime()
            if args.keep:
                print(f"kept: sqlite:///{tmp}/bench.sqlite3")
            else:
                shutil.rmtree(tmp, ignore_errors=True)


def _release_app_runtime() -> None:
    import ui  # the page's cached engine must let go of the database before it is dropped

    ui.runtime.clear()


if __name__ == "__main__":
    main()
