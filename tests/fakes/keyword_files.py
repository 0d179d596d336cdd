"""Keyword exports as the tools write them (header names, encodings, delimiters, title lines), for the tests."""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.planner import keyword_import as ki
from db.models import IndustrySector, Keywords, Sector, SeedKeyword, Site
from tests import factories as f

SEMRUSH = Path(__file__).resolve().parents[3] / "shared" / "data" / "semrush_kmt_wordpress_broad-match_us_2026-04-24.csv"


def csv_bytes(header: list[str] | None, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8",
              bom: bool = False, titles: tuple[str, ...] = ()) -> bytes:
    buf = io.StringIO(newline="")
    for title in titles:
        buf.write(title + "\r\n")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    text = buf.getvalue()
    if encoding == "utf-16":  # what Google Keyword Planner writes: UTF-16 LE with its byte-order mark
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return (codecs.BOM_UTF8 if bom else b"") + text.encode(encoding)


AHREFS = csv_bytes(
    ["#", "Keyword", "Country", "KD", "Volume", "CPC", "CPS", "Parent Keyword", "Last Update", "SERP Features",
     "Global volume", "Traffic potential", "Intents"],
    [["1", "wordpress hosting", "us", "72", "18,000", "12.50", "0.62", "wordpress hosting", "2026-04-01",
      "Sitelinks, Top stories", "52,000", "21,000", "Commercial, Informational"],
     ["2", "best wordpress themes", "us", "45", "4.2K", "1.10", "1.1", "wordpress themes", "2026-04-01", "",
      "11,000", "7,300", "Informational"],
     ["3", "wp engine login", "us", "3", "900", "", "0.3", "wp engine", "2026-04-01", "Sitelinks", "1,400", "900",
      "Navigational, Branded"]])

GKP = csv_bytes(
    ["Keyword", "Currency", "Avg. monthly searches", "Three month change", "YoY change", "Competition",
     "Competition (indexed value)", "Top of page bid (low range)", "Top of page bid (high range)"],
    [["wordpress website builder", "USD", "1K – 10K", "0%", "+900%", "High", "77", "3.02", "16.25"],
     ["wordpress plugins", "USD", "10K – 100K", "0%", "0%", "Low", "12", "0.93", "4.30"],
     ["wordpress for beginners", "USD", "100 – 1K", "-90%", "0%", "Medium", "50", "", ""],
     ["tiny wordpress", "USD", "<10", "", "", "Low", "0", "", ""]],
    delimiter="\t", encoding="utf-16", titles=("Keyword Stats 2026-04-24 at 09_41_07", "All locations"))

MOZ = csv_bytes(
    ["Keyword", "Monthly Volume", "Difficulty", "Organic CTR", "Priority"],
    [["wordpress seo", "11.5k-30.3k", "61", "78", "64"],
     ["yoast seo", "6.5k-9.3k", "55", "41", "55"],
     ["wordpress seo plugin", "501-850", "48", "82", "47"]])

ONE_COLUMN = b"wordpress\nWordPress  Themes\n\nwordpress themes\nwp-admin login\n"
ONE_COLUMN_HEADER = b"Keywords\nwordpress\nwordpress plugins\n"
SEMICOLON = csv_bytes(["Keyword", "Search Volume", "CPC", "Keyword Difficulty"],
                      [["wordpress agentur", "1.300", "2,45", "38"], ["wordpress kurs", "880", "0,90", "21"],
                       ["wordpress hosting schweiz", "1 900", "1.234,50", "40"]],
                      delimiter=";", bom=True)


def industry_sector(session: Session, site: Site, sector: Sector) -> IndustrySector:
    """Tie the site and sector to the first industry sector of the reference data."""
    isec = session.scalars(select(IndustrySector).order_by(IndustrySector.id)).first()
    site.industry_id = isec.industry_id
    sector.industry_sector_id = isec.id
    session.flush()
    return isec


def make_world(session: Session) -> dict:
    """An account with a site, a sector (no industry sector) and its owner."""
    acct = f.account(session)
    site = f.site(session, acct)
    return {"acct": acct, "site": site, "sector": f.sector(session, site), "owner": f.owner_actor(session, acct)}


def run(session: Session, w: dict, data, *, actor=None, name: str = "kw.csv", **options) -> ki.ImportReport:
    """Import `data` into the world's sector with the given ImportOptions."""
    return ki.run_import(session, actor or w["owner"], site_id=w["site"].id, sector_id=w["sector"].id, data=data,
                         name=name, options=ki.ImportOptions(**options))


def library_rows(session: Session) -> list[tuple]:
    """Every row of the global keyword library, as plain values (to compare before and after)."""
    return [tuple(r) for r in session.execute(select(SeedKeyword.__table__).order_by(SeedKeyword.id))]


def stored(session: Session, sector_id: int) -> dict[str, Keywords]:
    """The sector's keywords by normalised form."""
    rows = session.scalars(select(Keywords).where(Keywords.sector_id == sector_id)).all()
    return {k.keyword_norm: k for k in rows}
