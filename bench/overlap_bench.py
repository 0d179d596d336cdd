"""The cannibalization guard (core.writer.overlap): precision and recall of pairs, and the time of one check.

    python3 dev.py bench overlap [--csv ../shared/data/clinc150_val.csv] [--content 10000] [--tasks 50]

1. Pairs: every pair of the real labelled queries (CLINC150 validation, 3,000 queries of 150 intents); two queries of
   the same intent are a cannibalizing pair, of different intents not. For lexical and (when the local model is
   installed) semantic scores: precision, recall and F1 of "score ≥ threshold" at a few thresholds, then the guard's
   rule (lexical ≥ LEXICAL_THRESHOLD or semantic ≥ SEMANTIC_THRESHOLD) and the share of semantic hits that fall
   inside the lexical top-SEMANTIC_CANDIDATES the guard embeds (what the candidate cut costs in recall).
2. Time: check_tasks of --tasks tasks against --content articles of one site, on a fresh SQLite file, lexical only
   and (when installed) with the model, cold (empty vector cache) and warm.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.writer import overlap  # noqa: E402

CLINC = ROOT.parent / "shared" / "data" / "clinc150_val.csv"
LEXICAL = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)
SEMANTIC = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9)


def read_labelled(path: Path) -> tuple[list[str], np.ndarray]:
    """(texts, integer labels) of a CSV with text and intent (or label) columns."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    column = "intent" if "intent" in rows[0] else "label"
    names = sorted({r[column] for r in rows})
    codes = {n: i for i, n in enumerate(names)}
    return [r["text"] for r in rows], np.array([codes[r[column]] for r in rows])


def pair_scores(vectors, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cosine, same-label) of every unordered pair."""
    sims = vectors @ vectors.T
    sims = np.asarray(sims.todense() if hasattr(sims, "todense") else sims, dtype=np.float32)
    upper = np.triu_indices(len(labels), 1)
    return sims[upper], (labels[:, None] == labels[None, :])[upper]


def prf(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of predicted pairs."""
    tp = float((predicted & truth).sum())
    p = tp / max(float(predicted.sum()), 1.0)
    r = tp / max(float(truth.sum()), 1.0)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def table(name: str, scores: np.ndarray, truth: np.ndarray, thresholds: tuple[float, ...]) -> None:
    print(f"{name:9} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6} {'flagged':>9}")
    for t in thresholds:
        p, r, f1 = prf(scores >= t, truth)
        print(f"{'':9} {t:9.2f} {p:9.3f} {r:7.3f} {f1:6.3f} {int((scores >= t).sum()):9d}")


def candidate_share(lex_vectors, sem_vectors: np.ndarray, k: int) -> float:
    """Of the pairs the model alone would flag, the share inside one end's lexical top-k (the ones the guard sees)."""
    lex = np.asarray((lex_vectors @ lex_vectors.T).todense(), dtype=np.float32)
    sem = sem_vectors @ sem_vectors.T
    np.fill_diagonal(lex, -1.0)
    np.fill_diagonal(sem, -1.0)
    near = np.zeros(lex.shape, dtype=bool)
    np.put_along_axis(near, np.argpartition(-lex, k - 1, axis=1)[:, :k], True, axis=1)
    near |= near.T
    hits = sem >= overlap.SEMANTIC_THRESHOLD
    return float((hits & near).sum()) / max(float(hits.sum()), 1.0)


def pairs(path: Path) -> None:
    texts, labels = read_labelled(path)
    print(f"{len(texts)} queries, {len(set(labels.tolist()))} intents, "
          f"{int((labels[:, None] == labels[None, :]).sum() - len(labels)) // 2} same-intent pairs")
    lex_vectors = overlap.lexical_vectors(texts)
    lex, truth = pair_scores(lex_vectors, labels)
    table("lexical", lex, truth, LEXICAL)
    if not overlap.semantic_installed():
        print("semantic: the local model is not installed (requirements-semantic.txt): skipped")
        return
    began = time.perf_counter()
    sem_vectors = overlap.semantic_vectors(texts)
    print(f"(embedded {len(texts)} queries in {time.perf_counter() - began:.1f} s)")
    sem, _ = pair_scores(sem_vectors, labels)
    table("semantic", sem, truth, SEMANTIC)
    rule = (lex >= overlap.LEXICAL_THRESHOLD) | (sem >= overlap.SEMANTIC_THRESHOLD)
    p, r, f1 = prf(rule, truth)
    print(f"guard rule lexical ≥ {overlap.LEXICAL_THRESHOLD} or semantic ≥ {overlap.SEMANTIC_THRESHOLD}: "
          f"precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")
    shares = ", ".join(f"top-{k} {candidate_share(lex_vectors, sem_vectors, k):.1%}"
                       for k in sorted({5, 10, overlap.SEMANTIC_CANDIDATES, 40}))
    print(f"semantic hits (≥ {overlap.SEMANTIC_THRESHOLD}) inside one end's lexical candidates: {shares}")


def _site(session, n_content: int, n_tasks: int) -> tuple[object, list[int]]:
    from bench.make_labelled_keywords import generate
    from core import reference, tenancy
    from core.identity import accounts
    from db.enums import AccountStatus, Role
    from db.models import Clusters, Content, Sector, Site, Tasks

    reference.seed(session)
    acct = accounts.create_account_record(session, name="Bench", slug="bench", status=AccountStatus.active)
    site = Site(account_id=acct.id, name="Bench site", slug="bench")
    session.add(site)
    session.flush()
    sector = Sector(account_id=acct.id, site_id=site.id, name="Bench", slug="bench")
    session.add(sector)
    session.flush()
    base = {"account_id": acct.id, "site_id": site.id, "sector_id": sector.id}
    cluster = Clusters(**base, name="Bench")
    session.add(cluster)
    session.flush()
    words = [text for text, _, _ in generate(n_content + n_tasks, seed=11)]
    session.add_all(Content(**base, title=f"The complete guide to {w}", primary_keyword=w, meta_title=w.title())
                    for w in words[:n_content])
    tasks = [Tasks(**base, title=f"{w.capitalize()}: what to know", keywords=w, cluster_id=cluster.id)
             for w in words[n_content:]]
    session.add_all(tasks)
    session.flush()
    return tenancy.Actor(None, Role.owner, acct.id, None), [t.id for t in tasks]


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def timing(n_content: int, n_tasks: int) -> None:
    from db import migrate
    from db.session import make_engine, make_session_factory

    with tempfile.TemporaryDirectory(prefix="igny8_overlap_bench_") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        migrate.upgrade(engine)
        with make_session_factory(engine)() as s:
            actor, ids = _site(s, n_content, n_tasks)
            s.commit()
            run = lambda semantic: overlap.check_tasks(s, actor, task_ids=ids, semantic=semantic)  # noqa: E731
            flagged = sum(bool(v) for v in run(False).values())
            print(f"check_tasks, {n_tasks} tasks vs {n_content} articles (SQLite): lexical "
                  f"{_time(lambda: run(False), 5) * 1000:.0f} ms (median of 5; {flagged} tasks flagged)")
            if overlap.semantic_installed():
                overlap._cache.clear()
                cold = _time(lambda: run(True), 1)
                print(f"  with the model: cold cache {cold * 1000:.0f} ms, warm {_time(lambda: run(True), 3) * 1000:.0f}"
                      " ms")
            s.rollback()
        engine.dispose()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench overlap")
    parser.add_argument("--csv", type=Path, default=CLINC)
    parser.add_argument("--content", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--skip-pairs", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_pairs:
        if args.csv.is_file():
            pairs(args.csv)
        else:
            print(f"{args.csv}: missing, pairs skipped")
    timing(args.content, args.tasks)


if __name__ == "__main__":
    main(sys.argv[1:])
