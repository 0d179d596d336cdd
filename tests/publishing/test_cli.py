"""The publishing commands, run as `python -m core.cli …` processes against the real loopback WordPress."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from db.enums import ContentStatus, SiteStatus
from db.models import Content
from tests.publishing.conftest import article, make_world

ROOT = Path(__file__).resolve().parents[2]


def cli(rt, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False), **env}
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=300)


def test_connect_check_sync_and_publish_from_the_command_line(rt, wp, admin):
    w = make_world(rt, wp, url="https://placeholder.example", timezone="America/New_York")
    a, s = str(w.acct_id), str(w.site_id)
    out = cli(rt, "connect-wordpress", "--account", a, "--site", s, "--url", wp.url, "--user", wp.user,
              "--app-password-env", "WP_PW_FOR_TEST", WP_PW_FOR_TEST=wp.password)
    assert out.returncode == 0, out.stderr
    assert wp.password not in out.stdout and "••••" in out.stdout
    out = cli(rt, "wordpress-doctor", "--account", a, "--site", s)
    assert out.returncode == 0, out.stderr
    assert "[ok  ] Login: Logged in as" in out.stdout and "[warn] Timezone" in out.stdout
    assert "Verdict: warning." in out.stdout
    out = cli(rt, "sync-taxonomy", "--account", a, "--site", s)
    assert out.returncode == 0 and "categories" in out.stdout, out.stderr
    now_cid = article(rt, w, title="Now", with_images=False)
    out = cli(rt, "publish", "--account", a, "--content", str(now_cid), "--now")
    assert out.returncode == 0, out.stderr
    assert f"Article #{now_cid}: published — post " in out.stdout
    later = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    later_cid = article(rt, w, title="Later", with_images=False)
    out = cli(rt, "publish", "--account", a, "--content", str(later_cid), "--at", later.isoformat())
    assert out.returncode == 0 and "WordPress status future" in out.stdout, out.stderr + out.stdout
    (post,) = [p for p in admin.posts(w.marker) if "later" in p["slug"]]
    assert post["status"] == "future" and post["date_gmt"] == later.replace(tzinfo=None).isoformat()


def test_slots_and_schedule_in_site_time_and_refusals_exit_2(rt, wp):
    w = make_world(rt, wp, timezone="Asia/Kolkata")
    a, s = str(w.acct_id), str(w.site_id)
    out = cli(rt, "slots", "--account", a, "--site", s, "--days", "7", "--json")
    assert out.returncode == 0, out.stderr
    assert '"site time"' in out.stdout and "IST" in out.stdout
    ids = [article(rt, w, title=f"Queued {k}", with_images=False) for k in range(2)]
    out = cli(rt, "schedule", "--account", a, "--site", s, "--dry-run")
    assert out.returncode == 0 and out.stdout.count("planned") == 2, out.stderr
    with rt.transaction() as db:
        assert {db.get(Content, i).site_status for i in ids} == {SiteStatus.not_published}
    out = cli(rt, "schedule", "--account", a, "--site", s)
    assert out.returncode == 0 and out.stdout.count("scheduled") == 2
    with rt.transaction() as db:
        assert {db.get(Content, i).site_status for i in ids} == {SiteStatus.scheduled}
    draft = article(rt, w, title="Draft", status=ContentStatus.draft, with_images=False)
    out = cli(rt, "publish", "--account", a, "--content", str(draft))
    assert out.returncode == 2 and "only approved articles are published" in out.stderr
    out = cli(rt, "publish", "--account", a, "--content", str(ids[0]), "--at", "2027-01-01T09:00")
    assert out.returncode == 2 and "has no timezone" in out.stderr
    out = cli(rt, "connect-wordpress", "--account", a, "--site", s, "--url", wp.url, "--user", wp.user,
              "--app-password", "wrong wrong wrong wrong")
    assert out.returncode == 0
    out = cli(rt, "wordpress-doctor", "--account", a, "--site", s)
    assert out.returncode == 2 and "[FAIL] Login" in out.stderr and "fix:" in out.stderr
