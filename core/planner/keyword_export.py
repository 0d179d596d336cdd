"""Export a sector's keywords — exactly the keywords screen's filtered view — to CSV, streamed from the database.

Safe in spreadsheets: a text cell starting with = + - @ TAB or CR (a formula to Excel, LibreOffice and Google
Sheets) gets a leading apostrophe, which makes it plain text there; our import takes that apostrophe off again,
so an export imports back to the same keywords. Attributes (extra columns of the original import) travel as one
JSON object in the Attributes column. With `bom`, the file starts with a UTF-8 byte-order mark so that Excel
opens it as UTF-8.
"""
from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import NotFound
from core.planner import keywords
from core.planner.keyword_import.report import spreadsheet_text
from core.planner.keywords import KeywordFilter
from core.tenancy import Actor
from db.models import Clusters, Keywords, Sector

HEADER = ("Keyword", "Volume", "Keyword Difficulty", "CPC", "Intent", "Attributes", "Status", "Cluster", "Disabled",
          "Created (UTC)", "Updated (UTC)")
BATCH = 5000  # rows fetched per round trip: memory stays flat however many keywords the sector has
NO_FILTER = KeywordFilter()


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def export_keywords(session: Session, actor: Actor, *, site_id: int, sector_id: int, out: TextIO,
                    filters: KeywordFilter = NO_FILTER, bom: bool = False) -> int:
    """Write the sector's keywords that match `filters` to `out` as CSV (anyone who may see the site, viewers
    too); returns the number of keywords written."""
    sector = tenancy.get(session, actor, Sector, sector_id)
    if sector.site_id != site_id:
        raise NotFound(f"Sector #{sector_id} was not found in this site.")
    where = keywords.where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters)
    stmt = (select(Keywords.keyword, Keywords.volume, Keywords.difficulty, Keywords.cpc, Keywords.intent,
                   Keywords.attributes, Keywords.status, Clusters.name, Keywords.disabled, Keywords.created_at,
                   Keywords.updated_at)
            .outerjoin(Clusters, Clusters.id == Keywords.cluster_id)
            .where(where).order_by(Keywords.id).execution_options(yield_per=BATCH))
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    n = 0
    for kw, volume, difficulty, cpc, intent, attrs, status, cluster, disabled, created, updated in session.execute(
            stmt):
        writer.writerow((spreadsheet_text(kw), "" if volume is None else volume,
                         "" if difficulty is None else difficulty, "" if cpc is None else f"{cpc:.2f}",
                         spreadsheet_text(intent or ""),
                         json.dumps(attrs, ensure_ascii=False) if attrs else "",
                         status.value, spreadsheet_text(cluster or ""), "yes" if disabled else "no",
                         _time(created), _time(updated)))
        n += 1
    return n
