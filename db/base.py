"""Declarative base, naming convention and the tenancy mixins every tenant table uses."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Integer, MetaData, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every stored time is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """timestamptz on PostgreSQL; on SQLite (no time zones) values are stored and read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must be timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class AccountScoped(Timestamps):
    """A tenant row: owned by one account (AccountBaseModel of the spec)."""

    __tenant__ = "account"

    @declared_attr
    def account_id(cls) -> Mapped[int]:
        return mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)


class SiteScoped(AccountScoped):
    """A tenant row owned by one site of the account."""

    __tenant__ = "site"

    @declared_attr
    def site_id(cls) -> Mapped[int]:
        return mapped_column(BigId, ForeignKey("site.id", ondelete="CASCADE"), index=True)


class SiteSectorScoped(SiteScoped):
    """A tenant row owned by one sector of a site (SiteSectorBaseModel of the spec)."""

    __tenant__ = "sector"

    @declared_attr
    def sector_id(cls) -> Mapped[int]:
        return mapped_column(BigId, ForeignKey("sector.id", ondelete="CASCADE"), index=True)


class SoftDelete:
    """Rows are hidden, not removed: `deleted_at` set means deleted (restorable)."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


def enum_type(enum_cls: type, name: str | None = None) -> Enum:
    """A StrEnum stored as VARCHAR with a CHECK constraint (same on SQLite and PostgreSQL); `name` names the
    constraint where one table has two columns of the same enum."""
    return Enum(
        enum_cls,
        name=name or enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
