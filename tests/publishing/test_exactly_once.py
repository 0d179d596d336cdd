"""Exactly once, with real processes and the real WordPress: three scheduler processes publishing 300 due articles
make 300 posts, none twice (PostgreSQL); a scheduler killed with SIGKILL after WordPress made a post but before it
recorded it leaves a post the restarted scheduler adopts instead of making a second one; faults mid-batch fail only
the articles they hit, with WordPress's message, and nothing is published twice when they are retried."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import runtime
from core.publishing import connection, events, jobs, service
from db.enums import ContentStatus, PublishStatus, SiteStatus
from db.models import Content, PublishingRecord
from tests import races
from tests.publishing.conftest import article, make_world

ROOT = Path(__file__).resolve().parents[2]


def _due(rt, w, n: int, *, with_images: bool = False) -> list[int]:
    past = datetime.now(UTC) - timedelta(minutes=1)
    ids = [article(rt, w, title=f"Due {k}", with_images=with_images) for k in range(n)]
    with rt.transaction() as s:
        for c in s.scalars(select(Content).where(Content.id.in_(ids))):
            c.site_status, c.scheduled_publish_at = SiteStatus.scheduled, past
    return ids


def _publisher(url: str, owner: str, go) -> list[tuple[int, bool, str]]:
    rt = runtime.start(url=url)
    go()
    done = jobs.publish_due(rt, owner=owner, limit=1000)
    rt.engine.dispose()
    return [(o.content_id, o.ok, o.post_id) for o in done]


@pytest.mark.pg_only
def test_three_scheduler_processes_publish_300_due_articles_once_each(pg_runtime, wp, admin):
    rt = pg_runtime
    w = make_world(rt, wp)
    ids = _due(rt, w, 300)
    url = rt.engine.url.render_as_string(hide_password=False)
    outs = races.run_together(_publisher, [(url, f"proc-{k}") for k in range(3)], timeout=600)
    done = [o for out in outs for o in out]
    assert sorted(cid for cid, _, _ in done) == sorted(ids)  # each article was worked on by exactly one process
    assert all(ok for _, ok, _ in done)
    assert all(len(out) > 0 for out in outs)  # the three really shared the work
    posts = admin.posts(w.marker)
    assert len(posts) == 300 and len({p["slug"] for p in posts}) == 300
    with rt.transaction() as s:
        stored = s.execute(select(Content.external_id, Content.site_status).where(Content.id.in_(ids))).all()
        assert {st for _, st in stored} == {SiteStatus.published}
        assert {e for e, _ in stored} == {str(p["id"]) for p in posts}
        assert s.scalar(select(func.count()).select_from(PublishingRecord).where(
            PublishingRecord.content_id.in_(ids), PublishingRecord.status == PublishStatus.published)) == 300


def _scheduler(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "--once"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_scheduler_killed_mid_publish_leaves_a_post_the_restart_adopts(rt, wp, admin, proxy, tmp_path):
    w = make_world(rt, wp, url=proxy.url)
    ids = _due(rt, w, 3, with_images=True)
    held, release = threading.Event(), threading.Event()
    proxy.hold = {r"^POST /wp-json/wp/v2/posts$": release}  # WordPress makes the post; the answer waits
    proxy.on_held = lambda line: held.set()
    env = {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
           "IGNY8_PUBLISH_LEASE_SECONDS": "5", "IGNY8_DATA_DIR": os.environ["IGNY8_DATA_DIR"]}
    first = _scheduler(env)
    try:
        assert held.wait(120), "the scheduler never created a post"
        first.send_signal(signal.SIGKILL)  # between WordPress making the post and us recording it
        first.wait(30)
    finally:
        proxy.hold = {}
        release.set()
    assert first.returncode == -signal.SIGKILL
    (made,) = admin.posts(w.marker)  # the post was made…
    with rt.transaction() as s:  # …but not recorded: the batch it claimed is still "publishing" under a dead lease
        stuck = s.scalars(select(Content).where(Content.site_status == SiteStatus.publishing,
                                                Content.id.in_(ids))).all()
        assert len(stuck) == 3 and all(c.external_id == "" for c in stuck)
        (stuck_id,) = [c.id for c in stuck if c.external_metadata.get("wp_slug") == made["slug"]]
    second = _scheduler(env)  # the restart: waits out nothing (the lease is short here), takes over and adopts
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while True:
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        with rt.transaction() as s:
            left = s.scalar(select(func.count()).select_from(Content).where(
                Content.id.in_(ids), Content.site_status != SiteStatus.published))
        if left == 0 or datetime.now(UTC) > deadline:
            break
        second = _scheduler(env)  # the stuck one's lease had not run out yet: run another round
    posts = admin.posts(w.marker)
    assert len(posts) == 3 and len({p["slug"] for p in posts}) == 3  # nothing twice, nothing lost
    with rt.transaction() as s:
        c = s.get(Content, stuck_id)
        assert c.site_status == SiteStatus.published and c.external_id in {str(p["id"]) for p in posts}
        records = s.scalars(select(PublishingRecord).where(PublishingRecord.content_id == stuck_id)
                            .order_by(PublishingRecord.id)).all()
        assert [r.status for r in records] == [PublishStatus.failed, PublishStatus.published]
        assert "stopped before recording" in records[0].error_message and records[1].metadata_["adopted"]
        adopted = events.list_events(s, w.actor, site_id=w.site_id, filters=events.Filter(action="adopt"))
        assert [e.content_id for e in adopted.rows] == [stuck_id]
    media = admin.call("GET", "/wp/v2/media", params={"search": w.marker, "per_page": 100}).json()
    assert len(media) == 9  # 3 articles × 3 images: the killed attempt's uploads were kept, not made again


def test_wordpress_failing_mid_batch_fails_only_those_articles_and_a_retry_publishes_them_once(rt, wp, admin, proxy):
    w = make_world(rt, wp, url=proxy.url)
    ids = _due(rt, w, 4)
    done = service.run_due(rt, owner="worker-a", limit=2, sleep=lambda s: None)  # two go out …
    proxy.fail = {r"^POST /wp-json/wp/v2/posts$": 100}  # … then every post creation answers 500
    done += service.run_due(rt, owner="worker-a", limit=10, sleep=lambda s: None)
    ok = [o for o in done if o.ok]
    failed = [o for o in done if not o.ok]
    assert len(ok) == 2 and len(failed) == 2
    assert all("WordPress answered 500" in o.error and "attempts" in o.error for o in failed)
    with rt.transaction() as s:
        rows = {c.id: c for c in s.scalars(select(Content).where(Content.id.in_(ids)))}
        assert sorted(c.site_status.value for c in rows.values()) == ["failed", "failed", "published", "published"]
        assert all("500" in rows[o.content_id].publish_error for o in failed)
    proxy.fail = {}
    for o in failed:  # the screen's "Publish now" on each failed one
        again = service.publish(rt, w.actor, content_id=o.content_id)
        assert again.ok, again.error
    posts = admin.posts(w.marker)
    assert len(posts) == 4 and len({p["slug"] for p in posts}) == 4


def test_a_create_that_times_out_while_wordpress_still_makes_the_post_is_not_sent_twice(rt, wp, admin, proxy):
    w = make_world(rt, wp, url=proxy.url)
    with rt.transaction() as s:  # a short timeout for this site (the integration's HTTP policy)
        link = connection.integration(s, w.actor, site_id=w.site_id)
        link.config_json = {**link.config_json, "http": {"timeout_s": 1, "max_attempts": 3, "backoff_base_s": 0.1}}
    cid = article(rt, w, with_images=False)
    proxy.hang = {r"^POST /wp-json/wp/v2/posts$": 3}  # forwarded after the client gave up: WordPress makes it late
    out = service.publish(rt, w.actor, content_id=cid)
    assert not out.ok and "did not answer in time" in out.error and "looks for it" in out.error
    proxy.hang = {}
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not admin.posts(w.marker) and datetime.now(UTC) < deadline:  # the late post arrives
        threading.Event().wait(0.5)
    (late,) = admin.posts(w.marker)
    again = service.publish(rt, w.actor, content_id=cid)  # the retry looks first and adopts it
    assert again.ok and again.adopted and again.post_id == str(late["id"])
    assert len(admin.posts(w.marker)) == 1
    assert sum(line.startswith("POST /wp-json/wp/v2/posts") and line.endswith("/posts") for line in proxy.seen) == 1


def test_wordpress_down_and_a_revoked_password_say_so_and_lose_nothing(rt, wp, admin, proxy):
    w = make_world(rt, wp, url=proxy.url)
    (cid,) = _due(rt, w, 1)
    proxy.down = True
    (out,) = service.run_due(rt, owner="worker-b", limit=5, sleep=lambda s: None)
    assert not out.ok and "Could not reach WordPress" in out.error
    proxy.down = False
    password, app_uuid = admin.new_app_password()
    with rt.transaction() as s:
        connection.set_wordpress(s, w.actor, site_id=w.site_id, app_password=password)
    admin.revoke(app_uuid)
    out = service.publish(rt, w.actor, content_id=cid)
    assert not out.ok and "did not accept the login" in out.error and "revoked" in out.error
    with rt.transaction() as s:
        c = s.get(Content, cid)
        assert c.site_status == SiteStatus.failed and "connection doctor" in c.publish_error
        assert c.status == ContentStatus.approved  # still approved: it can go out once the login is fixed
    assert admin.posts(w.marker) == []
