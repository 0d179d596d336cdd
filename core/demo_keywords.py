"""Demo keywords: read a Semrush export by column name, route rows to sectors, group them by a shared phrase."""
from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core import planner
from core.errors import ValidationFailed
from db.enums import KeywordStatus
from db.models import Keywords, Sector

# Semrush names its columns; the order differs between export kinds, so columns are found by name.
COLUMNS = {"keyword": "Keyword", "intent": "Intent", "volume": "Volume", "trend": "Trend",
           "difficulty": "Keyword Difficulty", "cpc": "CPC (USD)", "serp": "SERP Features"}
BATCH = 1000
# Words that make a poor cluster phrase on their own ("how to", "for wordpress").
STOP = frozenset("a an and are at by can do for from how i in is it my of on or the to vs what when where which "
                 "why with you your".split())


@dataclass(frozen=True)
class KeywordRow:
    """One valid row of the export, normalised."""

    keyword: str
    norm: str
    volume: int | None
    difficulty: int | None
    cpc: Decimal | None
    intent: str | None
    attributes: dict


@dataclass
class ReadResult:
    """The valid rows, how many data rows were read, and why the others were skipped."""

    rows: list[KeywordRow] = field(default_factory=list)
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def _header_map(fieldnames: Sequence[str] | None, path: Path) -> dict[str, str]:
    found = {(name or "").strip().casefold(): name for name in fieldnames or []}
    out = {key: found[label.casefold()] for key, label in COLUMNS.items() if label.casefold() in found}
    if "keyword" not in out:
        raise ValidationFailed(f"{path.name} has no “Keyword” column (it has: {', '.join(fieldnames or []) or 'none'}).")
    return out


def _int(raw: str | None, low: int, high: int) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    number = int(text)  # ValueError: the caller counts the row as skipped
    if not low <= number <= high:
        raise ValueError(text)
    return number


def _cpc(raw: str | None) -> Decimal | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if value < 0 or value > Decimal("99999999"):
        raise ValueError(text)
    return value


def _attributes(raw: dict[str, str | None], cols: dict[str, str]) -> dict:
    attrs: dict = {}
    trend = (raw.get(cols.get("trend", ""), "") or "").strip()
    if trend:
        try:
            attrs["trend"] = [float(x) for x in trend.split(",")]
        except ValueError:
            attrs["trend"] = trend  # kept as given: the trend is informative, never a reason to drop a keyword
    serp = (raw.get(cols.get("serp", ""), "") or "").strip()
    if serp:
        attrs["serp_features"] = [part.strip() for part in serp.split(",") if part.strip()]
    return attrs


def _row(raw: dict[str, str | None], cols: dict[str, str]) -> KeywordRow:
    """A parsed row; ValidationFailed / ValueError name why it cannot be used."""
    display, norm = planner.normalize_keyword(raw.get(cols["keyword"]) or "")
    intent = (raw.get(cols.get("intent", ""), "") or "").strip()[:100] or None
    return KeywordRow(display, norm, _int(raw.get(cols.get("volume", "")), 0, 2_000_000_000),
                      _int(raw.get(cols.get("difficulty", "")), 0, 100), _cpc(raw.get(cols.get("cpc", ""))),
                      intent, _attributes(raw, cols))


def read_keywords(path: Path) -> ReadResult:
    """Every data row of the CSV, parsed; rows that cannot be used are counted by reason, never dropped silently."""
    result = ReadResult()
    seen: set[str] = set()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            cols = _header_map(reader.fieldnames, path)
            for raw in reader:
                result.read += 1
                if None in raw or any(v is None for v in raw.values()):
                    result.skipped["wrong number of fields"] += 1
                    continue
                try:
                    row = _row(raw, cols)
                except ValidationFailed as exc:
                    result.skipped["empty keyword" if "empty" in str(exc) else "keyword too long"] += 1
                    continue
                except ValueError:
                    result.skipped["volume, difficulty or CPC not a valid number"] += 1
                    continue
                if row.norm in seen:
                    result.skipped["duplicate keyword"] += 1
                    continue
                seen.add(row.norm)
                result.rows.append(row)
    except FileNotFoundError as exc:
        raise ValidationFailed(f"The keywords file {path} was not found.") from exc
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"The keywords file {path.name} is not UTF-8 text.") from exc
    except csv.Error as exc:
        raise ValidationFailed(f"The keywords file {path.name} is not a readable CSV: {exc}.") from exc
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


KEYWORD_COLUMNS = ("account_id", "site_id", "sector_id", "keyword", "keyword_norm", "volume", "difficulty", "cpc",
                   "intent", "attributes", "cluster_id", "status", "disabled", "created_at", "updated_at")


def insert_keywords(session: Session, sector: Sector, rows: list[KeywordRow], *, cluster_of: dict[str, int],
                    created_at: datetime) -> int:
    """Bulk-insert a sector's keywords (account/site/sector taken from the validated sector); returns the count.

    COPY on PostgreSQL (the house rule for bulk loads), batched multi-row INSERTs elsewhere."""
    values = [(sector.account_id, sector.site_id, sector.id, r.keyword, r.norm, r.volume, r.difficulty, r.cpc,
               r.intent, r.attributes, cluster_of.get(r.norm),
               (KeywordStatus.mapped if r.norm in cluster_of else KeywordStatus.new).value, False, created_at,
               created_at) for r in rows]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cur:
            with cur.copy(f"COPY keywords ({', '.join(KEYWORD_COLUMNS)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row((*row[:9], json.dumps(row[9]), *row[10:]))
        return len(values)
    table = Keywords.__table__
    for i in range(0, len(values), BATCH):
        session.execute(insert(table), [dict(zip(KEYWORD_COLUMNS, row, strict=True)) for row in values[i:i + BATCH]])
    return len(values)
