"""Keyword clustering: core.planner.clustering.engine against TF-IDF + k-means (k = number of labels) on the same CSV.

    python3 dev.py bench cluster [--csv FILE | --n 10000] [--granularity 0.5] [--mode lexical|semantic]
                                 [--baseline kmeans|minibatch]
    python bench/make_labelled_keywords.py --n 50000 --out /tmp/kw50k.csv   # a labelled CSV to run it on

Without --csv, a labelled set of --n keywords is generated first (bench/make_labelled_keywords.py; the labels
are the template topics the keywords were made from). FILE is any CSV with a text column ("text", "keyword" or "Keyword") and, for NMI/ARI and the baseline, a
"label" column; a "volume"/"Volume" column, when present, names the clusters. Each method runs in its own fresh
process so that its time and peak RSS (getrusage ru_maxrss, the whole process: interpreter, libraries and the
loaded CSV included) are its own. Unclustered = share of keywords alone in their cluster.
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


def read_csv(path: Path) -> tuple[list[str], list[str] | None, list[int | None]]:
    """(texts, labels or None, volumes) from a CSV with a BOM or without."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        text_col = next((c for c in TEXT_COLUMNS if c in fields), None)
        if text_col is None:
            sys.exit(f"{path}: no text column (one of {', '.join(TEXT_COLUMNS)}) in {fields}")
        volume_col = next((c for c in VOLUME_COLUMNS if c in fields), None)
        rows = list(reader)
    texts = [r[text_col] for r in rows]
    labels = [r["label"] for r in rows] if "label" in fields else None
    volumes = [_int(r[volume_col]) if volume_col else None for r in rows]
    return texts, labels, volumes


def _int(value: str | None) -> int | None:
    try:
        return int(float((value or "").replace(",", "")))
    except ValueError:
        return None


def run_ours(texts: list[str], volumes: list[int | None], args: argparse.Namespace) -> list[int]:
    from core.planner.clustering.engine import KeywordItem, cluster_keywords

    items = [KeywordItem(i, t, v) for i, (t, v) in enumerate(zip(texts, volumes, strict=True))]
    result = cluster_keywords(items, granularity=args.granularity, mode=args.mode)
    labels = [-1] * len(items)
    for c, cluster in enumerate(result.clusters):
        for i in cluster.member_ids:
            labels[i] = c
    for extra, i in enumerate(result.unclustered_ids):
        labels[i] = len(result.clusters) + extra
    return labels


def run_baseline(texts: list[str], k: int, args: argparse.Namespace) -> list[int]:
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    # word unigrams: on these short texts they score higher than unigrams+bigrams (a fairer baseline)
    x = TfidfVectorizer(sublinear_tf=True, dtype="float32").fit_transform(texts)
    if args.baseline == "minibatch":
        model = MiniBatchKMeans(k, n_init=3, random_state=0, batch_size=4096)
    else:
        model = KMeans(k, n_init=3, random_state=0)
    return model.fit_predict(x).tolist()


def child(args: argparse.Namespace) -> None:
    """Run one method and print its labels, time and peak RSS as JSON (in a fresh process)."""
    texts, labels, volumes = read_csv(args.csv)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if args.child == "ours":
        predicted = run_ours(texts, volumes, args)
    else:
        predicted = run_baseline(texts, len(set(labels or [])), args)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"labels": predicted, "time": elapsed, "peak_kb": peak, "loaded_kb": loaded}))


def measure(args: argparse.Namespace, which: str) -> dict:
    cmd = [sys.executable, __file__, "--csv", str(args.csv), "--granularity", str(args.granularity),
           "--mode", args.mode, "--baseline", args.baseline, "--child", which]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"\n{which} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", type=Path, help="a CSV of text[,label][,volume]; default: a generated labelled set")
    ap.add_argument("--n", type=int, default=10000, help="size of the generated set when no --csv is given")
    ap.add_argument("--granularity", type=float, default=0.5)
    ap.add_argument("--mode", choices=("lexical", "semantic"), default="lexical")
    ap.add_argument("--baseline", choices=("kmeans", "minibatch"), default="kmeans",
                    help="KMeans (n_init=3) or MiniBatchKMeans (n_init=3), both random_state=0")
    ap.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return
    if args.csv is not None:
        report(args)
        return
    from bench.make_labelled_keywords import generate

    with tempfile.TemporaryDirectory(prefix="igny8_cluster_bench_") as tmp:
        args.csv = Path(tmp) / f"generated_{args.n}.csv"
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text", "label", "volume"), *generate(args.n)])
        print(f"generated {args.n:,} template keywords (labels = their generating topic)")
        report(args)


def report(args: argparse.Namespace) -> None:
    """Run both methods on args.csv and print one row each."""
    texts, truth, _ = read_csv(args.csv)
    labels_note = f"{len(set(truth))} labels" if truth else "no label column: NMI/ARI and the baseline skipped"
    print(f"{args.csv}: n={len(texts):,}, {labels_note}; granularity={args.granularity}, mode={args.mode}")
    methods = [("ours", f"core.planner.clustering.engine ({args.mode})")]
    if truth:
        methods.append(("baseline", f"TF-IDF + {args.baseline} k={len(set(truth))}"))
    print(f"{'method':34} {'time s':>7} {'peak MB':>8} {'NMI':>6} {'ARI':>6} {'unclust':>8} {'clusters':>8}")
    for which, name in methods:
        m = measure(args, which)
        s = scores(truth, m["labels"])
        nmi = f"{s['nmi']:.3f}" if "nmi" in s else "-"
        ari = f"{s['ari']:.3f}" if "ari" in s else "-"
        print(f"{name:34} {m['time']:7.1f} {m['peak_kb'] / 1024:8.0f} {nmi:>6} {ari:>6} "
              f"{s['unclustered']:8.2%} {s['clusters']:8,}", flush=True)
    print("peak MB = the process's peak RSS (ru_maxrss), interpreter, libraries and the loaded CSV included")


if __name__ == "__main__":
    main()
