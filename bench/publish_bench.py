"""Publishing to the loopback WordPress (../shared/tools/wordpress-up.sh; WP_URL, WP_USER, WP_APP_PASSWORD):

1. throughput — articles with a featured image published by core.publishing.service.publish, against the bare REST
   calls (the same upload and post creation made directly with httpx, article by article in the same run): articles
   per minute and the ratio of the times (target ≤ 1.3);
2. lag — the real `scheduler.py` process (poll 600 s, so only its wake-up at the slot counts) and articles scheduled
   a few seconds apart: seconds from each slot to its post being recorded live (target < 10 s);
3. exactly once — --processes scheduler processes publishing --articles due articles at once, then a scheduler
   killed with SIGKILL mid-run and restarted: posts made, posts made twice, articles left unpublished.

    python3 dev.py bench publish [--articles 300] [--processes 3] [--throughput 30] [--url postgresql+psycopg://…]

Default database: a fresh SQLite file (part 3 then runs the processes on SQLite); --url names a PostgreSQL server,
on which a scratch database is made and dropped.
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IGNY8_SECRET_KEY", "bench-secret-key")

import httpx  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from core import runtime, tenancy  # noqa: E402
from core.identity import accounts  # noqa: E402
from core.publishing import connection, jobs, service  # noqa: E402
from core.writer import images  # noqa: E402
from db import scratch  # noqa: E402
from db.enums import AccountStatus, ContentStatus, ImageType, SiteStatus  # noqa: E402
from db.models import Content, PublishingRecord, Sector, Site  # noqa: E402
from tests.fakes.wordpress import WP, Admin  # noqa: E402

TARGET_RATIO, TARGET_LAG = 1.3, 10.0
BODY = "<h2>Part</h2><p>" + "A sentence of the benchmark. " * 60 + "</p>"
EXCERPT = "The benchmark article, in one line."


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 450), color).save(out, "PNG")
    return out.getvalue()


def _world(rt, wp: WP, marker: str):
    with rt.transaction() as s:
        acct = accounts.create_account_record(s, name=f"Publish bench {marker}", slug=f"pb-{marker}",
                                              plan_slug="agency", status=AccountStatus.active)
        actor = tenancy.system_actor(acct.id)
        site = Site(account_id=acct.id, name="Bench site", slug=f"bench-{marker}")
        s.add(site)
        s.flush()
        sector = Sector(account_id=acct.id, site_id=site.id, name="Bench", slug="bench")
        s.add(sector)
        s.flush()
        owner = tenancy.operator_actor(acct.id)
        connection.set_wordpress(s, owner, site_id=site.id, url=wp.url, username=wp.user, app_password=wp.password)
        return owner, actor, acct.id, site.id, sector.id


def _articles(rt, owner, where, marker: str, n: int, *, image: bool, due: datetime | None = None) -> list[int]:
    acct_id, site_id, sector_id = where
    ids = []
    with rt.transaction() as s:
        for k in range(n):
            c = Content(account_id=acct_id, site_id=site_id, sector_id=sector_id, title=f"Bench {k} {marker}",
                        content_html=BODY, meta_description=EXCERPT,
                        status=ContentStatus.approved)
            if due is not None:
                c.site_status, c.scheduled_publish_at = SiteStatus.scheduled, due
            s.add(c)
            s.flush()
            if image:
                images.upload(s, owner, content_id=c.id, data=_png("teal"), filename="hero.png",
                              image_type=ImageType.featured.value, alt_text="Bench picture")
            ids.append(c.id)
    return ids


def throughput(rt, wp: WP, n: int) -> None:
    marker = "t" + uuid.uuid4().hex[:8]
    owner, _, *where = _world(rt, wp, marker)
    ids = _articles(rt, owner, where, marker, n, image=True)
    picture = _png("teal")
    bare_s = ours_s = 0.0
    with httpx.Client(base_url=wp.url + "/wp-json", auth=(wp.user, wp.password), timeout=60) as http:
        for k, cid in enumerate(ids):
            began = time.perf_counter()  # the bare calls: upload (alt text in the query), create the same post
            media = http.post("/wp/v2/media", content=picture, params={"alt_text": "Bench picture"},
                              headers={"Content-Type": "image/png",
                                       "Content-Disposition": f'attachment; filename="bare-{k}.png"'}).json()
            post = http.post("/wp/v2/posts", json={"title": f"Bare {k} {marker}", "status": "publish",
                                                   "content": BODY, "excerpt": EXCERPT,
                                                   "featured_media": media["id"], "slug": f"bare-{marker}-{k}"})
            assert post.status_code == 201, post.text[:300]
            bare_s += time.perf_counter() - began
            began = time.perf_counter()
            out = service.publish(rt, owner, content_id=cid)
            assert out.ok, out.error
            ours_s += time.perf_counter() - began
    ratio = ours_s / bare_s
    print(f"throughput: {n} articles with a featured image — ours {ours_s:.2f} s ({n / ours_s * 60:.0f}/min), bare "
          f"REST {bare_s:.2f} s ({n / bare_s * 60:.0f}/min): ratio {ratio:.2f} (target ≤ {TARGET_RATIO}) "
          f"{'OK' if ratio <= TARGET_RATIO else 'OVER'}", flush=True)


def _scheduler(url: str, **env: str) -> subprocess.Popen:
    full = {**os.environ, "DATABASE_URL": url, "IGNY8_PUBLISH_POLL_SECONDS": "600",
            "IGNY8_SCHEDULER_INTERVAL_SECONDS": "600", **env}
    return subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=ROOT, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_published(rt, ids: list[int], seconds: float) -> int:
    """Wait until every article is published (or `seconds` pass); how many are not."""
    deadline = time.monotonic() + seconds
    while True:
        with rt.transaction() as s:
            left = s.scalar(select(func.count()).select_from(Content).where(
                Content.id.in_(ids), Content.site_status != SiteStatus.published))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.25)


def lag(rt, wp: WP, url: str, count: int = 5) -> None:
    marker = "l" + uuid.uuid4().hex[:8]
    owner, _, *where = _world(rt, wp, marker)
    first = datetime.now(UTC) + timedelta(seconds=12)
    ids = _articles(rt, owner, where, marker, count, image=True)
    slots = {cid: first + timedelta(seconds=4 * k) for k, cid in enumerate(ids)}
    with rt.transaction() as s:
        for cid, at in slots.items():
            service.schedule(s, owner, content_id=cid, at=at)
    proc = _scheduler(url)
    try:
        _wait_published(rt, ids, 120)
    finally:
        proc.terminate()
        proc.wait(30)
    with rt.transaction() as s:
        done = dict(s.execute(select(PublishingRecord.content_id, PublishingRecord.published_at).where(
            PublishingRecord.content_id.in_(ids), PublishingRecord.published_at.is_not(None))).all())
    lags = [((done[c] if done[c].tzinfo else done[c].replace(tzinfo=UTC)) - slots[c]).total_seconds()
            for c in ids if c in done]
    worst = max(lags) if lags else float("inf")
    print(f"lag: {len(lags)} of {count} articles live after their slot — median {statistics.median(lags):.2f} s, "
          f"worst {worst:.2f} s (target < {TARGET_LAG:.0f} s) {'OK' if worst < TARGET_LAG else 'OVER'}", flush=True)


def _publisher(url: str, owner: str, start) -> int:
    rt = runtime.start(url=url)
    start.wait()
    done = jobs.publish_due(rt, owner=owner, limit=10_000)
    rt.engine.dispose()
    return sum(o.ok for o in done)


def _count(rt, admin: Admin, marker: str, ids: list[int]) -> tuple[int, int]:
    """Posts carrying the marker, and how many of them are second posts of an article (a slug not its own: WordPress
    gives a repeated slug a "-2")."""
    with rt.transaction() as s:
        ours = {c.external_metadata.get("wp_slug") for c in s.scalars(select(Content).where(Content.id.in_(ids)))}
    posts = admin.posts(marker)
    return len(posts), sum(p["slug"] not in ours for p in posts)


def exactly_once(rt, wp: WP, url: str, *, articles: int, processes: int) -> None:
    admin = Admin(wp)
    marker = "x" + uuid.uuid4().hex[:8]
    owner, _, *where = _world(rt, wp, marker)
    ids = _articles(rt, owner, where, marker, articles, image=False, due=datetime.now(UTC) - timedelta(minutes=1))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        start = manager.Event()
        pending = [pool.apply_async(_publisher, (url, f"bench-{k}", start)) for k in range(processes)]
        time.sleep(3)  # let every process start and connect
        began = time.perf_counter()
        start.set()
        shares = [p.get(timeout=1800) for p in pending]
        took = time.perf_counter() - began
    made, twice = _count(rt, admin, marker, ids)
    with rt.transaction() as s:
        left = s.scalar(select(func.count()).select_from(Content).where(
            Content.id.in_(ids), Content.site_status != SiteStatus.published))
    print(f"exactly once: {processes} processes, {articles} due articles in {took:.1f} s "
          f"({articles / took * 60:.0f}/min; shares {shares}) → {made} posts, {twice} made twice, {left} left "
          f"unpublished", flush=True)
    marker = "k" + uuid.uuid4().hex[:8]
    owner, _, *where = _world(rt, wp, marker)
    ids = _articles(rt, owner, where, marker, 200, image=False, due=datetime.now(UTC) - timedelta(minutes=1))
    victim = _scheduler(url, IGNY8_PUBLISH_LEASE_SECONDS="5")
    while _wait_published(rt, ids, 0) > 180:  # mid-run: twenty are out, more are in flight
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    time.sleep(6)  # its leases run out
    again = _scheduler(url, IGNY8_PUBLISH_LEASE_SECONDS="5")
    left = _wait_published(rt, ids, 300)
    again.terminate()
    again.wait(30)
    made, twice = _count(rt, admin, marker, ids)
    with rt.transaction() as s:
        adopted = s.scalar(select(func.count()).select_from(PublishingRecord).where(
            PublishingRecord.content_id.in_(ids), PublishingRecord.status == "failed"))
    print(f"kill -9: 200 due articles, a scheduler killed after 20 were out and a new one started → {made} posts, "
          f"{twice} made twice, {left} left unpublished ({adopted} attempts the killed process never recorded)",
          flush=True)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench publish")
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--throughput", type=int, default=30, help="articles in the throughput part")
    ap.add_argument("--url", default=None, help="a PostgreSQL server URL (default: a SQLite file)")
    args = ap.parse_args(argv)
    wp = WP(os.environ.get("WP_URL", "").rstrip("/"), os.environ.get("WP_USER", ""),
            os.environ.get("WP_APP_PASSWORD", ""))
    if not (wp.url and wp.user and wp.password):
        print("publish: WP_URL, WP_USER and WP_APP_PASSWORD are not set: eval \"$(../shared/tools/wordpress-up.sh)\" "
              "first. Skipped.")
        return
    tmp = tempfile.mkdtemp(prefix="igny8-publish-bench-")
    os.environ.setdefault("IGNY8_DATA_DIR", tmp)
    url = scratch.create_database(args.url, "igny8_publish_bench") if args.url else f"sqlite:///{tmp}/bench.sqlite3"
    rt = runtime.start(url=url)
    try:
        print(f"database: {rt.engine.dialect.name}; WordPress {wp.url}", flush=True)
        throughput(rt, wp, args.throughput)
        lag(rt, wp, url)
        exactly_once(rt, wp, url, articles=args.articles, processes=args.processes)
    finally:
        rt.engine.dispose()
        if args.url:
            scratch.drop_database(args.url, url)


if __name__ == "__main__":
    main(sys.argv[1:])
