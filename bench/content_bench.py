"""The writer's article list and editor on 100,000 articles of one sector: keyset pages at any depth, and opening
an article with 20 revisions (fields, history, a diff).

    python3 dev.py bench content   [--rows 100000] [--repeat 15] [--postgres postgresql+psycopg://…]

Fills a temporary SQLite file (and, with --postgres, a scratch database on that server) with --rows articles in one
sector by bulk INSERTs (statuses and publishing statuses mixed, a fifth without a cluster), then ANALYZE, and times
(median of --repeat, warm cache) core.writer.content.list_content: the first page, a page at depth ~rows/2 (its
cursor built from the id there, as a walk of next_after would end) and the last page; a page filtered by status, a
title search, and counts. Then one article saved 19 times after its generation (20 revisions, ~1,500 words):
get_article + list_revisions + diff of revisions 1 and 20, together and each (target: under 300 ms together).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import reference, tenancy  # noqa: E402
from core.common.paging import Cursor  # noqa: E402
from core.identity import accounts  # noqa: E402
from core.writer import content, revisions  # noqa: E402
from db import migrate, scratch  # noqa: E402
from db.enums import AccountStatus, ContentStatus, Role, SiteStatus  # noqa: E402
from db.models import Clusters, Content, Sector, Site, User  # noqa: E402
from db.session import make_engine, make_session_factory  # noqa: E402

PAGE = content.PAGE
BATCH = 10_000
REVISIONS = 20
TARGET_MS = 300
WORDS = ("coffee grinder burr espresso kettle filter roast beans latte crema pour over brew ratio water scale "
         "timer milk frother tamper manual automatic grind size flat conical stepless stepped retention noise "
         "price guide review best cheap home barista").split()
# workflow status → share, and the publishing status an article of that status has
STATUSES = ((ContentStatus.draft, 0.45, SiteStatus.not_published), (ContentStatus.review, 0.15,
            SiteStatus.not_published), (ContentStatus.approved, 0.15, SiteStatus.scheduled),
            (ContentStatus.published, 0.25, SiteStatus.published))


def _world(s: Session) -> tuple[tenancy.Actor, int, int, int, list[int]]:
    """An account, an owner (a user, so revisions carry an e-mail), a site, a sector and 200 clusters."""
    reference.seed(s)
    acct = accounts.create_account_record(s, name="Bench", slug="bench", plan_slug="agency",
                                          status=AccountStatus.active)
    user = User(account_id=acct.id, email="owner@bench.example", password_hash="-", role=Role.owner)
    site = Site(account_id=acct.id, name="Bench site", slug="bench")
    s.add_all([user, site])
    s.flush()
    sector = Sector(account_id=acct.id, site_id=site.id, name="Coffee", slug="coffee")
    s.add(sector)
    s.flush()
    clusters = [Clusters(account_id=acct.id, site_id=site.id, sector_id=sector.id, name=f"Cluster {i}")
                for i in range(200)]
    s.add_all(clusters)
    s.flush()
    actor = tenancy.Actor(user.id, Role.owner, acct.id, None, user.email)
    return actor, acct.id, site.id, sector.id, [c.id for c in clusters]


def _rows(n: int, where: dict, cluster_ids: list[int]):
    """Article rows in batches: short bodies (the list never reads them), ids rising with time."""
    rnd = random.Random(42)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    statuses, weights = [s[0] for s in STATUSES], [s[1] for s in STATUSES]
    site_of = {s[0]: s[2] for s in STATUSES}
    batch = []
    for i in range(n):
        words = rnd.sample(WORDS, 6)
        title = " ".join(words).capitalize() + f" {i}"
        status = rnd.choices(statuses, weights)[0]
        at = start + timedelta(minutes=5 * i)
        body = "<h2>" + title + "</h2>" + "".join(f"<p>{' '.join(rnd.sample(WORDS, 12))}.</p>" for _ in range(4))
        batch.append(where | {"title": title, "content_html": body, "word_count": 55, "meta_title": title[:60],
                              "meta_description": " ".join(words) + ".", "primary_keyword": words[0],
                              "secondary_keywords": words[1:3], "status": status, "site_status": site_of[status],
                              "cluster_id": None if rnd.random() < 0.2 else rnd.choice(cluster_ids),
                              "created_at": at, "updated_at": at})
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _article_body(rnd: random.Random, n_blocks: int = 30) -> list[str]:
    return [" ".join(rnd.choices(WORDS, k=50)).capitalize() + "." for _ in range(n_blocks)]


def _html(blocks: list[str]) -> str:
    return "".join(f"<h2>{b[:40]}</h2>" if i % 6 == 0 else f"<p>{b}</p>" for i, b in enumerate(blocks))


def _edited_article(s: Session, actor: tenancy.Actor, where: dict) -> int:
    """An article generated (revision 1) and saved 19 times, each save rewriting one block (some the title too)."""
    rnd = random.Random(7)
    blocks = _article_body(rnd)
    c = Content(**where, title="The complete grinder guide", content_html=_html(blocks),
                word_count=0, meta_title="Grinder guide", meta_description="How to choose a grinder.",
                primary_keyword="grinder", secondary_keywords=["burr grinder"])
    s.add(c)
    s.flush()
    revisions.record_generated(s, actor, content=c)
    for n in range(2, REVISIONS + 1):
        blocks[rnd.randrange(len(blocks))] = " ".join(rnd.choices(WORDS, k=50)).capitalize() + "."
        art = content.get_article(s, actor, content_id=c.id)
        content.save(s, actor, content_id=c.id, base_version=art.version,
                     title=art.title if n % 5 else f"The complete grinder guide, take {n}", content_html=_html(blocks),
                     meta_title=art.meta_title, meta_description=art.meta_description,
                     primary_keyword=art.primary_keyword, secondary_keywords=art.secondary_keywords,
                     note=f"Edit {n}")
    return c.id


def fill(factory, rows: int) -> tuple[tenancy.Actor, int, int, float]:
    """The world, --rows articles and the edited article; returns (actor, sector id, edited id, seconds)."""
    began = time.perf_counter()
    with factory.begin() as s:
        actor, acct, site, sector, cluster_ids = _world(s)
        where = {"account_id": acct, "site_id": site, "sector_id": sector}
        for batch in _rows(rows - 1, where, cluster_ids):
            s.execute(insert(Content), batch)
        edited = _edited_article(s, actor, where)
    return actor, sector, edited, time.perf_counter() - began


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure(factory, actor: tenancy.Actor, sector: int, edited: int, repeat: int) -> dict[str, float]:
    """The figures, in ms, by label."""
    out: dict[str, float] = {}
    with factory() as s:
        low, high, n = s.execute(select(func.min(Content.id), func.max(Content.id), func.count(Content.id))
                                 .where(Content.sector_id == sector)).one()
        half = s.scalar(select(Content.id).where(Content.sector_id == sector).order_by(Content.id.desc())
                        .offset(n // 2).limit(1))
        deep, last = Cursor("newest", True, half, half), Cursor("newest", True, low + PAGE, low + PAGE)

        def listed(after: Cursor | None = None, **kw) -> content.Page:
            return content.list_content(s, actor, sector_id=sector, after=after, **kw)

        assert listed().rows[0].id == high and listed(last).next_after is None and len(listed(last).rows) == PAGE
        depth = (n // 2) // PAGE + 1
        for label, fn in {
            "list_content, page 1 with the total": lambda: listed(),
            "list_content, page 1 without the total": lambda: listed(with_total=False),
            f"list_content, page {depth:,} (keyset cursor, as the screen asks: no total)":
                lambda: listed(deep, with_total=False),
            f"list_content, last page ({(n + PAGE - 1) // PAGE:,}, no total)": lambda: listed(last, with_total=False),
            "  the total alone (counted once per filter)": lambda: s.scalar(content._filtered(
                select(func.count(Content.id)), actor, sector_id=sector, status=None, site_status=None, search=None)),
            "list_content status=review, page 1": lambda: listed(status="review"),
            "list_content status=review, from the middle id": lambda: listed(deep, status="review"),
            "list_content title search 'espresso 4', page 1": lambda: listed(search="espresso 4"),
            "counts (per status and publishing status)": lambda: content.counts(s, actor, sector_id=sector),
        }.items():
            out[label] = _median_ms(fn, repeat)

        def editor() -> None:
            content.get_article(s, actor, content_id=edited)
            revisions.list_revisions(s, actor, content_id=edited)
            revisions.diff(s, actor, content_id=edited, a=1, b=REVISIONS)

        out[f"get_article + list_revisions + diff 1→{REVISIONS}"] = _median_ms(editor, repeat)
        out["  get_article"] = _median_ms(lambda: content.get_article(s, actor, content_id=edited), repeat)
        out[f"  list_revisions ({REVISIONS})"] = _median_ms(
            lambda: revisions.list_revisions(s, actor, content_id=edited), repeat)
        d = revisions.diff(s, actor, content_id=edited, a=1, b=REVISIONS)
        out[f"  diff 1→{REVISIONS} ({len(d.fields)} fields, {len(d.body)} lines)"] = _median_ms(
            lambda: revisions.diff(s, actor, content_id=edited, a=1, b=REVISIONS), repeat)
    return out


def run(url: str, kind: str, rows: int, repeat: int) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        actor, sector, edited, took = fill(factory, rows)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE") if kind == "SQLite" else text("VACUUM ANALYZE"))
        print(f"content: {rows:,} articles in one sector ({kind}), filled in {took:.1f} s; median of {repeat}, warm")
        for label, ms in measure(factory, actor, sector, edited, repeat).items():
            note = ""
            if label.startswith("get_article +"):
                note = f"(target < {TARGET_MS} ms: {'met' if ms < TARGET_MS else 'MISSED'})"
            print(f"  {label:<52}: {ms:8.2f} ms  {note}".rstrip())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench content", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--postgres", metavar="URL", help="also on a scratch database of this PostgreSQL server")
    args = ap.parse_args(argv)
    rows = max(args.rows, 4 * PAGE)
    with tempfile.TemporaryDirectory(prefix="igny8_content_bench_") as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite3", "SQLite", rows, args.repeat)
    if args.postgres:
        url = scratch.create_database(args.postgres, "igny8_bench")
        try:
            run(url, "PostgreSQL", rows, args.repeat)
        finally:
            scratch.drop_database(args.postgres, url)


if __name__ == "__main__":
    main(sys.argv[1:])
