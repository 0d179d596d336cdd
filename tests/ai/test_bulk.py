"""Bulk article generation (core.ai.bulk) on both backends, through the real openai client against the loopback fake:
the estimate and what it skips, faults of some tasks while the others are saved and charged, the provider's
concurrency limit, retries, reruns and resumes that never pay twice, cancelling, refusals, and two processes racing
for one batch (PostgreSQL)."""
from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core import runtime, tenancy
from core.ai import bulk, engine
from core.billing import credits
from core.errors import AccessDenied, InsufficientCredits, NotFound, ValidationFailed
from db.base import utcnow
from db.enums import ItemStatus, Role, RunStatus
from db.models import (
    Account,
    Clusters,
    Content,
    ContentRevision,
    CreditTransaction,
    Site,
    SiteUserAccess,
    Tasks,
    User,
    WriterBatch,
    WriterBatchItem,
)
from tests import factories as f
from tests import races
from tests.ai.helpers import World, balance, cluster, configure
from tests.fakes.openai_server import Reply, completion

# Unrelated topics (lexical and MiniLM cosine < 0.2 between any two): the overlap guard flags none of them.
TOPICS = [("Sourdough starter feeding schedule", "sourdough starter"),
          ("Replacing a bicycle chain at home", "bicycle chain"),
          ("Choosing a mortgage broker", "mortgage broker"),
          ("Repotting orchids without shock", "orchid repotting"),
          ("Python decorators explained", "python decorators"),
          ("Winter tyres for small cars", "winter tyres"),
          ("Teaching a puppy to sit", "puppy training"),
          ("Loft insulation materials compared", "loft insulation"),
          ("A week of hiking in Iceland", "iceland hiking"),
          ("Tuning a classical guitar", "guitar tuning"),
          ("Filing a tax return as a freelancer", "freelancer tax return"),
          ("Knitting a first scarf", "scarf knitting")]
TITLE = re.compile(r"about “(.+?)”")
UNLIMITED = {"rpm": 100_000}  # the tests make hundreds of calls a minute; the default 60 rpm would queue them
FAULTS = {**UNLIMITED, "max_concurrency": 3, "timeout_s": 1.0, "max_attempts": 2}


def article(title: str) -> dict:
    return {"content_html": f"<h2>{title}</h2><p>Everything a reader needs to know about {title.lower()}.</p>",
            "meta_title": title[:60], "meta_description": f"A short guide: {title}.", "primary_keyword": title.lower(),
            "secondary_keywords": ["guide"]}


class Script:
    """The fake's chat_responder: answers each request by the task title its prompt asks about (the calls of a
    batch arrive concurrently, in no fixed order), counting calls per title."""

    def __init__(self, faults: dict[str, str] | None = None, *, delay: float = 0.0,
                 on_call: Any = None):
        self.faults = dict(faults or {})
        self.delay = delay
        self.on_call = on_call
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, body: dict) -> Reply:
        title = TITLE.search(body["messages"][-1]["content"]).group(1)
        with self._lock:
            self.calls[title] += 1
            fault = self.faults.get(title)
        if self.on_call:
            self.on_call(title)
        error = {"error": {"message": "fake error", "type": "server_error", "code": None}}
        if fault == "429":
            return Reply(status=429, body=error)
        if fault == "500":
            return Reply(status=500, body=error)
        if fault == "timeout":  # beyond FAULTS' 1 s client timeout
            return Reply(body=completion(json.dumps(article(title))), delay=1.6)
        if fault == "malformed":
            return Reply(body=completion('{"content_html": "<p>unfinished'))
        if fault == "truncated":
            return Reply(body=completion(json.dumps(article(title))[:40], finish_reason="length"))
        return Reply(body=completion(json.dumps(article(title))), delay=self.delay)


def make_task(rt, w: World, title: str, keyword: str, *, word_count: int = 300) -> int:
    cid = cluster(rt, w, name=title, kws=(title.lower(),))
    with rt.transaction() as s:
        t = Tasks(account_id=w.account_id, site_id=w.site_id, sector_id=w.sector_id, title=title,
                  description=f"A guide to {keyword}", cluster_id=cid, keywords=f"{keyword}, guide",
                  word_count=word_count)
        s.add(t)
        s.flush()
        return t.id


def make_tasks(rt, w: World, n: int, *, start: int = 0) -> list[int]:
    return [make_task(rt, w, title, kw) for title, kw in TOPICS[start:start + n]]


def title_of(rt, task_id: int) -> str:
    with rt.transaction() as s:
        return s.get(Tasks, task_id).title


def estimate_of(rt, w: World, task_id: int) -> int:
    with rt.transaction() as s:
        return engine.estimate(s, w.actor, function="generate_content", task_id=task_id).credits


def create(rt, w: World, task_ids: list[int], **kw) -> int:
    with rt.transaction() as s:
        return bulk.create_batch(s, w.actor, sector_id=w.sector_id, task_ids=task_ids, **kw).id


def view(rt, w: World, batch_id: int) -> bulk.BatchView:
    with rt.transaction() as s:
        return bulk.get_batch(s, w.actor, batch_id=batch_id)


def charges(rt, w: World) -> int:
    """Ledger rows that took credits (the test grant is the only other row)."""
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.account_id == w.account_id, CreditTransaction.amount < 0))


def articles(rt, task_ids: list[int]) -> dict[int, tuple[int, list[int]]]:
    """task id → (content id, its revision numbers) of the articles written for these tasks."""
    with rt.transaction() as s:
        rows = s.execute(select(Content.task_id, Content.id).where(Content.task_id.in_(task_ids))).all()
        return {task_id: (cid, list(s.scalars(select(ContentRevision.number).where(
            ContentRevision.content_id == cid).order_by(ContentRevision.number)))) for task_id, cid in rows}


def batch_rows(rt) -> tuple[int, int]:
    with rt.transaction() as s:
        return (s.scalar(select(func.count()).select_from(WriterBatch)),
                s.scalar(select(func.count()).select_from(WriterBatchItem)))


def other_world(rt) -> World:
    with rt.transaction() as s:
        acct = f.account(s)
        site = f.site(s, acct)
        w = World(acct.id, f.owner_actor(s, acct), site.id, f.sector(s, site).id)
        credits.grant(s, tenancy.operator_actor(acct.id), amount=1000, kind="purchase", reason="test credits")
        return w


def wait_for_the_fake(fake, timeout: float = 5.0) -> None:
    """Until every request the fake took has been answered (a timed-out one is still asleep on the server)."""
    deadline = time.monotonic() + timeout
    while any(not r.finished for r in fake.requests) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- the estimate ----------------------------------------------------------------------------------------------------

def test_estimate_sums_the_tasks_and_says_why_the_others_are_skipped(rt, fake, world):
    a, b, has_article, orphan, busy = make_tasks(rt, world, 5)
    written_title = title_of(rt, has_article)
    with rt.transaction() as s:
        s.add(Content(account_id=world.account_id, site_id=world.site_id, sector_id=world.sector_id,
                      task_id=has_article, title=written_title, content_html="<p>x</p>", word_count=1))
        # clusters.delete refuses a cluster that has writer tasks; a task can still end up on a deleted cluster
        # (deleted before the task was tied to it, or by a restore race), so the row is changed directly.
        cid = s.get(Tasks, orphan).cluster_id
        s.execute(update(Clusters).where(Clusters.id == cid).values(deleted_at=utcnow()))
    running = create(rt, world, [busy])
    foreign = make_tasks(rt, other_world(rt), 1, start=6)[0]
    # overlaps: a task whose title an article has already, and two near-identical tasks
    collides = make_task(rt, world, "Espresso grind size for beginners", "espresso grind size")
    with rt.transaction() as s:
        s.add(Content(account_id=world.account_id, site_id=world.site_id, sector_id=world.sector_id,
                      title="Espresso grind size for beginners", primary_keyword="espresso grind size",
                      content_html="<p>x</p>", word_count=1))
    twin1 = make_task(rt, world, "Composting kitchen scraps in a flat", "composting kitchen scraps")
    twin2 = make_task(rt, world, "Composting kitchen scraps in flats", "composting kitchen scraps")
    chosen = [a, b, has_article, orphan, busy, foreign, collides, twin1, twin2, a]  # a repeated id counts once

    with rt.transaction() as s:
        est = bulk.estimate_batch(s, world.actor, task_ids=chosen)
    assert (est.runnable, est.credits) == (2, estimate_of(rt, world, a) + estimate_of(rt, world, b))
    assert est.credits > 0 and est.balance == balance(rt, world) == 1000 and est.affordable
    assert (est.model, est.concurrency) == ("gpt-4o-mini", 4)  # no max_concurrency configured: the default
    reasons = {x.task_id: x.reason for x in est.excluded}
    assert list(reasons) == [foreign, has_article, orphan, busy, collides, twin1, twin2]  # not found: first
    assert reasons[has_article].startswith("it has an article already (content #")
    assert reasons[orphan].startswith("its cluster “Repotting orchids without shock” was deleted: give the task another")
    assert reasons[busy] == f"batch #{running} is writing it already"
    assert reasons[foreign] == "it was not found (deleted, or on a site you cannot see)"
    assert reasons[collides].startswith("collides with the article “Espresso grind size for beginners” (")
    assert reasons[twin1].startswith("collides with the queued task “Composting kitchen scraps in flats” (")
    assert reasons[twin2].startswith("collides with the queued task “Composting kitchen scraps in a flat” (")
    assert all(r.endswith("(tick “Also write tasks that collide” to write it anyway)")
               for r in (reasons[collides], reasons[twin1], reasons[twin2]))
    assert {x.title for x in est.excluded if x.task_id == foreign} == {f"Task #{foreign}"}  # its title is not shown
    assert est.message == (f"Estimated cost: up to {est.credits:,} credits for 2 article(s) on gpt-4o-mini, 4 at a "
                           "time. Balance: 1,000 credits. 7 chosen task(s) will be skipped (listed below).")

    with rt.transaction() as s:
        wide = bulk.estimate_batch(s, world.actor, task_ids=chosen, include_overlapping=True)
    assert wide.runnable == 5 and [x.task_id for x in wide.excluded] == [foreign, has_article, orphan, busy]
    assert wide.credits == sum(estimate_of(rt, world, t) for t in (a, b, collides, twin1, twin2))
    assert fake.posts("/chat/completions") == [] and balance(rt, world) == 1000  # an estimate calls nothing


def test_bad_ids_and_too_many_tasks_are_refused(rt, fake, world):
    cases = [([], "Choose the tasks to write first."), (["7x"], "Task ids are whole numbers, not “7x”."),
             ([True], "Task ids are whole numbers, not “True”."),
             (list(range(1, bulk.MAX_TASKS + 2)), f"{bulk.MAX_TASKS + 1:,} tasks were chosen; one batch writes at "
              f"most {bulk.MAX_TASKS:,}. Narrow the filter or run several batches.")]
    for ids, message in cases:
        with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:
            bulk.estimate_batch(s, world.actor, task_ids=ids)
        assert str(refused.value) == message
        with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:
            bulk.create_batch(s, world.actor, sector_id=world.sector_id, task_ids=ids)
        assert str(refused.value) == message
    with rt.transaction() as s:  # MAX_TASKS exactly is allowed (none of them exist here)
        est = bulk.estimate_batch(s, world.actor, task_ids=list(range(10**9, 10**9 + bulk.MAX_TASKS)))
    assert est.runnable == 0 and len(est.excluded) == bulk.MAX_TASKS
    assert est.message.startswith("None of the chosen tasks can be written.")


def test_create_batch_refuses_a_short_balance_and_nothing_runnable_writing_nothing(rt, fake, world):
    a, b = make_tasks(rt, world, 2)
    with rt.transaction() as s:
        other_sector = World(world.account_id, world.actor, world.site_id, f.sector(s, s.get(Site, world.site_id)).id)
    elsewhere = make_task(rt, other_sector, "Keeping backyard chickens", "backyard chickens")
    before = batch_rows(rt)
    with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:
        bulk.create_batch(s, world.actor, sector_id=world.sector_id, task_ids=[elsewhere])
    assert str(refused.value) == ("None of the 1 chosen task(s) can be written — “Keeping backyard chickens”: it "
                                  "belongs to another sector.")

    needed = estimate_of(rt, world, a) + estimate_of(rt, world, b)
    with rt.transaction() as s:  # leave one credit less than the estimate
        credits.grant(s, tenancy.operator_actor(world.account_id), amount=needed - 1 - 1000, kind="adjustment",
                      reason="spent elsewhere")
        est = bulk.estimate_batch(s, world.actor, task_ids=[a, b])
    assert (est.credits, est.balance, est.affordable) == (needed, needed - 1, False)
    assert est.message.endswith("Not enough credits: ask the platform team to top up the account.")
    with rt.transaction() as s, pytest.raises(InsufficientCredits) as short:
        bulk.create_batch(s, world.actor, sector_id=world.sector_id, task_ids=[a, b])
    assert (short.value.needed, short.value.balance) == (needed, needed - 1)
    assert str(short.value).startswith(f"This needs {needed} credits but the account has {needed - 1}.")
    assert batch_rows(rt) == before and fake.posts("/chat/completions") == []

    one = estimate_of(rt, world, a)
    with rt.transaction() as s:  # one task is affordable: the batch is made, the other sector's task skipped
        batch = bulk.create_batch(s, world.actor, sector_id=world.sector_id, task_ids=[a, elsewhere])
        assert (batch.status, batch.total, batch.skipped, batch.estimated_credits) == (RunStatus.pending, 2, 1, one)
        batch_id = batch.id
    v = view(rt, world, batch_id)
    assert [(i.task_id, i.status, i.message) for i in v.items] == [
        (a, "pending", ""), (elsewhere, "skipped", "it belongs to another sector")]
    assert v.message == "Waiting to write 1 article(s)." and v.created_by == world.actor.email


# --- running ---------------------------------------------------------------------------------------------------------

def test_faults_fail_their_own_lines_and_the_others_are_saved_and_charged(rt, fake, world):
    configure(rt, fake, openai_config=FAULTS)
    ids = make_tasks(rt, world, 7)
    titles = [title_of(rt, t) for t in ids]
    kinds = ["ok", "429", "500", "timeout", "ok", "malformed", "truncated"]
    script = fake.chat_responder = Script({t: k for t, k in zip(titles, kinds, strict=True) if k != "ok"})
    batch_id = create(rt, world, ids)
    seen: list[tuple[int, int]] = []
    v = bulk.run_batch(rt, world.actor, batch_id=batch_id, on_progress=lambda d, t, m: seen.append((d, t)))
    wait_for_the_fake(fake)

    ok = [t for t, k in zip(ids, kinds, strict=True) if k == "ok"]
    assert (v.status, v.total, v.done, v.failed, v.skipped, v.running, v.interrupted) == (
        "completed", 7, 2, 5, 0, False, False)
    lines = {i.task_id: i for i in v.items}
    assert [lines[t].status for t in ids] == ["done" if k == "ok" else "failed" for k in kinds]
    expected = {"429": "is rate-limiting us; tried 2 times", "500": "keeps failing (HTTP 500: Error code: 500 - fake error); tried 2 times",
                "timeout": "did not answer within 1 s; tried 2 times",
                "malformed": "was not usable after 3 tries (last problem:",
                "truncated": "was cut off at the"}
    for task_id, kind in zip(ids, kinds, strict=True):
        line = lines[task_id]
        if kind == "ok":
            assert line.message.startswith(f"Wrote “{title_of(rt, task_id)}” (") and line.content_id and line.credits
        else:
            assert expected[kind] in line.message, (kind, line.message)
            assert "Nothing was charged" in line.message and line.credits == 0 and line.content_id is None
        assert line.attempts == 1
    calls = [script.calls[t] for t in titles]  # 429/500/timeouts: retried by the client; bad answers: asked 3 times
    assert calls == [1, 2, 2, 2, 1, 3, 3]

    saved = articles(rt, ids)
    assert set(saved) == set(ok) and all(revs == [1] for _, revs in saved.values())
    assert {lines[t].content_id for t in ok} == {cid for cid, _ in saved.values()}
    assert v.credits == sum(lines[t].credits for t in ok) and 1000 - balance(rt, world) == v.credits
    assert charges(rt, world) == 2 and v.credits <= v.estimated_credits
    assert v.message == f"Wrote 2 article(s) for {v.credits:,} credits; 5 failed, 0 skipped."
    assert seen[-1] == (7, 7) and sorted(d for d, _ in seen) == list(range(1, 8))
    assert v.finished_at is not None and v.fraction == 1.0
    with rt.transaction() as s:
        assert s.get(WriterBatch, batch_id).claimed_by is None  # the lease is given back


def test_articles_are_written_as_many_at_once_as_the_provider_allows(rt, fake, world):
    configure(rt, fake, openai_config={**UNLIMITED, "max_concurrency": 3})
    ids = make_tasks(rt, world, 7)
    fake.chat_responder = Script(delay=1.0)  # long enough that the three overlap even on a loaded machine
    with rt.transaction() as s:
        assert bulk.concurrency(s) == 3
        assert bulk.estimate_batch(s, world.actor, task_ids=ids).concurrency == 3
    v = bulk.run_batch(rt, world.actor, batch_id=create(rt, world, ids))
    assert (v.status, v.done) == ("completed", 7)
    assert fake.max_in_flight == 3  # three calls at once (not one at a time), held to three by the provider limit


def test_retry_failed_calls_only_the_failed_tasks_again(rt, fake, world):
    configure(rt, fake, openai_config=FAULTS)
    ids = make_tasks(rt, world, 4)
    titles = [title_of(rt, t) for t in ids]
    script = fake.chat_responder = Script({titles[1]: "500", titles[3]: "malformed"})
    batch_id = create(rt, world, ids)
    with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:  # pending: not finished yet
        bulk.retry_failed(s, world.actor, batch_id=batch_id)
    assert str(refused.value) == (f"Batch #{batch_id} is still running; retry its failed tasks when it has "
                                  "finished.")
    first = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    assert (first.done, first.failed, first.status) == (2, 2, "completed")
    paid = 1000 - balance(rt, world)
    assert paid == first.credits > 0

    with rt.transaction() as s:
        assert bulk.retry_failed(s, world.actor, batch_id=batch_id) == 2
    again = view(rt, world, batch_id)
    assert (again.status, again.failed, again.done, again.finished_at) == ("pending", 0, 2, None)
    assert again.message == "Waiting to retry 2 failed task(s)."
    assert [i.status for i in again.items] == ["done", "pending", "done", "pending"]
    assert again.items[1].message == "Waiting to be retried."

    script.faults.clear()
    before = Counter(script.calls)
    done = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    assert {t: script.calls[t] - before[t] for t in titles} == {titles[0]: 0, titles[1]: 1, titles[2]: 0,
                                                                  titles[3]: 1}
    assert (done.status, done.done, done.failed) == ("completed", 4, 0)
    assert [i.attempts for i in done.items] == [1, 2, 1, 2]
    assert set(articles(rt, ids)) == set(ids) and charges(rt, world) == 4
    assert 1000 - balance(rt, world) == done.credits == sum(i.credits for i in done.items) > paid
    assert done.message == f"Wrote 4 article(s) for {done.credits:,} credits; 0 failed, 0 skipped."
    with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:
        bulk.retry_failed(s, world.actor, batch_id=batch_id)
    assert str(refused.value) == f"Batch #{batch_id} has no failed tasks to retry."


def test_a_rerun_of_a_finished_batch_calls_and_charges_nothing(rt, fake, world):
    configure(rt, fake, openai_config=UNLIMITED)
    ids = make_tasks(rt, world, 2)
    fake.chat_responder = Script()
    batch_id = create(rt, world, ids)
    first = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    posts, paid = len(fake.posts("/chat/completions")), 1000 - balance(rt, world)
    again = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    assert again == first and len(fake.posts("/chat/completions")) == posts == 2
    assert 1000 - balance(rt, world) == paid and charges(rt, world) == 2


def test_a_batch_whose_runner_died_is_resumed_without_paying_twice(rt, fake, world):
    configure(rt, fake, openai_config=UNLIMITED)
    a, b = make_tasks(rt, world, 2)
    script = fake.chat_responder = Script()
    batch_id = create(rt, world, [a, b])
    # The dead runner: it claimed the batch, wrote and was charged for task a under the batch's job key, and died
    # before it could write a's line.
    written = engine.generate_content(rt, world.actor, task_id=a, job_key=f"writer-batch:{batch_id}")
    with rt.transaction() as s:
        s.execute(update(WriterBatch).where(WriterBatch.id == batch_id).values(
            status=RunStatus.running, claimed_by="dead-host:4242:0badcafe", lease_until=utcnow() - timedelta(minutes=1),
            started_at=utcnow() - timedelta(minutes=20)))
        s.execute(update(WriterBatchItem).where(WriterBatchItem.batch_id == batch_id, WriterBatchItem.task_id == a)
                  .values(status=ItemStatus.running, attempts=1, message="Writing …"))
    stuck = view(rt, world, batch_id)
    assert (stuck.status, stuck.interrupted, stuck.running, stuck.done) == ("running", True, False, 0)

    v = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    assert (v.status, v.done, v.failed, v.interrupted, v.running) == ("completed", 2, 0, False, False)
    line_a, line_b = v.items
    assert line_a.message == written.message + " (written before; not charged again)"
    assert (line_a.content_id, line_a.credits, line_a.attempts) == (written.created["content"][0], written.credits, 2)
    assert script.calls == Counter({title_of(rt, a): 1, title_of(rt, b): 1})  # a was not asked for again
    assert charges(rt, world) == 2 and 1000 - balance(rt, world) == v.credits == written.credits + line_b.credits
    assert {t: revs for t, (_, revs) in articles(rt, [a, b]).items()} == {a: [1], b: [1]}


def test_cancel_skips_the_waiting_tasks(rt, fake, world):
    configure(rt, fake, openai_config=UNLIMITED)
    ids = make_tasks(rt, world, 3)
    fake.chat_responder = Script()
    waiting = create(rt, world, ids)
    with rt.transaction() as s:
        assert bulk.cancel_batch(s, world.actor, batch_id=waiting) == 3
    v = bulk.run_batch(rt, world.actor, batch_id=waiting)  # a cancelled batch is not run
    assert (v.status, v.skipped, v.done, v.finished_at is not None) == ("cancelled", 3, 0, True)
    assert v.message == f"Cancelled by {world.actor.email}: 3 waiting task(s) skipped."
    assert all(i.status == "skipped" and i.message == f"Cancelled by {world.actor.email}." for i in v.items)
    assert fake.posts("/chat/completions") == []
    with rt.transaction() as s, pytest.raises(ValidationFailed) as refused:
        bulk.cancel_batch(s, world.actor, batch_id=waiting)
    assert str(refused.value) == f"Batch #{waiting} has finished already (cancelled); nothing to cancel."

    # cancelled while the first article is being written (one at a time): that one is saved, the rest skipped
    configure(rt, fake, openai_config={**UNLIMITED, "max_concurrency": 1})
    batch_id = create(rt, world, ids)

    def cancel_once(title: str) -> None:
        if title == title_of(rt, ids[0]):
            with rt.transaction() as s:
                bulk.cancel_batch(s, world.actor, batch_id=batch_id)
    script = fake.chat_responder = Script(on_call=cancel_once)
    v = bulk.run_batch(rt, world.actor, batch_id=batch_id)
    assert [i.status for i in v.items] == ["done", "skipped", "skipped"] and sum(script.calls.values()) == 1
    assert (v.status, v.done, v.skipped, v.running) == ("cancelled", 1, 2, False)
    assert v.message == f"Wrote 1 article(s) for {v.credits:,} credits; 0 failed, 2 skipped. Cancelled before the end."
    assert set(articles(rt, ids)) == {ids[0]} and charges(rt, world) == 1


def test_viewers_are_refused_and_other_accounts_see_nothing(rt, fake, world):
    configure(rt, fake, openai_config=UNLIMITED)
    fake.chat_responder = Script()
    ids = make_tasks(rt, world, 2)
    batch_id = create(rt, world, ids)
    with rt.transaction() as s:  # a viewer with access to the site: reads, never writes
        user = f.user(s, s.get(Account, world.account_id), role=Role.viewer)
        s.add(SiteUserAccess(account_id=world.account_id, site_id=world.site_id, user_id=user.id))
        s.flush()
        looker = f.actor(s, user)
    with rt.transaction() as s:
        assert bulk.get_batch(s, looker, batch_id=batch_id).id == batch_id  # viewers read
        assert [b.id for b in bulk.latest_batches(s, looker, sector_id=world.sector_id)] == [batch_id]
    writes = {"estimate": lambda s: bulk.estimate_batch(s, looker, task_ids=ids),
              "create": lambda s: bulk.create_batch(s, looker, sector_id=world.sector_id, task_ids=ids),
              "retry": lambda s: bulk.retry_failed(s, looker, batch_id=batch_id),
              "cancel": lambda s: bulk.cancel_batch(s, looker, batch_id=batch_id)}
    for call in writes.values():
        with rt.transaction() as s, pytest.raises(AccessDenied):
            call(s)
    with pytest.raises(AccessDenied):
        bulk.run_batch(rt, looker, batch_id=batch_id)

    stranger = other_world(rt)
    with rt.transaction() as s, pytest.raises(NotFound):
        bulk.get_batch(s, stranger.actor, batch_id=batch_id)
    with pytest.raises(NotFound):
        bulk.run_batch(rt, stranger.actor, batch_id=batch_id)
    for call in (lambda s: bulk.cancel_batch(s, stranger.actor, batch_id=batch_id),
                 lambda s: bulk.retry_failed(s, stranger.actor, batch_id=batch_id),
                 lambda s: bulk.latest_batches(s, stranger.actor, sector_id=world.sector_id)):
        with rt.transaction() as s, pytest.raises(NotFound):
            call(s)
    with rt.transaction() as s:  # another account's tasks are not found, not written
        est = bulk.estimate_batch(s, stranger.actor, task_ids=ids)
    assert est.runnable == 0 and {x.reason for x in est.excluded} == {
        "it was not found (deleted, or on a site you cannot see)"}
    v = view(rt, world, batch_id)
    assert (v.status, v.skipped) == ("pending", 0) and fake.posts("/chat/completions") == []


def test_latest_batches_lists_a_sectors_newest_first_and_outlives_the_page(rt, fake, world):
    configure(rt, fake, openai_config={**UNLIMITED, "max_concurrency": 1})
    fake.chat_responder = Script()
    ids = make_tasks(rt, world, 4)
    first = create(rt, world, ids[:1])
    bulk.run_batch(rt, world.actor, batch_id=first)
    second = create(rt, world, ids[1:2])
    bulk.run_batch(rt, world.actor, batch_id=second)
    other = other_world(rt)  # another tenant's batch is not listed
    bulk.run_batch(rt, other.actor, batch_id=create(rt, other, make_tasks(rt, other, 1)))

    fake.chat_responder = Script(delay=0.4)
    third = create(rt, world, ids[2:])
    runner = threading.Thread(target=bulk.run_batch, args=(rt, world.actor), kwargs={"batch_id": third})
    runner.start()
    url = rt.engine.url.render_as_string(hide_password=False)
    elsewhere = runtime.start(url=url, prepare=False)  # "coming back to the page": a new engine, a new session
    try:
        deadline, seen = time.monotonic() + 10, None
        while time.monotonic() < deadline:
            with elsewhere() as s:
                seen = bulk.latest_batches(s, world.actor, sector_id=world.sector_id)
            if seen[0].running:
                break
            time.sleep(0.05)
        assert [b.id for b in seen] == [third, second, first]
        assert (seen[0].status, seen[0].running, seen[0].finished_at) == ("running", True, None)
        runner.join(timeout=30)
        with elsewhere() as s:
            after = bulk.latest_batches(s, world.actor, sector_id=world.sector_id)
            assert [b.id for b in bulk.latest_batches(s, world.actor, sector_id=world.sector_id, limit=2)] == [
                third, second]
    finally:
        elsewhere.engine.dispose()
    assert [(b.id, b.status, b.done) for b in after] == [(third, "completed", 2), (second, "completed", 1),
                                                          (first, "completed", 1)]


# --- two processes run one batch (PostgreSQL) ------------------------------------------------------------------------

def _runner(url: str, user_id: int, batch_id: int, go: Any) -> tuple[int, str, bool]:
    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            actor = tenancy.actor_for(s, s.get(User, user_id))
        progress: list[int] = []
        go()
        v = bulk.run_batch(rt, actor, batch_id=batch_id, on_progress=lambda done, total, message: progress.append(done))
        return len(progress), v.status, v.running
    finally:
        rt.engine.dispose()


@pytest.mark.pg_only  # SQLite's BEGIN IMMEDIATE serialises the claim anyway; the race is PostgreSQL's row locks
def test_two_processes_running_one_batch_write_each_task_once(rt, fake, world):
    configure(rt, fake, openai_config={**UNLIMITED, "max_concurrency": 3})
    ids = make_tasks(rt, world, 6)
    script = fake.chat_responder = Script(delay=0.5)
    batch_id = create(rt, world, ids)
    url = rt.engine.url.render_as_string(hide_password=False)
    out = races.run_together(_runner, [(url, world.actor.user_id, batch_id)] * 2, timeout=120)
    winner, loser = sorted(out, reverse=True)
    assert winner == (6, "completed", False)  # it wrote every line
    assert loser[0] == 0 and (loser[1], loser[2]) in {("running", True), ("completed", False)}  # returned the view
    v = view(rt, world, batch_id)
    assert (v.status, v.done, v.failed) == ("completed", 6, 0) and [i.attempts for i in v.items] == [1] * 6
    assert sorted(script.calls.values()) == [1] * 6 and len(fake.posts("/chat/completions")) == 6
    assert {t: revs for t, (_, revs) in articles(rt, ids).items()} == {t: [1] for t in ids}
    assert charges(rt, world) == 6 and 1000 - balance(rt, world) == v.credits
