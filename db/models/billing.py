"""Billing: the append-only credit ledger, AI usage log, credit packages, invoices and payments."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import AccountScoped, Base, BigId, Timestamps, UTCDateTime, enum_type
from db.enums import InvoiceStatus, PaymentMethod, PaymentStatus, TransactionType, UsageDimension


class CreditTransaction(AccountScoped, Base):
    """One change of an account's balance; rows are never updated or deleted."""

    __tablename__ = "credit_transaction"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_type: Mapped[TransactionType] = mapped_column(enum_type(TransactionType))
    amount: Mapped[int] = mapped_column(Integer)  # positive adds, negative deducts
    balance_after: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    reference_id: Mapped[str] = mapped_column(String(255), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        Index("ix_credit_transaction_account_created", "account_id", "created_at"),
    )


class CreditReservation(AccountScoped, Base):
    """Credits an automation run holds while it runs: other work cannot spend them, and the run's own charges are
    paid from them. `held` shrinks with each charge and drops to 0 on release; the account's `credits_reserved` is
    the sum of `held` over its reservations."""

    __tablename__ = "credit_reservation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(255), default="")
    amount: Mapped[int] = mapped_column(Integer)  # what was reserved in all (the first hold plus extensions)
    held: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("held >= 0", name="held_non_negative"),)


class CreditUsageLog(AccountScoped, Base):
    """One AI call: what it was, which model, tokens, credits and USD cost, and what it was for."""

    __tablename__ = "credit_usage_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    operation_type: Mapped[str] = mapped_column(String(50))
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal("0"))
    model_used: Mapped[str] = mapped_column(String(100), default="")
    tokens_input: Mapped[int] = mapped_column(Integer, default=0)
    tokens_output: Mapped[int] = mapped_column(Integer, default=0)
    related_object_type: Mapped[str] = mapped_column(String(50), default="")
    related_object_id: Mapped[int | None] = mapped_column(BigId)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("credit_transaction.id", ondelete="SET NULL"))
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (
        CheckConstraint("credits_used >= 0", name="credits_non_negative"),
        # The usage screen's index: a window of one account, covering every column its reports read, so they scan
        # the index alone (SQLite has no INCLUDE, hence key columns on both databases). Migration 0002 also keeps
        # PostgreSQL statistics on the UTC hour of created_at (see core/usage_sql.hour_bucket).
        Index("ix_credit_usage_log_usage_report", "account_id", "created_at", "site_id", "user_id", "operation_type",
              "model_used", "credits_used", "cost_usd", "tokens_input", "tokens_output", "related_object_type",
              "related_object_id"),
    )


class CreditUsageRollup(Base):
    """Hourly sums of the usage log per site and one dimension (operation, model or user): what the usage screen
    reads instead of scanning every log row. core.billing.credits.charge upserts it in the same transaction as the log row
    (core/billing/usage_rollup.py), so it never disagrees with the log; `python -m core.cli rebuild-usage-rollup` remakes it."""

    __tablename__ = "credit_usage_rollup"
    __tenant__ = "account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"))
    dimension: Mapped[UsageDimension] = mapped_column(enum_type(UsageDimension))
    hour: Mapped[datetime] = mapped_column(UTCDateTime())  # the UTC hour the calls fell in
    site_key: Mapped[int] = mapped_column(BigInteger)  # the site id, 0 for usage without a site
    key: Mapped[str] = mapped_column(String(100))  # operation type, model name, or user id ("" = the scheduler)
    credits: Mapped[int] = mapped_column(BigInteger)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger)  # exact on SQLite too (no float sums)
    calls: Mapped[int] = mapped_column(BigInteger)
    tokens_input: Mapped[int] = mapped_column(BigInteger)
    tokens_output: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # The upsert's conflict target and the screen's index: one account and dimension, a range of hours.
        UniqueConstraint("account_id", "dimension", "hour", "site_key", "key"),
    )


class CreditPackage(Timestamps, Base):
    __tablename__ = "credit_package"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    credits: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    discount_percentage: Mapped[int] = mapped_column(Integer, default=0)
    stripe_price_id: Mapped[str] = mapped_column(String(255), default="")
    paypal_plan_id: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[list] = mapped_column(JSON, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (CheckConstraint("credits > 0", name="credits_positive"),)


class Invoice(AccountScoped, Base):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(50), unique=True)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    tax: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[InvoiceStatus] = mapped_column(enum_type(InvoiceStatus), default=InvoiceStatus.draft)
    invoice_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    line_items: Mapped[list] = mapped_column(JSON, default=list)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)


class Payment(AccountScoped, Base):
    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus), default=PaymentStatus.pending)
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod), default=PaymentMethod.manual)
    provider_reference: Mapped[str] = mapped_column(String(255), default="")
    manual_notes: Mapped[str] = mapped_column(Text, default="")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
