"""Keyword import vs the bare tool: a 1M-row Semrush-like CSV into PostgreSQL (`psql \\copy` of the same rows
into the same table vs core.planner.keyword_import with parsing, validation, normalisation and de-duplication), our
client's peak memory, and 100k rows into SQLite.

    python3 dev.py bench import [--rows 1000000] [--sqlite-rows 100000] [--rounds 1] [--library-seeds 50000]
        [--no-library] [--url postgresql+psycopg://…]

Targets (issue 3): ours ≤ 1.5 × psql's time, client peak RSS < 500 MB; 100k rows into SQLite < 10 s.
The library runs import the same file into a sector whose industry sector has a curated keyword library of
--library-seeds keywords of the file (imported untimed by a platform admin, the system account's owner): the import
links its keywords to them and never writes the library — the run prints how many were linked and that the library
has as many rows after as before.
The CSV is generated deterministically (seed 42) once into --data-dir and reused. Every ~1,000th row repeats an
earlier keyword in another spelling, as real exports do: our import reports it; the bare file holds the rows
that end up in the table, so both sides load the same rows. Each import runs in a fresh subprocess, so its
ru_maxrss is the import's own peak. Keywords are truncated and a CHECKPOINT taken before every timed load.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url  # noqa: E402

from bench.credits_bench import DEFAULT, drop_db, scratch_db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["Keyword", "Intent", "Volume", "Trend", "Keyword Difficulty", "CPC (USD)", "SERP Features"]
TABLE_COLUMNS = ("account_id, site_id, sector_id, keyword, keyword_norm, volume, difficulty, cpc, intent, attributes, "
                 "status, disabled, created_at, updated_at")
WORDS = ("wordpress plugin theme hosting seo free best how to install speed cache woocommerce page builder "
         "elementor security backup migrate domain email form gallery slider menu login admin dashboard blog post "
         "custom css child update error fix database mysql php server cloud vps shared managed cheap fast review "
         "tutorial guide vs alternative site website template landing portfolio shop store checkout payment "
         "stripe paypal membership course lms multisite gutenberg block editor widget sidebar footer header logo "
         "font image optimize compress cdn ssl https redirect 404 sitemap schema analytics google search console "
         "yoast rank math jetpack akismet spam comment contact newsletter mailchimp popup banner cookie gdpr "
         "translation multilingual wpml polylang rtl mobile responsive amp dark mode café błąd größe").split()
INTENTS = ("Informational", "Commercial", "Informational, Transactional", "Informational, Commercial",
           "Navigational", "Transactional", "Navigational, Transactional")
SERP = ("Sitelinks, Video", "AI Overview, Related searches", "Image pack", "", "People also ask, Top stories",
        "Ads top")
VOLUMES = (30, 40, 50, 70, 90, 110, 140, 170, 210, 260, 320, 390, 480, 590, 720, 880, 1000, 1300, 1600, 2400,
           5400, 12100, 40500)


def _token(i: int) -> str:
    letters = []
    while True:
        i, r = divmod(i, 26)
        letters.append(chr(97 + r))
        if i == 0:
            return "".join(letters)


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """(the Semrush-like CSV, the same unique rows shaped as the keywords table) — made once, then reused."""
    folder.mkdir(parents=True, exist_ok=True)
    src, table = folder / f"semrush_like_{rows}.csv", folder / f"table_{rows}.csv"
    if src.exists() and table.exists():
        return src, table
    rng = random.Random(42)
    earlier: list[str] = []
    with open(src, "w", encoding="utf-8", newline="") as fs, open(table, "w", encoding="utf-8", newline="") as ft:
        ws, wt = csv.writer(fs), csv.writer(ft)
        ws.writerow(HEADER)
        for i in range(rows):
            if i % 997 == 996:  # a repeat in another spelling: the import keeps the first
                again = rng.choice(earlier)
                ws.writerow([again.title().replace(" ", "  "), "Informational", "10", "", "1", "0.00", ""])
                continue
            kw = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))) + " " + _token(i)
            if len(earlier) < 10_000:
                earlier.append(kw)
            trend = [round(rng.random(), 2) for _ in range(12)]
            intent, serp = rng.choice(INTENTS), rng.choice(SERP)
            volume, kd, cpc = rng.choice(VOLUMES), rng.randint(0, 100), f"{rng.random() * 12:.2f}"
            ws.writerow([kw, intent, volume, ",".join(f"{t:.2f}" for t in trend), kd, cpc, serp])
            attrs = {"trend": [float(f"{t:.2f}") for t in trend]}
            if serp:
                attrs["serp_features"] = serp.split(", ")
            wt.writerow([0, 0, 0, kw, kw.casefold(), volume, kd, cpc, intent.lower(),
                         json.dumps(attrs, ensure_ascii=False, separators=(",", ":")), "new", "f",
                         "2026-01-01 00:00:00+00", "2026-01-01 00:00:00+00"])
    return src, table


def child(argv: list[str]) -> None:
    """One import in this process: prints JSON {seconds, rss_mb, report} on the last line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--file")
    ap.add_argument("--account", type=int)
    ap.add_argument("--site", type=int)
    ap.add_argument("--sector", type=int)
    a = ap.parse_args(argv)
    from core.planner import keyword_import
    from core.tenancy import operator_actor
    from db.session import make_engine, make_session_factory, transaction

    engine = make_engine(a.url)
    factory = make_session_factory(engine)
    began = time.perf_counter()
    with transaction(factory) as s:
        report = keyword_import.run_import(s, operator_actor(a.account), site_id=a.site, sector_id=a.sector,
                                           data=Path(a.file), options=keyword_import.ImportOptions(
                                               max_bytes=4 * 2**30))
    seconds = time.perf_counter() - began
    linked, library = _linked(factory, a.sector)  # untimed: what the import linked, and the library's size after
    engine.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": rss, "summary": report.summary(), "phases": report.phases,
                      "linked": linked, "library_rows": library}))


def _linked(factory, sector_id: int) -> tuple[int, int]:
    """(the sector's keywords linked to a library keyword, the library's rows)."""
    from sqlalchemy import func, select

    from db.models import Keywords, SeedKeyword
    from db.session import transaction

    with transaction(factory) as s:
        linked = s.scalar(select(func.count()).select_from(Keywords).where(
            Keywords.sector_id == sector_id, Keywords.seed_keyword_id.is_not(None)))
        return linked or 0, s.scalar(select(func.count()).select_from(SeedKeyword)) or 0


def _import(url: str, path: Path, ids: dict[str, int]) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.import_bench", "--child", "--url", url, "--file", str(path),
                           "--account", str(ids["account"]), "--site", str(ids["site"]),
                           "--sector", str(ids["sector"])], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare(url: str, *, industry: bool) -> dict[str, int]:
    from core import reference
    from core.identity import accounts
    from db import migrate
    from db.enums import AccountStatus
    from db.models import IndustrySector, Sector, Site
    from db.session import make_engine, make_session_factory, transaction

    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as s:
        reference.seed(s)
        acct = accounts.create_account_record(s, name="Bench", status=AccountStatus.active)  # no plan: no limit
        isec = s.query(IndustrySector).order_by(IndustrySector.id).first() if industry else None
        site = Site(account_id=acct.id, name="Bench site", slug="bench", industry_id=isec.industry_id if isec else None)
        s.add(site)
        s.flush()
        sector = Sector(account_id=acct.id, site_id=site.id, name="Bench", slug="bench",
                        industry_sector_id=isec.id if isec else None)
        s.add(sector)
        s.flush()
        ids = {"account": acct.id, "site": site.id, "sector": sector.id}
    engine.dispose()
    return ids


def _psql(url: str, *sql: str) -> float:
    u = make_url(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    cmd = ["/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
           "-U", u.username or "postgres", "-d", u.database, *(x for q in sql for x in ("-c", q))]
    began = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _reset(url: str) -> None:
    _psql(url, "TRUNCATE keywords CASCADE", "VACUUM ANALYZE keywords", "CHECKPOINT")  # the library stays


def _shaped(table: Path, ids: dict[str, int], folder: Path) -> Path:
    """The table-shaped file with this database's account/site/sector ids (rewritten untimed)."""
    out = folder / f"table_ids_{ids['account']}_{ids['site']}_{ids['sector']}_{table.name}"
    if not out.exists():
        prefix = f"{ids['account']},{ids['site']},{ids['sector']},"
        with open(table, encoding="utf-8") as fin, open(out, "w", encoding="utf-8") as fout:
            for line in fin:
                fout.write(prefix + line[6:])  # the rows start with "0,0,0,"
    return out


def bench_postgres(args: argparse.Namespace, src: Path, table: Path) -> None:
    url = scratch_db(args.url)
    try:
        ids = _prepare(url, industry=False)
        shaped = _shaped(table, ids, Path(args.data_dir))
        bare, ours, rss = float("inf"), float("inf"), 0.0
        for _ in range(args.rounds):  # alternate, keep each side's best: other load on the box favours neither
            _reset(url)
            bare = min(bare, _psql(url, f"\\copy keywords ({TABLE_COLUMNS}) FROM '{shaped}' WITH (FORMAT csv)"))
            _reset(url)
            result = _import(url, src, ids)
            ours, rss = min(ours, result["seconds"]), max(rss, result["rss_mb"])
        print(f"PostgreSQL, {args.rows:,} rows ({src.stat().st_size / 2**20:,.0f} MB CSV), best of {args.rounds}:")
        print(f"  psql \\copy into keywords (bare tool)  : {bare:7.1f} s")
        print(f"  core.planner.keyword_import (parse+validate+  : {ours:7.1f} s   {result['summary']}")
        print("    normalise+dedupe, COPY+merge)       " + ", ".join(f"{k} {v:.1f} s" for k, v in result["phases"].items()))
        print(f"  ratio ours/bare                       : {ours / bare:7.2f}   (target <= 1.50)")
        print(f"  client peak RSS                       : {rss:7.0f} MB (target < 500 MB)")
        if args.library:
            _library_run(args, url, src, ours)
    finally:
        drop_db(args.url, url)


def _library_run(args: argparse.Namespace, url: str, src: Path, unlinked: float) -> None:
    """The same file into a sector tied to an industry sector with a curated library (links, read-only)."""
    ids = _library_sector(url)
    seeds, curated = _curate(url, src, args.library_seeds, Path(args.data_dir))
    _reset(url)
    lib = _import(url, src, ids)
    print(f"  … into a sector whose industry sector has a curated library of {seeds:,} keywords of the file (imported "
          f"untimed by a platform admin in {curated:.1f} s):")
    print(f"      {lib['seconds']:.1f} s, {lib['rss_mb']:.0f} MB: COPY into a stage and one merge that links, "
          f"{lib['seconds'] / unlinked:.2f} × the unlinked import (COPY straight into keywords)")
    print(f"      {lib['linked']:,} keywords linked; library rows after: {lib['library_rows']:,} (never written)")


def _library_sector(url: str) -> dict[str, int]:
    """A second sector of the bench site, tied (with the site) to the first industry sector."""
    from db.models import IndustrySector, Sector, Site
    from db.session import make_engine, make_session_factory, transaction

    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        isec = s.query(IndustrySector).order_by(IndustrySector.id).first()
        site = s.query(Site).first()
        site.industry_id = isec.industry_id
        sector = Sector(account_id=site.account_id, site_id=site.id, name="Library", slug="library",
                        industry_sector_id=isec.id)
        s.add(sector)
        s.flush()
        ids = {"account": site.account_id, "site": site.id, "sector": sector.id}
    engine.dispose()
    return ids


def _seed_file(src: Path, seeds: int, folder: Path) -> Path:
    """The first `seeds` distinct keywords of the file, as a library file (the file's repeats left out)."""
    out = folder / f"library_{seeds}_{src.name}"
    if not out.exists():
        with open(src, encoding="utf-8", newline="") as fin, open(out, "w", encoding="utf-8", newline="") as fout:
            reader, writer = csv.reader(fin), csv.writer(fout)
            writer.writerow(next(reader))
            kept = 0
            for row in reader:
                if "  " in row[0]:  # a repeat in another spelling (see generate)
                    continue
                writer.writerow(row)
                kept += 1
                if kept == seeds:
                    break
    return out


def _curate(url: str, src: Path, seeds: int, folder: Path) -> tuple[int, float]:
    """A platform admin (the owner of a system account) imports the library file; (seed keywords, seconds)."""
    from core import tenancy
    from core.identity import accounts, auth
    from core.planner import library
    from db.enums import AccountStatus, Role
    from db.models import IndustrySector, SeedKeyword, User
    from db.session import make_engine, make_session_factory, transaction

    data = _seed_file(src, seeds, folder).read_bytes()
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as s:
        team = accounts.create_account_record(s, name="Platform team", status=AccountStatus.active, is_system=True)
        curator = User(account_id=team.id, email="curator@bench.example", role=Role.owner,
                       password_hash=auth.hash_password("bench-curator-2026"))
        s.add(curator)
        s.flush()
        admin = tenancy.actor_for(s, curator)
        isec = s.query(IndustrySector).order_by(IndustrySector.id).first()
        began = time.perf_counter()
        library.import_seeds(s, admin, industry_sector_id=isec.id, data=data, name="library.csv")
        seconds = time.perf_counter() - began
        total = s.query(SeedKeyword).filter(SeedKeyword.industry_sector_id == isec.id).count()
    engine.dispose()
    return total, seconds


def bench_sqlite(args: argparse.Namespace, src: Path) -> None:
    small = Path(args.data_dir) / f"semrush_like_head_{args.sqlite_rows}.csv"
    if not small.exists():
        with open(src, encoding="utf-8") as fin, open(small, "w", encoding="utf-8") as fout:
            for n, line in enumerate(fin):
                if n > args.sqlite_rows:
                    break
                fout.write(line)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        ids = _prepare(url, industry=True)
        seeds = _curate(url, small, args.library_seeds, Path(args.data_dir))[0] if args.library else 0
        result = _import(url, small, ids)
    where = (f"a sector whose industry sector has a curated library of {seeds:,} of its keywords" if seeds
             else "a sector with no library keywords to link")
    print(f"SQLite, {args.sqlite_rows:,} rows into {where}:")
    print(f"  core.planner.keyword_import                   : {result['seconds']:7.1f} s   (target < 10 s)   "
          f"{result['summary']}")
    if seeds:
        print(f"  linked to the library                 : {result['linked']:7,} keywords; library rows after: "
              f"{result['library_rows']:,} (never written)")
    print(f"  client peak RSS                       : {result['rss_mb']:7.0f} MB")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sqlite-rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--url", default=DEFAULT)
    ap.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "igny8_import_bench"))
    ap.add_argument("--no-library", dest="library", action="store_false",
                    help="skip the curated library: no extra PostgreSQL run, and SQLite imports with nothing to link")
    ap.add_argument("--library-seeds", type=int, default=50_000,
                    help="keywords of the curated library the library runs link to (default 50,000)")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    src, table = generate(args.rows, Path(args.data_dir))
    print(f"data: {src} ({time.perf_counter() - began:.0f} s to prepare)", flush=True)
    if not args.skip_postgres:
        bench_postgres(args, src, table)
    bench_sqlite(args, src)


if __name__ == "__main__":
    main()
