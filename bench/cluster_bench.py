"""Keyword clustering: core.planner.clustering.engine (both modes, no k) against k-means given the true k.

    python3 dev.py bench cluster [--csv FILE [--label COLUMN] [--halves] | --n 10000] [--granularity 0.5]
                                 [--methods semantic,lexical,minilm,tfidf | --mode lexical|semantic]
                                 [--baseline kmeans|minibatch]
    python3 dev.py bench cluster --csv ../shared/data/clinc150_val.csv --halves     # real labelled queries
    python bench/make_labelled_keywords.py --n 50000 --out /tmp/kw50k.csv           # a labelled CSV to run it on

Rows, each in its own fresh process so that its time and peak RSS (getrusage ru_maxrss, the whole process:
interpreter, libraries and the loaded CSV included) are its own:
  semantic  ours, mode="semantic" at --granularity: the local MiniLM model on each keyword's whole text, no k;
  lexical   ours, mode="lexical" at --granularity, no k;
  minilm    the same MiniLM vectors of every text, clustered by k-means given the true k (the number of labels);
  tfidf     TF-IDF (word unigrams, sublinear tf) + k-means given the true k.
"embed s" is the part of "time s" spent in the sentence model. Without --csv, a labelled set of --n keywords is
generated first (bench/make_labelled_keywords.py; the labels are the template topics the keywords were made from).
FILE is any CSV with a text column ("text", "keyword" or "Keyword") and, for NMI/ARI and the k-means rows, a label
column (--label; by default "label", else "intent"); a "volume"/"Volume" column, when present, names the clusters.
--halves also scores each half of the labels (every other label in sorted order: A, the half to tune on, and B,
held out). Unclustered = share of keywords alone in their cluster.
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT_COLUMNS = ("text", "keyword", "Keyword", "keywords", "Keywords")
VOLUME_COLUMNS = ("volume", "Volume", "Search Volume", "search_volume")
LABEL_COLUMNS = ("label", "intent")
METHODS = {"semantic": "ours semantic (no k)", "lexical": "ours lexical (no k)",
           "minilm": "MiniLM + {baseline} (true k)", "tfidf": "TF-IDF + {baseline} (true k)"}
EMBEDDING = "Embedding keywords with the local model"


def read_csv(path: Path, label: str | None = None) -> tuple[list[str], list[str] | None, list[int | None]]:
    """(texts, labels or None, volumes) from a CSV with a BOM or without."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        text_col = next((c for c in TEXT_COLUMNS if c in fields), None)
        if text_col is None:
            sys.exit(f"{path}: no text column (one of {', '.join(TEXT_COLUMNS)}) in {fields}")
        if label is not None and label not in fields:
            sys.exit(f"{path}: no label column “{label}” in {fields}")
        label_col = label or next((c for c in LABEL_COLUMNS if c in fields), None)
        volume_col = next((c for c in VOLUME_COLUMNS if c in fields), None)
        rows = list(reader)
    texts = [r[text_col] for r in rows]
    labels = [r[label_col] for r in rows] if label_col else None
    volumes = [_int(r[volume_col]) if volume_col else None for r in rows]
    return texts, labels, volumes


def _int(value: str | None) -> int | None:
    try:
        return int(float((value or "").replace(",", "")))
    except ValueError:
        return None


def run_ours(texts: list[str], volumes: list[int | None], mode: str, granularity: float
             ) -> tuple[list[int], float]:
    """Labels per text (each unclustered text alone) and the seconds spent embedding."""
    from core.planner.clustering.engine import KeywordItem, cluster_keywords

    span: dict[str, float] = {}

    def progress(message: str, fraction: float) -> None:
        if message == EMBEDDING:      # reported before the first batch and after each one
            span.setdefault("start", time.perf_counter())
            span["end"] = time.perf_counter()

    items = [KeywordItem(i, t, v) for i, (t, v) in enumerate(zip(texts, volumes, strict=True))]
    result = cluster_keywords(items, granularity=granularity, mode=mode, on_progress=progress)
    labels = [-1] * len(items)
    for c, cluster in enumerate(result.clusters):
        for i in cluster.member_ids:
            labels[i] = c
    for extra, i in enumerate(result.unclustered_ids):
        labels[i] = len(result.clusters) + extra
    return labels, span["end"] - span["start"] if span else 0.0


def _kmeans(k: int, baseline: str):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if baseline == "minibatch":
        return MiniBatchKMeans(k, n_init=3, random_state=0, batch_size=4096)
    return KMeans(k, n_init=3, random_state=0)


def run_baseline(texts: list[str], k: int, method: str, baseline: str) -> tuple[list[int], float]:
    """k-means (true k) labels on TF-IDF or on the whole texts' MiniLM vectors, and the seconds spent embedding."""
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        # word unigrams: on these short texts they score higher than unigrams+bigrams (a fairer baseline)
        x = TfidfVectorizer(sublinear_tf=True, dtype="float32").fit_transform(texts)
        return _kmeans(k, baseline).fit_predict(x).tolist(), 0.0
    from threadpoolctl import threadpool_limits

    from core.planner.clustering import embedder

    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):   # the model runs as in ours: one BLAS thread
        x = embedder.encoder().encode(texts)
    embedded = time.perf_counter() - start
    return _kmeans(k, baseline).fit_predict(x).tolist(), embedded


def child(args: argparse.Namespace) -> None:
    """Run one method and print its labels, times and peak RSS as JSON (in a fresh process)."""
    texts, labels, volumes = read_csv(args.csv, args.label)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if args.child in ("semantic", "lexical"):
        predicted, embedded = run_ours(texts, volumes, args.child, args.granularity)
    else:
        predicted, embedded = run_baseline(texts, len(set(labels or [])), args.child, args.baseline)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"labels": predicted, "time": elapsed, "embed": embedded, "peak_kb": peak,
                      "loaded_kb": loaded}))


def measure(args: argparse.Namespace, csv_path: Path, which: str, label: str | None) -> dict | str:
    """The child's JSON, or the last line of its error."""
    cmd = [sys.executable, __file__, "--csv", str(csv_path), "--granularity", str(args.granularity),
           "--baseline", args.baseline, "--child", which, *(["--label", label] if label else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def scores(truth: list[str] | None, predicted: list[int]) -> dict:
    from collections import Counter

    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    sizes = Counter(predicted)
    row = {"clusters": sum(1 for s in sizes.values() if s > 1),
           "unclustered": sum(1 for s in sizes.values() if s == 1) / max(len(predicted), 1)}
    if truth is not None:
        row["nmi"] = normalized_mutual_info_score(truth, predicted)
        row["ari"] = adjusted_rand_score(truth, predicted)
    return row


def report(args: argparse.Namespace, csv_path: Path, label: str | None, title: str = "") -> None:
    """Run each method on csv_path and print one row each."""
    texts, truth, _ = read_csv(csv_path, label)
    note = f"{len(set(truth))} labels" if truth else "no label column: NMI/ARI and the k-means rows skipped"
    print(f"{title or csv_path}: n={len(texts):,}, {note}; granularity={args.granularity}")
    print(f"{'method':34} {'time s':>7} {'embed s':>8} {'peak MB':>8} {'NMI':>6} {'ARI':>6} {'clusters':>8} "
          f"{'unclust':>8}")
    for which in args.methods:
        if truth is None and which in ("minilm", "tfidf"):
            continue
        name = METHODS[which].format(baseline=args.baseline)
        if which in ("minilm", "tfidf"):
            name = name.replace("true k", f"k={len(set(truth))}")
        m = measure(args, csv_path, which, label)
        if isinstance(m, str):
            print(f"{name:34} failed: {m}", flush=True)
            continue
        s = scores(truth, m["labels"])
        nmi = f"{s['nmi']:.3f}" if "nmi" in s else "-"
        ari = f"{s['ari']:.3f}" if "ari" in s else "-"
        print(f"{name:34} {m['time']:7.1f} {m['embed']:8.1f} {m['peak_kb'] / 1024:8.0f} {nmi:>6} {ari:>6} "
              f"{s['clusters']:8,} {s['unclustered']:8.2%}", flush=True)


def halves(args: argparse.Namespace, tmp: Path) -> None:
    """Score each half of the labels on its own: A (every other label from the first, sorted) and B (the rest)."""
    texts, truth, volumes = read_csv(args.csv, args.label)
    if truth is None:
        sys.exit(f"{args.csv}: --halves needs a label column")
    ordered = sorted(set(truth))
    for name, keep in (("A (tuning half)", set(ordered[0::2])), ("B (held-out half)", set(ordered[1::2]))):
        path = tmp / f"half_{name[0]}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            rows = [(t, y, v if v is not None else "") for t, y, v in zip(texts, truth, volumes, strict=True)
                    if y in keep]
            csv.writer(f).writerows([("text", "label", "volume"), *rows])
        print()
        report(args, path, "label", f"{args.csv} half {name}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", type=Path, help="a CSV of text[,label][,volume]; default: a generated labelled set")
    ap.add_argument("--label", help="the label column (default: label, else intent)")
    ap.add_argument("--halves", action="store_true", help="also score each half of the labels on its own")
    ap.add_argument("--n", type=int, default=10000, help="size of the generated set when no --csv is given")
    ap.add_argument("--granularity", type=float, default=0.5)
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, of {', '.join(METHODS)}")
    ap.add_argument("--mode", choices=("lexical", "semantic"), help="shorthand for --methods MODE,tfidf")
    ap.add_argument("--baseline", choices=("kmeans", "minibatch"), default="kmeans",
                    help="KMeans (n_init=3) or MiniBatchKMeans (n_init=3), both random_state=0")
    ap.add_argument("--child", choices=tuple(METHODS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return
    args.methods = [args.mode, "tfidf"] if args.mode else [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    with tempfile.TemporaryDirectory(prefix="igny8_cluster_bench_") as tmp:
        if args.csv is None:
            from bench.make_labelled_keywords import generate

            args.csv = Path(tmp) / f"generated_{args.n}.csv"
            with args.csv.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([("text", "label", "volume"), *generate(args.n)])
            print(f"generated {args.n:,} template keywords (labels = their generating topic)")
        report(args, args.csv, args.label)
        if args.halves:
            halves(args, Path(tmp))
    print("peak MB = the process's peak RSS (ru_maxrss), interpreter, libraries and the loaded CSV included; "
          "embed s = time in the sentence model, part of time s")


if __name__ == "__main__":
    main()
