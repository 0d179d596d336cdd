"""The import report: counts, the reason for every skipped row (kept on disk, not in memory), as CSV."""
from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from core.errors import ValidationFailed

SHOWN = 1000  # problems kept in memory for the screen; all of them go to the downloadable CSV
REASONS = {
    "empty": "Empty keyword",
    "too_long": "Keyword longer than 500 characters",
    "cell_too_long": "A cell longer than the limit",
    "bad_value": "A value that is not a valid number, amount or intent",
    "fields": "Wrong number of fields",
    "duplicate": "Duplicate of an earlier row in the file",
    "exists": "Already in the sector (skip mode)",
}
# Rows refused for their data; duplicates and existing keywords are skipped by rule, not errors.
BAD = frozenset({"empty", "too_long", "cell_too_long", "bad_value", "fields"})


class ImportRejected(ValidationFailed):
    """The file (or, all-or-nothing, one of its rows) cannot be imported; nothing was written."""

    def __init__(self, message: str, report: ImportReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Problem:
    """One skipped row: where, why, and the keyword as it was in the file (shortened)."""

    line: int
    code: str
    message: str
    keyword: str


@dataclass
class ImportReport:
    """What an import did (or, when rejected, would have done)."""

    file_name: str
    source: str = ""
    encoding: str = ""
    delimiter: str = ""
    on_existing: str = "update"
    all_or_nothing: bool = False
    rows: int = 0  # data rows read (blank lines are not rows)
    imported: int = 0
    updated: int = 0
    restored: int = 0  # of `updated`: soft-deleted keywords brought back
    skipped: int = 0
    cut_cells: int = 0  # cells of extra columns cut to MAX_CELL characters (their rows were kept)
    nul_cells: int = 0  # cells that held NUL characters, removed (their rows were kept)
    reasons: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)  # the first SHOWN
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None  # why nothing was written (all-or-nothing, or a broken file)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds reading (parse + stream) and writing (merge)
    _spool: tempfile.SpooledTemporaryFile | None = field(default=None, repr=False)
    _writer: object = field(default=None, repr=False)

    @property
    def bad_rows(self) -> int:
        return sum(n for code, n in self.reasons.items() if code in BAD)

    def skip(self, line: int, code: str, message: str, keyword: str) -> None:
        """Record one skipped row."""
        self.skipped += 1
        self.reasons[code] += 1
        problem = Problem(line, code, message, keyword[:120])
        if len(self.problems) < SHOWN:
            self.problems.append(problem)
        if self._spool is None:  # in memory up to 4 MB, then a temporary file
            self._spool = tempfile.SpooledTemporaryFile(max_size=4 * 2**20, mode="w+", encoding="utf-8",
                                                        newline="")
            self._writer = csv.writer(self._spool)
        self._writer.writerow((problem.line, problem.code, problem.message, spreadsheet_text(problem.keyword)))

    def note_cut(self, cut: Counter[str], bound: int) -> None:
        """Say which extra columns had cells cut to `bound` characters (the rows themselves were kept)."""
        self.cut_cells = sum(cut.values())
        where = ", ".join(f"“{column}”: {n:,}" for column, n in cut.most_common())
        self.notes.append(f"{self.cut_cells:,} cell(s) of extra columns held more than {bound:,} characters and were "
                          f"cut to {bound:,} ({where}); their keywords were imported.")

    def note_nul(self, cells: int) -> None:
        """Say how many cells held NUL characters, which no database text column takes, and were removed."""
        self.nul_cells = cells
        self.notes.append(f"{cells:,} cell(s) held NUL characters (\\0), which were removed; their keywords were "
                          "imported.")

    def summary(self) -> str:
        """One line for people: what was imported, updated and skipped, and why."""
        if self.rejected:
            return f"Nothing was imported: {self.rejected}"
        why = "; ".join(f"{n:,} {REASONS.get(code, code).lower()}" for code, n in self.reasons.most_common())
        restored = f" ({self.restored:,} restored from the bin)" if self.restored else ""
        return (f"{self.rows:,} rows read: {self.imported:,} imported, {self.updated:,} updated{restored}, "
                f"{self.skipped:,} skipped" + (f" ({why})." if why else "."))

    def write_csv(self, out: TextIO) -> None:
        """The full report as CSV: a summary block, then every skipped row with its line and reason."""
        w = csv.writer(out)
        w.writerow(("file", spreadsheet_text(self.file_name)))
        for key in ("source", "encoding", "delimiter", "on_existing", "all_or_nothing", "rows", "imported",
                    "updated", "restored", "skipped", "cut_cells", "nul_cells"):
            w.writerow((key, getattr(self, key)))
        w.writerow(("result", spreadsheet_text(self.summary())))
        for note in self.notes:
            w.writerow(("note", spreadsheet_text(note)))
        w.writerow(())
        w.writerow(("line", "reason", "detail", "keyword"))
        if self._spool is not None:
            self._spool.seek(0)
            while chunk := self._spool.read(1 << 16):
                out.write(chunk)
            self._spool.seek(0, io.SEEK_END)

    def csv_text(self) -> str:
        """The full report as one CSV string (for a download button)."""
        buf = io.StringIO()
        self.write_csv(buf)
        return buf.getvalue()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading ' stops = + - @ TAB CR from starting a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value
