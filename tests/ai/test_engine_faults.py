"""Faults through the engine: what is retried, what is refused, and that a failure charges nothing (what the
provider billed for it is kept as a 0-credit usage row)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from core import tenancy
from core.ai import engine
from core.ai import settings as ai_settings
from core.ai.base import Progress
from core.ai.errors import AIOutputError, AIProviderError
from core.billing import credits
from core.errors import AccessDenied, Conflict, InsufficientCredits
from db.enums import ImageStatus
from db.models import Account, Clusters, Content, ContentIdeas, CreditTransaction, CreditUsageLog, Images
from tests.ai.helpers import balance, cluster, configure, content, keywords, task, viewer

WAIT = 30.0  # seconds a racing run may take before the test calls it stuck
IDEA = {"title": "Best trail shoes", "description": "Roundup", "content_type": "post",
        "content_structure": "listicle", "target_keywords": ["trail shoes"], "estimated_word_count": 1500}


def _counts(rt, account_id: int) -> tuple[int, int, int]:
    """Ideas, ledger rows and usage rows of an account."""
    with rt.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(m).where(m.account_id == account_id))
                     for m in (ContentIdeas, CreditTransaction, CreditUsageLog))


def test_429_then_success_honours_retry_after(rt, fake, world):
    cid = cluster(rt, world)
    fake.fail(429, headers={"Retry-After": "1"}).reply_json({"ideas": [IDEA]})
    res = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1)
    first, second = fake.posts("/chat/completions")
    assert second.started - first.finished >= 1.0
    assert len(res.created["content_ideas"]) == 1
    with rt.transaction() as s:
        assert s.get(CreditUsageLog, res.usage_log_id).metadata_["attempts"] == 2


def test_500s_until_give_up_charge_and_write_nothing(rt, fake, world):
    cid = cluster(rt, world)
    before = _counts(rt, world.account_id)
    fake.fail(500, times=4)
    with pytest.raises(AIProviderError, match=r"keeps failing \(HTTP 500.*tried 4 times"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid)
    assert len(fake.posts("/chat/completions")) == 4
    assert _counts(rt, world.account_id) == before and balance(rt, world) == 1000


def test_timeout_fails_cleanly(rt, fake, world):
    configure(rt, fake, openai_config={"timeout_s": 0.3, "max_attempts": 2})
    cid = cluster(rt, world)
    before = _counts(rt, world.account_id)
    fake.slow(1.0).slow(1.0)
    with pytest.raises(AIProviderError, match="did not answer within 0.3 s; tried 2 times"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid)
    assert _counts(rt, world.account_id) == before and balance(rt, world) == 1000


def test_malformed_then_good_output_is_retried_and_charged_once(rt, fake, world):
    cid = cluster(rt, world)
    fake.reply_content("Sure! Here are your ideas: {oops")
    fake.reply_json({"ideas": [{**IDEA, "content_structure": "essay"}]})  # not a structure we know
    fake.reply_json({"ideas": [IDEA]}, prompt_tokens=300, completion_tokens=200)
    res = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1)
    assert len(fake.posts("/chat/completions")) == 3
    with rt.transaction() as s:
        log = s.get(CreditUsageLog, res.usage_log_id)
    # Priced on the accepted answer; the row's tokens (and USD) are all three answers the provider billed.
    assert (log.metadata_["charged_tokens_input"], log.metadata_["charged_tokens_output"]) == (300, 200)
    assert (log.tokens_input, log.tokens_output, log.metadata_["discarded_answers"]) == (540, 360, 2)
    assert _counts(rt, world.account_id) == (1, 2, 1)  # one idea; ledger: the grant and one charge


def test_truncated_output_fails_after_retries_with_a_clear_message(rt, fake, world):
    cid = cluster(rt, world)
    for _ in range(3):
        fake.reply_content('{"ideas": [{"title": "Best tr', finish_reason="length")
    with pytest.raises(AIOutputError, match="cut off at the 8,192-token limit 3 times.*Nothing was charged"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid)
    assert len(fake.posts("/chat/completions")) == 3
    assert _counts(rt, world.account_id) == (0, 1, 1) and balance(rt, world) == 1000  # usage: 0 credits
    with rt.transaction() as s:
        row = s.scalars(select(CreditUsageLog).where(CreditUsageLog.account_id == world.account_id)).one()
    assert (row.credits_used, row.tokens_output, row.metadata_["status"]) == (0, 240, "failed")


def test_clustering_output_with_unknown_or_repeated_keywords_is_asked_again(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes", "hydration vest"])
    fake.reply_json({"clusters": [{"name": "A", "keywords": ["trail shoes", "road shoes"]}]})
    fake.reply_json({"clusters": [{"name": "A", "keywords": ["trail shoes"]},
                                  {"name": "B", "keywords": ["Trail Shoes"]}]})
    fake.reply_json({"clusters": [{"name": "A", "keywords": ["trail shoes", "hydration vest"]}]})
    res = engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    assert len(fake.posts("/chat/completions")) == 3 and res.created["keywords"] == ids
    with rt.transaction() as s:
        assert s.get(CreditUsageLog, res.usage_log_id).metadata_["discarded_answers"] == 2


def test_clustering_output_that_stays_wrong_fails_and_charges_nothing(rt, fake, world):
    ids = keywords(rt, world, ["trail shoes", "hydration vest"])
    for _ in range(3):
        fake.reply_json({"clusters": [{"name": "A", "keywords": ["trail shoes", "road shoes"]}]})
    with pytest.raises(AIOutputError, match="not usable after 3 tries.*unknown keyword “road shoes”"):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids)
    assert balance(rt, world) == 1000
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Clusters).where(Clusters.sector_id == world.sector_id)) == 0


def test_insufficient_credits_refused_before_any_request(rt, fake, world):
    cid = cluster(rt, world)
    with rt.transaction() as s:
        credits.grant(s, tenancy.operator_actor(world.account_id), amount=-995, kind="adjustment", reason="leave 5")
    fake.reply_json({"ideas": [IDEA]})
    with pytest.raises(InsufficientCredits, match="needs 10 credits but the account has 5"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid, count=5)
    assert fake.requests == []


def test_viewer_is_refused_before_any_request(rt, fake, world):
    cid = cluster(rt, world)
    with pytest.raises(AccessDenied):
        engine.generate_ideas(rt, viewer(rt, world), cluster_id=cid)
    assert fake.requests == []


def test_a_retried_job_pays_once_and_writes_once(rt, fake, world):
    cid = cluster(rt, world)
    fake.reply_json({"ideas": [IDEA]})
    first = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1, job_key="run-7:step-2")
    again = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1, job_key="run-7:step-2")
    assert not first.replayed and again.replayed
    assert again.created == first.created and again.credits == first.credits == 2
    assert again.idempotency_key == f"generate_ideas:cluster:{cid}:run-7:step-2"
    assert len(fake.posts("/chat/completions")) == 1  # the replay did not call the provider
    assert _counts(rt, world.account_id) == (1, 2, 1) and balance(rt, world) == 998


def _in_thread(run: Callable[[], engine.JobResult]) -> Callable[[], engine.JobResult]:
    """Start a run in its own thread; the returned function waits for it and returns (or raises) its outcome."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:  # handed to the test thread by join()
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join() -> engine.JobResult:
        thread.join(WAIT)
        assert not thread.is_alive(), "the run did not finish"
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]
    return join


def _race_seen_at_record(rt, world, run) -> list[engine.JobResult]:
    """Both runs pass phase 1 before either calls; the second holds its answer until the first has saved and
    charged, so its record-time check is the one that finds the first run."""
    second_asked, first_saved = threading.Event(), threading.Event()

    def first(done: int, total: int, message: str) -> None:
        if done == 0:
            assert second_asked.wait(WAIT)

    def second(done: int, total: int, message: str) -> None:
        if done == 0:
            second_asked.set()
        elif done == total:
            assert first_saved.wait(WAIT)

    join_first, join_second = _in_thread(lambda: run(first)), _in_thread(lambda: run(second))
    try:
        results = [join_first()]
    finally:
        first_saved.set()
    return results + [join_second()]


def _race_seen_by_the_charge(rt, world, run) -> list[engine.JobResult]:
    """PostgreSQL: the test holds the account row, where every charge queues, until both runs are waiting
    there, past their record-time checks; one charges, the other's charge meets the same key in the ledger."""
    with rt.engine.connect() as holder:
        holder.execute(select(Account.id).where(Account.id == world.account_id).with_for_update(key_share=True))
        joins = [_in_thread(lambda: run(None)), _in_thread(lambda: run(None))]
        deadline = time.monotonic() + WAIT
        while _waiting_on_locks(rt) < 2:
            assert time.monotonic() < deadline, "the runs never queued at the account row"
            time.sleep(0.02)
        holder.rollback()
    return [join() for join in joins]


def _waiting_on_locks(rt) -> int:
    with rt.engine.connect() as conn:  # a new transaction each time: pg_stat_activity is cached per transaction
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'")).scalar_one()


@pytest.mark.parametrize("race", [_race_seen_at_record, _race_seen_by_the_charge],
                         ids=["seen-at-record", "seen-by-the-charge"])
def test_a_replay_arriving_after_the_call_writes_nothing(rt, fake, world, backend, race):
    """Two runs of one key racing for real: the late one is caught when it records, or by the ledger's own key
    check, rolls back, returns the first run's result and charges nothing; only what the provider billed for its
    answer stays, as a 0-credit usage row."""
    if race is _race_seen_by_the_charge and backend == "sqlite":
        pytest.skip("SQLite runs every transaction under BEGIN IMMEDIATE: a record cannot overlap another's charge")
    cid = cluster(rt, world)
    fake.reply_json({"ideas": [IDEA]}).reply_json({"ideas": [{**IDEA, "title": "Other"}]})

    def run(progress: Progress | None) -> engine.JobResult:
        return engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1, job_key="k1", on_progress=progress)

    results = race(rt, world, run)
    assert len(fake.posts("/chat/completions")) == 2  # both runs reached the provider
    saved, late = [r for r in results if not r.replayed], [r for r in results if r.replayed]
    assert len(saved) == len(late) == 1 and late[0].created == saved[0].created
    assert late[0].credits == saved[0].credits == 2 and late[0].usage_log_id == saved[0].usage_log_id
    assert _counts(rt, world.account_id) == (1, 2, 2) and balance(rt, world) == 998
    with rt.transaction() as s:
        thrown = s.scalars(select(CreditUsageLog).where(CreditUsageLog.account_id == world.account_id,
                                                        CreditUsageLog.id != saved[0].usage_log_id)).one()
    assert (thrown.credits_used, thrown.transaction_id, thrown.metadata_["status"]) == (0, None, "discarded")


def test_content_for_a_task_is_written_once(rt, fake, world):
    tid = task(rt, world)
    fake.reply_json({"content_html": "<p>Grip matters.</p>", "meta_title": "Grip"})
    engine.generate_content(rt, world.actor, task_id=tid)
    with pytest.raises(Conflict, match="has an article already"):
        engine.generate_content(rt, world.actor, task_id=tid)
    assert len(fake.posts("/chat/completions")) == 1
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Content).where(Content.task_id == tid)) == 1


def test_images_concurrency_limit_and_partial_failure(rt, fake, world):
    configure(rt, fake, openai_config={"max_concurrency": 2, "max_attempts": 1})
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=5)
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner", "in_article_prompts": [f"Scene {i}" for i in range(5)]})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    fake.default_delay = 0.6  # long enough that two overlap even on a loaded machine
    fake.fail(400, queue="images")  # one image is refused; the five others are made
    res = engine.generate_images(rt, world.actor, content_id=cid)
    assert fake.max_in_flight == 2
    with rt.transaction() as s:
        statuses = sorted(str(r.status) for r in s.scalars(select(Images).where(Images.content_id == cid)))
    assert statuses == ["failed"] + ["generated"] * 5
    assert res.credits == 25 and len(res.failures) == 1 and "HTTP 400" in res.failures[0]


def test_all_images_failing_charges_nothing(rt, fake, world):
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner", "in_article_prompts": []})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    spent = 1000 - balance(rt, world)
    fake.fail(500, times=4, queue="images")
    with pytest.raises(AIProviderError, match="keeps failing"):
        engine.generate_images(rt, world.actor, content_id=cid)
    with rt.transaction() as s:
        row = s.scalars(select(Images).where(Images.content_id == cid)).one()
    assert row.status == ImageStatus.failed and balance(rt, world) == 1000 - spent


def test_all_images_failing_writes_no_ledger_row_so_the_same_job_key_retries(rt, fake, world):
    # "Charges nothing" checked by the balance alone let a 0-credit deduction under the job's key through, and a
    # retry with that key then returned the failed run's result instead of generating.
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner", "in_article_prompts": []})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    fake.fail(500, times=4, queue="images")
    with pytest.raises(AIProviderError, match="keeps failing"):
        engine.generate_images(rt, world.actor, content_id=cid, job_key="run-3:images")
    key_like = "generate_images:%:run-3:images"
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CreditTransaction)
                        .where(CreditTransaction.idempotency_key.like(key_like))) == 0
    before = balance(rt, world)
    again = engine.generate_images(rt, world.actor, content_id=cid, job_key="run-3:images")
    assert not again.replayed and again.credits > 0 and balance(rt, world) == before - again.credits
    with rt.transaction() as s:
        assert s.scalars(select(Images.status).where(Images.content_id == cid)).one() == ImageStatus.generated
        amounts = s.scalars(select(CreditTransaction.amount)
                            .where(CreditTransaction.idempotency_key.like(key_like))).all()
    assert amounts == [-again.credits]
