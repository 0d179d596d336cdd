"""What an import would read: encoding, delimiter, header, the column mapping and the first rows, parsed."""
from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from core.config import settings
from core.errors import ValidationFailed
from core.planner.keyword_import import columns as cols
from core.planner.keyword_import import reading
from core.planner.keyword_import.locks import WAIT_SECONDS
from core.planner.keyword_import.reading import AUTO, Layout, Source
from core.planner.keyword_import.rows import Blank, RowParser, RowProblem

PREVIEW_ROWS = 20


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what to do with keywords the sector has already.

    on_existing: "update" (metrics from the file replace the stored ones; a deleted keyword is restored) or
    "skip" (left as they are, reported). all_or_nothing: any bad row → nothing is written.
    encoding / delimiter / header_line: "auto" or the user's correction (header_line None: no header).
    mapping: field → column name (None: recognised from the header names).
    lock_wait: seconds to wait for another import into the account to finish before this one is refused
    (PostgreSQL; on SQLite the database's busy timeout, 10 s, applies)."""

    on_existing: str = "update"
    all_or_nothing: bool = False
    encoding: str = AUTO
    delimiter: str = AUTO
    header_line: int | None | str = AUTO
    mapping: dict[str, str] | None = None
    max_bytes: int | None = None  # None: IGNY8_IMPORT_MAX_MB
    lock_wait: float = WAIT_SECONDS

    def limit(self) -> int:
        return self.max_bytes if self.max_bytes is not None else settings().import_max_mb * 2**20


DEFAULT_OPTIONS = ImportOptions()


@dataclass
class Preview:
    """The detected (or corrected) way of reading the file, and its first rows as they would be imported."""

    file_name: str
    size: int
    encoding: str
    delimiter: str
    header_line: int | None
    columns: list[str]
    mapping: dict[str, str]  # field → column, for the user to correct
    source: str  # the tool the export seems to come from
    kept: list[str] = field(default_factory=list)  # columns stored in the keywords' attributes
    rows: list[dict] = field(default_factory=list)  # the first rows, parsed (or with the reason they are skipped)
    problems: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return reading.DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def layout_and_mapping(source: Source, options: ImportOptions) -> tuple[Layout, dict[str, str]]:
    """The layout and the mapping to use; the mapping is checked (ValidationFailed names what to fix)."""
    layout = reading.detect_layout(source, encoding=options.encoding, delimiter=options.delimiter,
                                   header_line=options.header_line)
    mapping = options.mapping if options.mapping is not None else cols.detect_mapping(layout.columns)
    return layout, cols.check_mapping(mapping, layout.columns)


def preview(data: Path | str | bytes | BinaryIO, *, name: str | None = None,
            options: ImportOptions = DEFAULT_OPTIONS, rows: int = PREVIEW_ROWS) -> Preview:
    """Read the start of the file only: layout, mapping and the first `rows` rows (ImportRejected when the file
    cannot be read at all; a mapping to correct is a problem of the preview, not an error)."""
    source = reading.open_source(data, name=name, max_bytes=options.limit())
    try:
        layout = reading.detect_layout(source, encoding=options.encoding, delimiter=options.delimiter,
                                       header_line=options.header_line)
        wanted = options.mapping if options.mapping is not None else cols.detect_mapping(layout.columns)
        result = Preview(source.name, source.size, layout.encoding, layout.delimiter, layout.header_line,
                         layout.columns, {k: v for k, v in wanted.items() if v}, cols.guess_source(layout.columns))
        try:
            mapping = cols.check_mapping(wanted, layout.columns)
        except ValidationFailed as exc:
            result.problems.append(str(exc))
            result.rows = [{"line": line, **dict(zip(layout.columns, cells, strict=False))}
                           for line, cells in _first(source, layout, rows)]
            return result
        parser = RowParser(layout.columns, mapping)
        result.kept = [layout.columns[i] for i, _, _ in parser.extras]
        result.rows = [_shown(line, cells, parser) for line, cells in _first(source, layout, rows)]
        if not result.rows:
            result.problems.append("The file has no data rows after the header.")
        return result
    finally:
        source.close()


def _first(source: Source, layout: Layout, n: int) -> list[tuple[int, list[str]]]:
    out = []
    with closing(reading.records(source, layout)) as records:
        for item in records:
            out.append(item)
            if len(out) >= n:
                break
    return out


def _shown(line: int, cells: list[str], parser: RowParser) -> dict:
    try:
        keyword, _, volume, difficulty, cpc, intent, attrs = parser.parse(cells)
    except Blank:
        return {"line": line, "keyword": "", "problem": "blank row (ignored)"}
    except RowProblem as exc:
        return {"line": line, "keyword": parser.keyword_of(cells)[:120], "problem": str(exc)}
    return {"line": line, "keyword": keyword, "volume": volume, "difficulty": difficulty, "cpc": cpc,
            "intent": intent, "attributes": json.loads(attrs), "problem": ""}
