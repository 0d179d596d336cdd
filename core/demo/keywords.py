"""Demo keywords: read an export with core.planner.keyword_import, route rows to sectors, group them by a shared phrase."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.errors import ValidationFailed
from core.planner import keyword_import
from core.planner.keyword_import.rows import ParsedRow
from core.tenancy import Actor
from db.enums import KeywordStatus
from db.models import Keywords, Sector

BATCH = 500  # keywords per cluster-mapping UPDATE (below SQLite's bound-variable limit)
# Words that make a poor cluster phrase on their own ("how to", "for wordpress").
STOP = frozenset("a an and are at by can do for from how i in is it my of on or the to vs what when where which "
                 "why with you your".split())
# The import's reasons, as the demo report names them.
SKIP_LABELS = {"empty": "empty keyword", "too_long": "keyword too long", "cell_too_long": "cell too long",
               "bad_value": "volume, difficulty or CPC not a valid number", "fields": "wrong number of fields",
               "duplicate": "duplicate keyword"}
KeywordRow = ParsedRow  # one valid row of the export, normalised


@dataclass
class ReadResult:
    """The valid rows, how many data rows were read, and why the others were skipped."""

    rows: list[KeywordRow] = field(default_factory=list)
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def read_keywords(path: Path) -> ReadResult:
    """Every data row of the export, read by core.planner.keyword_import (any tool's columns, by name); rows that cannot
    be used are counted by reason, never dropped silently; a repeated keyword keeps its first row."""
    try:
        rows, report = keyword_import.read_rows(path)
    except ValidationFailed as exc:
        if "holds the keywords" not in str(exc):
            raise
        raise ValidationFailed(f"{path.name} has no “Keyword” column ({exc})") from exc
    result = ReadResult(read=report.rows)
    for code, n in report.reasons.items():
        result.skipped[SKIP_LABELS.get(code, code)] += n
    seen: set[str] = set()
    for _, row in rows:
        parsed = KeywordRow.from_row(row)
        if parsed.norm in seen:
            result.skipped[SKIP_LABELS["duplicate"]] += 1
            continue
        seen.add(parsed.norm)
        result.rows.append(parsed)
    return result


def route(rows: list[KeywordRow], rules: Sequence[Sequence[str]]) -> list[list[KeywordRow]]:
    """Rows per sector: the first sector one of whose terms occurs in the keyword; a rule-less sector takes the rest."""
    buckets: list[list[KeywordRow]] = [[] for _ in rules]
    fallback = next((i for i, terms in enumerate(rules) if not terms), len(rules) - 1)
    for row in rows:
        target = next((i for i, terms in enumerate(rules) if any(t in row.norm for t in terms)), fallback)
        buckets[target].append(row)
    return buckets


def _stem(token: str) -> str:
    # "themes" and "theme" make one cluster; "wordpress" and "news" stay as they are.
    return token[:-1] if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "us", "is")) else token


def _pairs(norm: str) -> list[tuple[tuple[str, str], tuple[str, str], str]]:
    """(order-free key, word order, surface phrase) of each neighbouring word pair worth naming a cluster after."""
    tokens = norm.split()
    out = []
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a in STOP or b in STOP or "/" in a + b or ":" in a + b:
            continue
        sa, sb = _stem(a), _stem(b)
        if sa != sb:
            out.append((tuple(sorted((sa, sb))), (sa, sb), f"{a} {b}"))
    return out


def _name(phrases: list[tuple[tuple[str, str], str]]) -> str:
    """The commonest word order, then its commonest (shortest) spelling: "wordpress themes" → "WordPress theme"."""
    order = min(Counter(o for o, _ in phrases).items(), key=lambda kv: (-kv[1], kv[0]))[0]
    spelled = Counter(p for o, p in phrases if o == order)
    return _title(min(spelled.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0])


@dataclass(frozen=True)
class Group:
    """A demo cluster: its display name and the keywords (norms) it takes."""

    name: str
    norms: tuple[str, ...]


def group(rows: list[KeywordRow], *, max_groups: int, min_size: int) -> list[Group]:
    """Greedy: the word pair most frequent among the keywords not yet grouped becomes the next cluster and takes
    every such keyword that has it. A stand-in for the real clusterer: deterministic, cheap, good enough for a demo."""
    pending = {row.norm: _pairs(row.norm) for row in rows}
    freq: Counter[tuple[str, str]] = Counter()
    for pairs in pending.values():
        freq.update({key for key, _, _ in pairs})
    groups: list[Group] = []
    while freq and len(groups) < max_groups:
        best, size = min(freq.items(), key=lambda kv: (-kv[1], kv[0]))
        if size < min_size:
            break
        taken = [norm for norm, pairs in pending.items() if any(key == best for key, _, _ in pairs)]
        name = _name([(o, p) for norm in taken for key, o, p in pending[norm] if key == best])
        for norm in taken:
            freq.subtract({key for key, _, _ in pending.pop(norm)})
        freq = +freq  # drop the pairs no pending keyword has any more
        groups.append(Group(name, tuple(taken)))
    return groups


def _title(phrase: str) -> str:
    words = ["WordPress" if w == "wordpress" else w for w in phrase.split()]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def insert_keywords(session: Session, actor: Actor, sector: Sector, rows: list[KeywordRow], *,
                    cluster_of: dict[str, int], created_at: datetime) -> int:
    """Write a sector's keywords through core.planner.keyword_import (COPY on PostgreSQL; linked to the curated
    keyword library only where it holds the same keyword — the demo adds nothing to the library), then map them to
    their clusters and date them back; returns how many were imported."""
    report = keyword_import.write_rows(session, actor, site_id=sector.site_id, sector_id=sector.id,
                                       rows=((n, r.as_row()) for n, r in enumerate(rows, 2)), name="demo",
                                       on_existing="skip")
    by_cluster: dict[int, list[str]] = {}
    for norm, cluster_id in cluster_of.items():
        by_cluster.setdefault(cluster_id, []).append(norm)
    for cluster_id, norms in sorted(by_cluster.items()):
        for i in range(0, len(norms), BATCH):
            session.execute(update(Keywords).where(Keywords.sector_id == sector.id,
                                                   Keywords.keyword_norm.in_(norms[i:i + BATCH]))
                            .values(cluster_id=cluster_id, status=KeywordStatus.mapped))
    session.execute(update(Keywords).where(Keywords.sector_id == sector.id)
                    .values(created_at=created_at, updated_at=created_at))
    return report.imported
