"""Import a keyword export into a sector: stream, validate, normalise, de-duplicate, write; report every skip."""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common.uow import UnitOfWork
from core.errors import ValidationFailed
from core.planner import clusters
from core.planner.keyword_import import columns as cols
from core.planner.keyword_import import locks, pipeline, reading, writers
from core.planner.keyword_import.pipeline import DELETED, EXISTS, OnProgress, Progress
from core.planner.keyword_import.preview import DEFAULT_OPTIONS, ImportOptions, layout_and_mapping
from core.planner.keyword_import.report import ImportRejected, ImportReport
from core.planner.keyword_import.rows import Row, RowParser
from core.tenancy import Actor
from db.base import utcnow
from db.models import Clusters, Keywords, Sector, SeedKeyword

MODES = ("update", "skip")
Data = Path | str | bytes | BinaryIO


def _opened(data: Data, name: str | None, options: ImportOptions) -> tuple[reading.Source, reading.Layout,
                                                                            RowParser, ImportReport]:
    source = reading.open_source(data, name=name, max_bytes=options.limit())
    try:
        layout, mapping = layout_and_mapping(source, options)
    except BaseException:
        source.close()
        raise
    parser = RowParser(layout.columns, mapping)
    report = ImportReport(source.name, cols.guess_source(layout.columns), layout.encoding,
                          reading.DELIMITER_NAMES.get(layout.delimiter, layout.delimiter), options.on_existing,
                          options.all_or_nothing)
    if layout.header_line and layout.header_line > 1:
        report.notes.append(f"Lines 1–{layout.header_line - 1} before the header were skipped (titles).")
    kept = [parser.columns[i] for i, _, _ in parser.extras]
    if kept:
        report.notes.append(f"Kept in each keyword's attributes: {', '.join(kept)}.")
    return source, layout, parser, report


def run_import(session: Session, actor: Actor, *, site_id: int, sector_id: int, data: Data, name: str | None = None,
               options: ImportOptions = DEFAULT_OPTIONS, on_progress: OnProgress | None = None) -> ImportReport:
    """Import a CSV export into a sector (editors with access to the site, and up) in the caller's transaction;
    raises ImportRejected (carrying the report once rows were read) when nothing may be written. One import per
    account at a time (see locks): a second one waits up to options.lock_wait seconds, then is refused."""
    with locks.refused_when_busy():
        sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
        if options.on_existing not in MODES:
            raise ValidationFailed(f"on_existing must be “update” or “skip”, not “{options.on_existing}”.")
        began = time.perf_counter()
        source, layout, parser, report = _opened(data, name, options)
        try:
            rows = pipeline.parsed(source, layout, parser, report, strict=options.all_or_nothing,
                                   on_progress=on_progress)
            _write(session, actor, sector, rows, report, update=options.on_existing == "update",
                   on_progress=on_progress, size=source.size, wait=options.lock_wait)
        finally:
            source.close()
    if report.rows == 0:
        raise ImportRejected(f"{report.file_name} has no keyword rows"
                             + (f" after the header on line {layout.header_line}." if layout.header_line else "."))
    report.seconds = time.perf_counter() - began
    if on_progress:
        on_progress(Progress("done", report.rows, source.size, source.size))
    return report


def read_rows(data: Data, *, name: str | None = None,
              options: ImportOptions = DEFAULT_OPTIONS) -> tuple[list[tuple[int, Row]], ImportReport]:
    """Every usable (line, row) of a small file, in memory, and the report of the rows that cannot be used —
    for callers that route rows to several sectors (the demo) before write_rows."""
    source, layout, parser, report = _opened(data, name, options)
    try:
        return list(pipeline.parsed(source, layout, parser, report, strict=False)), report
    finally:
        source.close()


def write_rows(session: Session, actor: Actor, *, site_id: int, sector_id: int, rows: Iterable[tuple[int, Row]],
               name: str = "rows", on_existing: str = "update") -> ImportReport:
    """Import rows read by read_rows into a sector: the same checks, de-duplication and writing as run_import."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    if on_existing not in MODES:
        raise ValidationFailed(f"on_existing must be “update” or “skip”, not “{on_existing}”.")
    report = ImportReport(name, on_existing=on_existing)

    def counted() -> Iterable[tuple[int, Row]]:
        for item in rows:
            report.rows += 1
            yield item
    with locks.refused_when_busy():
        _write(session, actor, sector, counted(), report, update=on_existing == "update")
    return report


def _write(session: Session, actor: Actor, sector: Sector, rows: Iterable[tuple[int, Row]], report: ImportReport,
           *, update: bool, on_progress: OnProgress | None = None, size: int = 0,
           wait: float = locks.WAIT_SECONDS) -> None:
    """De-duplicate and stream rows to the database, then merge; refuse what the plan or the mode forbids."""
    # The account's turn first: the plan's room and the sector's keywords are then read as the previous import
    # of the account left them, and two merges never interleave (held until the caller's transaction ends).
    locks.take_turn(session, sector.account_id, wait=wait)
    target = _target(session, sector, update=update)
    room = locks.plan_room(session, sector.account_id)  # asked before the COPY starts: the connection is busy then
    seen = _existing(session, actor, sector.id)
    # A savepoint: whatever fails below (a broken file found late, the plan, all-or-nothing) leaves no row behind
    # even before the caller rolls back, and on PostgreSQL the caller's transaction stays usable after a COPY error.
    with session.begin_nested():
        sink = writers.open_sink(session, target, sector_empty=not seen)
        began = time.perf_counter()
        try:
            pipeline.send(rows, seen, sink, report, update=update)
            del seen  # the de-duplication keys may be large; the merge does not need them
            adding = report.rows - report.skipped - report.updated + report.restored
            if report.rejected is None and room is not None:
                room.check(adding, what="this import", done="imported")
        except BaseException as exc:
            sink.fail(exc)
            raise
        if on_progress:
            on_progress(Progress("writing", report.rows, size, size))
        streamed = time.perf_counter()
        written = sink.finish(write=report.rejected is None and report.rows > report.skipped)
        report.phases = {"read": streamed - began, "write": time.perf_counter() - streamed}
        if report.rejected is not None:
            report.imported = report.updated = report.restored = 0
            raise ImportRejected(f"Nothing was imported: {report.rejected}", report)
        _conclude(session, actor, sector, target, report, written)


def _target(session: Session, sector: Sector, *, update: bool) -> writers.Target:
    """Where the rows go; library keywords are linked only when the sector's industry sector has active ones."""
    isec = sector.industry_sector_id
    if isec is not None and session.scalar(select(SeedKeyword.id).where(
            SeedKeyword.industry_sector_id == isec, SeedKeyword.is_active.is_(True)).limit(1)) is None:
        isec = None
    return writers.Target(sector.account_id, sector.site_id, sector.id, isec, update, utcnow())


def _existing(session: Session, actor: Actor, sector_id: int) -> dict[str, int]:
    """The sector's keywords (deleted ones too: they hold their key), as de-duplication marks."""
    stmt = tenancy.scoped(select(Keywords.keyword_norm, Keywords.deleted_at.is_not(None))
                          .where(Keywords.sector_id == sector_id), Keywords, actor, include_deleted=True)
    return {norm: DELETED if deleted else EXISTS
            for norm, deleted in session.execute(stmt.execution_options(yield_per=50_000))}


def _conclude(session: Session, actor: Actor, sector: Sector, target: writers.Target, report: ImportReport,
              written: int) -> None:
    """Counts and notes after the merge; cluster totals follow updated volumes."""
    planned = report.rows - report.skipped - report.updated
    report.imported = written - report.updated if target.update else written
    if report.imported < planned and not target.update:
        report.notes.append(f"{planned - report.imported:,} keyword(s) were added to the sector by someone else "
                            "while the import ran; they were left as they were.")
    if report.updated:
        cluster_ids = session.scalars(tenancy.scoped(select(Clusters.id).where(Clusters.sector_id == sector.id),
                                                     Clusters, actor)).all()
        clusters.refresh_stats(session, list(cluster_ids))
    if sector.industry_sector_id is None:
        report.notes.append("The sector has no industry sector, so the keywords are not linked to the keyword "
                            "library. Set the sector's industry sector to link future imports.")
    elif target.industry_sector_id is not None and (linked := _linked(session, target)):
        report.notes.append(f"{linked:,} keyword(s) are linked to the same keyword in the industry sector's keyword "
                            "library, which platform admins curate; an import never changes the library.")


def _linked(session: Session, target: writers.Target) -> int:
    """Keywords this import wrote (their updated_at is its time) that point at a library keyword."""
    return session.scalar(select(func.count()).select_from(Keywords).where(
        Keywords.sector_id == target.sector_id, Keywords.seed_keyword_id.is_not(None),
        Keywords.updated_at == target.now)) or 0


def import_file(uow: UnitOfWork, actor: Actor, *, site_id: int, sector_id: int,
                data: Data, name: str | None = None, options: ImportOptions = DEFAULT_OPTIONS,
                on_progress: OnProgress | None = None) -> ImportReport:
    """run_import in a transaction of its own (a background thread, a script): committed when it succeeds; a
    rejected import is rolled back and its report returned (`report.rejected` says why)."""
    try:
        with uow() as session:
            return run_import(session, actor, site_id=site_id, sector_id=sector_id, data=data, name=name,
                              options=options, on_progress=on_progress)
    except ImportRejected as exc:
        if exc.report is None:
            raise
        return exc.report
