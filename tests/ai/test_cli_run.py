"""`python -m core.cli run-ai` as a real subprocess against the loopback OpenAI-compatible server: any AI function
on given objects, estimates only, idempotent reruns, and a failing object that does not stop the others."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from db.models import Account, Content, ContentIdeas, CreditUsageLog
from tests import factories as f
from tests.ai.helpers import World, balance, cluster, task

ROOT = Path(__file__).resolve().parent.parent.parent
ARTICLE = {"content_html": "<h2>Grip</h2><p>Lugs bite into mud.</p>", "meta_title": "Trail shoes",
           "meta_description": "How to pick trail shoes.", "primary_keyword": "trail shoes",
           "secondary_keywords": ["grip"], "word_count": 6}


def cli(rt, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    # the same secret key as this process: the provider key it stored must decrypt in the CLI
    env.update(DATABASE_URL=rt.engine.url.render_as_string(hide_password=False),
               IGNY8_SECRET_KEY=os.environ["IGNY8_SECRET_KEY"], IGNY8_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _slug(rt, w) -> str:
    with rt.transaction() as s:
        return s.get(Account, w.account_id).slug


def _contents(rt, task_ids) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(Content).where(Content.task_id.in_(task_ids)))


def test_generate_content_on_several_tasks_one_failing(rt, fake, world, tmp_path):
    tasks = [task(rt, world), task(rt, world, title="Trail shoes for winter")]
    foreign = _foreign_task(rt)  # another account's task: refused for this account, nothing charged
    fake.reply_json(ARTICLE).reply_json(ARTICLE)
    before = balance(rt, world)
    ids = ",".join(map(str, [tasks[0], foreign, tasks[1]]))
    done = cli(rt, tmp_path, "run-ai", "generate_content", "--account", _slug(rt, world), "--on", ids, "--job-key",
               "batch-1", "--json")
    assert done.returncode == 2 and done.stderr == (
        "error: 1 of 3 generate_content jobs failed (see above); the others are saved.\n")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["object_id"], r["ok"]) for r in rows] == [(tasks[0], True), (foreign, False), (tasks[1], True)]
    assert "not found" in rows[1]["message"].lower()
    charged = sum(r["credits"] for r in rows if r["ok"])
    assert charged > 0 and balance(rt, world) == before - charged
    assert _contents(rt, tasks) == 2 and all(r["created"]["content"] for r in rows if r["ok"])

    again = cli(rt, tmp_path, "run-ai", "generate_content", "--account", _slug(rt, world), "--on",
                f"{tasks[0]},{tasks[1]}", "--job-key", "batch-1")  # the same job key: nothing is done twice
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(done before; nothing charged again)") == 2
    assert balance(rt, world) == before - charged and _contents(rt, tasks) == 2
    assert len(fake.posts("/chat/completions")) == 2


def _foreign_task(rt) -> int:
    with rt.transaction() as s:
        other = f.account(s)
        site = f.site(s, other)
        w = World(other.id, f.owner_actor(s, other), site.id, f.sector(s, site).id)
    return task(rt, w, title="Not yours")


def test_estimate_only_calls_nothing_and_ideas_take_inputs(rt, fake, world, tmp_path):
    cid = cluster(rt, world)
    slug, before = _slug(rt, world), balance(rt, world)
    est = cli(rt, tmp_path, "run-ai", "generate_ideas", "--account", slug, "--on", str(cid), "--set", "count=2",
              "--estimate")
    assert est.returncode == 0, est.stderr
    assert est.stdout.startswith(f"#{cid}: estimate up to ") and f"(balance {before:,})" in est.stdout
    assert fake.posts("/chat/completions") == [] and balance(rt, world) == before

    idea = {"title": "Trail shoes compared", "description": "Side by side", "content_type": "post",
            "content_structure": "comparison", "target_keywords": ["trail shoes"], "estimated_word_count": 1500}
    fake.reply_json({"ideas": [idea, {**idea, "title": "Trail shoe care"}]})
    done = cli(rt, tmp_path, "run-ai", "generate_ideas", "--account", slug, "--set", f"cluster_id={cid}", "count=2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"#{cid}: ") and "content_ideas" in done.stdout
    with rt.transaction() as s:
        titles = s.scalars(select(ContentIdeas.idea_title).where(ContentIdeas.keyword_cluster_id == cid)
                           .order_by(ContentIdeas.idea_title)).all()
        logs = s.scalar(select(func.count()).select_from(CreditUsageLog)
                        .where(CreditUsageLog.account_id == world.account_id))
    assert titles == ["Trail shoe care", "Trail shoes compared"] and logs == 1
    assert balance(rt, world) < before


def test_bad_inputs_are_refused_before_any_call(rt, fake, world, tmp_path):
    slug = _slug(rt, world)
    cases = [(["generate_ideas", "--on", "1", "--set", "count"], "Give inputs as name=value (got “count”)."),
             (["generate_ideas"], "Say which objects to work on: --on with cluster_id values."),
             (["generate_ideas", "--on", "1,x"], "--on takes cluster_id values separated by commas, not “x”."),
             (["generate_ideas", "--on", "1", "--set", "cluster_id=2"],
              "Give the objects either with --on or as cluster_id=…, not both.")]
    for args, message in cases:
        done = cli(rt, tmp_path, "run-ai", *args, "--account", slug)
        assert (done.returncode, done.stderr) == (2, f"error: {message}\n")
    bad = cli(rt, tmp_path, "run-ai", "generate_ideas", "--account", slug, "--on", str(cluster(rt, world)), "--set",
              "count=99")
    assert bad.returncode == 2 and "count" in bad.stdout and "failed" in bad.stdout
    assert fake.posts("/chat/completions") == []
