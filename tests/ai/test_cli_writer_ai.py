"""`python -m core.cli generate-content` through core.cli.main.main, against the loopback OpenAI-compatible server on
each backend: chosen tasks or a sector's queue, the estimate with its skipped lines, a failing task that exits 2 while
the others are saved, retrying a batch's failures, JSON lines, and refused option combinations."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from core import config
from core.cli.main import main
from db.base import utcnow
from db.models import Account, Clusters, Tasks, WriterBatch
from tests.ai.helpers import balance, configure
from tests.ai.test_bulk import FAULTS, UNLIMITED, Script, articles, charges, make_task, make_tasks, title_of


@pytest.fixture
def run(rt, monkeypatch, capsys):
    """main([...]) against the module's database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", rt.engine.url.render_as_string(hide_password=False))
    config.settings.cache_clear()

    def call(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["generate-content", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    yield call
    config.settings.cache_clear()  # before monkeypatch puts the environment back


def _slug(rt, world) -> str:
    with rt.transaction() as s:
        return s.get(Account, world.account_id).slug


def _batches(rt) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(WriterBatch))


def test_a_failing_task_exits_2_the_others_are_saved_and_retry_writes_it(rt, fake, world, run):
    configure(rt, fake, openai_config=FAULTS)
    ids = make_tasks(rt, world, 3)
    titles = [title_of(rt, t) for t in ids]
    script = fake.chat_responder = Script({titles[1]: "500"})
    slug = _slug(rt, world)

    code, out, err = run("--account", slug, "--tasks", ",".join(map(str, ids)))
    batch_id = max_batch(rt)
    lines = out.splitlines()
    assert code == 2 and len(lines) == 3
    assert lines[0].startswith(f"#{ids[0]} done: {titles[0]} — Wrote “{titles[0]}” (")
    assert lines[1].startswith(f"#{ids[1]} failed: {titles[1]} — The AI provider openai keeps failing (HTTP 500")
    assert lines[1].endswith("Nothing was charged.") and lines[2].startswith(f"#{ids[2]} done: ")
    paid = 1000 - balance(rt, world)
    assert err == (f"error: Batch #{batch_id}: Wrote 2 article(s) for {paid:,} credits; 1 failed, 0 skipped. Retry "
                   f"the failed ones with --batch {batch_id} --retry-failed.\n")
    assert set(articles(rt, ids)) == {ids[0], ids[2]} and charges(rt, world) == 2

    script.faults.clear()
    before = Counter(script.calls)
    code, out, err = run("--account", slug, "--batch", str(batch_id), "--retry-failed", "--json")
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]  # every line is one JSON object
    assert [(r["task_id"], r["status"]) for r in rows[:3]] == [(t, "done") for t in ids]
    assert all(r["content_id"] and r["credits"] > 0 for r in rows[:3])
    summary = rows[3]
    assert summary == {"batch_id": batch_id, "status": "completed", "done": 3, "failed": 0, "skipped": 0,
                       "credits": 1000 - balance(rt, world), "message": f"Batch #{batch_id}: Wrote 3 article(s) for "
                       f"{1000 - balance(rt, world):,} credits; 0 failed, 0 skipped."}
    assert {t: script.calls[t] - before[t] for t in titles} == {titles[0]: 0, titles[1]: 1, titles[2]: 0}
    assert set(articles(rt, ids)) == set(ids) and charges(rt, world) == 3

    posts, paid = len(fake.posts("/chat/completions")), 1000 - balance(rt, world)
    code, out, err = run("--account", slug, "--batch", str(batch_id))  # finished: shown, nothing done again
    assert (code, err) == (0, "") and out.splitlines()[-1] == summary["message"]
    assert len(fake.posts("/chat/completions")) == posts and 1000 - balance(rt, world) == paid
    code, out, err = run("--account", slug, "--batch", str(batch_id), "--retry-failed")
    assert (code, out, err) == (2, "", f"error: Batch #{batch_id} has no failed tasks to retry.\n")


def max_batch(rt) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.max(WriterBatch.id)))


def test_all_queued_estimate_lists_the_skipped_then_writes_the_rest(rt, fake, world, run):
    configure(rt, fake, openai_config=UNLIMITED)
    fake.chat_responder = Script()
    good = make_tasks(rt, world, 2)
    orphan = make_tasks(rt, world, 1, start=3)[0]
    with rt.transaction() as s:
        cid = s.get(Tasks, orphan).cluster_id
        s.execute(update(Clusters).where(Clusters.id == cid).values(deleted_at=utcnow()))
    twins = [make_task(rt, world, "Composting kitchen scraps in a flat", "composting kitchen scraps"),
             make_task(rt, world, "Composting kitchen scraps in flats", "composting kitchen scraps")]
    slug, sector, batches = _slug(rt, world), str(world.sector_id), _batches(rt)

    code, out, err = run("--account", slug, "--all-queued", "--sector", sector, "--estimate")
    lines = out.splitlines()
    assert (code, err) == (0, "") and len(lines) == 4
    assert lines[0].startswith("Estimated cost: up to ") and lines[0].endswith(
        "credits for 2 article(s) on gpt-4o-mini, 4 at a time. Balance: 1,000 credits. 3 chosen task(s) will be "
        "skipped (listed below).")
    assert lines[1].startswith(f"skipped #{orphan}: {title_of(rt, orphan)} — its cluster “")
    assert lines[2].startswith(f"skipped #{twins[0]}: Composting kitchen scraps in a flat — collides with the queued "
                               "task “Composting kitchen scraps in flats” (")
    assert lines[3].startswith(f"skipped #{twins[1]}: ")
    assert fake.posts("/chat/completions") == [] and _batches(rt) == batches  # an estimate writes no batch

    code, out, err = run("--account", slug, "--all-queued", "--sector", sector)  # the only site: no --site
    lines = out.splitlines()
    assert (code, err) == (0, "") and _batches(rt) == batches + 1
    assert [line.split(":")[0] for line in lines[:-1]] == [f"#{good[0]} done", f"#{good[1]} done",
                                                           f"#{orphan} skipped", f"#{twins[0]} skipped",
                                                           f"#{twins[1]} skipped"]
    assert lines[-1].startswith(f"Batch #{max_batch(rt)}: Wrote 2 article(s) for ") and lines[-1].endswith(
        "credits; 0 failed, 3 skipped.")
    assert set(articles(rt, good + [orphan] + twins)) == set(good)

    code, out, err = run("--account", slug, "--all-queued", "--sector", sector)  # what is left cannot be written
    assert code == 2 and out == "" and err.startswith("error: None of the 3 chosen task(s) can be written — “")
    assert _batches(rt) == batches + 1

    code, out, err = run("--account", slug, "--all-queued", "--sector", sector, "--include-overlapping")
    assert (code, err) == (0, "") and out.splitlines()[-1].startswith(f"Batch #{max_batch(rt)}: Wrote 2 article(s) "
                                                                      "for ")
    assert out.splitlines()[-1].endswith("credits; 0 failed, 1 skipped.")
    assert set(articles(rt, good + [orphan] + twins)) == set(good + twins)


def test_bad_option_combinations_are_refused_with_a_message(rt, fake, world, run):
    configure(rt, fake, openai_config=UNLIMITED)
    fake.chat_responder = Script()
    task_id = make_tasks(rt, world, 1)[0]
    slug, batches = _slug(rt, world), _batches(rt)
    cases = [((), "Give exactly one of --tasks ID,ID, --all-queued (with --sector) or --batch N."),
             (("--tasks", str(task_id), "--batch", "1"),
              "Give exactly one of --tasks ID,ID, --all-queued (with --sector) or --batch N."),
             (("--all-queued", "--tasks", str(task_id)),
              "Give exactly one of --tasks ID,ID, --all-queued (with --sector) or --batch N."),
             (("--tasks", f"{task_id},x"), "--tasks takes task ids separated by commas, not “x”."),
             (("--tasks", ","), "Say which tasks to write: --tasks ID,ID, or --all-queued with --sector."),
             (("--tasks", str(task_id), "--retry-failed"),
              "--retry-failed goes with --batch N: the batch whose failed tasks to write again."),
             (("--batch", "1", "--estimate"),
              "--estimate goes with --tasks or --all-queued; a batch was estimated when it was made."),
             (("--batch", "987654"), "WriterBatch #987654 was not found."),
             (("--all-queued", "--sector", "no-such-sector"), None)]
    for args, message in cases:
        code, out, err = run("--account", slug, *args)
        assert code == 2 and out == "" and err.startswith("error: "), (args, err)
        if message is not None:
            assert err == f"error: {message}\n", args
    with pytest.raises(SystemExit) as parse_error:  # argparse's own refusal: exit 2 with its usage message
        run("--account", slug, "--batch", "seven")
    assert parse_error.value.code == 2
    assert fake.posts("/chat/completions") == [] and _batches(rt) == batches and articles(rt, [task_id]) == {}

    with rt.transaction() as s:  # an empty queue is not an error
        s.execute(update(Tasks).where(Tasks.id == task_id).values(deleted_at=utcnow()))
    code, out, err = run("--account", slug, "--all-queued")  # the only site and sector: neither option needed
    assert (code, out, err) == (0, "No queued tasks without an article in this sector: nothing to write.\n", "")
