"""The keywords screen's writes: inline edits of a page's rows, and bulk actions on a selection or on the whole
filtered set (one UPDATE … WHERE built from the same filters as the list, never a list of loaded ids), with the
clusters' counters refreshed in SQL. The caller commits."""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.common.text import one_of
from core.common.uow import UnitOfWork
from core.errors import Conflict, NotFound, ValidationFailed
from core.planner import clusters
from core.planner.keyword_import import locks
from core.planner.keyword_import.values import typed_intent
from core.planner.keywords import Deleted, KeywordFilter, where_clause
from core.tenancy import Actor
from db.base import utcnow
from db.enums import KeywordStatus
from db.models import Keywords

MAX_KEYWORD = 500
BULK_CHUNK = 50_000  # ids per UPDATE of a bulk action
BulkProgress = Callable[[float, str], None]  # (fraction done, message)

# ---------------------------------------------------------------- values and new keywords


def normalize_keyword(text: str) -> tuple[str, str]:
    """(display form, de-duplication key): NFKC, trimmed, inner spaces folded; the key is case-folded."""
    display = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not display:
        raise ValidationFailed("A keyword cannot be empty.")
    if len(display) > MAX_KEYWORD:
        raise ValidationFailed(f"A keyword may have at most {MAX_KEYWORD} characters ({len(display)} given).")
    return display, display.casefold()


def bounded_int(value: object, what: str, low: int, high: int) -> int | None:
    """A whole number within [low, high], or None for an empty value."""
    if value is None or value == "":
        return None
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{what} must be a whole number, not “{value}”.") from exc
    if not low <= number <= high:
        raise ValidationFailed(f"{what} must be between {low} and {high:,} ({number:,} given).")
    return number


def parse_cpc(value: object) -> Decimal | None:
    """A cost per click in cents precision, or None for an empty value."""
    if value is None or value == "":
        return None
    try:
        cpc = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(f"CPC must be an amount like 1.25, not “{value}”.") from exc
    if cpc < 0 or cpc > Decimal("99999999"):
        raise ValidationFailed("CPC must be between 0 and 99,999,999.")
    return cpc


def create_keyword(session: Session, actor: Actor, *, site_id: int, sector_id: int, keyword: str,
                   volume: object = None, difficulty: object = None, cpc: object = None, intent: str | None = None,
                   cluster_id: int | None = None) -> Keywords:
    """One keyword in a sector; duplicates (after normalisation) are refused, and so is one more than the plan's
    max_keywords (counted under the account's import lock, so a running import is waited for)."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    display, norm = normalize_keyword(keyword)
    kw = Keywords(account_id=sector.account_id, site_id=sector.site_id, sector_id=sector.id, keyword=display,
                  keyword_norm=norm, volume=bounded_int(volume, "Volume", 0, 2_000_000_000),
                  difficulty=bounded_int(difficulty, "Difficulty", 0, 100), cpc=parse_cpc(cpc),
                  intent=_parse("intent", intent), status=KeywordStatus.new)
    cluster = clusters.in_sector(session, actor, cluster_id=cluster_id, sector_id=sector.id) if cluster_id else None
    if cluster:
        kw.cluster_id, kw.status = cluster.id, KeywordStatus.mapped
    locks.take_turn_to_add(session, sector.account_id, what=f"“{display}”")
    if session.scalar(select(Keywords.id).where(Keywords.sector_id == sector.id, Keywords.keyword_norm == norm)):
        raise Conflict(f"“{display}” is in sector “{sector.name}” already.")
    locks.check_room(session, sector.account_id, adding=1, what=f"“{display}”")
    session.add(kw)
    session.flush()
    if cluster:
        clusters.refresh_stats(session, [cluster.id])
    return kw


# ---------------------------------------------------------------- inline edits

EDITABLE = ("volume", "difficulty", "intent", "cpc", "status", "cluster_id", "disabled")


def _parse(field_name: str, raw: object) -> object:
    """One edited cell, validated as create_keyword validates a new keyword."""
    if field_name == "volume":
        return bounded_int(raw, "Volume", 0, 2_000_000_000)
    if field_name == "difficulty":
        return bounded_int(raw, "Difficulty", 0, 100)
    if field_name == "cpc":
        return parse_cpc(raw)
    if field_name == "intent":
        return typed_intent(raw)  # several, as typed; not the import's branded/local flags
    if field_name == "status":
        return one_of(KeywordStatus, raw, "Status")
    if field_name == "cluster_id":
        if raw is None or raw == "":
            return None
        try:
            return int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"Pick the cluster from the sector's clusters, not “{raw}”.") from exc
    if field_name == "disabled":
        if raw not in (True, False):
            raise ValidationFailed(f"Disabled is yes or no, not “{raw}”.")
        return bool(raw)
    raise ValidationFailed(f"“{field_name}” cannot be edited here; editable are {', '.join(EDITABLE)}.")


def _planned(session: Session, actor: Actor, kw: Keywords, change: dict[str, object]) -> dict[str, object]:
    """The new values of one keyword, with the cluster rules: a cluster means mapped, no cluster means new."""
    values = {name: _parse(name, raw) for name, raw in change.items()}
    status = values.get("status")
    if "cluster_id" in values:
        cid = values["cluster_id"]
        if cid is not None:
            clusters.in_sector(session, actor, cluster_id=cid, sector_id=kw.sector_id)
            if status == KeywordStatus.new:
                raise ValidationFailed("a keyword in a cluster is mapped; clear its cluster to make it new.")
        elif status == KeywordStatus.mapped:
            raise ValidationFailed("status “mapped” needs a cluster; pick one.")
        values["status"] = KeywordStatus.mapped if cid is not None else KeywordStatus.new
    elif status == KeywordStatus.mapped and kw.cluster_id is None:
        raise ValidationFailed("status “mapped” needs a cluster; pick one in the cluster column.")
    elif status == KeywordStatus.new:
        values["cluster_id"] = None  # back to new means out of its cluster, as when a cluster is deleted
    return values


def update_keywords(session: Session, actor: Actor, *, changes: dict[int, dict[str, object]]) -> int:
    """Inline edits of several keywords, all or nothing; an invalid value raises a message naming its keyword."""
    tenancy.require_write(actor)
    ids = sorted({int(i) for i in changes})
    if not ids:
        return 0
    found = {k.id: k for k in session.scalars(
        tenancy.scoped(select(Keywords).where(Keywords.id.in_(ids)), Keywords, actor))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"Keyword(s) {', '.join(map(str, missing[:10]))} were not found (or are deleted).")
    plans = {}
    for kid in ids:  # validate every row before writing any
        kw = found[kid]
        try:
            plans[kid] = _planned(session, actor, kw, {str(k): v for k, v in changes[kid].items()})
        except (ValidationFailed, NotFound) as exc:
            raise type(exc)(f"Keyword “{kw.keyword}”: {exc}") from exc
    touched: set[int] = set()
    for kid, values in plans.items():
        kw = found[kid]
        touched |= {c for c in (kw.cluster_id, values.get("cluster_id", kw.cluster_id)) if c}
        for name, value in values.items():
            setattr(kw, name, value)
    session.flush()
    clusters.refresh_stats(session, sorted(touched))
    return len(ids)


# ---------------------------------------------------------------- bulk actions


class BulkAction(StrEnum):
    delete = "delete"
    restore = "restore"
    set_status = "set_status"
    assign_cluster = "assign_cluster"
    remove_from_cluster = "remove_from_cluster"
    disable = "disable"
    enable = "enable"


def bulk_update(session: Session, actor: Actor, *, site_id: int, sector_id: int, action: str,
                ids: list[int] | None = None, filters: KeywordFilter | None = None, status: str | None = None,
                cluster_id: int | None = None, on_progress: BulkProgress | None = None,
                chunk: int = BULK_CHUNK) -> int:
    """One action on the selected keywords (`ids`) or on every keyword the filters match, as UPDATE … WHERE over
    ranges of `chunk` ids (progress after each, all in the caller's transaction); cluster counters are refreshed
    in SQL. Returns how many keywords changed."""
    sector = tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    act = one_of(BulkAction, action, "Bulk action")
    if (ids is None) == (filters is None):
        raise ValidationFailed("Apply an action either to selected keywords or to the filtered set.")
    if ids is not None:
        where = where_clause(actor, site_id=site_id, sector_id=sector_id,
                             filters=KeywordFilter(deleted=Deleted.include))
        where = where & Keywords.id.in_(sorted({int(i) for i in ids}))
        _require_found(session, where, ids)
    else:
        where = where_clause(actor, site_id=site_id, sector_id=sector_id, filters=filters)
    if act != BulkAction.restore:  # a deleted keyword stays as it was deleted until it is restored
        where = where & Keywords.deleted_at.is_(None)
    values, changes, target = _bulk_values(session, actor, act, sector.id, where, status, cluster_id)
    where = where & changes  # only rows the action changes: an honest count, and no needless row versions
    if act == BulkAction.restore:  # restored keywords count against the plan again, like added ones
        locks.take_turn_to_add(session, sector.account_id, what="the restored keywords")
        restoring = session.scalar(select(func.count()).select_from(Keywords).where(where)) or 0
        locks.check_room(session, sector.account_id, adding=restoring, what="restoring them")
    touched = set(session.scalars(select(Keywords.cluster_id).where(where, Keywords.cluster_id.is_not(None))
                                  .distinct())) if act in _MOVES_COUNTERS else set()
    report = on_progress or (lambda done, message: None)
    changed = 0
    for low, high, done in _id_ranges(session, where, chunk):
        changed += session.execute(update(Keywords).where(where, Keywords.id >= low, Keywords.id <= high)
                                   .values(**values), execution_options={"synchronize_session": False}).rowcount or 0
        report(done, f"{changed:,} keyword(s) changed")
    report(1.0, "Updating the clusters' counts")
    clusters.refresh_stats(session, sorted(touched | ({target} if target else set())))
    session.expire_all()  # the UPDATE bypassed loaded objects
    return changed


def _id_ranges(session: Session, where: ColumnElement[bool], chunk: int) -> Iterator[tuple[int, int, float]]:
    """Inclusive id ranges covering the matching rows, `chunk` ids wide, with the share of the span done after
    each; an UPDATE per range keeps each statement short and lets a million-row action report progress."""
    low, high = session.execute(select(func.min(Keywords.id), func.max(Keywords.id)).where(where)).one()
    if low is None:
        return
    span = high - low + 1
    for start in range(low, high + 1, chunk):
        end = min(start + chunk - 1, high)
        yield start, end, (end - low + 1) / span


def run_bulk(uow: UnitOfWork, actor: Actor, *, on_progress: BulkProgress | None = None, **action: Any) -> int:
    """bulk_update() in a transaction of its own, for a background job (the keywords page runs the filtered set
    this way, with a progress bar): all of it is written, or none."""
    with uow() as session:
        return bulk_update(session, actor, on_progress=on_progress, **action)


_MOVES_COUNTERS = {BulkAction.delete, BulkAction.restore, BulkAction.remove_from_cluster, BulkAction.set_status,
                   BulkAction.assign_cluster}


def _require_found(session: Session, where: ColumnElement[bool], ids: list[int]) -> None:
    found = set(session.scalars(select(Keywords.id).where(where)))
    missing = sorted({int(i) for i in ids} - found)
    if missing:
        raise NotFound(f"Keyword(s) {', '.join(map(str, missing[:10]))} were not found in this sector.")


def _bulk_values(session: Session, actor: Actor, act: BulkAction, sector_id: int, where: ColumnElement[bool],
                 status: str | None, cluster_id: int | None
                 ) -> tuple[dict[str, object], ColumnElement[bool], int | None]:
    """The columns an action sets, the condition of the rows it changes, and the cluster it maps to (if any)."""
    if act == BulkAction.delete:
        return {"deleted_at": utcnow()}, Keywords.deleted_at.is_(None), None
    if act == BulkAction.restore:
        return {"deleted_at": None}, Keywords.deleted_at.is_not(None), None
    if act in (BulkAction.disable, BulkAction.enable):
        return {"disabled": act == BulkAction.disable}, Keywords.disabled.is_(act != BulkAction.disable), None
    if act == BulkAction.assign_cluster:
        if cluster_id is None:
            raise ValidationFailed("Pick the cluster to assign the keywords to.")
        cluster = clusters.in_sector(session, actor, cluster_id=cluster_id, sector_id=sector_id)
        elsewhere = Keywords.cluster_id.is_(None) | (Keywords.cluster_id != cluster.id)
        return ({"cluster_id": cluster.id, "status": KeywordStatus.mapped},
                elsewhere | (Keywords.status != KeywordStatus.mapped), cluster.id)
    if act == BulkAction.set_status and _parse("status", status) == KeywordStatus.mapped:
        lonely = session.scalar(select(Keywords.keyword).where(where, Keywords.cluster_id.is_(None)).limit(1))
        if lonely is not None:
            raise ValidationFailed(f"“{lonely}” (and perhaps others) is in no cluster, and “mapped” needs one; "
                                   "assign such keywords to a cluster instead.")
        return {"status": KeywordStatus.mapped}, Keywords.status != KeywordStatus.mapped, None
    # Remove from cluster, or set status new (the same: a new keyword is in no cluster).
    return ({"cluster_id": None, "status": KeywordStatus.new},
            Keywords.cluster_id.is_not(None) | (Keywords.status != KeywordStatus.new), None)

