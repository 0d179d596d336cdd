"""Keyword import from SEO tool exports (Semrush, Ahrefs, Google Keyword Planner, Moz, plain lists).

    preview(data, options=…)                              → Preview (layout, mapping, first rows, problems)
    run_import(session, actor, site_id=…, sector_id=…, data=…, options=…, on_progress=…) → ImportReport
    import_file(runtime, actor, …)                        → the same in a transaction of its own (a page's
                                                            background job: ui_jobs, progress via on_progress)
    read_rows(data) / write_rows(session, actor, …, rows=…) → the two halves, for rows routed to several sectors

The rules for values (thousands separators, ranges, intents and the branded/local flags) are in `values`; for
existing keywords, soft-deleted ones and the keyword library (linked, read-only) in `writers`; the reading
(encoding, delimiter, header; NUL characters removed from cells) in `reading`; one import per account at a
time, and the plan's keyword limit, in `locks` (keywords added by hand or from the library take the same turn).
"""
from core.planner.keyword_import.columns import FIELD_LABELS, FIELDS
from core.planner.keyword_import.pipeline import Progress
from core.planner.keyword_import.preview import ImportOptions, Preview, preview
from core.planner.keyword_import.reading import DELIMITER_NAMES, ENCODINGS
from core.planner.keyword_import.report import REASONS, ImportRejected, ImportReport, Problem
from core.planner.keyword_import.rows import MAX_CELL
from core.planner.keyword_import.service import import_file, read_rows, run_import, write_rows

__all__ = ["DELIMITER_NAMES", "ENCODINGS", "FIELDS", "FIELD_LABELS", "MAX_CELL", "REASONS", "ImportOptions",
           "ImportRejected", "ImportReport", "Preview", "Problem", "Progress", "import_file", "preview", "read_rows",
           "run_import", "write_rows"]
