"""Articles of a sector: the list (keyset pages, counts by status), one article for the editor, and saving it.

A save sanitizes the body (core.writer.html), counts its words itself, refuses bad input with a message and nothing
written, and goes through revisions.store: a compare-and-set on the article's version, so of two editors saving
from the same version one wins and the other is told who saved meanwhile (their text stays in the editor).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import paging
from core.common.paging import Cursor, Order, Page
from core.common.text import clean_name, one_of
from core.errors import ValidationFailed
from core.tenancy import Actor
from core.writer import html, revisions
from core.writer.revisions import SaveResult
from db.enums import ContentStatus, RevisionKind, SiteStatus
from db.models import Clusters, Content, ContentRevision, Images, Sector, Tasks, User

__all__ = ["SaveResult", "ContentRow", "Article", "list_content", "counts", "get_article", "save"]

PAGE = 50
MAX_PAGE = 500
MAX_HTML_BYTES = 1_000_000
TITLE_MAX = META_TITLE_MAX = 255
META_DESCRIPTION_MAX = 1_000
KEYWORD_MAX = 255
SECONDARY_MAX = 50  # secondary keywords of one article
NOTE_MAX = 500
NEWEST = Order("newest", Content.id, Content.id, unique=True)


@dataclass(frozen=True)
class ContentRow:
    id: int
    title: str
    status: str
    site_status: str
    word_count: int
    primary_keyword: str
    cluster: str
    task_id: int | None
    updated_at: datetime
    images: int
    meta_title_length: int


@dataclass(frozen=True)
class Article:
    """An article as the editor opens it: every editable field, its version and where it stands."""

    id: int
    site_id: int
    sector_id: int
    title: str
    content_html: str
    meta_title: str
    meta_description: str
    primary_keyword: str
    secondary_keywords: list[str]
    word_count: int
    version: int
    status: str
    site_status: str
    task_id: int | None
    task: str
    cluster_id: int | None
    cluster: str
    revisions: int
    updated_by: str
    updated_at: datetime
    external_url: str


def _filtered(stmt: Select, actor: Actor, *, sector_id: int, status: str | None, site_status: str | None,
              search: str | None) -> Select:
    stmt = tenancy.scoped(stmt, Content, actor).where(Content.sector_id == sector_id)
    if status:
        stmt = stmt.where(Content.status == one_of(ContentStatus, status, "Status"))
    if site_status:
        stmt = stmt.where(Content.site_status == one_of(SiteStatus, site_status, "Publishing status"))
    if search and search.strip():
        stmt = stmt.where(func.lower(Content.title).contains(search.strip().lower(), autoescape=True))
    return stmt


def list_content(session: Session, actor: Actor, *, sector_id: int, status: str | None = None,
                 site_status: str | None = None, search: str | None = None, after: Cursor | None = None,
                 limit: int = PAGE, with_total: bool = True) -> Page[ContentRow]:
    """One page of a sector's articles, newest first, by workflow and publishing status and title; with the total
    unless `with_total` is False (the screen counts a filter once, on its first page: the count costs more than a
    page of 100,000 rows)."""
    tenancy.get(session, actor, Sector, sector_id)
    where = {"sector_id": sector_id, "status": status, "site_status": site_status, "search": search}
    total = session.scalar(_filtered(select(func.count(Content.id)), actor, **where)) or 0 if with_total else None
    images = (select(func.count(Images.id)).where(Images.content_id == Content.id, Images.deleted_at.is_(None))
              .correlate(Content).scalar_subquery())
    stmt = _filtered(select(Content.id, Content.title, Content.status, Content.site_status, Content.word_count,
                            Content.primary_keyword, Clusters.name, Content.task_id, Content.updated_at,
                            images.label("images"), func.length(Content.meta_title).label("meta_len"))
                     .outerjoin(Clusters, Clusters.id == Content.cluster_id), actor, **where)
    return paging.page(session, stmt, NEWEST, convert=_to_row, limit=paging.limit_of(limit, MAX_PAGE), after=after,
                       total=total)


def _to_row(r: Row) -> ContentRow:
    return ContentRow(r.id, r.title, r.status.value, r.site_status.value, r.word_count, r.primary_keyword,
                      r.name or "", r.task_id, r.updated_at, r.images or 0, r.meta_len or 0)


def counts(session: Session, actor: Actor, *, sector_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """A sector's articles per workflow status and per publishing status (every status, zeros included)."""
    tenancy.get(session, actor, Sector, sector_id)
    # One pass over the sector, grouped by both statuses (at most 4 × 5 groups), instead of one per status column.
    groups = session.execute(tenancy.scoped(select(Content.status, Content.site_status, func.count(Content.id)),
                                            Content, actor)
                             .where(Content.sector_id == sector_id).group_by(Content.status, Content.site_status)).all()
    by_status = dict.fromkeys((s.value for s in ContentStatus), 0)
    by_site = dict.fromkeys((s.value for s in SiteStatus), 0)
    for status, site_status, n in groups:
        by_status[status.value] += n
        by_site[site_status.value] += n
    return by_status, by_site


def get_article(session: Session, actor: Actor, *, content_id: int) -> Article:
    """An article with everything the editor shows: fields, version, statuses, task and cluster, revisions, who
    saved it last."""
    c = tenancy.get(session, actor, Content, content_id)
    revs = select(func.count(ContentRevision.id)).where(ContentRevision.content_id == c.id).scalar_subquery()
    task, cluster, email, n = session.execute(
        select(Tasks.title, Clusters.name, User.email, revs).select_from(Content)
        .outerjoin(Tasks, Tasks.id == Content.task_id).outerjoin(Clusters, Clusters.id == Content.cluster_id)
        .outerjoin(User, User.id == Content.updated_by_id).where(Content.id == c.id)).one()
    return Article(c.id, c.site_id, c.sector_id, c.title, c.content_html, c.meta_title, c.meta_description,
                   c.primary_keyword, list(c.secondary_keywords or []), c.word_count, c.version, c.status.value,
                   c.site_status.value, c.task_id, task or "", c.cluster_id, cluster or "", n or 0, email or "",
                   c.updated_at, c.external_url)


# --- Saving -----------------------------------------------------------------------------------------------------------

def _no_nul(value: str, what: str) -> str:
    if "\0" in value:
        raise ValidationFailed(f"{what} cannot contain the NUL character (\\0): remove it and save again.")
    return value


def _line(value: str | None, what: str, limit: int, shown: str = "") -> str:
    text = " ".join(_no_nul(value or "", what).split())
    if len(text) > limit:
        raise ValidationFailed(f"{what} is {len(text):,} characters; at most {limit:,} are stored{shown}.")
    return text


def _keyword(value: str, what: str) -> str:
    text = html.plain_text(_no_nul(value, what))  # plain text: markup in a keyword is dropped
    if len(text) > KEYWORD_MAX:
        raise ValidationFailed(f"{what} “{html.cut(text, 60)}” is {len(text):,} characters; at most {KEYWORD_MAX} are "
                               "allowed.")
    return text


def _keywords(value: list[str] | str | None) -> list[str]:
    items = value.split(",") if isinstance(value, str) else [p for v in (value or []) for p in str(v).split(",")]
    seen: dict[str, str] = {}
    for item in items:
        kw = _keyword(item, "A secondary keyword")
        if kw and kw.lower() not in seen:
            seen[kw.lower()] = kw
    if len(seen) > SECONDARY_MAX:
        raise ValidationFailed(f"{len(seen)} secondary keywords were given; at most {SECONDARY_MAX} are allowed.")
    return list(seen.values())


def _body(value: str | None) -> tuple[str, bool]:
    raw = _no_nul(value or "", "The article body")
    size = len(raw.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        raise ValidationFailed(f"The article body is {size / 1_000_000:.2f} MB ({size:,} bytes); the limit is "
                               f"{MAX_HTML_BYTES / 1_000_000:g} MB. Split it into several articles or remove pasted "
                               "images and styling.")
    clean = html.sanitize_html(raw)
    removed = html.removed_markup(raw, clean)
    if not html.plain_text(clean):  # "left after …" only where something was removed, not for "<p>&nbsp;</p>"
        raise ValidationFailed("The article body has no text" + (" left after removing markup that is not allowed"
                                                                  if removed else "") + ": write the article "
                               "before saving.")
    return clean, removed


def _values(*, title: str, content_html: str, meta_title: str, meta_description: str, primary_keyword: str,
            secondary_keywords: list[str] | str) -> tuple[dict, bool]:
    body, removed = _body(content_html)
    values = {"title": clean_name(_no_nul(title or "", "The title"), "The title", max_len=TITLE_MAX),
              "content_html": body, "word_count": html.word_count(body),
              "meta_title": _line(meta_title, "The meta title", META_TITLE_MAX,
                                  f" (search results show about {html.SEARCH_TITLE})"),
              "meta_description": _line(meta_description, "The meta description", META_DESCRIPTION_MAX,
                                        f" (search results show about {html.SEARCH_DESCRIPTION})"),
              "primary_keyword": _keyword(primary_keyword or "", "The primary keyword"),
              "secondary_keywords": _keywords(secondary_keywords)}
    return values, removed


def _version(value: object) -> int:
    # isdecimal, not isdigit: "²" is a digit int() refuses; and a number past the column would fail in the database.
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdecimal() \
            or not 0 < int(value) <= revisions.MAX_NUMBER:
        raise ValidationFailed(f"The version the editor started from is a whole number, not “{value}”; reload the "
                               "article.")
    return int(value)


def save(session: Session, actor: Actor, *, content_id: int, base_version: int, title: str, content_html: str,
         meta_title: str, meta_description: str, primary_keyword: str, secondary_keywords: list[str] | str,
         note: str = "") -> SaveResult:
    """Save the editor's text as a new revision, if the article is still at `base_version` (else Conflict)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    base = _version(base_version)
    values, removed = _values(title=title, content_html=content_html, meta_title=meta_title,
                              meta_description=meta_description, primary_keyword=primary_keyword,
                              secondary_keywords=secondary_keywords)
    return revisions.store(session, actor, content=content, base_version=base, values=values, kind=RevisionKind.edit,
                           note=_line(note, "The note", NOTE_MAX), removed=removed)
