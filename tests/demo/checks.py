"""Checks shared by the demo tests (in-process and through the CLI): ledger, tenancy and sector consistency."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import tenancy
from db.enums import TransactionType
from db.models import Account, CreditTransaction, CreditUsageLog, Sector


def rows_outside(session: Session, account_id: int | None) -> dict[str, int]:
    """Rows of every tenant table that do not belong to `account_id` (all rows when it is None)."""
    out = {}
    for model in tenancy.tenant_models():
        col = model.__table__.c.account_id
        stmt = select(func.count()).select_from(model.__table__)
        if account_id is not None:
            stmt = stmt.where(or_(col != account_id, col.is_(None)))
        out[model.__tablename__] = session.scalar(stmt)
    return out


def assert_ledger(session: Session, account_id: int) -> list[CreditTransaction]:
    """Append-only ledger: running sum == balance_after row by row, never negative, in time order, == balance."""
    ledger = list(session.scalars(select(CreditTransaction).where(CreditTransaction.account_id == account_id)
                                  .order_by(CreditTransaction.id)))
    assert ledger and ledger[0].transaction_type in (TransactionType.subscription, TransactionType.purchase)
    running = 0
    for prev, tx in zip([None, *ledger], ledger, strict=False):
        running += tx.amount
        assert tx.balance_after == running >= 0, f"ledger row {tx.id}: balance_after {tx.balance_after} != {running}"
        assert tx.created_at.tzinfo is not None
        assert prev is None or prev.created_at <= tx.created_at, "ledger rows out of time order"
    assert session.get(Account, account_id).credits == running
    logs = session.execute(select(CreditUsageLog.credits_used, CreditTransaction.amount)
                           .join(CreditTransaction, CreditTransaction.id == CreditUsageLog.transaction_id)
                           .where(CreditUsageLog.account_id == account_id)).all()
    n_logs = session.scalar(select(func.count()).where(CreditUsageLog.account_id == account_id))
    assert len(logs) == n_logs > 0, "every usage log row is paid by one ledger row"
    assert all(amount == -used for used, amount in logs)
    return ledger


def assert_sectors_consistent(session: Session) -> None:
    """Every row with a sector carries that sector's site and account (nothing points across tenants)."""
    for model in tenancy.tenant_models():
        cols = model.__table__.c
        if "sector_id" not in cols or "site_id" not in cols or model is Sector:
            continue
        bad = session.scalar(select(func.count()).select_from(model.__table__)
                             .join(Sector, Sector.id == cols.sector_id)
                             .where(or_(Sector.site_id != cols.site_id, Sector.account_id != cols.account_id)))
        assert bad == 0, f"{model.__tablename__}: {bad} rows disagree with their sector"
