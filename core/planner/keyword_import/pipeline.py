"""The per-row stages of an import, as generators: parse (bad rows reported), then de-duplicate against earlier
rows and the sector's keywords and send to the writer. Plain tuples and one dict: a million rows stream through."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from core.planner.keyword_import import reading
from core.planner.keyword_import.report import ImportReport
from core.planner.keyword_import.rows import MAX_CELL, Blank, Row, RowParser, RowProblem
from core.planner.keyword_import.writers import Sink

PROGRESS_EVERY = 10_000  # rows between progress calls
# Marks in the de-duplication dict for keywords the sector has already (rows of the file store their line >= 1).
EXISTS, DELETED = 0, -1


@dataclass(frozen=True)
class Progress:
    """Where an import is: phase ("reading", "writing", "done"), rows read, bytes read of the total."""

    phase: str
    rows: int
    bytes_read: int
    total_bytes: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.total_bytes) if self.total_bytes else 0.0


OnProgress = Callable[[Progress], None]


def parsed(source: reading.Source, layout: reading.Layout, parser: RowParser, report: ImportReport, *,
           strict: bool, on_progress: OnProgress | None = None) -> Iterator[tuple[int, Row]]:
    """(line, row) of every usable record; the others are reported. With `strict` (all-or-nothing) the first bad
    row sets report.rejected; reading goes on so that the report lists every bad row."""
    parse, skip, rows = parser.parse, report.skip, 0
    for line, cells in reading.records(source, layout):
        try:
            row = parse(cells)
        except Blank:
            continue
        except RowProblem as problem:
            rows += 1
            skip(line, problem.code, str(problem), parser.keyword_of(cells))
            if strict and report.rejected is None:
                report.rejected = (f"line {line:,} cannot be imported ({problem}) and all-or-nothing was chosen. "
                                   "Fix the rows listed in the report, or import without all-or-nothing.")
            continue
        rows += 1
        if on_progress and rows % PROGRESS_EVERY == 0:
            report.rows = rows
            on_progress(Progress("reading", rows, source.stream.tell(), source.size))
        yield line, row
    report.rows = rows
    if parser.cut:
        report.note_cut(parser.cut, MAX_CELL)
    if nul := source.nul_cells + parser.nul_cells:
        report.note_nul(nul)


def send(rows: Iterable[tuple[int, Row]], seen: dict[str, int], sink: Sink, report: ImportReport, *,
         update: bool) -> None:
    """De-duplicate (the first row of a keyword wins) and send new rows — and, when updating, rows of keywords
    the sector has — to the sink. `seen` starts with the sector's keywords marked EXISTS or DELETED."""
    add, skip, mark = sink.add, report.skip, seen.setdefault
    updated = restored = 0
    for line, row in rows:
        first = mark(row[1], line)
        if first != line:
            if first > 0:
                skip(line, "duplicate", f"Same keyword as line {first:,}; the first one is kept.", row[0])
                continue
            if not update:
                skip(line, "exists", "The sector has this keyword already" + (" (deleted)." if first else "."),
                     row[0])
                continue
            seen[row[1]] = line  # a later row with this keyword is a duplicate within the file
            updated += 1
            restored += first == DELETED
        if report.rejected is None:
            add(row)
    report.updated, report.restored = updated, restored
