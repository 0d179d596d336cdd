"""The review workflow of an article: draft → review → approved (and back to draft with a comment).

A step is a compare-and-set (`UPDATE content … WHERE id = :id AND status = <the status read> AND site_status is not
live`): of two reviewers moving one article at once, one passes and the other gets a Conflict naming where it went
meanwhile; each step that passes is one ContentComment row (from → to, with its comment). Articles that are
published, or scheduled or being published, are not moved by review: the publishing screens unschedule them first.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import tenancy
from core.common.text import NUL_MESSAGE, one_of
from core.errors import AccessDenied, Conflict, LimitExceeded, ValidationFailed
from core.tenancy import Actor
from core.writer.revisions import LABELS
from db.base import utcnow
from db.enums import ContentStatus, RevisionKind, SiteStatus
from db.models import Content, ContentComment, ContentRevision, PublishingSettings, Sector, User

AUTO_APPROVED = "Approved automatically: the site's publishing settings approve generated content."
AUTOMATION_APPROVED = "Approved automatically by an automation run (its settings approve generated content)."
COMMENT_MAX = 5_000
BULK_MAX = 500
HISTORY_MAX = 500
SHOWN_REFUSALS = 10
D, R, A = ContentStatus.draft, ContentStatus.review, ContentStatus.approved
# The steps review may take, and how the history names them.
STEPS = {(D, R): "Submitted for review", (R, A): "Approved", (D, A): "Approved without review",
         (R, D): "Sent back to draft", (A, D): "Sent back to draft", (A, R): "Back to review"}
NEEDS_COMMENT = frozenset({(R, D), (A, D)})
ADMINS_ONLY = frozenset({(D, A)})
LIVE = {SiteStatus.scheduled: "is scheduled for publishing", SiteStatus.publishing: "is being published",
        SiteStatus.published: "is published"}
MOVABLE_SITE = (SiteStatus.not_published, SiteStatus.failed)
UNSCHEDULE = "unschedule or unpublish it on the publishing screen first"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an article's history: a revision, a review step or a comment (never an article body)."""

    created_at: datetime
    who: str  # the user's e-mail, or “the system” / “an operator” when no user made it
    kind: str  # revision | step | comment
    summary: str  # the line for a person
    comment: str = ""
    revision: int | None = None
    revision_kind: str = ""
    changed: list[str] = field(default_factory=list)
    note: str = ""
    word_count: int | None = None
    from_status: str | None = None
    to_status: str | None = None


@dataclass(frozen=True)
class BulkResult:
    """What a bulk approval did: the ids approved, each refused id with its reason, and the message."""

    approved: list[int]
    refused: list[tuple[int, str]]
    message: str


# --- checks -------------------------------------------------------------------------------------------------------

def _comment(value: object, *, required: bool) -> str:
    """A plain-text comment: trimmed, 1..5,000 characters when given (or required), no NUL."""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed("A comment is text.")
    text = (value or "").replace("\r\n", "\n").strip()
    if "\0" in text:
        raise ValidationFailed(NUL_MESSAGE)
    if required and not text:
        raise ValidationFailed("Say why in a comment: sending an article back to draft needs one, so the writer "
                               "knows what to change.")
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(f"The comment is too long ({len(text):,} characters; at most {COMMENT_MAX:,}).")
    return text


def _target(to: object) -> ContentStatus:
    status = one_of(ContentStatus, to, "The new status")
    if status == ContentStatus.published:
        raise ValidationFailed("Review moves articles to draft, review or approved; publishing them is done on the "
                               "publishing screen.")
    return status


def _live(content: Content) -> str | None:
    """Why review cannot move the article (published or on its way there), or None."""
    if content.site_status in LIVE:
        return LIVE[content.site_status]
    if content.status == ContentStatus.published:
        return LIVE[SiteStatus.published]
    return None


def _refusal(actor: Actor, content: Content, to: ContentStatus) -> str | None:
    """Why this actor cannot move this article to `to` (a reason after its title), or None."""
    live = _live(content)
    if live:
        return live
    if content.status == to:
        return f"is {to.value} already"
    step = (content.status, to)
    if step not in STEPS:
        return f"cannot go from {content.status.value} to {to.value}"
    if step in ADMINS_ONLY and not actor.is_admin:
        return "is a draft (submit it for review first)"
    return None


def _refuse(actor: Actor, content: Content, to: ContentStatus) -> None:
    reason = _refusal(actor, content, to)
    if reason is None:
        return
    text = f"“{content.title}” {reason}"
    if _live(content):
        raise Conflict(f"{text}: review cannot move it; {UNSCHEDULE}.")
    if content.status == to:
        raise Conflict(f"{text}: nothing was changed.")
    if (content.status, to) in ADMINS_ONLY:
        raise AccessDenied(f"{text}: only owners, admins and developers approve a draft directly.")
    raise ValidationFailed(f"{text}.")


# --- steps --------------------------------------------------------------------------------------------------------

def _step(session: Session, actor: Actor, content: Content, to: ContentStatus, comment: str) -> ContentComment:
    session.add(row := ContentComment(account_id=content.account_id, site_id=content.site_id,
                                      sector_id=content.sector_id, content_id=content.id, from_status=content.status,
                                      to_status=to, comment=comment, created_by_id=actor.user_id))
    return row


def _cas(session: Session, content: Content, to: ContentStatus) -> bool:
    """Move the article only if it is still where it was read and not on its way to publishing."""
    done = session.execute(
        update(Content).where(Content.id == content.id, Content.account_id == content.account_id,
                              Content.status == content.status, Content.site_status.in_(MOVABLE_SITE),
                              Content.deleted_at.is_(None))
        .values(status=to, updated_at=utcnow()).execution_options(synchronize_session=False))
    return done.rowcount == 1


def _moved(session: Session, content: Content) -> Conflict:
    now = session.execute(select(Content.status, Content.site_status, Content.deleted_at)
                          .where(Content.id == content.id)).first()
    if now is None or now.deleted_at is not None:
        return Conflict(f"“{content.title}” was deleted meanwhile: nothing was changed.")
    if now.site_status in LIVE:
        return Conflict(f"“{content.title}” {LIVE[now.site_status]} now (it changed meanwhile), so your step was not "
                        f"taken: review cannot move it; {UNSCHEDULE}.")
    return Conflict(f"“{content.title}” was moved to {now.status.value} meanwhile, so your step was not taken: "
                    "reload it and decide again.")


def transition(session: Session, actor: Actor, *, content_id: int, to: str, comment: str = "") -> Content:
    """Move an article along review (draft → review → approved, back to draft with a comment) as one recorded step."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    target = _target(to)
    _refuse(actor, content, target)
    text = _comment(comment, required=(content.status, target) in NEEDS_COMMENT)
    if not _cas(session, content, target):
        raise _moved(session, content)
    _step(session, actor, content, target, text)
    session.flush()
    session.refresh(content)  # the row as the UPDATE left it (it holds the row lock)
    return content


def add_comment(session: Session, actor: Actor, *, content_id: int, comment: str) -> ContentComment:
    """A comment on an article (its status stays as it is)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    text = _comment(comment, required=False)
    if not text:
        raise ValidationFailed("Write a comment first: it is empty.")
    row = ContentComment(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                         content_id=content.id, comment=text, created_by_id=actor.user_id)
    session.add(row)
    session.flush()
    return row


def describe(step: tuple[ContentStatus, ContentStatus]) -> str:
    """How a step is named for a person ("Approved", "Sent back to draft (from review)")."""
    name = STEPS.get(step, f"Moved from {step[0].value} to {step[1].value}")
    return f"{name} (from {step[0].value})" if step[1] == D else name


# --- bulk approval ------------------------------------------------------------------------------------------------

def _ids(values: Iterable[object]) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationFailed("Give the articles to approve as a list of ids.")
    out: list[int] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).strip().isdigit():
            raise ValidationFailed(f"An article id is a whole number, not “{v}”.")
        out.append(int(v))
    ids = list(dict.fromkeys(out))
    if not ids:
        raise ValidationFailed("Select the articles to approve first.")
    if len(ids) > BULK_MAX:
        raise LimitExceeded(f"Approve at most {BULK_MAX:,} articles at once ({len(ids):,} were selected).")
    return ids


def _bulk_message(total: int, approved: int, refused: list[tuple[str, str]]) -> str:
    if not refused:
        return f"Approved {approved:,} of {total:,}."
    shown = ", ".join(f"“{title}” {why}" if title else why for title, why in refused[:SHOWN_REFUSALS])
    more = f" and {len(refused) - SHOWN_REFUSALS:,} more" if len(refused) > SHOWN_REFUSALS else ""
    return f"Approved {approved:,} of {total:,}; {len(refused):,} not: {shown}{more}."


def bulk_approve(session: Session, actor: Actor, *, content_ids: list[int]) -> BulkResult:
    """Approve the articles in review (and drafts, for admins) in one go; the others are listed with why, unchanged."""
    tenancy.require_write(actor)
    ids = _ids(content_ids)
    found = {c.id: c for c in session.scalars(tenancy.scoped(select(Content), Content, actor)
                                              .where(Content.id.in_(ids)))}
    for site_id, sector_id in sorted({(c.site_id, c.sector_id) for c in found.values()}):
        tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    refused: list[tuple[int, str, str]] = [(i, "", f"#{i} was not found") for i in ids if i not in found]
    ready: dict[ContentStatus, list[int]] = {}
    for c in sorted(found.values(), key=lambda c: c.id):  # id order: concurrent bulk approvals lock alike
        reason = _refusal(actor, c, A)
        if reason:
            refused.append((c.id, c.title, reason))
        else:
            ready.setdefault(c.status, []).append(c.id)
    approved: list[int] = []
    for status, group in ready.items():
        moved = set(session.scalars(
            update(Content).where(Content.id.in_(group), Content.status == status,
                                  Content.site_status.in_(MOVABLE_SITE), Content.deleted_at.is_(None))
            .values(status=A, updated_at=utcnow()).returning(Content.id).execution_options(synchronize_session=False)))
        for cid in group:
            if cid in moved:
                _step(session, actor, found[cid], A, "")
                approved.append(cid)
            else:
                refused.append((cid, found[cid].title, "was moved meanwhile"))
    session.flush()
    if approved:  # the rows as the UPDATEs left them
        session.scalars(select(Content).where(Content.id.in_(approved))
                        .execution_options(populate_existing=True)).all()
    order = {cid: n for n, cid in enumerate(ids)}
    refused.sort(key=lambda r: order[r[0]])
    return BulkResult(sorted(approved, key=order.__getitem__), [(i, f"“{t}” {w}" if t else w) for i, t, w in refused],
                      _bulk_message(len(ids), len(approved), [(t, w) for _, t, w in refused]))


# --- history ------------------------------------------------------------------------------------------------------

def _who(email: str | None, *, automatic: bool) -> str:
    # No user: the scheduler's automatic work, or an operator at the command line (a deleted user reads as one).
    return email or ("the system" if automatic else "an operator")


def _revision_entry(r) -> HistoryEntry:
    changed = list(r.changed or [])
    what = ", ".join(LABELS.get(f, f).lower() for f in changed) or "nothing"
    summary = f"Revision {r.number} ({r.kind.value}): {what} changed; {r.word_count:,} words"
    if r.note:
        summary += f" — “{r.note}”"
    return HistoryEntry(r.created_at, _who(r.email, automatic=r.kind == RevisionKind.generated), "revision", summary,
                        revision=r.number, revision_kind=r.kind.value, changed=changed, word_count=r.word_count,
                        note=r.note)


def _comment_entry(c) -> HistoryEntry:
    if c.to_status is None:
        return HistoryEntry(c.created_at, _who(c.email, automatic=False), "comment", f"Comment: “{c.comment}”",
                            comment=c.comment)
    step = (c.from_status, c.to_status)
    summary = describe(step) + (f": “{c.comment}”" if c.comment else "")
    return HistoryEntry(c.created_at, _who(c.email, automatic=c.comment == AUTO_APPROVED), "step", summary,
                        comment=c.comment, from_status=c.from_status.value if c.from_status else None,
                        to_status=c.to_status.value)


def history(session: Session, actor: Actor, *, content_id: int) -> list[HistoryEntry]:
    """An article's revisions, review steps and comments, newest first (the newest 500), with who and when."""
    content = tenancy.get(session, actor, Content, content_id)
    revs = session.execute(tenancy.scoped(
        select(ContentRevision.id, ContentRevision.number, ContentRevision.kind, ContentRevision.changed,
               ContentRevision.note, ContentRevision.word_count, ContentRevision.created_at, User.email)
        .outerjoin(User, User.id == ContentRevision.created_by_id), ContentRevision, actor)
        .where(ContentRevision.content_id == content.id)
        .order_by(ContentRevision.created_at.desc(), ContentRevision.id.desc()).limit(HISTORY_MAX)).all()
    notes = session.execute(tenancy.scoped(
        select(ContentComment.id, ContentComment.from_status, ContentComment.to_status, ContentComment.comment,
               ContentComment.created_at, User.email)
        .outerjoin(User, User.id == ContentComment.created_by_id), ContentComment, actor)
        .where(ContentComment.content_id == content.id)
        .order_by(ContentComment.created_at.desc(), ContentComment.id.desc()).limit(HISTORY_MAX)).all()
    # At the same instant a step follows the revision it reviews: comments rank above revisions, newest first.
    merged = [((r.created_at, 0, r.id), _revision_entry(r)) for r in revs]
    merged += [((c.created_at, 1, c.id), _comment_entry(c)) for c in notes]
    merged.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in merged[:HISTORY_MAX]]


# --- auto-approval and counts -------------------------------------------------------------------------------------

def auto_approval(session: Session, *, site_id: int) -> bool:
    """Whether a site approves generated content at once: off when the site has no publishing settings row (the
    row's own default does not apply until the row exists)."""
    return bool(session.scalar(select(PublishingSettings.auto_approval_enabled)
                               .where(PublishingSettings.site_id == site_id)))


def settings_row(session: Session, actor: Actor, *, site_id: int) -> PublishingSettings:
    """A site's publishing settings row to change (owners and admins), made with the spec's defaults when it has
    none."""
    tenancy.require_admin(actor)
    site = tenancy.site_for_write(session, actor, site_id)
    stmt = tenancy.scoped(select(PublishingSettings), PublishingSettings, actor).where(
        PublishingSettings.site_id == site.id)
    row = session.scalars(stmt).one_or_none()
    if row is None:
        try:
            with session.begin_nested():  # another admin may create it at the same moment (site_id is unique)
                row = PublishingSettings(account_id=site.account_id, site_id=site.id)
                session.add(row)
        except IntegrityError:
            row = session.scalars(stmt).one()
    return row


def set_auto_approval(session: Session, actor: Actor, *, site_id: int, enabled: bool) -> PublishingSettings:
    """Turn a site's auto-approval of generated articles on or off (admins); makes its publishing settings if none."""
    tenancy.require_admin(actor)
    if not isinstance(enabled, bool):
        raise ValidationFailed(f"Auto-approval is on or off, not “{enabled}”.")
    row = settings_row(session, actor, site_id=site_id)
    row.auto_approval_enabled = enabled
    session.flush()
    return row


def after_generation(session: Session, actor: Actor, *, content: Content) -> None:
    """Approve a freshly generated draft where the site wants that, and say so in its history."""
    tenancy.require_write(actor)
    if content.status != ContentStatus.draft or not auto_approval(session, site_id=content.site_id):
        return
    approve_automatically(session, actor, content=content, comment=AUTO_APPROVED)


def approve_automatically(session: Session, actor: Actor, *, content: Content, comment: str = AUTOMATION_APPROVED
                          ) -> None:
    """Approve a generated draft without a person (the site's settings or an automation run chose so), saying so
    in its history; a draft that moved meanwhile is refused (Conflict)."""
    tenancy.require_write(actor)
    session.flush()  # a draft made in this transaction is in the table before the compare-and-set
    if content.status != ContentStatus.draft or not _cas(session, content, ContentStatus.approved):
        raise _moved(session, content)
    set_committed_value(content, "status", ContentStatus.approved)  # the loaded row as the UPDATE left it
    session.add(ContentComment(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                               content_id=content.id, from_status=ContentStatus.draft,
                               to_status=ContentStatus.approved, comment=comment, created_by_id=actor.user_id))
    session.flush()


def counts_for_review(session: Session, actor: Actor, *, sector_id: int) -> dict[str, int]:
    """A sector's articles waiting for review, approved but not yet published, and drafts."""
    tenancy.get(session, actor, Sector, sector_id)
    waiting = case((Content.site_status.in_(MOVABLE_SITE), 1), else_=0)
    rows = session.execute(tenancy.scoped(select(Content.status, func.coalesce(func.sum(waiting), 0)), Content, actor)
                           .where(Content.sector_id == sector_id,
                                  Content.status.in_((D, R, A))).group_by(Content.status)).all()
    found = {status: n for status, n in rows}
    return {"review": found.get(R, 0), "approved_unpublished": found.get(A, 0), "draft": found.get(D, 0)}
