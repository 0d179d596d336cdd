"""The keywords page on a million keywords (PostgreSQL): keyset pages at depth vs OFFSET, the service vs bare SQL.

    python3 dev.py bench keywords   [--rows 1000000] [--repeat 30] [--url postgresql+psycopg://…] [--keep]

Fills one sector with --rows keywords by COPY (70 % new, 30 % mapped to 2,000 clusters; ~8 % NULL volumes), runs
VACUUM ANALYZE, then times (median of --repeat, warm cache) page 1 and page 10,000 of "status new, volume high →
low" as bare SQL and as core.planner.keywords.list_keywords, next to OFFSET 500000, and counts per status.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from core import reference, tenancy  # noqa: E402
from core.identity import accounts, sites
from core.planner import keyword_edits, keywords
from core.planner.keywords import Cursor, KeywordFilter  # noqa: E402
from db import migrate, scratch  # noqa: E402
from db.enums import AccountStatus, Role  # noqa: E402
from db.session import make_engine, make_session_factory, transaction  # noqa: E402

DEFAULT = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAGE = 50
COLUMNS = ("account_id, site_id, sector_id, keyword, keyword_norm, volume, difficulty, cpc, intent, attributes, "
           "cluster_id, status, disabled, created_at, updated_at")
WORDS = ("best cheap buy how to what is near me review vs for sale online free top guide price compare 2026 "
         "coffee espresso grinder beans roast latte mug kettle filter pour over cold brew decaf arabica robusta "
         "machine capsule pod milk frother barista tamper scale timer water bag subscription organic fair trade "
         "dark light medium single origin blend ground whole instant caffeine tea matcha chai green black oolong "
         "herbal iced sweet bitter strong mild acid crema foam steam pressure bar pump boiler thermoblock manual "
         "automatic smart wifi app recipe ratio temperature").split()
WORDS = tuple(dict.fromkeys(WORDS))  # unique words: every keyword below is then unique
INTENTS = ("Informational", "Commercial", "Transactional", "Navigational", "Informational, Commercial", None)


def _setup(factory) -> tuple[tenancy.Actor, int, int, int]:
    with transaction(factory) as s:
        reference.seed(s)
        acct = accounts.create_account_record(s, name="Bench", plan_slug="agency", status=AccountStatus.active)
        owner = tenancy.Actor(None, Role.owner, acct.id, None)
        site = sites.create_site(s, owner, name="Bench site")
        sector = sites.create_sector(s, owner, site_id=site.id, name="Coffee")
        return owner, acct.id, site.id, sector.id


def _fill(eng, acct: int, site: int, sector: int, rows: int) -> float:
    """COPY the clusters and keywords; returns seconds."""
    rnd = random.Random(42)
    t0 = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with eng.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        with cur.copy("COPY clusters (account_id, site_id, sector_id, name, description, keywords_count, volume, "
                      "mapped_pages, status, disabled, created_at, updated_at) FROM STDIN") as cp:
            for c in range(2000):
                cp.write_row((acct, site, sector, f"cluster {c}", "", 0, 0, 0, "mapped", False, base, base))
        cur.execute("SELECT min(id) FROM clusters WHERE sector_id = %s", (sector,))
        first_cluster = cur.fetchone()[0]
        n_words = len(WORDS)
        with cur.copy(f"COPY keywords ({COLUMNS}) FROM STDIN") as cp:
            for i in range(rows):
                words = [WORDS[(i // n_words ** k) % n_words] for k in range(4)]
                kw = " ".join(words) + (f" {i}" if rows > n_words ** 4 else "")
                mapped = rnd.random() < 0.3
                volume = None if rnd.random() < 0.08 else int(10 * 1.5 ** rnd.randint(0, 25))  # ties, like tools
                created = base + timedelta(seconds=i // 100)
                cp.write_row((acct, site, sector, kw, kw, volume, rnd.choice([None, *range(0, 101)]),
                              None if rnd.random() < 0.2 else f"{rnd.random() * 8:.2f}", rnd.choice(INTENTS), "{}",
                              first_cluster + rnd.randrange(2000) if mapped else None,
                              "mapped" if mapped else "new", rnd.random() < 0.02, created, created))
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE keywords")
        conn.exec_driver_sql("VACUUM ANALYZE clusters")
    return time.perf_counter() - t0


def _paired_ms(first, second, repeat: int) -> tuple[float, float]:
    """Medians of two calls timed alternately, so a burst of other load on the machine hits both alike."""
    first(), second()  # warm
    a, b = [], []
    for _ in range(repeat):
        for fn, out in ((first, a), (second, b)):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return statistics.median(a), statistics.median(b)


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


BARE = ("SELECT k.id, k.keyword, k.volume, k.difficulty, k.cpc, k.intent, k.status, k.cluster_id, c.name, k.disabled,"
        " k.created_at, k.deleted_at FROM keywords k LEFT JOIN clusters c ON c.id = k.cluster_id"
        " WHERE k.sector_id = %(s)s AND k.status = 'new' AND k.deleted_at IS NULL AND k.volume IS NOT NULL {extra}"
        " ORDER BY k.volume DESC, k.id DESC LIMIT %(n)s {offset}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--depth", type=int, default=10_000, help="the deep page measured (kept within the rows)")
    ap.add_argument("--url", default=DEFAULT)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database (prints its URL)")
    args = ap.parse_args(argv)
    url = scratch.create_database(args.url, "igny8_bench")
    try:
        eng = make_engine(url)
        migrate.upgrade(eng)
        factory = make_session_factory(eng)
        owner, acct, site, sector = _setup(factory)
        took = _fill(eng, acct, site, sector, args.rows)
        print(f"keywords page: {args.rows:,} keywords in one sector (PostgreSQL), COPY + VACUUM ANALYZE {took:.1f} s")
        depth = max(2, min(args.depth, int(args.rows * 0.6 / PAGE)))  # ~65 % of the rows are new with a volume
        _measure(eng, factory, owner, site, sector, args.repeat, depth)
        _bulk(eng, factory, owner, site, sector)
        eng.dispose()
    finally:
        if args.keep:
            print(f"  kept {url}")
        else:
            scratch.drop_database(args.url, url)


def _measure(eng, factory, owner, site: int, sector: int, repeat: int, depth: int) -> None:
    flt = KeywordFilter(status="new")
    deep_offset = (depth - 1) * PAGE  # the deep page starts after this many rows
    raw = eng.raw_connection()
    cur = raw.cursor()

    def bare(extra: str = "", offset: str = "", **params) -> list:
        cur.execute(BARE.format(extra=extra, offset=offset), {"s": sector, "n": PAGE + 1, **params})
        return cur.fetchall()

    cur.execute(BARE.format(extra="", offset="OFFSET %(o)s").replace("LIMIT %(n)s", "LIMIT 1"),
                {"s": sector, "o": deep_offset - 1})
    last = cur.fetchone()  # the last row of page 9,999: where page 10,000 starts
    keyset = "AND (k.volume, k.id) < (%(v)s, %(i)s)"
    b1, bdeep = _paired_ms(lambda: bare(), lambda: bare(keyset, v=last[2], i=last[0]), repeat)
    boff = _median_ms(lambda: bare(offset=f"OFFSET {deep_offset}"), max(3, repeat // 5))
    raw.commit()
    fetched: list[int] = []

    @event.listens_for(eng, "after_cursor_execute")
    def _count(conn, cursor, statement, params, context, executemany):  # rows each SELECT returned
        if statement.lstrip().upper().startswith("SELECT"):
            fetched.append(cursor.rowcount)

    cursor = Cursor("volume", True, last[2], last[0])
    with transaction(factory) as s:
        def service(after=None):
            return keywords.list_keywords(s, owner, site_id=site, sector_id=sector, filters=flt, sort="volume",
                                          direction="desc", after=after, limit=PAGE)
        s1, sdeep = _paired_ms(lambda: service(), lambda: service(cursor), repeat)
        fetched.clear()
        deep_page = service(cursor)
        deep_fetched = sum(fetched)
        counts = _median_ms(lambda: keywords.count_by_status(s, owner, site_id=site, sector_id=sector,
                                                             filters=KeywordFilter()), max(3, repeat // 3))
        capped = _median_ms(lambda: keywords.count_filtered(s, owner, site_id=site, sector_id=sector,
                                                            filters=flt), repeat)
        extra = {name: _median_ms(fn, max(3, repeat // 3)) for name, fn in {
            "search 'grinder' (common word), page 1": lambda: keywords.list_keywords(
                s, owner, site_id=site, sector_id=sector, filters=KeywordFilter(search="grinder"), limit=PAGE),
            "search 'matcha latte' (two words), page 1": lambda: keywords.list_keywords(
                s, owner, site_id=site, sector_id=sector, filters=KeywordFilter(search="matcha latte"), limit=PAGE),
            "difficulty 30-40, sort keyword A→Z, page 1": lambda: keywords.list_keywords(
                s, owner, site_id=site, sector_id=sector, sort="keyword", direction="asc", limit=PAGE,
                filters=KeywordFilter(difficulty_min=30, difficulty_max=40)),
            "no cluster, sort CPC low → high, page 1": lambda: keywords.list_keywords(
                s, owner, site_id=site, sector_id=sector, sort="cpc", direction="asc", limit=PAGE,
                filters=KeywordFilter(unclustered=True)),
        }.items()}
    event.remove(eng, "after_cursor_execute", _count)
    def line(label: str, ms: float, note: str = "") -> None:
        print(f"  {label:<44}: {ms:8.2f} ms  {note}".rstrip())

    print(f"  filter status=new, sort volume high → low, {PAGE} rows a page (median of {repeat}, warm cache)")
    line("bare SQL, page 1", b1)
    line(f"bare SQL, page {depth:,} (keyset)", bdeep, f"{bdeep / b1:.2f}× page 1 (target ≤ 2)")
    line(f"bare SQL, the same page by OFFSET {deep_offset:,}", boff, f"{boff / bdeep:,.0f}× the keyset page")
    line("service list_keywords, page 1", s1, f"+{s1 - b1:.2f} ms over bare SQL")
    line(f"service list_keywords, page {depth:,}", sdeep,
         f"+{sdeep - bdeep:.2f} ms over bare SQL, {sdeep / s1:.2f}× page 1")
    print(f"  rows fetched for page {depth:,}: {deep_fetched} ({len(deep_page.rows)} shown + 1 to know there is more)")
    line("count_by_status (whole sector)", counts)
    line("count_filtered status=new (capped at 10,000)", capped)
    for name, ms in extra.items():
        line(name, ms)
    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + BARE.format(extra=keyset, offset=""),
                {"s": sector, "n": PAGE + 1, "v": last[2], "i": last[0]})
    print(f"  EXPLAIN of the keyset query for page {depth:,}:")
    for (line,) in cur.fetchall():
        print("    " + line)
    raw.rollback()
    raw.close()


def _bulk(eng, factory, owner, site: int, sector: int) -> None:
    """A bulk action on the whole filtered set (status new: ~65 % of the rows): the bare UPDATE against
    keyword_edits.run_bulk (UPDATEs over id ranges with progress, the clusters' counters), both rolled back."""
    with eng.connect() as conn:
        started = time.perf_counter()
        bare = conn.execute(text("UPDATE keywords SET disabled = true WHERE sector_id = :s AND status = 'new' "
                                 "AND deleted_at IS NULL AND disabled = false"), {"s": sector}).rowcount
        bare_s = time.perf_counter() - started
        conn.rollback()
    reports: list[float] = []

    @contextmanager
    def rolled_back():
        with factory() as session:
            yield session
            session.rollback()

    started = time.perf_counter()
    ours = keyword_edits.run_bulk(rolled_back, owner, site_id=site, sector_id=sector, action="disable",
                                  filters=KeywordFilter(status="new"), on_progress=lambda f, m: reports.append(f))
    ours_s = time.perf_counter() - started
    print(f"  bulk disable of the filtered set: bare UPDATE {bare:,} rows {bare_s:.1f} s; run_bulk {ours:,} rows "
          f"{ours_s:.1f} s ({ours_s / bare_s:.2f}×), {len(reports)} progress reports")


if __name__ == "__main__":
    main()
