"""From 200 imported keywords to posts scheduled on the real WordPress, unattended: the settings and the run are
made with the CLI, `scheduler.py --once` works the run against the loopback OpenAI-compatible server, and the
posts land in the site's slots, none twice, charged within 10% of the forecast."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from core.billing import credits
from db.models import Account, Content, CreditTransaction
from tests.automation.conftest import make_world
from tests.fakes.wordpress import Admin, wordpress

ROOT = Path(__file__).resolve().parents[2]
SEMRUSH = ROOT.parent / "shared" / "data" / "semrush_kmt_wordpress_broad-match_us_2026-04-24.csv"


def _env(rt) -> dict:
    return {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
            "IGNY8_PUBLISH_POLL_SECONDS": "3600"}


def cli(rt, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=_env(rt), capture_output=True,
                          text=True, timeout=600)


def test_two_hundred_keywords_become_scheduled_posts_unattended(rt, pipeline, tmp_path):
    wp = wordpress()
    pipeline.words = 1000  # ideas ask for 1,000 words and the model writes them: what the forecast assumes
    w = make_world(rt, keywords=0, grant=20_000, wordpress=wp)
    marker = "e" + uuid.uuid4().hex[:8]
    lines = SEMRUSH.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:201]
    csv = tmp_path / "keywords.csv"
    csv.write_text("\n".join([head, *(f"{marker} {r}" for r in rows)]) + "\n", encoding="utf-8")
    a, s = str(w.account_id), str(w.site_id)
    out = cli(rt, "import-keywords", "--account", a, "--site", s, "--sector", str(w.sector_id), str(csv))
    assert out.returncode == 0, out.stderr
    out = cli(rt, "automation", "--account", a, "--site", s, "--set", "stage_1_batch_size=200",
              "stage_2_batch_size=4", "ideas_per_cluster=2", "stage_3_batch_size=8", "stage_4_batch_size=8",
              "stage_5_batch_size=8", "stage_6_batch_size=8", "stage_7_batch_size=8", "stage_8_batch_size=8",
              "auto_approve=on", "auto_publish=on", "within_stage_delay=0", "between_stage_delay=0",
              "credit_budget=5000")
    assert out.returncode == 0 and "stage_4_batch_size = 8" in out.stdout, out.stderr
    out = cli(rt, "run-automation", "--account", a, "--site", s, "--forecast", "--json")
    assert out.returncode == 0, out.stderr
    forecast = json.loads(out.stdout)
    assert [st["items"] for st in forecast["stages"]] == [200, 4, 8, 8, 8, 8, 8, 8]
    out = cli(rt, "run-automation", "--account", a, "--site", s, "--json")
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["status"] == "pending" and run["forecast_credits"] == forecast["credits"]
    done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once"], cwd=ROOT, env=_env(rt),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    out = cli(rt, "run", "--run", str(run["id"]), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "completed" and not result["failed_items"], result
    assert {k: v["done"] for k, v in result["stage_results"].items()} == {
        "1": 1, "2": 4, "3": 8, "4": 8, "5": 8, "6": 8, "7": 8, "8": 8}
    posts = Admin(wp).posts(marker)
    with rt.transaction() as sess:
        articles = list(sess.scalars(select(Content).where(Content.site_id == w.site_id)))
        charged = -sess.scalar(select(func.sum(CreditTransaction.amount)).where(
            CreditTransaction.account_id == w.account_id, CreditTransaction.amount < 0))
        assert credits.ledger_sum(sess, account_id=w.account_id) == sess.get(Account, w.account_id).credits
    assert len(posts) == 8 and len({p["slug"] for p in posts}) == 8  # the expected posts, none twice
    assert {p["status"] for p in posts} == {"future"}
    slots = {c.external_id: c.scheduled_publish_at for c in articles}
    for p in posts:  # each post at its slot of the site's publishing settings
        at = slots[str(p["id"])]
        assert datetime.fromisoformat(p["date_gmt"]) == at.replace(tzinfo=None, microsecond=0)
    print(f"forecast {forecast['credits']} credits, charged {charged}")
    assert charged == result["credits_used"]
    assert abs(charged - forecast["credits"]) <= 0.1 * forecast["credits"], (charged, forecast)
