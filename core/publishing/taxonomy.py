"""Categories, tags and authors: synced from WordPress (every page) into `ContentTaxonomy` and the integration's
cached structure, chosen per content item, and created on WordPress at publish time when they were made here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import tenancy
from core.common import text
from core.common.uow import UnitOfWork
from core.errors import ValidationFailed
from core.publishing import connection, events
from core.publishing.wordpress import Client, WordPressError, timed
from core.tenancy import Actor
from db.enums import SyncStatus, TaxonomyType
from db.models import Content, ContentTaxonomy, ContentTaxonomyRelation, Site

# our taxonomy type → (WordPress taxonomy, REST route, the post field that takes its ids)
WP_TAXONOMIES = {TaxonomyType.category: ("category", "categories", "categories"),
                 TaxonomyType.tag: ("post_tag", "tags", "tags")}
MAX_NAME = 200


@dataclass(frozen=True)
class SyncResult:
    categories: int
    tags: int
    authors: int
    added: int
    updated: int
    gone: int  # terms that vanished on WordPress: kept here, made again there when an article that uses them goes out
    duration_ms: int


def sync(uow: UnitOfWork, actor: Actor, *, site_id: int) -> SyncResult:
    """Read every category, tag and author of the site's WordPress and keep them here."""
    tenancy.require_write(actor)
    with uow() as session:
        login = connection.login(session, actor, site_id=site_id)
    took = timed()
    try:
        with Client(login) as client:
            terms = {kind: client.all(f"/wp/v2/{route}", {"context": "edit", "hide_empty": "false"})
                     for kind, (_, route, _) in WP_TAXONOMIES.items()}
            authors = client.all("/wp/v2/users", {"who": "authors", "context": "edit"})
    except WordPressError as exc:
        with uow() as session:
            link = connection.integration(session, actor, site_id=site_id)
            link.sync_status, link.sync_error = SyncStatus.error, str(exc)
            events.record(session, link, action="sync_taxonomy", success=False, duration_ms=took(), error=str(exc),
                          event_type="sync")
        raise
    with uow() as session:
        return _store(session, actor, site_id=site_id, terms=terms, authors=authors, duration_ms=took())


def _store(session: Session, actor: Actor, *, site_id: int, terms: dict, authors: list[dict],
           duration_ms: int) -> SyncResult:
    link = connection.integration(session, actor, site_id=site_id)
    added = updated = gone = 0
    for kind, items in terms.items():
        wp_tax = WP_TAXONOMIES[kind][0]
        have = {row.external_id: row for row in session.scalars(select(ContentTaxonomy).where(
            ContentTaxonomy.site_id == site_id, ContentTaxonomy.taxonomy_type == kind))}
        by_slug = {row.slug: row for row in have.values()}
        seen = set()
        for item in items:
            ext = str(item["id"])
            seen.add(ext)
            row = have.get(ext) or by_slug.get(item["slug"])
            if row is None:
                row = ContentTaxonomy(account_id=link.account_id, site_id=site_id, taxonomy_type=kind)
                session.add(row)
                added += 1
            else:
                updated += 1
            row.name, row.slug, row.external_id, row.external_taxonomy = item["name"], item["slug"], ext, wp_tax
            row.count, row.description, row.sync_status = int(item.get("count") or 0), item.get("description") or "", \
                SyncStatus.synced
            row.metadata_ = {"parent": item.get("parent") or 0, "link": item.get("link", "")}
        for ext, row in have.items():
            if ext and ext not in seen and row.sync_status == SyncStatus.synced:
                row.external_id, row.sync_status = None, SyncStatus.pending
                gone += 1
    now = datetime.now(UTC)
    config = dict(link.config_json or {})
    config["structure"] = {"authors": [{"id": a["id"], "name": a.get("name", ""), "slug": a.get("slug", "")}
                                       for a in authors],
                           "categories": len(terms[TaxonomyType.category]), "tags": len(terms[TaxonomyType.tag])}
    link.config_json, link.structure_updated_at = config, now
    link.sync_status, link.last_sync_at, link.sync_error = SyncStatus.synced, now, ""
    session.flush()
    result = SyncResult(len(terms[TaxonomyType.category]), len(terms[TaxonomyType.tag]), len(authors), added,
                        updated, gone, duration_ms)
    events.record(session, link, action="sync_taxonomy", success=True, duration_ms=duration_ms, event_type="sync",
                  details={k: getattr(result, k) for k in ("categories", "tags", "authors", "added", "updated",
                                                            "gone")})
    return result


def list_terms(session: Session, actor: Actor, *, site_id: int,
               taxonomy_type: TaxonomyType | None = None) -> list[ContentTaxonomy]:
    """A site's categories and tags by name (a site has hundreds at most; the pickers show them all)."""
    tenancy.get(session, actor, Site, site_id)
    stmt = tenancy.scoped(select(ContentTaxonomy), ContentTaxonomy, actor).where(ContentTaxonomy.site_id == site_id)
    if taxonomy_type is not None:
        stmt = stmt.where(ContentTaxonomy.taxonomy_type == taxonomy_type)
    return list(session.scalars(stmt.order_by(ContentTaxonomy.taxonomy_type, ContentTaxonomy.name,
                                              ContentTaxonomy.id).limit(5000)))


def create_term(session: Session, actor: Actor, *, site_id: int, name: str,
                taxonomy_type: TaxonomyType = TaxonomyType.category) -> ContentTaxonomy:
    """A new category or tag, made here; it is created on WordPress when an article using it is published."""
    site = tenancy.site_for_write(session, actor, site_id)
    if taxonomy_type not in WP_TAXONOMIES:
        raise ValidationFailed("Only categories and tags can be published to WordPress.")
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"A {taxonomy_type.value} needs a name of 1 to {MAX_NAME} characters.")
    slug = text.slugify(name)
    existing = session.scalars(select(ContentTaxonomy).where(
        ContentTaxonomy.site_id == site.id, ContentTaxonomy.taxonomy_type == taxonomy_type,
        ContentTaxonomy.slug == slug)).first()
    if existing is not None:
        return existing
    row = ContentTaxonomy(account_id=site.account_id, site_id=site.id, taxonomy_type=taxonomy_type, name=name,
                          slug=slug, sync_status=SyncStatus.pending)
    session.add(row)
    session.flush()
    return row


def set_terms(session: Session, actor: Actor, *, content_id: int, taxonomy_ids: list[int]) -> list[ContentTaxonomy]:
    """Give an article exactly these categories and tags (of its own site)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    wanted = sorted(set(taxonomy_ids))
    rows = list(session.scalars(tenancy.scoped(select(ContentTaxonomy), ContentTaxonomy, actor).where(
        ContentTaxonomy.id.in_(wanted), ContentTaxonomy.site_id == content.site_id))) if wanted else []
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {r.id for r in rows})
        raise ValidationFailed(f"Categories or tags {missing} are not this site's.")
    session.execute(delete(ContentTaxonomyRelation).where(ContentTaxonomyRelation.content_id == content.id))
    for row in rows:
        session.add(ContentTaxonomyRelation(account_id=content.account_id, site_id=content.site_id,
                                            sector_id=content.sector_id, content_id=content.id, taxonomy_id=row.id))
    session.flush()
    return rows


def terms_of(session: Session, actor: Actor, *, content_id: int) -> list[ContentTaxonomy]:
    """An article's categories and tags."""
    content = tenancy.get(session, actor, Content, content_id)
    return list(session.scalars(select(ContentTaxonomy).join(
        ContentTaxonomyRelation, ContentTaxonomyRelation.taxonomy_id == ContentTaxonomy.id).where(
        ContentTaxonomyRelation.content_id == content.id).order_by(ContentTaxonomy.taxonomy_type,
                                                                   ContentTaxonomy.name)))


def authors(session: Session, actor: Actor, *, site_id: int) -> list[dict]:
    """The WordPress authors of the last sync ({id, name, slug})."""
    link = connection.integration(session, actor, site_id=site_id)
    return list(((link.config_json or {}).get("structure") or {}).get("authors") or [])


def set_author(session: Session, actor: Actor, *, content_id: int, author_id: int | None) -> Content:
    """Choose the WordPress author of an article (None: the connection's user)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    if author_id is not None and author_id not in {a["id"] for a in authors(session, actor, site_id=content.site_id)}:
        raise ValidationFailed(f"WordPress user {author_id} is not among the site's authors: sync the site first.")
    meta = dict(content.external_metadata or {})
    meta["wp_author"] = author_id
    content.external_metadata = meta
    session.flush()
    return content


def ensure_on_wordpress(client: Client, rows: list[ContentTaxonomy]) -> dict[int, str]:
    """Create on WordPress the terms that exist only here (adopting one of the same name); {row id: WP term id}.
    HTTP only: the caller stores the ids in its record transaction."""
    made = {}
    for row in rows:
        if row.external_id:
            continue
        route = WP_TAXONOMIES[row.taxonomy_type][1]
        try:
            term = client.json("POST", f"/wp/v2/{route}", json_body={"name": row.name, "slug": row.slug})
        except WordPressError as exc:
            if exc.code != "term_exists":
                raise
            term = client.json("GET", f"/wp/v2/{route}", params={"slug": row.slug, "context": "edit"})[0]
        made[row.id] = str(term["id"])
    return made
