"""core.common.claim: leases on rows, on SQLite and PostgreSQL; threads and processes racing claim each row once."""
from __future__ import annotations

import threading
import time
import types
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core import runtime
from core.common import claim
from core.common.claim import Claimer, LeaseLost
from core.errors import Conflict
from core.runtime import Runtime
from db.base import utcnow
from db.enums import RunStatus
from db.models import AutomationRun, Content, Site
from tests import factories as f
from tests import races

LEASE = timedelta(minutes=5)
ROWS, THREADS, PROCESSES, BATCH = 60, 8, 4, 3
WORK_S = 0.05  # seconds of "work" per claimed batch
T0 = utcnow()


def _runs(rt: Runtime, n: int, *, status: RunStatus = RunStatus.pending) -> tuple[int, list[int]]:
    """A new site with n automation runs; (site id, run ids)."""
    with rt() as s:
        site = f.site(s, f.account(s))
        runs = [AutomationRun(account_id=site.account_id, site_id=site.id, run_id=uuid.uuid4().hex, status=status)
                for _ in range(n)]
        s.add_all(runs)
        s.flush()
        return site.id, [r.id for r in runs]


def _due(site_id: int) -> list:
    # running too: a run whose worker's lease ran out is taken over
    return [AutomationRun.site_id == site_id, AutomationRun.status.in_([RunStatus.pending, RunStatus.running])]


def _row(rt: Runtime, run_id: int) -> AutomationRun:
    with rt() as s:
        return s.get(AutomationRun, run_id)


def _claim(rt: Runtime, site_id: int, owner: str, *, now=T0, limit: int = 10, **kw: Any) -> list[int]:
    with rt() as s:
        return claim.claim_due(s, AutomationRun, where=_due(site_id), owner=owner, lease=LEASE, limit=limit,
                               values={"status": RunStatus.running}, now=now, **kw)


# --- the lease's life ---------------------------------------------------------------------------------------------

def test_claim_takes_due_unclaimed_rows_once(rt):
    site_id, ids = _runs(rt, 3)
    with rt() as s:
        s.execute(update(AutomationRun).where(AutomationRun.id == ids[0]).values(status=RunStatus.completed))
    assert _claim(rt, site_id, "a") == ids[1:]
    assert _claim(rt, site_id, "b") == []
    row = _row(rt, ids[1])
    assert (row.status, row.claimed_by, row.lease_until) == (RunStatus.running, "a", T0 + LEASE)
    assert _row(rt, ids[0]).claimed_by is None
    with rt() as s:
        assert claim.holder(s, AutomationRun, id=ids[1]) == claim.Lease("a", T0 + LEASE)
        assert claim.holder(s, AutomationRun, id=ids[0]) is None


def test_limit_and_order(rt):
    site_id, ids = _runs(rt, 4)
    assert _claim(rt, site_id, "a", limit=2, order_by=AutomationRun.id.desc()) == [ids[3], ids[2]]
    assert _claim(rt, site_id, "a", limit=0) == []
    assert _claim(rt, site_id, "b", limit=5) == ids[:2]


def test_an_expired_lease_is_taken_over(rt):
    site_id, ids = _runs(rt, 2)
    assert _claim(rt, site_id, "a") == ids
    assert _claim(rt, site_id, "b", now=T0 + LEASE) == []  # the lease holds up to and including lease_until
    assert _claim(rt, site_id, "b", now=T0 + LEASE + timedelta(seconds=1)) == ids
    assert _row(rt, ids[0]).claimed_by == "b"


def test_renew_extends_only_the_holders_live_leases(rt):
    site_id, ids = _runs(rt, 2)
    _claim(rt, site_id, "a")
    later = T0 + timedelta(minutes=4)
    with rt() as s:
        assert claim.renew(s, AutomationRun, ids=ids, owner="b", lease=LEASE, now=later) == []
        assert claim.renew(s, AutomationRun, ids=ids, owner="a", lease=LEASE, now=later) == ids
        assert claim.renew(s, AutomationRun, ids=[], owner="a", lease=LEASE) == []
    assert _row(rt, ids[0]).lease_until == later + LEASE
    assert _claim(rt, site_id, "b", now=T0 + LEASE + timedelta(seconds=1)) == []  # renewed: not taken over
    with rt() as s:  # run out: renewing does not bring it back
        assert claim.renew(s, AutomationRun, ids=ids, owner="a", lease=LEASE, now=later + 2 * LEASE) == []


def test_release_frees_the_row(rt):
    site_id, ids = _runs(rt, 2)
    _claim(rt, site_id, "a")
    with rt() as s:
        assert claim.release(s, AutomationRun, ids=ids, owner="b") == 0
        assert claim.release(s, AutomationRun, ids=ids[:1], owner="a", values={"status": RunStatus.pending}) == 1
    row = _row(rt, ids[0])
    assert (row.status, row.claimed_by, row.lease_until) == (RunStatus.pending, None, None)
    assert _claim(rt, site_id, "b") == ids[:1]


def test_record_is_fenced(rt):
    site_id, ids = _runs(rt, 2)
    _claim(rt, site_id, "a")
    done = {"status": RunStatus.completed, "error_message": "done"}
    with rt() as s:
        assert claim.record(s, AutomationRun, id=ids[0], owner="b", values=done, now=T0) is False
        assert claim.record(s, AutomationRun, id=ids[0], owner="a", values=done, now=T0) is True
        # run out, not yet taken over: still refused (the holder must renew in time)
        assert claim.record(s, AutomationRun, id=ids[1], owner="a", values=done, now=T0 + 2 * LEASE) is False
    row = _row(rt, ids[0])
    assert (row.status, row.error_message, row.claimed_by, row.lease_until) == (RunStatus.completed, "done", None, None)
    assert _claim(rt, site_id, "b", now=T0 + 2 * LEASE) == ids[1:]  # taken over; the completed run is not due
    with rt() as s:
        assert claim.record(s, AutomationRun, id=ids[1], owner="a", values=done, now=T0 + 2 * LEASE) is False
    assert (_row(rt, ids[1]).status, _row(rt, ids[1]).claimed_by) == (RunStatus.running, "b")
    with rt() as s:
        assert claim.record(s, AutomationRun, id=ids[1], owner="b", values={"items_processed": 7},
                            now=T0 + 2 * LEASE, release=False) is True
    row = _row(rt, ids[1])
    assert (row.items_processed, row.claimed_by) == (7, "b")


def test_record_refreshes_objects_the_session_holds(rt):
    site_id, ids = _runs(rt, 1)
    _claim(rt, site_id, "a")
    with rt() as s:
        run = s.get(AutomationRun, ids[0])
        assert claim.record(s, AutomationRun, id=ids[0], owner="b", values={"status": RunStatus.failed}) is False
        assert run.status == RunStatus.running  # a refused write does not show in the session either
        assert claim.record(s, AutomationRun, id=ids[0], owner="a", values={"status": RunStatus.failed},
                            now=T0) is True
        assert (run.status, run.claimed_by) == (RunStatus.failed, None)


def test_claimer_opens_its_own_transactions(rt):
    site_id, ids = _runs(rt, 2)
    worker = Claimer(rt, AutomationRun, lease=LEASE)
    assert worker.owner.count(":") >= 2 and len(worker.owner) <= claim.OWNER_MAX
    assert worker.claim_due(where=_due(site_id), limit=5, values={"status": RunStatus.running}) == ids
    assert worker.renew(ids=ids) == ids
    assert worker.release(ids=ids[1:], values={"status": RunStatus.pending}) == 1
    assert worker.record(id=ids[0], values={"status": RunStatus.completed}) is True
    assert worker.record(id=ids[0], values={"status": RunStatus.failed}) is False  # released by the first record
    assert [_row(rt, i).status for i in ids] == [RunStatus.completed, RunStatus.pending]


def test_bad_models_and_arguments_are_refused(rt):
    with rt() as s:
        with pytest.raises(TypeError, match="Site cannot be claimed: it lacks claimed_by, lease_until"):
            claim.claim_due(s, Site, where=[], owner="a", lease=LEASE, limit=1)
        with pytest.raises(ValueError, match="lease must be positive"):
            claim.claim_due(s, AutomationRun, where=[], owner="a", lease=timedelta(0), limit=1)
        with pytest.raises(ValueError, match="owner must be"):
            claim.renew(s, AutomationRun, ids=[1], owner="x" * 101, lease=LEASE)
    with pytest.raises(TypeError):
        Claimer(rt, Site, lease=LEASE)
    assert Claimer(rt, Content, lease=LEASE).model is Content  # publishing's rows are claimable too


def test_lease_lost_is_a_conflict_with_a_message():
    err = LeaseLost(AutomationRun, 7, "host:1:ab")
    assert isinstance(err, Conflict)
    assert "AutomationRun 7" in str(err) and "not saved" in str(err)


def test_worker_ids_differ():
    assert len({claim.worker_id() for _ in range(50)}) == 50


# --- races: every row claimed once --------------------------------------------------------------------------------

def _drain(worker: Claimer, site_id: int, start: Any, claim_fn=None) -> tuple[list[int], list[int]]:
    """Claim batches until none is due, recording each run as done by this worker; (ids claimed, records refused)."""
    claim_fn = claim_fn or (lambda: worker.claim_due(where=_due(site_id), limit=BATCH,
                                                     values={"status": RunStatus.running}))
    start.wait()
    mine: list[int] = []
    lost: list[int] = []
    while ids := claim_fn():
        mine += ids
        time.sleep(WORK_S)  # the work a claim is for: the others claim meanwhile
        lost += [i for i in ids if not worker.record(id=i, values={"status": RunStatus.completed,
                                                                   "error_message": worker.owner})]
    return mine, lost


def _check_once(rt: Runtime, site_id: int, claimed: dict[str, list[int]], ids: list[int]) -> None:
    counts = Counter(i for got in claimed.values() for i in got)
    twice = sorted(i for i, n in counts.items() if n > 1)
    assert not twice, f"rows claimed more than once: {twice}"
    assert sorted(counts) == ids, "rows never claimed"
    with rt() as s:
        rows = s.execute(select(AutomationRun.id, AutomationRun.error_message)
                         .where(AutomationRun.site_id == site_id, AutomationRun.status == RunStatus.completed))
        done = {run_id: by for run_id, by in rows}
    assert done == {i: owner for owner, got in claimed.items() for i in got}


def _race_threads(rt: Runtime, site_id: int, claim_fn=None) -> tuple[dict[str, list[int]], list[int]]:
    """THREADS workers draining the site's runs at once; (ids claimed per owner, records refused)."""
    workers = [Claimer(rt, AutomationRun, lease=LEASE) for _ in range(THREADS)]
    start, claimed, lost, errors = threading.Barrier(THREADS), {}, [], []

    def run(w: Claimer) -> None:
        try:
            claimed[w.owner], refused = _drain(w, site_id, start, claim_fn and (lambda: claim_fn(w)))
            lost.extend(refused)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    return claimed, lost


def test_threads_racing_claim_each_row_once(rt):
    site_id, ids = _runs(rt, ROWS)
    claimed, lost = _race_threads(rt, site_id)
    assert lost == []
    _check_once(rt, site_id, claimed, ids)
    assert sum(1 for got in claimed.values() if got) > 1, "one thread took everything: no race happened"


def _unfenced_claim(rt: Runtime, site_id: int, w: Claimer) -> list[int]:
    """The mutation: select the due rows, then mark them, without a lock or a compare-and-set."""
    with rt() as s:
        ids = list(s.scalars(select(AutomationRun.id).where(*_due(site_id), AutomationRun.claimed_by.is_(None))
                             .order_by(AutomationRun.id).limit(BATCH)))
        time.sleep(0.005)
        for run_id in sorted(ids):  # one row at a time, in id order: the racers wait on each other, never deadlock
            s.execute(update(AutomationRun).where(AutomationRun.id == run_id)
                      .values(claimed_by=w.owner, lease_until=utcnow() + LEASE, status=RunStatus.running))
        return ids


@pytest.mark.pg_only  # SQLite's BEGIN IMMEDIATE serialises even the unlocked read-then-write
def test_the_race_check_catches_a_claim_without_lock_or_compare_and_set(rt):
    site_id, ids = _runs(rt, ROWS)
    claimed, lost = _race_threads(rt, site_id, lambda w: _unfenced_claim(rt, site_id, w))
    with pytest.raises(AssertionError, match="more than once"):
        _check_once(rt, site_id, claimed, ids)
    assert lost, "the fence let both claimants of a row record their result"


def _process_worker(url: str, site_id: int, go: Any) -> tuple[str, tuple[list[int], list[int]]]:
    """A worker process of its own: its engine, its owner id; drains the site's runs once released."""
    rt = runtime.start(url=url, prepare=False)
    worker = Claimer(rt, AutomationRun, lease=LEASE)
    try:
        with rt() as s:
            s.execute(select(1))  # connect before the start: the race is in claiming, not in start-up
        return worker.owner, _drain(worker, site_id, types.SimpleNamespace(wait=go))
    finally:
        rt.engine.dispose()


def test_processes_racing_claim_each_row_once(rt):
    site_id, ids = _runs(rt, ROWS)
    url = rt.engine.url.render_as_string(hide_password=False)
    claimed = dict(races.run_together(_process_worker, [(url, site_id)] * PROCESSES))
    assert [i for _, lost in claimed.values() for i in lost] == []
    assert sum(1 for mine, _ in claimed.values() if mine) > 1, "one process took everything: no race happened"
    _check_once(rt, site_id, {owner: mine for owner, (mine, _) in claimed.items()}, ids)
