"""`python -m core.cli cluster` as a real subprocess: the preview writes nothing, --apply maps the keywords."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from core import runtime, tenancy
from core.billing import credits
from core.planner import clusters, keyword_edits
from db.models import Clusters, ContentIdeas, Keywords
from tests import factories as f
from tests.ai.helpers import API_KEY, configure
from tests.fakes.openai_server import FakeAI

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["trail running shoes", "best trail running shoes", "trail running shoes women", "coffee grinder",
         "best coffee grinder", "manual coffee grinder", "xylophone lessons"]


def _cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    # the same secret key as this process: the provider key it stored must decrypt in the CLI
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY=os.environ["IGNY8_SECRET_KEY"], IGNY8_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_cluster_preview_then_apply(fresh_database, tmp_path):
    url = fresh_database()
    rt = runtime.start(url=url)
    try:
        with rt.transaction() as s:
            acct = f.account(s)
            site = f.site(s, acct)
            sector = f.sector(s, site, name="Gear")
            actor = tenancy.operator_actor(acct.id)
            for i, t in enumerate(TEXTS):
                keyword_edits.create_keyword(s, actor, site_id=site.id, sector_id=sector.id, keyword=t, volume=100 - i)
            refs = (acct.slug, site.slug, sector.slug)
        where = ("--account", refs[0], "--site", refs[1], "--sector", "gear")
        preview = _cli(url, tmp_path, "cluster", *where)
        assert preview.returncode == 0, preview.stderr
        assert "2 clusters, 6 of 7 keywords clustered, 14.3% unclustered" in preview.stdout
        assert "Nothing was written" in preview.stdout
        with rt.transaction() as s:
            assert s.scalars(select(Clusters).where(Clusters.account_id == acct.id)).all() == []
        applied = _cli(url, tmp_path, "cluster", *where, "--granularity", "0.5", "--apply")
        assert applied.returncode == 0, applied.stderr
        assert "Applied: Mapped 6 keyword(s): 2 new cluster(s), 0 existing cluster(s) extended." in applied.stdout
        with rt.transaction() as s:
            made = {c.name: c.keywords_count for c in s.scalars(select(Clusters).where(Clusters.account_id == acct.id))}
            loose = s.scalars(select(Keywords.keyword).where(Keywords.sector_id == sector.id,
                                                             Keywords.cluster_id.is_(None))).all()
        assert made == {"trail running shoes": 3, "coffee grinder": 3} and loose == ["xylophone lessons"]
        again = _cli(url, tmp_path, "cluster", *where)  # only one new keyword is left
        assert again.returncode == 2 and "needs at least two" in again.stderr
    finally:
        rt.engine.dispose()


def test_generate_ideas_runs_the_ai_engine(fresh_database, tmp_path):
    url = fresh_database()
    rt = runtime.start(url=url)
    try:
        with FakeAI(api_key=API_KEY) as fake:
            configure(rt, fake)
            with rt.transaction() as s:
                acct = f.account(s)
                owner = f.owner_actor(s, acct)
                credits.grant(s, tenancy.operator_actor(acct.id), amount=100, kind="purchase", reason="cli test")
                site = f.site(s, acct)
                sector = f.sector(s, site)
                cid = clusters.create(s, owner, site_id=site.id, sector_id=sector.id, name="Grinders").id
                slug = acct.slug
            fake.reply_json({"ideas": [{"title": "Best grinders", "description": "Roundup", "content_type": "post",
                                        "content_structure": "listicle", "target_keywords": ["grinder"],
                                        "estimated_word_count": 1200}]})
            done = _cli(url, tmp_path, "generate-ideas", "--account", slug, "--cluster", str(cid), "--count", "1")
        assert done.returncode == 0, done.stderr
        assert "Cluster “Grinders”: Estimated cost: up to 2 credits" in done.stdout
        assert "Created 1 idea(s) for cluster “Grinders”. 2 credit(s) used." in done.stdout
        with rt.transaction() as s:
            assert s.scalars(select(ContentIdeas.idea_title).where(ContentIdeas.keyword_cluster_id == cid)).all() == [
                "Best grinders"]
    finally:
        rt.engine.dispose()
