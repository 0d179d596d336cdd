"""`python -m core.cli queue-ideas / tasks` through core.cli.main.main on a fresh database of each backend: output,
filters, JSON, and refusals that exit 2 with a message and write nothing."""
from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core import config
from core.cli.main import main
from core.planner import clusters, ideas
from core.writer import tasks
from db.base import utcnow
from db.enums import Role, TaskStatus
from db.models import Account, Content, SiteUserAccess, Tasks
from tests import factories as f

TODAY = utcnow().date()


@pytest.fixture
def run(rt, monkeypatch, capsys):
    """main([...]) against the module's database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", rt.engine.url.render_as_string(hide_password=False))
    config.settings.cache_clear()

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    yield call
    config.settings.cache_clear()  # before monkeypatch puts the environment back


@pytest.fixture
def w(rt):
    """An account with one site and sector, its owner, an editor and a cluster with three new ideas."""
    with rt.transaction() as s:
        acct = f.account(s)
        owner = f.owner_actor(s, acct)
        site = f.site(s, acct)
        sector = f.sector(s, site)
        editor = f.user(s, acct, role=Role.editor)
        s.add(SiteUserAccess(account_id=acct.id, site_id=site.id, user_id=editor.id))
        cid = clusters.create(s, owner, site_id=site.id, sector_id=sector.id, name="Trail shoes").id
        idea_ids = [ideas.create(s, owner, cluster_id=cid, title=t).id for t in ("Alpha guide", "Beta", "Gamma")]
        return SimpleNamespace(slug=acct.slug, acct_id=acct.id, owner=owner, site_id=site.id, sector_id=sector.id,
                               editor=editor.email, editor_id=editor.id, cid=cid, idea_ids=idea_ids)


def _tasks(rt, w) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(Tasks).where(Tasks.account_id == w.acct_id))


def test_queue_ideas_prints_the_task_ids_and_a_second_queue_is_refused(rt, w, run):
    a, b, _ = w.idea_ids
    code, out, err = run("queue-ideas", "--account", w.slug, "--ideas", f"{a}, {b},{a}")
    assert (code, err) == (0, "")
    with rt.transaction() as s:
        made = list(s.scalars(select(Tasks.id).where(Tasks.idea_id.in_([a, b])).order_by(Tasks.id)))
    assert len(made) == 2
    assert out == f"Queued 2 idea(s) as writer tasks.\nTask ids: {made[0]}, {made[1]}\n"
    code, out, err = run("queue-ideas", "--account", w.slug, "--ideas", str(b))
    assert code == 2 and out == "" and "queued or completed already: “Beta”" in err
    code, _, err = run("queue-ideas", "--account", w.slug, "--ideas", "1,x")
    assert code == 2 and err == "error: --ideas takes idea ids separated by commas, not “x”.\n"
    assert _tasks(rt, w) == 2


def test_tasks_lists_filters_sorts_and_prints_json(rt, w, run):
    code, out, _ = run("queue-ideas", "--account", w.slug, "--ideas", ",".join(map(str, w.idea_ids)))
    assert code == 0
    with rt.transaction() as s:
        alpha, beta, gamma = s.scalars(select(Tasks).where(Tasks.account_id == w.acct_id).order_by(Tasks.id)).all()
        tasks.assign(s, w.owner, task_ids=[alpha.id], user_id=w.editor_id)
        tasks.set_due_date(s, w.owner, task_ids=[alpha.id], due_date=TODAY - timedelta(days=1))
        tasks.set_due_date(s, w.owner, task_ids=[beta.id], due_date=TODAY + timedelta(days=5))
        gamma.status = TaskStatus.completed
        s.add(Content(account_id=w.acct_id, site_id=w.site_id, sector_id=w.sector_id, task_id=gamma.id,
                      title="Gamma"))
        s.flush()
        content_id = s.scalar(select(Content.id).where(Content.task_id == gamma.id))
        ids = (alpha.id, beta.id, gamma.id)
    code, out, err = run("tasks", "--account", w.slug)  # the only site and sector
    lines = out.splitlines()
    assert (code, err) == (0, "") and lines[0].split() == ["id", "title", "cluster", "status", "assignee", "due",
                                                           "content_id", "overlap"]
    assert [int(line.split()[0]) for line in lines[1:]] == list(reversed(ids))
    assert lines[1].split() == [str(ids[2]), "Gamma", "Trail", "shoes", "completed", "-", "-", str(content_id), "-"]

    def listed(*extra: str) -> list[dict]:
        code, out, err = run("tasks", "--account", w.slug, "--site", str(w.site_id), "--sector", str(w.sector_id),
                             "--json", *extra)
        assert (code, err) == (0, ""), err
        return json.loads(out)
    first = listed("--search", "ALPHA")
    assert first == [{"id": ids[0], "title": "Alpha guide", "cluster": "Trail shoes", "status": "queued",
                      "assignee": w.editor, "due": (TODAY - timedelta(days=1)).isoformat(), "content_id": None,
                      "overlap": None}]
    cases = {("--status", "completed"): [ids[2]], ("--assignee", w.editor): [ids[0]],
             ("--assignee", "none"): [ids[2], ids[1]], ("--due-before", TODAY.isoformat()): [ids[0]],
             ("--overdue",): [ids[0]], ("--has-content", "yes"): [ids[2]], ("--has-content", "no"): [ids[1], ids[0]],
             ("--sort", "due"): [ids[0], ids[1], ids[2]], ("--sort", "title", "--limit", "2"): [ids[0], ids[1]]}
    for extra, want in cases.items():
        assert [r["id"] for r in listed(*extra)] == want, extra
    code, out, _ = run("tasks", "--account", w.slug, "--search", "nothing like it")
    assert (code, out) == (0, "(none)\n")


def test_tasks_refusals_exit_2_with_the_message(rt, w, run):
    def refused(*extra: str) -> str:
        code, out, err = run("tasks", "--account", w.slug, *extra)
        assert code == 2 and out == "" and err.startswith("error: ")
        return err
    assert "--due-before takes a date as YYYY-MM-DD, not “soon”" in refused("--due-before", "soon")
    with rt.transaction() as s:
        stranger = f.user(s, f.account(s)).email
        other = f.site(s, s.get(Account, w.acct_id))
        f.sector(s, other)
    assert f"There is no user {stranger} in account {w.slug}" in refused("--site", str(w.site_id), "--assignee", stranger)
    assert "Choose one with --site" in refused()
    assert "There is no sector “nope”" in refused("--site", str(w.site_id), "--sector", "nope")
    assert "There is no account “missing”" in run("tasks", "--account", "missing")[2]
