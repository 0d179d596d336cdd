"""Revisions of an article: every generation, edit and restore is kept (who, when, which fields changed).

A save is a compare-and-set on the article's `version` (`UPDATE … WHERE id = :id AND version = :base`, the version
raised in SQL): of two editors saving from the same version one wins and the other gets a Conflict naming who saved
meanwhile, and nothing of theirs is written (their text stays in the editor). The row lock of that UPDATE also
serialises the revision numbers of one article.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import Conflict, NotFound, ValidationFailed
from core.tenancy import Actor
from core.writer import html
from db.base import utcnow
from db.enums import ContentSource, RevisionKind, SiteStatus
from db.models import Content, ContentRevision, User

FIELDS = ("title", "content_html", "meta_title", "meta_description", "primary_keyword", "secondary_keywords")
LABELS = {"title": "Title", "content_html": "Body", "meta_title": "Meta title", "meta_description": "Meta description",
          "primary_keyword": "Primary keyword", "secondary_keywords": "Secondary keywords"}
CONTEXT = 2  # unchanged blocks shown around a change in a diff
LIVE = (SiteStatus.published, SiteStatus.publishing)
MAX_NUMBER = 2_147_483_647  # the largest revision number or version a column holds
MARKUP_ONLY = "The text of the body is the same; only its markup changed (links, emphasis, headings or lists)."
BASELINE_KIND = {ContentSource.igny8: RevisionKind.generated}  # how an article without revisions came to be
BASELINE_NOTE = "The article as it was before its first saved edit"
REMOVED = ("Markup that is not allowed was removed (scripts, styles, event handlers, links other than http, https "
           "or mailto, unknown tags or attributes); check the preview.")


@dataclass(frozen=True)
class RevisionRow:
    """A revision in the history list (its body is not loaded)."""

    number: int
    kind: str
    by: str  # the e-mail of who made it ("" when the user is gone or it was the scheduler)
    at: datetime
    changed: list[str]
    note: str
    word_count: int


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class DiffLine:
    kind: str  # same | added | removed | fold ("… n unchanged …")
    text: str


@dataclass(frozen=True)
class Diff:
    """What changed from revision `a` to revision `b`: the fields, and the body as a diff of its blocks."""

    a: int
    b: int
    fields: list[FieldChange] = field(default_factory=list)
    body: list[DiffLine] = field(default_factory=list)  # empty when the body is the same

    def lines(self) -> list[str]:
        """The diff as text for a person: fields first, then the body with + / − marks."""
        out = [f"{c.label}: “{c.old}” → “{c.new}”" for c in self.fields]
        marks = {"added": "+ ", "removed": "− ", "same": "  ", "fold": "  "}
        out += [marks[line.kind] + line.text for line in self.body]
        return out or [f"Revisions {self.a} and {self.b} are the same."]


@dataclass(frozen=True)
class SaveResult:
    version: int
    revision: int
    word_count: int
    removed: bool  # sanitizing dropped markup from what was saved
    message: str
    changed: list[str] = field(default_factory=list)


def _snapshot(content: Content) -> dict:
    return {f: getattr(content, f) for f in FIELDS} | {"word_count": content.word_count}


def add(session: Session, actor: Actor, *, content: Content, kind: RevisionKind, note: str = "",
        changed: list[str] | None = None) -> ContentRevision:
    """A new revision holding the content's current state (the caller has checked the right to write it);
    `changed` defaults to the fields that differ from the revision before."""
    tenancy.require_write(actor)
    state = _snapshot(content)
    if changed is None:
        last = session.scalars(select(ContentRevision).where(ContentRevision.content_id == content.id)
                               .order_by(ContentRevision.number.desc()).limit(1)).first()
        changed = [f for f in FIELDS if last is None or getattr(last, f) != state[f]]
    return _insert(session, content, state, kind=kind, note=note, changed=changed, by=actor.user_id)


def _insert(session: Session, content: Content, state: dict, *, kind: RevisionKind, note: str, changed: list[str],
            by: int | None, at: datetime | None = None) -> ContentRevision:
    rev = ContentRevision(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                          content_id=content.id, number=last_number(session, content_id=content.id) + 1, kind=kind,
                          changed=changed, note=note[:500], created_by_id=by, **state)
    if at is not None:
        rev.created_at = at
    session.add(rev)
    session.flush()
    return rev


def record_generated(session: Session, actor: Actor, *, content: Content) -> ContentRevision:
    """Revision 1 of a generated article: what the AI wrote, sanitized."""
    return add(session, actor, content=content, kind=RevisionKind.generated, note="Written by the AI")


def last_number(session: Session, *, content_id: int) -> int:
    """The newest revision number of an article (0: none yet)."""
    return session.scalar(select(func.max(ContentRevision.number))
                          .where(ContentRevision.content_id == content_id)) or 0


def _labels(changed: list[str]) -> str:
    return ", ".join(LABELS[f].lower() for f in changed)


def store(session: Session, actor: Actor, *, content: Content, base_version: int, values: dict, kind: RevisionKind,
          note: str, removed: bool = False, said: str = "Saved revision {number}") -> SaveResult:
    """Write an article's new field values (sanitized and checked by the caller) under the editor's optimistic lock
    and record them as a revision (`said` leads the message); a change of nothing writes nothing."""
    tenancy.require_write(actor)
    changed = [f for f in FIELDS if values[f] != getattr(content, f)]
    if not changed:
        number = last_number(session, content_id=content.id)
        message = f"Nothing changed since revision {number}: no new revision was written."
        return SaveResult(content.version, number, content.word_count, removed,
                          " ".join([message, REMOVED] if removed else [message]))
    # An article from before revisions were kept has none: its text as it was becomes revision 1 first, or the
    # first save would leave no way back to it.
    before = None if last_number(session, content_id=content.id) else (_snapshot(content), content.updated_by_id,
                                                                       content.updated_at)
    done = session.execute(
        update(Content).where(Content.id == content.id, Content.account_id == content.account_id,
                              Content.version == base_version, Content.deleted_at.is_(None))
        .values(**values, version=Content.version + 1, updated_by_id=actor.user_id, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _conflict(session, content, base_version, restoring=kind == RevisionKind.restore)
    if before is not None:
        _insert(session, content, before[0], kind=BASELINE_KIND.get(content.source, RevisionKind.edit),
                note=BASELINE_NOTE, changed=list(FIELDS), by=before[1], at=before[2])
    session.refresh(content)
    rev = add(session, actor, content=content, kind=kind, note=note, changed=changed)
    parts = [f"{said.format(number=rev.number)} ({_labels(changed)} changed; {content.word_count:,} words)."]
    if removed:
        parts.append(REMOVED)
    if content.site_status in LIVE:
        parts.append("The post on WordPress is not updated by saving: publish the article again to update it.")
    return SaveResult(content.version, rev.number, content.word_count, removed, " ".join(parts), changed)


def _conflict(session: Session, content: Content, base_version: int, *, restoring: bool = False) -> Conflict:
    # Read past the session's copy: the row as committed by whoever saved meanwhile.
    now = session.execute(select(Content.version, User.email).outerjoin(User, User.id == Content.updated_by_id)
                          .where(Content.id == content.id, Content.deleted_at.is_(None))).first()
    if now is None:
        if restoring:
            return Conflict("This article was deleted meanwhile, so nothing was restored.")
        return Conflict("This article was deleted meanwhile, so your save was not written. Your text is still in the "
                        "editor: copy what you need before you leave the page.")
    number = last_number(session, content_id=content.id)
    who = f"“{now.email}”" if now.email else "Someone"
    said = (f"{who} saved this article meanwhile (revision {number}; you started from version {base_version}, it is "
            f"at version {now.version} now)")
    if restoring:
        return Conflict(f"{said}, so nothing was restored. Load the newest version, look at what changed and restore "
                        "again if you still want to.")
    return Conflict(f"{said}, so your save was not written. Your text is still in the editor and nothing was lost: "
                    "copy what you need, load the newest version and apply your changes again.")


def list_revisions(session: Session, actor: Actor, *, content_id: int) -> list[RevisionRow]:
    """An article's revisions, newest first, without their bodies."""
    tenancy.get(session, actor, Content, content_id)
    stmt = tenancy.scoped(select(ContentRevision.number, ContentRevision.kind, User.email, ContentRevision.created_at,
                                 ContentRevision.changed, ContentRevision.note, ContentRevision.word_count)
                          .outerjoin(User, User.id == ContentRevision.created_by_id), ContentRevision, actor)
    rows = session.execute(stmt.where(ContentRevision.content_id == content_id)
                           .order_by(ContentRevision.number.desc())).all()
    return [RevisionRow(r.number, r.kind.value, r.email or "", r.created_at, list(r.changed or []), r.note,
                        r.word_count) for r in rows]


def get_revision(session: Session, actor: Actor, *, content_id: int, number: int) -> ContentRevision:
    """One revision of an article, with its body."""
    content = tenancy.get(session, actor, Content, content_id)
    wanted = _number(number)
    rev = session.scalars(tenancy.scoped(select(ContentRevision), ContentRevision, actor).where(
        ContentRevision.content_id == content.id, ContentRevision.number == wanted)).one_or_none()
    if rev is None:
        newest = last_number(session, content_id=content.id)
        held = f"its revisions are 1 to {newest}" if newest > 1 else "it has only revision 1" if newest else \
            "it has no revisions yet: the first save makes them"
        raise NotFound(f"“{content.title}” has no revision {wanted} ({held}).")
    return rev


def _number(value: object, what: str = "A revision number") -> int:
    """A whole number from 1 up (an int, a whole float, or its digits as text); anything else is refused."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdecimal():  # isdecimal: int() takes every one
        try:
            number = int(value)
        except ValueError:  # "+-1"
            number = None
    if number is None:
        raise ValidationFailed(f"{what} is a whole number, not “{value}”.")
    if not 1 <= number <= MAX_NUMBER:
        raise ValidationFailed(f"{what} is a whole number from 1 to {MAX_NUMBER:,}, not {number:,}.")
    return number


def _shown(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value or "")


def diff(session: Session, actor: Actor, *, content_id: int, a: int, b: int) -> Diff:
    """What changed from revision a to revision b: each changed field old → new, and the body's blocks."""
    old = get_revision(session, actor, content_id=content_id, number=a)
    new = get_revision(session, actor, content_id=content_id, number=b)
    fields = [FieldChange(f, LABELS[f], _shown(getattr(old, f)), _shown(getattr(new, f)))
              for f in FIELDS if f != "content_html" and getattr(old, f) != getattr(new, f)]
    body: list[DiffLine] = []
    if old.content_html != new.content_html:
        before, after = html.blocks(old.content_html), html.blocks(new.content_html)
        # The same text in other markup (a link, bold, a heading level) would show as nothing changed: say so.
        body = block_diff(before, after) if before != after else [DiffLine("fold", MARKUP_ONLY)]
    return Diff(old.number, new.number, fields, body)


def _fold(lines: list[str], *, head: bool, tail: bool) -> list[DiffLine]:
    """An unchanged run: the CONTEXT lines next to a change (`head`: one follows, `tail`: one precedes)."""
    keep_start = CONTEXT if tail else 0
    keep_end = CONTEXT if head else 0
    if len(lines) <= keep_start + keep_end + 1:
        return [DiffLine("same", t) for t in lines]
    hidden = len(lines) - keep_start - keep_end
    return ([DiffLine("same", t) for t in lines[:keep_start]] + [DiffLine("fold", f"… {hidden:,} unchanged …")]
            + [DiffLine("same", t) for t in lines[len(lines) - keep_end:]])


def block_diff(old: list[str], new: list[str]) -> list[DiffLine]:
    """A line diff of two lists of blocks: removed, added, and unchanged context with long runs folded."""
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    out: list[DiffLine] = []
    for i, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            out += _fold(old[i1:i2], head=i < len(ops) - 1, tail=i > 0)
            continue
        out += [DiffLine("removed", t) for t in old[i1:i2]] + [DiffLine("added", t) for t in new[j1:j2]]
    return out


def restore(session: Session, actor: Actor, *, content_id: int, number: int, base_version: int) -> SaveResult:
    """Make an earlier revision the article's text again, as a new revision (kind restore), under the same lock."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    rev = get_revision(session, actor, content_id=content.id, number=number)
    body = html.sanitize_html(rev.content_html)
    values = {f: getattr(rev, f) for f in FIELDS} | {"content_html": body, "word_count": html.word_count(body),
                                                     "secondary_keywords": list(rev.secondary_keywords or [])}
    result = store(session, actor, content=content, base_version=_number(base_version, "The version you started from"), values=values,
                   kind=RevisionKind.restore, note=f"Restored revision {rev.number}",
                   said=f"Restored revision {rev.number} as revision {{number}}")
    if not result.changed:
        return SaveResult(result.version, result.revision, result.word_count, False,
                          f"Revision {rev.number} is what the article holds now: nothing to restore.")
    return result
