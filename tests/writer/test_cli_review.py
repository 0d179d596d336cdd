"""The `review`, `comment` and `auto-approval` commands: in the caller's transaction, and once as a real process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core import runtime
from core.cli import main as cli
from core.errors import Conflict, NotFound, ValidationFailed
from core.writer import review
from db.enums import ContentStatus, SiteStatus
from db.models import Content, ContentComment
from tests import factories as f
from tests.writer.test_review import article, status_in_db, steps

ROOT = Path(__file__).resolve().parents[2]


def _cli(s, *argv: str) -> Any:
    args = cli.build_parser().parse_args(list(argv))
    return args.handler(s, args)


@pytest.fixture
def ws(session):
    return f.workspace(session)


def test_review_prints_the_step_and_records_it(ws):
    c = article(ws, title="Grinder “deluxe” *bold*")
    out = _cli(ws.s, "review", "--account", ws.acct.slug, "--content", str(c.id), "--to", "review")
    assert out == [f"Article #{c.id} “Grinder “deluxe” *bold*”: Submitted for review (draft → review)."]
    out = _cli(ws.s, "review", "--account", str(ws.acct.id), "--content", str(c.id), "--to", "draft",
               "--comment", " Add prices ")
    assert out == [f"Article #{c.id} “Grinder “deluxe” *bold*”: Sent back to draft (from review) (review → draft) "
                   "with the comment “Add prices”."]
    assert [(a, b, t, who) for a, b, t, who in steps(ws.s, c.id)] == [
        (ContentStatus.draft, ContentStatus.review, "", None), (ContentStatus.review, ContentStatus.draft,
                                                                 "Add prices", None)]
    assert review.history(ws.s, ws.actor, content_id=c.id)[0].who == "an operator"


def test_review_refusals_are_messages_and_write_nothing(ws):
    c = article(ws, status=ContentStatus.review)
    f.refused(ws.s, ValidationFailed, lambda: _cli(ws.s, "review", "--account", ws.acct.slug, "--content", str(c.id),
                                                   "--to", "draft"), match="needs one")
    live = article(ws, title="Live", status=ContentStatus.published, site_status=SiteStatus.published)
    f.refused(ws.s, Conflict, lambda: _cli(ws.s, "review", "--account", ws.acct.slug, "--content", str(live.id),
                                           "--to", "review"), match="“Live” is published")
    other = f.account(ws.s)
    f.refused(ws.s, NotFound, lambda: _cli(ws.s, "review", "--account", other.slug, "--content", str(c.id),
                                           "--to", "approved"))
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["review", "--account", ws.acct.slug, "--content", str(c.id), "--to",
                                       "published"])
    assert status_in_db(ws.s, c.id) == ContentStatus.review


def test_comment_command(ws):
    c = article(ws)
    out = _cli(ws.s, "comment", "--account", ws.acct.slug, "--content", str(c.id), "--text", "Check the [link](x)")
    assert out == [f"Commented on article #{c.id} “Best grinders”: “Check the [link](x)”."]
    assert steps(ws.s, c.id) == [(None, None, "Check the [link](x)", None)] and status_in_db(ws.s, c.id) == "draft"
    f.refused(ws.s, ValidationFailed, lambda: _cli(ws.s, "comment", "--account", ws.acct.slug, "--content",
                                                   str(c.id), "--text", " "), match="empty")


def test_auto_approval_command(ws):
    out = _cli(ws.s, "auto-approval", "--account", ws.acct.slug, "--site", ws.site.slug, "on")
    assert out[0].startswith(f"Auto-approval is on for site “{ws.site.name}”")
    assert review.auto_approval(ws.s, site_id=ws.site.id) is True
    out = _cli(ws.s, "auto-approval", "--account", ws.acct.slug, "--site", str(ws.site.id), "off")
    assert out[0].startswith("Auto-approval is off") and review.auto_approval(ws.s, site_id=ws.site.id) is False
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["auto-approval", "--account", ws.acct.slug, "--site", ws.site.slug, "maybe"])


def _run(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY=os.environ["IGNY8_SECRET_KEY"], IGNY8_DATA_DIR=str(tmp_path / "d"))
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_as_a_process_a_refusal_exits_2_and_a_step_is_committed(fresh_database, tmp_path):
    url = fresh_database()
    rt = runtime.start(url=url)
    try:
        with rt.transaction() as s:
            ws = f.workspace(s)
            cid, slug = article(ws, status=ContentStatus.review).id, ws.acct.slug
        refused = _run(url, tmp_path, "review", "--account", slug, "--content", str(cid), "--to", "draft")
        assert refused.returncode == 2 and "error: Say why in a comment" in refused.stderr
        done = _run(url, tmp_path, "review", "--account", slug, "--content", str(cid), "--to", "approved")
        assert done.returncode == 0 and "Approved (review → approved)." in done.stdout
        with rt.transaction() as s:
            assert s.scalar(select(Content.status).where(Content.id == cid)) == ContentStatus.approved
            assert s.scalars(select(ContentComment.to_status).where(ContentComment.content_id == cid)).all() == [
                ContentStatus.approved]
    finally:
        rt.engine.dispose()
