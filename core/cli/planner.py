"""Operator commands of the planner's keyword files: `import-keywords` and `export-keywords` — the same code as the
import and keywords screens. Registered by core.cli (EXTENSIONS).

    python -m core.cli import-keywords --account A --site S --sector X FILE [--on-existing update|skip]
        [--all-or-nothing] [--map field=Column …] [--encoding E] [--delimiter D] [--report FILE] [--wait SECONDS]
    python -m core.cli export-keywords --account A --site S --sector X [--status new|mapped] [--search T]
        [--intent I] [--cluster ID | --unclustered] [--volume-min N] … [--bom] [--out FILE|-]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.cli import main as cli
from core.errors import NotFound, ValidationFailed
from core.planner import keyword_export, keyword_import
from core.planner.keyword_import import ImportOptions, ImportRejected, ImportReport, Progress, locks
from core.planner.keywords import KeywordFilter
from core.tenancy import Actor, operator_actor
from db.enums import KeywordStatus
from db.models import Sector


def _where(session: Session, args: argparse.Namespace) -> tuple[Actor, int, int]:
    """(operator actor in the account, site id, sector id) from what was typed (slugs, names or ids)."""
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    site = cli.find_site(session, acct, args.site)
    want = (args.sector or "").strip().lower()
    rows = session.scalars(tenancy.scoped(select(Sector), Sector, actor).where(Sector.site_id == site.id)
                           .order_by(Sector.id)).all()
    sector = next((s for s in rows if want in (s.slug, s.name.lower(), str(s.id))), None)
    if sector is None:
        raise NotFound(f"There is no sector “{args.sector}” in site {site.slug} (give its slug, name or id; known: "
                       f"{', '.join(s.slug for s in rows) or 'none'}).")
    return actor, site.id, sector.id


def _mapping(args: argparse.Namespace) -> dict[str, str] | None:
    """The detected mapping with the --map corrections (FIELD=Column; FIELD= leaves the field unmapped)."""
    if not args.map:
        return None
    detected = keyword_import.preview(Path(args.file), options=ImportOptions(
        encoding=args.encoding, delimiter=args.delimiter)).mapping
    for item in args.map:
        field, sep, column = item.partition("=")
        if not sep or field.strip() not in keyword_import.FIELDS:
            raise ValidationFailed(f"--map takes FIELD=Column with a field among {', '.join(keyword_import.FIELDS)}, "
                                   f"not “{item}”.")
        detected[field.strip()] = column.strip()
    return {k: v for k, v in detected.items() if v}


class _Ticker:
    """Progress on stderr at every tenth of the file (stdout keeps the summary)."""

    def __init__(self) -> None:
        self.shown = -1

    def __call__(self, p: Progress) -> None:
        tenth = int(p.fraction * 10)
        if p.phase == "reading" and tenth > self.shown:
            self.shown = tenth
            print(f"  … {p.fraction:4.0%} read, {p.rows:,} rows", file=sys.stderr, flush=True)
        elif p.phase == "writing":
            print(f"  … writing {p.rows:,} rows", file=sys.stderr, flush=True)


def _write_report(report: ImportReport | None, path: str | None) -> list[str]:
    if report is None or not path:
        return []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        report.write_csv(fh)
    return [f"Full report (every skipped row with its line and reason): {path}"]


def cmd_import_keywords(session: Session, args: argparse.Namespace) -> list[str]:
    with locks.refused_when_busy():  # on SQLite the first query already waits for other writers
        actor, site_id, sector_id = _where(session, args)
    options = ImportOptions(on_existing=args.on_existing, all_or_nothing=args.all_or_nothing,
                            encoding=args.encoding, delimiter=args.delimiter,
                            header_line=None if args.no_header else "auto", mapping=_mapping(args),
                            lock_wait=args.wait)
    try:
        report = keyword_import.run_import(session, actor, site_id=site_id, sector_id=sector_id,
                                           data=Path(args.file), options=options, on_progress=_Ticker())
    except ImportRejected as exc:
        for line in _write_report(exc.report, args.report):
            print(line, file=sys.stderr)
        raise
    lines = [report.summary(), *report.notes]
    lines += [f"  line {p.line:>7,}  {p.code:<13}  {p.message}" for p in report.problems[:args.show]]
    if report.skipped > args.show:
        lines.append(f"  … {report.skipped - args.show:,} more skipped rows" + ("" if args.report else
                                                                                " (see --report FILE)"))
    return [*lines, *_write_report(report, args.report), f"Done in {report.seconds:.1f} s (committed)."]


def cmd_export_keywords(session: Session, args: argparse.Namespace) -> list[str] | None:
    actor, site_id, sector_id = _where(session, args)
    filters = KeywordFilter(search=args.search or "", status=args.status, cluster_id=args.cluster,
                            unclustered=args.unclustered, intent=args.intent or "", volume_min=args.volume_min,
                            volume_max=args.volume_max, difficulty_min=args.difficulty_min,
                            difficulty_max=args.difficulty_max,
                            deleted="include" if args.include_deleted else "exclude")
    if args.out in (None, "-"):
        try:
            keyword_export.export_keywords(session, actor, site_id=site_id, sector_id=sector_id, out=sys.stdout,
                                           filters=filters, bom=args.bom)
            sys.stdout.flush()
        except BrokenPipeError:  # `… | head`: the reader stopped listening; nothing was written to the database
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return None  # stdout holds the CSV and nothing else
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        n = keyword_export.export_keywords(session, actor, site_id=site_id, sector_id=sector_id, out=fh,
                                           filters=filters, bom=args.bom)
    return [f"Exported {n:,} keywords to {args.out}."]


def _scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--site", required=True, metavar="SLUG|ID")
    p.add_argument("--sector", required=True, metavar="SLUG|NAME|ID")


def register(command) -> None:
    """Add the commands to core.cli's parser."""
    p = command("import-keywords", cmd_import_keywords,
                "Import a keyword export (Semrush, Ahrefs, Keyword Planner, Moz or a plain list) into a sector.")
    _scope(p)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--on-existing", choices=["update", "skip"], default="update",
                   help="keywords the sector has: update their metrics (default) or leave them")
    p.add_argument("--all-or-nothing", action="store_true", help="any bad row: import nothing")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help=f"which column holds a field ({', '.join(keyword_import.FIELDS)}); repeatable")
    p.add_argument("--encoding", default="auto", help=f"auto or one of {', '.join(keyword_import.ENCODINGS)}")
    p.add_argument("--delimiter", default="auto", help="auto, ',', ';' or tab")
    p.add_argument("--no-header", action="store_true", help="the first line is a keyword, not a header")
    p.add_argument("--report", metavar="FILE", help="write the full report as CSV")
    p.add_argument("--show", type=int, default=20, metavar="N", help="skipped rows to list (default 20)")
    p.add_argument("--wait", type=float, default=locks.WAIT_SECONDS, metavar="SECONDS",
                   help="how long to wait for another import into the account to finish (PostgreSQL; default "
                        f"{locks.WAIT_SECONDS:g}; 0: refuse at once)")
    p = command("export-keywords", cmd_export_keywords, "Export a sector's keywords (filtered) as CSV.")
    _scope(p)
    p.add_argument("--out", metavar="FILE|-", help="default: standard output")
    p.add_argument("--bom", action="store_true", help="start with a UTF-8 byte-order mark (for Excel)")
    p.add_argument("--status", choices=[s.value for s in KeywordStatus])
    p.add_argument("--search", metavar="TEXT")
    p.add_argument("--intent", metavar="TEXT")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--cluster", type=int, metavar="ID")
    group.add_argument("--unclustered", action="store_true")
    for name in ("volume-min", "volume-max", "difficulty-min", "difficulty-max"):
        p.add_argument(f"--{name}", type=int, metavar="N")
    p.add_argument("--include-deleted", action="store_true")
