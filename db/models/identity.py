"""Identity and tenancy: plans, accounts, users, industries, sites, sectors, site access, seed keywords."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import AccountScoped, Base, BigId, SiteScoped, Timestamps, UTCDateTime, enum_type
from db.enums import AccountStatus, Role


class Plan(Timestamps, Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    price_monthly: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    price_yearly: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    max_sites: Mapped[int] = mapped_column(Integer, default=1)
    max_users: Mapped[int] = mapped_column(Integer, default=1)
    max_keywords: Mapped[int] = mapped_column(Integer, default=1000)
    max_clusters: Mapped[int] = mapped_column(Integer, default=100)
    included_credits: Mapped[int] = mapped_column(Integer, default=0)  # granted once per monthly period
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("max_sites >= 0 AND max_users >= 0 AND max_keywords >= 0 AND max_clusters >= 0",
                        name="limits_non_negative"),
        CheckConstraint("included_credits >= 0", name="credits_non_negative"),
    )


class Account(Timestamps, Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"), index=True)
    # use_alter: account.owner -> user -> account is a cycle.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL", use_alter=True, name="fk_account_owner_id_user")
    )
    credits: Mapped[int] = mapped_column(Integer, default=0)
    # the part of `credits` held by running automation runs (credit_reservation.held summed): not spendable by
    # other work; changed in SQL under the account lock
    credits_reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[AccountStatus] = mapped_column(enum_type(AccountStatus), default=AccountStatus.trial)
    # Period start of the last monthly plan grant (so a period is granted once).
    credits_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)

    plan: Mapped[Plan | None] = relationship()

    __table_args__ = (CheckConstraint("credits >= 0", name="credits_non_negative"),)


class User(Timestamps, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Developers may have no account of their own; everyone else belongs to one.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.viewer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on password change or forced logout: sessions issued before it end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        CheckConstraint("role = 'developer' OR account_id IS NOT NULL", name="account_required"),
    )


class PasswordResetToken(AccountScoped, Base):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Industry(Timestamps, Base):
    __tablename__ = "industry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class IndustrySector(Timestamps, Base):
    __tablename__ = "industry_sector"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("industry_id", "slug"),)


class SeedKeyword(Timestamps, Base):
    """Global keyword library per industry sector; site keywords point here and may override metrics."""

    __tablename__ = "seed_keyword"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    keyword: Mapped[str] = mapped_column(String(500))
    keyword_norm: Mapped[str] = mapped_column(String(500))
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id", ondelete="CASCADE"), index=True)
    industry_sector_id: Mapped[int] = mapped_column(ForeignKey("industry_sector.id", ondelete="CASCADE"))
    volume: Mapped[int | None] = mapped_column(Integer)
    difficulty: Mapped[int | None] = mapped_column(Integer)
    cpc: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    intent: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("industry_sector_id", "keyword_norm"),
        CheckConstraint("difficulty IS NULL OR (difficulty >= 0 AND difficulty <= 100)", name="difficulty_range"),
        CheckConstraint("volume IS NULL OR volume >= 0", name="volume_non_negative"),
    )


class Site(AccountScoped, Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255), default="")
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industry.id", ondelete="SET NULL"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("account_id", "slug"),)


class Sector(SiteScoped, Base):
    __tablename__ = "sector"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    industry_sector_id: Mapped[int | None] = mapped_column(
        ForeignKey("industry_sector.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("site_id", "slug"),)


class SiteUserAccess(SiteScoped, Base):
    """Grants an editor or viewer access to one site."""

    __tablename__ = "site_user_access"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("user_id", "site_id"),)
