"""Reading a seed-keyword file for the keyword library: the site-keyword importer's reader (core.planner.keyword_import:
encodings, delimiters, headers of Semrush / Ahrefs / Keyword Planner / Moz or a plain list, ranges like
"1K – 10K", keyword normalisation), adapted to the library's rows and its report of skipped rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.planner import keyword_import
from core.planner.keyword_import.rows import ParsedRow

MAX_ROWS = 200_000  # a curated library file; bigger ones are refused before anything is written


@dataclass(frozen=True)
class ParsedSeed(ParsedRow):
    line: int


@dataclass
class ParsedSeeds:
    rows: dict[str, ParsedSeed] = field(default_factory=dict)  # by normalised keyword, first occurrence wins
    read: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), the importer's first ones shown
    skipped_total: int = 0


def parse_seed_csv(data: bytes, *, name: str = "library file") -> ParsedSeeds:
    """The usable rows of a seed-keyword file, de-duplicated, and why the others were skipped."""
    rows, report = keyword_import.read_rows(data, name=name)
    if report.rows > MAX_ROWS:
        raise keyword_import.ImportRejected(f"{name} has {report.rows:,} rows; the library takes at most "
                                            f"{MAX_ROWS:,} per file. Split it.")
    out = ParsedSeeds(read=report.rows, skipped=[(p.line, p.message) for p in report.problems],
                      skipped_total=report.skipped)
    for line, row in rows:
        seed = ParsedSeed.from_row(row, line=line)
        if seed.norm in out.rows:
            out.skipped.append((line, f"duplicate of line {out.rows[seed.norm].line}"))
            out.skipped_total += 1
            continue
        out.rows[seed.norm] = seed
    out.skipped.sort()
    return out
