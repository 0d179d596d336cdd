"""Write a labelled keyword CSV (`text,label,volume`) for the clustering benchmark, deterministically.

    python bench/make_labelled_keywords.py --n 50000 --out /tmp/kw50k.csv [--seed 7]

What the labels are, honestly: each keyword is *generated* from one of 150 hand-written topics (25 families × 6,
bench/keyword_topics.py) by templates — a synonymous head phrase of the topic, an optional prefix ("best", "cheap"),
an optional suffix ("near me", "for beginners", "in texas") or a question form ("how much does … cost"), with a
few typos. The label is the topic it was generated from. They are not real searches, and the real Semrush export
in shared/data has no topic labels, so it serves the benchmark for time and memory only (no NMI/ARI).
Topic sizes are uneven on purpose (log-normal weights), as in real research exports.
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.keyword_topics import TOPICS  # noqa: E402

PREFIXES = ["", "best", "top", "cheap", "affordable", "free", "top rated", "local", "online", "professional",
            "premium", "easy", "quick", "diy", "custom", "new", "popular", "recommended", "trusted", "simple"]
SUFFIXES = ["", "near me", "reviews", "cost", "price", "prices", "for beginners", "for small business",
            "for seniors", "for students", "for families", "online", "deals", "comparison", "guide", "tips", "ideas",
            "2026", "2025", "uk", "usa", "canada", "australia", "in texas", "in california", "in new york",
            "in london", "service", "companies", "options", "benefits", "alternatives", "pros and cons", "checklist",
            "calculator", "quotes", "reddit", "discount code", "coupon", "for women", "for men", "for kids",
            "examples", "meaning", "requirements", "near me open now", "brands", "list", "explained", "mistakes"]
QUESTIONS = ["how to choose {h}", "what is {h}", "what is the best {h}", "how much does {h} cost",
             "is {h} worth it", "where to get {h}", "how to find {h}", "why do i need {h}", "which {h} is best",
             "how does {h} work", "can i get {h}", "do i need {h}", "when to buy {h}", "how to compare {h}",
             "what to look for in {h}"]
QUESTION_SUFFIXES = ["", "2026", "for beginners", "reddit", "uk", "for small business", "for seniors", "online"]
TYPO_RATE = 0.02


def head_forms(head: str) -> list[tuple[str, float]]:
    """Every template keyword one head phrase can produce with its sampling weight, in a fixed order.

    Weights make the short forms common, as in real exports (median 3–4 words): about half the keywords have no
    prefix, a third no suffix, one in ten is a question; large samples run into the long tail anyway.
    """
    def weight(part: str, empty: float) -> float:
        return empty if not part else 1.0

    forms = [(" ".join(p for p in (pre, head, suf) if p), weight(pre, 23.0) * weight(suf, 21.0))
             for pre in PREFIXES for suf in SUFFIXES]
    plain = sum(w for _, w in forms)
    q_weight = plain / 9 / (len(QUESTIONS) * len(QUESTION_SUFFIXES))
    forms += [(" ".join(p for p in (q.format(h=head), suf) if p), q_weight)
              for q in QUESTIONS for suf in QUESTION_SUFFIXES]
    return forms


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters inside one longer word, as a hurried searcher does."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 4]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def topic_sizes(n: int, rng: random.Random) -> dict[tuple[str, str], int]:
    """Uneven topic sizes that add up to n: log-normal weights, each topic at least a few keywords."""
    keys = [(fam, topic) for fam, topics in TOPICS.items() for topic in topics]
    weights = [rng.lognormvariate(0.0, 0.6) for _ in keys]
    total = sum(weights)
    sizes = {k: max(3, math.floor(n * w / total)) for k, w in zip(keys, weights, strict=True)}
    short = n - sum(sizes.values())
    for k in sorted(keys, key=lambda k: -sizes[k])[: max(short, 0)]:
        sizes[k] += 1
    return sizes


def volume_for(text: str, head: str, rng: random.Random) -> int:
    """Head phrases search most; every extra word divides the volume, like a long tail."""
    extra = max(len(text.split()) - len(head.split()), 0)
    base = 10 ** rng.uniform(3.0, 5.0) if extra == 0 else 10 ** rng.uniform(1.0, 3.5) / (1 + extra)
    return max(10, int(round(base, -1)))


def generate(n: int, seed: int = 7) -> list[tuple[str, str, int]]:
    """n distinct (text, label, volume) rows; the same n and seed give the same rows in the same order."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[tuple[str, str, int]] = []
    for (family, topic), size in topic_sizes(n, rng).items():
        heads = TOPICS[family][topic]
        # weighted sampling without replacement: sort by an exponential race, lowest key first
        pool = sorted(((rng.expovariate(1.0) / w, form, head) for head in heads for form, w in head_forms(head)))
        taken = 0
        for _, form, head in pool:
            if taken >= size:
                break
            text = typo(form, rng) if rng.random() < TYPO_RATE else form
            if text in seen:
                continue
            seen.add(text)
            rows.append((text, f"{family}/{topic}", volume_for(text, head, rng)))
            taken += 1
    rng.shuffle(rows)
    return rows[:n]      # small n: the three-keyword minimum per topic may overshoot


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="number of keywords (10000, 50000, 100000 …)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = generate(args.n, args.seed)
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "volume"])
        writer.writerows(rows)
    labels = len({label for _, label, _ in rows})
    print(f"wrote {len(rows):,} keywords in {labels} topics to {args.out} (labels = the generating topic; "
          "template-made keywords, not real searches)", file=sys.stderr)


if __name__ == "__main__":
    main()
