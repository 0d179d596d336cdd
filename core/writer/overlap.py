"""The cannibalization guard: does a writer task's keyword and title collide with the site's articles or queued tasks?

A task is described by "primary keyword (the first of Tasks.keywords, else the title) + title", an article by its
primary keyword, title and meta title, a queued task as a task. Per call, every site involved is vectorised once:

* lexical — the clusterer's features (core/planner/clustering/features.py: NFKC, case folding, its stop words and
  light stemmer; binary tokens weighted by IDF, adjacent-token bigrams, the character 3–5-grams of each token),
  one L2-normalised sparse row per distinct text; the score is the cosine, one sparse product tasks × corpus;
* semantic — when the optional local model is installed (core.planner.clustering.apply.semantic_available; nothing
  is ever downloaded), the MiniLM sentence vectors of the task and of its SEMANTIC_CANDIDATES lexically nearest
  rows of the corpus: the model costs ~7 ms a text, too much to embed 10,000 articles per click, so the lexical
  ranking chooses what it reads, and vectors are kept in a bounded in-process cache by text.

A pair collides when lexical ≥ LEXICAL_THRESHOLD or semantic ≥ SEMANTIC_THRESHOLD; its score is the larger passing
one. The thresholds were chosen by measurement (bench/overlap_bench.py on the 3,000 real CLINC150 validation
queries; two queries of the same intent are a cannibalizing pair: 28,500 positive pairs of 4.5 M) as the lowest
threshold of each whose pair precision is ≥ 0.85 — a flag asks a person to confirm, so it should be right; equal
precision also puts the two scores on one scale, which is what makes their max meaningful:

    lexical    0.40  0.45  0.50  0.55  0.60      semantic   0.60  0.65  0.70  0.75  0.80
    precision  .757  .813  .858  .894  .920      precision  .798  .868  .925  .963  .987
    recall     .179  .146  .119  .095  .073      recall     .358  .283  .216  .158  .111

The rule (lexical ≥ 0.50 or semantic ≥ 0.65) scores precision .844, recall .305. Same-intent queries are a strict
test (“how do I say hello in Japanese” and “…see you later in French” share an intent, not an article), so recall is
low by construction; precision is the figure to hold. Of the pairs the model alone flags, 81 % lie inside one end's
lexical top-20 (top-10: 65 %, top-40: 91 %): that is what the candidate cut costs.
Timing (SQLite, 2 shared cores): check_tasks of 50 tasks against 10,000 articles of one site takes 0.42–0.45 s lexical
only; with the model 0.49 s once its vectors are cached, 9–13 s from a cold cache (≈1,000 texts to embed; one task's
check embeds ≤ 21 texts, ≈0.2 s).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import NotFound, ValidationFailed
from core.planner.clustering import features
from core.tenancy import Actor
from db.base import utcnow
from db.enums import TaskStatus
from db.models import Content, Tasks

LEXICAL_THRESHOLD = 0.5
SEMANTIC_THRESHOLD = 0.65
MAX_COLLISIONS = 5
MAX_TASKS = 500
SEMANTIC_CANDIDATES = 20
CACHE_SIZE = 50_000          # sentence vectors kept per process (384 floats each: ~77 MB when full)
KIND_LABEL = {"content": "the article", "task": "the queued task"}


@dataclass(frozen=True)
class Collision:
    """One article or queued task a task collides with: its score in 0..1 and which features found it."""

    kind: str      # "content" | "task"
    id: int
    title: str
    score: float
    via: str       # "lexical" | "semantic"

    def as_dict(self) -> dict:
        """The JSON form stored in Tasks.overlaps."""
        return asdict(self)


@dataclass(frozen=True)
class _Row:
    kind: str
    id: int
    title: str
    text: str
    task_id: int | None  # the task an article was written for, or the task itself


def primary_keyword(task: Tasks) -> str:
    """The first of the task's comma-separated keywords, else its title."""
    first = next((k.strip() for k in (task.keywords or "").split(",") if k.strip()), "")
    return first or task.title


def _join(*parts: str | None) -> str:
    seen: list[str] = []
    for part in parts:
        part = (part or "").strip()
        if part and part.casefold() not in (s.casefold() for s in seen):
            seen.append(part)
    return " — ".join(seen)


def task_text(task: Tasks) -> str:
    """What a task is about: its primary keyword and its title."""
    return _join(primary_keyword(task), task.title)


# --- features ---------------------------------------------------------------------------------------------------

def lexical_vectors(texts: list[str]) -> sp.csr_matrix:
    """Unit sparse rows [tokens | bigrams | char n-grams] of the texts, weighted as the clusterer weighs them."""
    normalised = [features.normalise(t) for t in texts]
    distinct = list(dict.fromkeys(normalised))
    where = {t: i for i, t in enumerate(distinct)}
    index = np.array([where[t] for t in normalised], dtype=np.int64)
    space = features.build_term_space(distinct)
    if space.n_tokens == 0:
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)
    token_w, bigram_w = features.term_weights(space, np.ones(space.n_tokens, np.float32))
    u = space.tokens @ sp.diags(token_w)
    b = space.bigrams @ sp.diags(bigram_w)
    c = (u @ space.token_chars) * np.float32(space.char_weight)
    rows = sp.hstack([u, b, c], format="csr", dtype=np.float32)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    rows = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)) @ rows
    return rows.tocsr()[index]


_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def semantic_vectors(texts: list[str]) -> np.ndarray:
    """Unit sentence vectors of the texts from the local model, each text embedded once per process (LRU)."""
    from core.planner.clustering import semantic
    with _cache_lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    fresh = semantic.embed(missing) if missing else np.zeros((0, 0), np.float32)
    with _cache_lock:
        found = {t: _cache[t] for t in texts if t in _cache}
        for text, vector in zip(missing, fresh, strict=True):
            found[text] = _cache[text] = vector
        for text in found:
            if text in _cache:
                _cache.move_to_end(text)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


def semantic_installed() -> bool:
    """Whether the optional local embedding model is installed (never downloaded here)."""
    from core.planner.clustering import apply
    return apply.semantic_available()[0]


# --- scoring ----------------------------------------------------------------------------------------------------

def _score(queries: list[_Row], corpus: list[_Row], *, semantic: bool) -> list[list[Collision]]:
    """Collisions of each query row with the corpus rows, best first, at most MAX_COLLISIONS each."""
    if not corpus:
        return [[] for _ in queries]
    vectors = lexical_vectors([q.text for q in queries] + [r.text for r in corpus])
    lex = np.asarray((vectors[:len(queries)] @ vectors[len(queries):].T).todense(), dtype=np.float32)
    own = _own_mask(queries, corpus)
    lex[own] = -1.0
    sem = _semantic_scores(queries, corpus, lex) if semantic else np.full_like(lex, -1.0)
    sem[own] = -1.0
    lex_hit, sem_hit = lex >= LEXICAL_THRESHOLD, sem >= SEMANTIC_THRESHOLD
    score = np.maximum(np.where(lex_hit, lex, -1.0), np.where(sem_hit, sem, -1.0))
    out = []
    for i in range(len(queries)):
        hits = np.flatnonzero(score[i] >= 0)
        best = hits[np.lexsort((hits, -score[i, hits]))][:MAX_COLLISIONS]
        out.append([Collision(corpus[j].kind, corpus[j].id, corpus[j].title, round(float(min(score[i, j], 1.0)), 4),
                              "lexical" if score[i, j] == lex[i, j] and lex_hit[i, j] else "semantic")
                    for j in best])
    return out


def _own_mask(queries: list[_Row], corpus: list[_Row]) -> np.ndarray:
    """True where a corpus row is the query task itself or the article written for it."""
    owner = np.array([r.task_id if r.task_id is not None else -1 for r in corpus], dtype=np.int64)
    mine = np.array([q.task_id for q in queries], dtype=np.int64)
    return owner[None, :] == mine[:, None]


def _semantic_scores(queries: list[_Row], corpus: list[_Row], lex: np.ndarray) -> np.ndarray:
    """Cosine of sentence vectors for each query's SEMANTIC_CANDIDATES lexically nearest rows (−1 elsewhere)."""
    k = min(SEMANTIC_CANDIDATES, len(corpus))
    near = np.argpartition(-lex, k - 1, axis=1)[:, :k] if k < len(corpus) else \
        np.tile(np.arange(len(corpus)), (len(queries), 1))
    columns = np.unique(near)
    z = semantic_vectors([q.text for q in queries] + [corpus[j].text for j in columns])
    q, c = z[:len(queries)], z[len(queries):]
    sem = np.full(lex.shape, -1.0, dtype=np.float32)
    position = np.searchsorted(columns, near)
    rows = np.arange(len(queries))[:, None]
    sem[rows, near] = np.einsum("qd,qkd->qk", q, c[position])
    return sem


# --- loading and storing ----------------------------------------------------------------------------------------

def _task_ids(task_ids: Iterable[int]) -> list[int]:
    try:
        ids = list(dict.fromkeys(int(t) for t in task_ids))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Task ids must be whole numbers.") from exc
    if not ids:
        raise ValidationFailed("Pick at least one task to check for overlaps.")
    if len(ids) > MAX_TASKS:
        raise ValidationFailed(f"Check at most {MAX_TASKS} tasks at a time (got {len(ids)}).")
    return ids


def _load_tasks(session: Session, actor: Actor, ids: list[int]) -> dict[int, Tasks]:
    found = {t.id: t for t in session.scalars(tenancy.scoped(select(Tasks).where(Tasks.id.in_(ids)), Tasks, actor))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"Task #{missing[0]} was not found.")
    return found


def _corpus(session: Session, actor: Actor, site_id: int) -> list[_Row]:
    """The site's live articles and live queued tasks, as comparable rows."""
    articles = session.execute(tenancy.scoped(
        select(Content.id, Content.title, Content.primary_keyword, Content.meta_title, Content.task_id),
        Content, actor).where(Content.site_id == site_id).order_by(Content.id))
    rows = [_Row("content", i, title, _join(kw, title, meta), task_id) for i, title, kw, meta, task_id in articles]
    queued = session.scalars(tenancy.scoped(select(Tasks), Tasks, actor).where(
        Tasks.site_id == site_id, Tasks.status == TaskStatus.queued).order_by(Tasks.id))
    return rows + [_Row("task", t.id, t.title, task_text(t), t.id) for t in queued]


def _store(tasks: Iterable[Tasks], found: dict[int, list[Collision]]) -> None:
    now = utcnow()
    for task in tasks:
        collisions = found[task.id]
        task.overlaps = [c.as_dict() for c in collisions]
        task.overlap_score = collisions[0].score if collisions else None
        task.overlap_checked_at = now


# --- the service ------------------------------------------------------------------------------------------------

def check_tasks(session: Session, actor: Actor, *, task_ids: list[int], store: bool | None = None,
                semantic: bool | None = None) -> dict[int, list[Collision]]:
    """What each task collides with, best first (≤ 5); stored on the tasks when `store` (default: actor.can_write)."""
    store = actor.can_write if store is None else store
    if store:
        tenancy.require_write(actor)
    ids = _task_ids(task_ids)
    tasks = _load_tasks(session, actor, ids)
    use_semantic = semantic_installed() if semantic is None else semantic
    found: dict[int, list[Collision]] = {}
    for site_id in sorted({t.site_id for t in tasks.values()}):
        group = [tasks[i] for i in ids if tasks[i].site_id == site_id]
        queries = [_Row("task", t.id, t.title, task_text(t), t.id) for t in group]
        scored = _score(queries, _corpus(session, actor, site_id), semantic=use_semantic)
        found.update({t.id: collisions for t, collisions in zip(group, scored, strict=True)})
    if store:
        _store(tasks.values(), found)
        session.flush()
    return {i: found[i] for i in ids}


def check_task(session: Session, actor: Actor, *, task_id: int, store: bool | None = None,
               semantic: bool | None = None) -> list[Collision]:
    """What one task collides with before its article is generated ([] when nothing: no confirmation needed)."""
    return check_tasks(session, actor, task_ids=[task_id], store=store, semantic=semantic)[task_id]


def _quoted(title: str, limit: int = 80) -> str:
    title = " ".join((title or "").split())
    return f"“{title if len(title) <= limit else title[:limit - 1] + '…'}”"


def describe(collisions: list[Collision]) -> str:
    """A sentence for a person: collides with the article “X” (0.91) and the queued task “Y” (0.86)."""
    if not collisions:
        return "collides with nothing on this site"
    parts = [f"{KIND_LABEL.get(c.kind, c.kind)} {_quoted(c.title)} ({c.score:.2f})" for c in collisions]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"collides with {listed}"
