"""Publishing an article to WordPress exactly once: claim → commit → work → record (house rule 9).

One attempt: `claim` takes the article's lease and sets `site_status=publishing` (commit); `_prepare` reads what
the post needs and opens a `PublishingRecord` (commit); `_push` talks to WordPress with no transaction open —
categories and tags made there when new, images uploaded with their alt text, the article's in-article images
pointed at the uploaded media, then the post created or updated; `_record` writes the outcome under the lease
(fenced) with a `SyncEvent`.

Exactly once: the post's slug carries the article's id (fixed on the first attempt), and before creating a post the
publisher looks for one with that slug in every status (`context=edit`) and adopts it. So a publisher killed
between WordPress making the post and us recording it leaves a post the next attempt finds instead of a second one.
The lease is renewed just before the create, so a publisher that overran its lease stops rather than racing the
one that took over.
"""
from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from core import config, tenancy
from core.common import claim, retry, text
from core.common.uow import UnitOfWork
from core.errors import Conflict, NotFound, ValidationFailed
from core.publishing import connection, events, seo
from core.publishing.taxonomy import WP_TAXONOMIES, ensure_on_wordpress
from core.publishing.wordpress import DEFAULT_POLICY, Client, Login, WordPressError, timed
from core.tenancy import Actor
from core.writer import images as writer_images
from core.writer.html import cut, plain_text, sanitize_html
from db.enums import ContentStatus, ContentType, ImageType, PublishStatus, SiteStatus
from db.models import Content, ContentTaxonomy, ContentTaxonomyRelation, Images, PublishingRecord, SiteIntegration

PUBLISHABLE = (ContentStatus.approved, ContentStatus.published)
SLUG_MAX = 180
EXCERPT_MAX = 300


@dataclass(frozen=True)
class Upload:
    image_id: int
    kind: str  # featured | in_article
    data: bytes = field(repr=False)
    mime: str
    filename: str
    alt: str
    caption: str
    media_id: int | None = None  # already in the media library (an earlier attempt)
    media_url: str = ""


@dataclass(frozen=True)
class Work:
    """Everything one attempt needs, read in its prepare transaction."""

    content_id: int
    record_id: int
    integration_id: int
    owner: str
    login: Login
    route: str  # posts | pages
    slug: str
    post: dict  # title, content body (without images), excerpt, author …
    mode: str  # publish | future | update | draft | trash
    date_gmt: datetime | None
    external_id: str
    terms: list[ContentTaxonomy]
    uploads: list[Upload]
    seo_fields: dict
    meta_title: str
    meta_description: str
    earlier: bool = True  # an earlier attempt fixed the slug: it may have made the post, so look for it first
    policy: retry.RetryPolicy = DEFAULT_POLICY


@dataclass
class Outcome:
    """What one attempt did: published (or adopted), failed with WordPress's message, or lost its lease."""

    content_id: int
    ok: bool
    post_id: str = ""
    url: str = ""
    adopted: bool = False
    error: str = ""
    notes: list[str] = field(default_factory=list)
    media: dict = field(default_factory=dict)  # image id → {"id", "url"}
    terms: dict = field(default_factory=dict)  # taxonomy row id → WordPress term id
    wp_status: str = ""
    duration_ms: int = 0


def lease() -> timedelta:
    return timedelta(seconds=max(5, config.settings().publish_lease_seconds))


def route_of(content_type: ContentType) -> str:
    return "pages" if content_type == ContentType.page else "posts"


# --- what a screen or the CLI asks for ------------------------------------------------------------------------

def _publishable(session: Session, actor: Actor, content_id: int) -> Content:
    content = tenancy.get_for_write(session, actor, Content, content_id)
    if content.deleted_at is not None:
        raise ValidationFailed(f"Article #{content.id} is deleted; restore it before publishing.")
    if content.status not in PUBLISHABLE:
        raise ValidationFailed(f"Article #{content.id} is {content.status.value}: only approved articles are "
                               "published. Approve it in review first.")
    connection.integration(session, actor, site_id=content.site_id)  # NotFound with what to do
    return content


def _busy(content: Content) -> bool:
    return content.site_status == SiteStatus.publishing and content.lease_until is not None and \
        content.lease_until > datetime.now(UTC)


def schedule(session: Session, actor: Actor, *, content_id: int, at: datetime) -> Content:
    """Put an approved article on the calendar at `at` (UTC); the scheduler publishes it then."""
    content = _publishable(session, actor, content_id)
    if content.site_status == SiteStatus.published:
        raise Conflict(f"Article #{content.id} is published already; use “Update on WordPress” to push edits.")
    if _busy(content):
        raise Conflict(f"Article #{content.id} is being published right now.")
    if at.tzinfo is None:
        raise ValidationFailed("A publishing time needs its timezone (times are kept in UTC).")
    content.site_status, content.scheduled_publish_at = SiteStatus.scheduled, at.astimezone(UTC)
    content.publish_error, content.site_status_updated_at = "", datetime.now(UTC)
    session.flush()
    return content


def unschedule(session: Session, actor: Actor, *, content_id: int) -> Content:
    """Take an article off the calendar (it stays approved)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    if _busy(content):
        raise Conflict(f"Article #{content.id} is being published right now; it cannot be taken off the calendar.")
    if content.site_status not in (SiteStatus.scheduled, SiteStatus.failed):
        raise ValidationFailed(f"Article #{content.id} is not scheduled ({content.site_status.value}).")
    content.site_status, content.scheduled_publish_at = SiteStatus.not_published, None
    content.site_status_updated_at = datetime.now(UTC)
    session.flush()
    return content


def publish(uow: UnitOfWork, actor: Actor, *, content_id: int, at: datetime | None = None,
            sleep: Callable[[float], None] | None = None) -> Outcome:
    """Publish one article now, or (with `at`) send it to WordPress as scheduled for `at` (status future,
    date_gmt); an article already on WordPress is updated in place."""
    now = datetime.now(UTC)
    if at is not None and at.tzinfo is None:
        raise ValidationFailed("A publishing time needs its timezone (times are kept in UTC).")
    owner = claim.worker_id()
    with uow() as session:  # checked and claimed in one transaction
        content = _publishable(session, actor, content_id)
        if _busy(content):
            raise Conflict(f"Article #{content.id} is being published right now.")
        mode = "update" if content.external_id and content.site_status == SiteStatus.published else \
            "future" if at is not None and at > now else "publish"
        _claim_one(session, content_id, owner, refused=f"Article #{content_id} is being published right now, or "
                   "it changed meanwhile.")
    return _work(uow, content_id=content_id, owner=owner, mode=mode, date_gmt=at.astimezone(UTC) if at else None,
                 sleep=sleep)


def unpublish(uow: UnitOfWork, actor: Actor, *, content_id: int, trash: bool = False) -> Outcome:
    """Take a published article off the site: back to draft on WordPress, or into its trash."""
    owner = claim.worker_id()
    with uow() as session:
        content = tenancy.get_for_write(session, actor, Content, content_id)
        if not content.external_id:
            raise ValidationFailed(f"Article #{content.id} is not on WordPress.")
        if _busy(content):
            raise Conflict(f"Article #{content.id} is being published right now.")
        _claim_one(session, content_id, owner, refused=f"Article #{content_id} is being published right now.")
    return _work(uow, content_id=content_id, owner=owner, mode="trash" if trash else "draft", date_gmt=None,
                 sleep=None)


@dataclass(frozen=True)
class State:
    """Where an article stands on WordPress, as its publishing tab shows it."""

    site_status: str
    scheduled_at: datetime | None
    url: str
    post_id: str
    error: str
    wp_status: str
    notes: list[str]
    attempts: list[PublishingRecord]
    connected: bool
    author: int | None  # the WordPress author chosen (None: the connection's user)


def state(session: Session, actor: Actor, *, content_id: int) -> State:
    """An article's publishing status, its last attempts and whether its site can publish."""
    content = tenancy.get(session, actor, Content, content_id)
    try:
        link = connection.integration(session, actor, site_id=content.site_id)
        connected = link.connection_status != "error"
    except NotFound:
        connected = False
    attempts = list(session.scalars(select(PublishingRecord).where(PublishingRecord.content_id == content.id)
                                    .order_by(PublishingRecord.id.desc()).limit(10)))
    meta = content.external_metadata or {}
    return State(content.site_status.value, content.scheduled_publish_at, content.external_url, content.external_id,
                 content.publish_error, str(meta.get("wp_status") or ""), list(meta.get("notes") or []), attempts,
                 connected, meta.get("wp_author"))


# --- the scheduler's side -------------------------------------------------------------------------------------

def due(now: datetime):
    """Articles whose slot has come (or whose publisher died: lease run out while publishing)."""
    return [Content.deleted_at.is_(None), Content.status.in_(PUBLISHABLE),
            or_(and_(Content.site_status == SiteStatus.scheduled, Content.scheduled_publish_at <= now),
                Content.site_status == SiteStatus.publishing)]


def next_due_at(session: Session) -> datetime | None:
    """When the next scheduled article is due (the scheduler sleeps until then), across every account."""
    return session.scalar(select(Content.scheduled_publish_at).where(
        Content.deleted_at.is_(None), Content.site_status == SiteStatus.scheduled,
        Content.status.in_(PUBLISHABLE)).order_by(Content.scheduled_publish_at).limit(1))


def run_due(uow: UnitOfWork, *, owner: str | None = None, limit: int = 10, now: datetime | None = None,
            sleep: Callable[[float], None] | None = None) -> list[Outcome]:
    """Claim up to `limit` due articles (any account) and publish each; their outcomes."""
    owner = owner or claim.worker_id()
    now = now or datetime.now(UTC)
    with uow() as session:
        ids = claim.claim_due(session, Content, where=due(now), owner=owner, lease=lease(), limit=limit,
                              order_by=[Content.scheduled_publish_at, Content.id],
                              values={"site_status": SiteStatus.publishing})
    outcomes = []
    for content_id in ids:
        outcomes.append(_work(uow, content_id=content_id, owner=owner, mode=None, date_gmt=None, sleep=sleep))
    return outcomes


# --- one attempt ----------------------------------------------------------------------------------------------

def _claim_one(session: Session, content_id: int, owner: str, *, refused: str) -> None:
    free = [Content.id == content_id, Content.deleted_at.is_(None)]
    if not claim.claim_due(session, Content, where=free, owner=owner, lease=lease(), limit=1,
                           values={"site_status": SiteStatus.publishing}):
        raise Conflict(refused)


def _work(uow: UnitOfWork, *, content_id: int, owner: str, mode: str | None, date_gmt: datetime | None,
          sleep: Callable[[float], None] | None) -> Outcome:
    took = timed()
    try:
        with uow() as session:
            work = _prepare(session, content_id=content_id, owner=owner, mode=mode, date_gmt=date_gmt)
    except (claim.LeaseLost, NotFound, ValidationFailed) as exc:
        outcome = Outcome(content_id, False, error=str(exc))
        with uow() as session:
            _record_unprepared(session, content_id=content_id, owner=owner, error=str(exc))
        return outcome
    outcome = _push(uow, work, sleep=sleep)
    outcome.duration_ms = took()
    with uow() as session:
        _record(session, work, outcome)
    return outcome


def _prepare(session: Session, *, content_id: int, owner: str, mode: str | None,
             date_gmt: datetime | None) -> Work:
    content = session.get(Content, content_id, populate_existing=True)
    if content is None or content.claimed_by != owner:
        raise claim.LeaseLost(Content, content_id, owner)
    if content.status not in PUBLISHABLE:
        raise ValidationFailed(f"Article #{content.id} is {content.status.value}: only approved articles are "
                               "published.")
    actor = tenancy.system_actor(content.account_id)
    link = connection.integration(session, actor, site_id=content.site_id)
    login = connection.login_of(link)
    meta = dict(content.external_metadata or {})
    earlier = bool(meta.get("wp_slug"))
    if not earlier:  # fixed once, committed before any post is made: the marker a later attempt searches for
        meta["wp_slug"] = f"{text.slugify(content.title)[:SLUG_MAX].strip('-') or 'article'}-{content.id}"
    stale = session.scalars(select(PublishingRecord).where(PublishingRecord.content_id == content.id,
                                                           PublishingRecord.status == PublishStatus.publishing))
    for old in stale:  # an attempt that never recorded: its publisher died
        old.status, old.error_message = PublishStatus.failed, "The publisher stopped before recording the outcome."
    if mode is None:  # the scheduler: publish at the slot (update if it is there already)
        mode = "update" if content.external_id else "publish"
        date_gmt = content.scheduled_publish_at
    record = PublishingRecord(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                              content_id=content.id, destination="wordpress", status=PublishStatus.publishing,
                              metadata_={"mode": mode, "owner": owner})
    session.add(record)
    content.external_metadata = meta
    session.flush()
    terms = list(session.scalars(select(ContentTaxonomy).join(
        ContentTaxonomyRelation, ContentTaxonomyRelation.taxonomy_id == ContentTaxonomy.id).where(
        ContentTaxonomyRelation.content_id == content.id)))
    body = sanitize_html(content.content_html or "")
    excerpt = cut(content.meta_description or plain_text(body), EXCERPT_MAX)
    post = {"title": content.title, "content": body, "excerpt": excerpt}
    if meta.get("wp_author"):
        post["author"] = int(meta["wp_author"])
    return Work(content.id, record.id, link.id, owner, login, route_of(content.content_type), meta["wp_slug"], post, mode,
                date_gmt, content.external_id or "", [_detached(t) for t in terms],
                _uploads(session, actor, content, meta.get("media") or {}),
                (link.config_json or {}).get("seo") or {}, content.meta_title or "", content.meta_description or "",
                earlier, _policy(link))


def _policy(link: SiteIntegration) -> retry.RetryPolicy:
    """The site's HTTP policy: config_json["http"] (max_attempts, timeout_s, backoff_base_s, backoff_max_s) over
    the adapter's defaults."""
    http = (link.config_json or {}).get("http") or {}
    return retry.RetryPolicy.from_config({"max_attempts": DEFAULT_POLICY.attempts, "timeout_s": DEFAULT_POLICY.timeout_s,
                                          "backoff_base_s": DEFAULT_POLICY.backoff_base_s,
                                          "backoff_max_s": DEFAULT_POLICY.backoff_max_s, **http})


def _detached(row: ContentTaxonomy) -> ContentTaxonomy:
    return ContentTaxonomy(id=row.id, name=row.name, slug=row.slug, taxonomy_type=row.taxonomy_type,
                           external_id=row.external_id)


def _uploads(session: Session, actor: Actor, content: Content, done: dict) -> list[Upload]:
    rows = session.scalars(select(Images).where(Images.content_id == content.id, Images.deleted_at.is_(None),
                                                Images.image_path != "").order_by(Images.position, Images.id))
    out = []
    for row in rows:
        try:
            data, mime = writer_images.image_file(session, actor, image_id=row.id, size="full")
        except (NotFound, ValidationFailed):
            continue
        ext = mimetypes.guess_extension(mime) or ".img"
        kept = done.get(str(row.id)) or {}
        out.append(Upload(row.id, row.image_type.value, data, mime, f"{text.slugify(content.title)[:60]}-{row.id}"
                          f"{ext}", row.alt_text or content.title, row.caption or "", kept.get("id"),
                          kept.get("url", "")))
    return out


def _push(uow: UnitOfWork, work: Work, *, sleep: Callable[[float], None] | None) -> Outcome:
    outcome = Outcome(work.content_id, False)
    try:
        with Client(work.login, policy=work.policy, sleep=sleep) as client:
            if work.mode in ("draft", "trash"):
                return _take_down(client, work, outcome)
            outcome.terms = ensure_on_wordpress(client, work.terms)
            _upload_all(uow, client, work, outcome)
            payload = _payload(work, outcome)
            post = _create_or_update(uow, client, work, payload, outcome)
    except (WordPressError, claim.LeaseLost) as exc:
        outcome.error = str(exc)
        return outcome
    outcome.ok, outcome.post_id, outcome.url = True, str(post["id"]), post.get("link", "")
    outcome.wp_status = post.get("status", "")
    return outcome


def _upload_all(uow: UnitOfWork, client: Client, work: Work, outcome: Outcome) -> None:
    for up in work.uploads:
        if up.media_id:
            outcome.media[str(up.image_id)] = {"id": up.media_id, "url": up.media_url}
            continue
        media = client.upload_media(up.data, filename=up.filename, mime=up.mime, alt_text=up.alt,
                                    caption=up.caption, title=work.post["title"])
        outcome.media[str(up.image_id)] = {"id": media["id"], "url": media.get("source_url", "")}


def _before_create(uow: UnitOfWork, work: Work, outcome: Outcome) -> None:
    """One short transaction right before the post is made: the lease must still be ours, and the uploads are
    kept at once (a retry after a crash does not upload them again)."""
    with uow() as session:
        if not claim.renew(session, Content, ids=[work.content_id], owner=work.owner, lease=lease()):
            raise claim.LeaseLost(Content, work.content_id, work.owner)
        if any(not up.media_id for up in work.uploads):
            content = session.get(Content, work.content_id, populate_existing=True)
            content.external_metadata = {**(content.external_metadata or {}), "media": outcome.media}
            session.flush()


def _payload(work: Work, outcome: Outcome) -> dict:
    figures, featured = [], None
    for up in work.uploads:
        media = outcome.media.get(str(up.image_id)) or {}
        if up.kind == ImageType.featured.value and featured is None:
            featured = media.get("id")
        elif media.get("url"):
            figures.append(writer_images.Figure(media["url"], up.alt, up.caption))
    payload = dict(work.post, slug=work.slug, content=writer_images.place(work.post["content"], figures))
    for kind, (_, _, fieldname) in WP_TAXONOMIES.items():
        ids = [int(outcome.terms.get(t.id) or t.external_id) for t in work.terms if t.taxonomy_type == kind]
        if ids:
            payload[fieldname] = ids
    if featured:
        payload["featured_media"] = featured
    meta, note = seo.meta_for(work.seo_fields, work.route, title=work.meta_title, description=work.meta_description)
    if meta:
        payload["meta"] = meta
    if note:
        outcome.notes.append(note)
    if work.mode == "future" and work.date_gmt is not None:
        payload["status"], payload["date_gmt"] = "future", _wp_time(work.date_gmt)
    else:
        payload["status"] = "publish"
        if work.date_gmt is not None and work.mode == "publish":
            payload["date_gmt"] = _wp_time(min(work.date_gmt, datetime.now(UTC)))
    return payload


def _wp_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _create_or_update(uow: UnitOfWork, client: Client, work: Work, payload: dict, outcome: Outcome) -> dict:
    route = f"/wp/v2/{work.route}"
    if work.external_id:
        _before_create(uow, work, outcome)
        return client.json("POST", f"{route}/{work.external_id}", json_body=payload)
    found = client.find_by_slug(work.route, work.slug) if work.earlier else None
    _before_create(uow, work, outcome)
    if found is not None:
        outcome.adopted = True
        return client.json("POST", f"{route}/{found['id']}", json_body=payload)
    return _create_once(client, work, payload, outcome)


def _create_once(client: Client, work: Work, payload: dict, outcome: Outcome) -> dict:
    """Create the post, never twice: each request is sent once, and before any new try the post is looked for.
    A 5xx is tried again (up to the policy's attempts, with backoff); after a timeout or a lost connection WordPress
    may still be making the post, so this attempt stops there and the next one looks for it first."""
    route = f"/wp/v2/{work.route}"
    once = Client(client.login, http=client.http, policy=replace(client.policy, attempts=1))
    pause = client.sleep or time.sleep
    for number in range(1, client.policy.attempts + 1):
        try:
            return once.json("POST", route, json_body=payload)
        except WordPressError as exc:
            if exc.kind == "http" and exc.status is not None and exc.status < 500:
                raise
            pause(client.policy.delay(number, None))
            found = client.find_by_slug(work.route, work.slug)  # a timeout or 5xx may still have made the post
            if found is not None:
                outcome.adopted = True
                return client.json("POST", f"{route}/{found['id']}", json_body=payload)
            if exc.kind != "http" or number == client.policy.attempts:
                tries = f" (after {number} attempts)" if number > 1 else ""
                later = " WordPress may still be making the post: the next attempt looks for it before making " \
                    "another." if exc.kind != "http" else ""
                raise WordPressError(f"{exc}{tries}.{later}", status=exc.status, code=exc.code,
                                     kind=exc.kind) from exc
    raise AssertionError("unreachable")


def _take_down(client: Client, work: Work, outcome: Outcome) -> Outcome:
    route = f"/wp/v2/{work.route}/{work.external_id}"
    if work.mode == "trash":
        post = client.json("DELETE", route)
    else:
        post = client.json("POST", route, json_body={"status": "draft"})
    outcome.ok, outcome.post_id, outcome.url, outcome.wp_status = True, str(post["id"]), post.get("link", ""), \
        post.get("status", work.mode)
    return outcome


# --- record ---------------------------------------------------------------------------------------------------

def _record(session: Session, work: Work, outcome: Outcome) -> None:
    now = datetime.now(UTC)
    content = session.get(Content, work.content_id, populate_existing=True)
    record = session.get(PublishingRecord, work.record_id)
    values: dict = {}
    meta = dict(content.external_metadata or {}) if content else {}
    if outcome.media:
        meta["media"] = outcome.media
    if outcome.ok and work.mode in ("draft", "trash"):
        meta["wp_status"] = outcome.wp_status
        values = {"site_status": SiteStatus.not_published, "site_status_updated_at": now, "publish_error": "",
                  "external_metadata": meta}
    elif outcome.ok:
        meta.update(wp_status=outcome.wp_status, notes=outcome.notes)
        values = {"site_status": SiteStatus.published, "status": ContentStatus.published,
                  "external_id": outcome.post_id, "external_url": outcome.url, "external_type": work.route[:-1],
                  "site_status_updated_at": now, "publish_error": "", "external_metadata": meta}
        if work.mode == "future" and work.date_gmt is not None:
            values["scheduled_publish_at"] = work.date_gmt
    else:
        values = {"site_status": SiteStatus.failed, "site_status_updated_at": now,
                  "publish_error": outcome.error[:5000], "external_metadata": meta}
    kept = claim.record(session, Content, id=work.content_id, owner=work.owner, values=values, now=now)
    if not kept:
        outcome.ok, outcome.error = False, str(claim.LeaseLost(Content, work.content_id, work.owner))
    _close_record(record, outcome, now, kept)
    for term_id, ext in outcome.terms.items():
        session.execute(update(ContentTaxonomy).where(ContentTaxonomy.id == term_id)
                        .values(external_id=ext, external_taxonomy=_wp_taxonomy(session, term_id),
                                sync_status="synced"))
    link = session.get(SiteIntegration, work.integration_id)
    if content is not None and link is not None:
        action = {"draft": "unpublish", "trash": "unpublish", "update": "update"}.get(
            work.mode, "adopt" if outcome.adopted else "publish")
        events.record(session, link, action=action, success=outcome.ok, duration_ms=outcome.duration_ms,
                      content_id=content.id, external_id=outcome.post_id, error=outcome.error,
                      details={"mode": work.mode, "url": outcome.url, "notes": outcome.notes,
                               "images": len(outcome.media), "lease_kept": kept})
    session.flush()


def _wp_taxonomy(session: Session, term_id: int) -> str:
    kind = session.scalar(select(ContentTaxonomy.taxonomy_type).where(ContentTaxonomy.id == term_id))
    return WP_TAXONOMIES[kind][0] if kind in WP_TAXONOMIES else ""


def _close_record(record: PublishingRecord | None, outcome: Outcome, now: datetime, kept: bool) -> None:
    if record is None:
        return
    record.status = PublishStatus.published if outcome.ok else PublishStatus.failed
    record.destination_id, record.destination_url = outcome.post_id, outcome.url
    record.published_at = now if outcome.ok else None
    record.error_message = outcome.error[:5000]
    record.metadata_ = {**(record.metadata_ or {}), "adopted": outcome.adopted, "notes": outcome.notes,
                        "duration_ms": outcome.duration_ms, "lease_kept": kept, "wp_status": outcome.wp_status}


def _record_unprepared(session: Session, *, content_id: int, owner: str, error: str) -> None:
    claim.record(session, Content, id=content_id, owner=owner,
                 values={"site_status": SiteStatus.failed, "publish_error": error[:5000],
                         "site_status_updated_at": datetime.now(UTC)})
