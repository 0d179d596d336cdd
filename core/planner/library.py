"""The global keyword library (SeedKeyword per industry sector): platform admins curate it, users add it to their
sectors.

A site's keyword points at its seed (`seed_keyword_id`); adding copies the seed's metrics once, and from then on
the keyword's own volume, difficulty, CPC, intent and attributes are the site's overrides (a later library edit
does not change keywords already added). The industry match is enforced: the site's industry and the sector's
industry sector must be the seed keyword's. Keywords already in the sector (deleted ones included: the sector's
unique key covers them) are skipped and counted.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.errors import Conflict, NotFound, ValidationFailed
from core.planner import keyword_edits
from core.planner.keyword_import import locks
from core.planner.keyword_import.values import typed_intent
from core.planner.library_csv import ParsedSeed, parse_seed_csv
from core.tenancy import Actor
from db.enums import KeywordStatus
from db.models import Industry, IndustrySector, Keywords, Sector, SeedKeyword, Site

PAGE = 50
MAX_PAGE = 500
CHUNK = 1000


SeedPage = Page[SeedKeyword]
BY_VOLUME = Order("volume", SeedKeyword.volume, SeedKeyword.id, nullable=True)  # highest first, none last


@dataclass(frozen=True)
class AddResult:
    added: int
    duplicates: int
    inactive: int
    sector_name: str

    @property
    def message(self) -> str:
        text = f"Added {self.added:,} library keyword(s) to sector “{self.sector_name}”."
        if self.duplicates:
            text += f" {self.duplicates:,} were in the sector already and were skipped."
        if self.inactive:
            text += f" {self.inactive:,} disabled library keyword(s) were skipped."
        return text


@dataclass(frozen=True)
class ImportReport:
    read: int
    imported: int
    updated: int
    skipped: list[tuple[int, str]]  # (line, reason) of the first skipped rows
    skipped_total: int

    @property
    def message(self) -> str:
        return (f"Read {self.read:,} row(s): {self.imported:,} new library keyword(s), {self.updated:,} updated, "
                f"{self.skipped_total:,} skipped.")


def _industry_sector(session: Session, industry_sector_id: int) -> IndustrySector:
    isec = session.get(IndustrySector, industry_sector_id)
    if isec is None:
        raise NotFound(f"Industry sector #{industry_sector_id} was not found.")
    return isec


def sector_library(session: Session, actor: Actor, *, site_id: int, sector_id: int) -> IndustrySector:
    """The industry sector whose library a site's sector draws from, or a message saying what to set first."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    site = tenancy.get(session, actor, Site, sector.site_id)
    if sector.industry_sector_id is None:
        raise ValidationFailed(f"Sector “{sector.name}” is not tied to an industry sector, so it cannot take library "
                               "keywords. An admin can set its industry sector on Sites & sectors.")
    isec = _industry_sector(session, sector.industry_sector_id)
    if site.industry_id != isec.industry_id:
        raise ValidationFailed(f"Sector “{sector.name}” is tied to industry sector “{isec.name}”, which is not part "
                               f"of site “{site.name}”'s industry.")
    return isec


def default_library(session: Session, actor: Actor, *, site_id: int | None, sector_id: int | None
                    ) -> tuple[int | None, int | None]:
    """(industry id, industry sector id) of the site and sector in scope, for the library's pickers (no errors)."""
    if site_id is None:
        return None, None
    site = tenancy.get(session, actor, Site, site_id)
    sector = tenancy.get(session, actor, Sector, sector_id) if sector_id is not None else None
    isec = sector.industry_sector_id if sector is not None and sector.site_id == site.id else None
    return site.industry_id, isec


def list_seeds(session: Session, actor: Actor, *, industry_sector_id: int, search: str | None = None,
               include_inactive: bool = False, after: Cursor | None = None, limit: int = PAGE) -> SeedPage:
    """One page of an industry sector's library, highest volume first (no volume last)."""
    _industry_sector(session, industry_sector_id)
    base = tenancy.scoped(select(SeedKeyword), SeedKeyword, actor).where(
        SeedKeyword.industry_sector_id == industry_sector_id)
    if not include_inactive:
        base = base.where(SeedKeyword.is_active.is_(True))
    if search and search.strip():
        base = base.where(SeedKeyword.keyword_norm.contains(keyword_edits.normalize_keyword(search)[1], autoescape=True))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return paging.page(session, base, BY_VOLUME, convert=paging.first_column, limit=paging.limit_of(limit, MAX_PAGE),
                       after=after, total=total)


def _metrics(volume: object, difficulty: object, cpc: object, intent: str | None) -> dict:
    return {"volume": keyword_edits.bounded_int(volume, "Volume", 0, 2_000_000_000),
            "difficulty": keyword_edits.bounded_int(difficulty, "Difficulty", 0, 100), "cpc": keyword_edits.parse_cpc(cpc),
            "intent": typed_intent(intent)}  # several, as typed; branded/local are refused (flags, not intents)


def create_seed(session: Session, actor: Actor, *, industry_sector_id: int, keyword: str, volume: object = None,
                difficulty: object = None, cpc: object = None, intent: str | None = None) -> SeedKeyword:
    """A new library keyword of an industry sector (platform admins)."""
    tenancy.require_platform_admin(actor)
    isec = _industry_sector(session, industry_sector_id)
    display, norm = keyword_edits.normalize_keyword(keyword)
    if session.scalar(select(SeedKeyword.id).where(SeedKeyword.industry_sector_id == isec.id,
                                                   SeedKeyword.keyword_norm == norm)):
        raise Conflict(f"“{display}” is in the library of “{isec.name}” already.")
    seed = SeedKeyword(keyword=display, keyword_norm=norm, industry_id=isec.industry_id, industry_sector_id=isec.id,
                       **_metrics(volume, difficulty, cpc, intent))
    session.add(seed)
    session.flush()
    return seed


def update_seed(session: Session, actor: Actor, *, seed_id: int, volume: object = None, difficulty: object = None,
                cpc: object = None, intent: str | None = None) -> SeedKeyword:
    """Set a library keyword's metrics (empty clears one); keywords already added keep their own values."""
    tenancy.require_platform_admin(actor)
    seed = session.get(SeedKeyword, seed_id)
    if seed is None:
        raise NotFound(f"Library keyword #{seed_id} was not found.")
    for key, value in _metrics(volume, difficulty, cpc, intent).items():
        setattr(seed, key, value)
    session.flush()
    return seed


def set_active(session: Session, actor: Actor, *, seed_ids: list[int], active: bool) -> int:
    """Enable or disable library keywords (disabled ones are hidden from users and not added)."""
    tenancy.require_platform_admin(actor)
    ids = sorted({int(i) for i in seed_ids})
    if not ids:
        raise ValidationFailed("Select at least one library keyword.")
    return sum(session.execute(update(SeedKeyword).where(SeedKeyword.id.in_(ids[i:i + CHUNK]))
                               .values(is_active=active)).rowcount for i in range(0, len(ids), CHUNK))


def import_seeds(session: Session, actor: Actor, *, industry_sector_id: int, data: bytes,
                 update_existing: bool = True, name: str = "library file") -> ImportReport:
    """Import a file of seed keywords into an industry sector's library: new ones added, known ones updated (or
    left as they are), bad rows skipped with their reason (read by the site-keyword importer's reader)."""
    tenancy.require_platform_admin(actor)
    isec = _industry_sector(session, industry_sector_id)
    parsed = parse_seed_csv(data, name=name)
    known: dict[str, int] = {}
    norms = sorted(parsed.rows)
    for i in range(0, len(norms), CHUNK):
        known.update((n, sid) for sid, n in session.execute(select(SeedKeyword.id, SeedKeyword.keyword_norm).where(
            SeedKeyword.industry_sector_id == isec.id, SeedKeyword.keyword_norm.in_(norms[i:i + CHUNK]))))
    fresh = [r for n, r in parsed.rows.items() if n not in known]
    if fresh:
        session.execute(insert(SeedKeyword), [_seed_values(r, isec) for r in fresh])
    skipped, skipped_total = list(parsed.skipped), parsed.skipped_total
    if update_existing and known:
        t = SeedKeyword.__table__
        session.execute(t.update().where(t.c.id == bindparam("sid")).values(
            volume=bindparam("v"), difficulty=bindparam("d"), cpc=bindparam("c"), intent=bindparam("i")),
            [{"sid": sid, "v": parsed.rows[n].volume, "d": parsed.rows[n].difficulty, "c": parsed.rows[n].cpc,
              "i": parsed.rows[n].intent} for n, sid in known.items()])
    elif known:
        skipped += [(parsed.rows[n].line, "already in the library") for n in known]
        skipped_total += len(known)
    return ImportReport(parsed.read, len(fresh), len(known) if update_existing else 0, sorted(skipped),
                        skipped_total)


def _seed_values(r: ParsedSeed, isec: IndustrySector) -> dict:
    return {"keyword": r.keyword, "keyword_norm": r.norm, "industry_id": isec.industry_id,
            "industry_sector_id": isec.id, "volume": r.volume, "difficulty": r.difficulty, "cpc": r.cpc,
            "intent": r.intent, "attributes": r.attributes, "is_active": True}


def _check_selected(session: Session, ids: list[int], isec: IndustrySector, site: Site, sector_name: str) -> int:
    """Refuse seeds of another industry or industry sector; returns how many of them are disabled."""
    rows = [r for i in range(0, len(ids), CHUNK) for r in session.execute(
        select(SeedKeyword.id, SeedKeyword.industry_id, SeedKeyword.industry_sector_id, SeedKeyword.is_active)
        .where(SeedKeyword.id.in_(ids[i:i + CHUNK])))]
    if len(rows) != len(ids):
        raise NotFound(f"{len(ids) - len(rows)} of the selected library keywords were not found.")
    other_industry = [r for r in rows if r.industry_id != site.industry_id]
    if other_industry:
        name = session.get(Industry, other_industry[0].industry_id).name  # type: ignore[union-attr]
        raise ValidationFailed(f"{len(other_industry)} of the selected library keywords belong to industry “{name}”, "
                               f"but site “{site.name}” is in another industry; they cannot be added to its sectors.")
    other_sector = [r for r in rows if r.industry_sector_id != isec.id]
    if other_sector:
        name = _industry_sector(session, other_sector[0].industry_sector_id).name
        raise ValidationFailed(f"{len(other_sector)} of the selected library keywords belong to industry sector "
                               f"“{name}”, but sector “{sector_name}” is tied to “{isec.name}”.")
    return sum(not r.is_active for r in rows)


def add_to_sector(session: Session, actor: Actor, *, site_id: int, sector_id: int, seed_ids: list[int] | None = None,
                  search: str | None = None, industry_sector_id: int | None = None) -> AddResult:
    """Add library keywords to a sector: the selected ones, or (seed_ids None) every active one matching `search`
    in the sector's industry sector (`industry_sector_id`, the library being looked at, must be that one);
    duplicates are skipped and counted. Refused when the new ones would pass the plan's max_keywords (counted under
    the account's import lock, so a running import is waited for)."""
    isec = sector_library(session, actor, site_id=site_id, sector_id=sector_id)
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    if industry_sector_id is not None and industry_sector_id != isec.id:
        shown = _industry_sector(session, industry_sector_id)
        raise ValidationFailed(f"These library keywords belong to industry sector “{shown.name}”, but sector "
                               f"“{sector.name}” is tied to “{isec.name}”.")
    site = tenancy.get(session, actor, Site, sector.site_id)
    cond = [SeedKeyword.industry_sector_id == isec.id, SeedKeyword.is_active.is_(True)]
    inactive, batches = 0, [cond]
    if seed_ids is not None:
        ids = sorted({int(i) for i in seed_ids})
        if not ids:
            raise ValidationFailed("Select at least one library keyword.")
        inactive = _check_selected(session, ids, isec, site, sector.name)
        batches = [[*cond, SeedKeyword.id.in_(ids[i:i + CHUNK])] for i in range(0, len(ids), CHUNK)]
    elif search and search.strip():
        batches = [[*cond, SeedKeyword.keyword_norm.contains(keyword_edits.normalize_keyword(search)[1], autoescape=True)]]
    # The account's turn (a running import is waited for), then the plan's limit for what is new to the sector.
    locks.take_turn_to_add(session, sector.account_id, what="the library keywords")
    candidates = fresh = 0
    for where in batches:
        every, new = session.execute(select(func.count(SeedKeyword.id), func.count(SeedKeyword.id).filter(
            ~_in_sector(sector))).where(*where)).one()
        candidates, fresh = candidates + every, fresh + new
    locks.check_room(session, sector.account_id, adding=fresh, what="these library keywords")
    added = sum(_insert_from_library(session, sector, where) for where in batches)
    return AddResult(added, candidates - added, inactive, sector.name)


def _in_sector(sector: Sector):
    """A library keyword the sector has already (deleted ones too: the sector's unique key covers them)."""
    return exists().where(Keywords.sector_id == sector.id, Keywords.keyword_norm == SeedKeyword.keyword_norm)


def _insert_from_library(session: Session, sector: Sector, where: list) -> int:
    """INSERT … SELECT of the matching seeds not yet in the sector (set-based; metrics copied once)."""
    dup = _in_sector(sector)
    src = select(literal(sector.account_id), literal(sector.site_id), literal(sector.id), SeedKeyword.id,
                 SeedKeyword.keyword, SeedKeyword.keyword_norm, SeedKeyword.volume, SeedKeyword.difficulty,
                 SeedKeyword.cpc, SeedKeyword.intent, SeedKeyword.attributes, literal(KeywordStatus.new.value),
                 literal(False)).where(*where, ~dup)
    cols = ["account_id", "site_id", "sector_id", "seed_keyword_id", "keyword", "keyword_norm", "volume",
            "difficulty", "cpc", "intent", "attributes", "status", "disabled"]
    # RETURNING counts the rows on both backends (psycopg reports no rowcount for this INSERT … SELECT)
    table = Keywords.__table__
    return len(session.execute(insert(table).from_select(cols, src).returning(table.c.id)).all())
