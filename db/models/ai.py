"""AI configuration (spec/ai-billing-schemas.md): providers, models, system defaults, account overrides, prompts."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import AccountScoped, Base, BigId, Timestamps, UTCDateTime, enum_type, utcnow
from db.enums import ModelType, ProviderType, QualityTier, Tone


class IntegrationProvider(Timestamps, Base):
    __tablename__ = "integration_provider"

    provider_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    provider_type: Mapped[ProviderType] = mapped_column(enum_type(ProviderType), default=ProviderType.ai)
    # Secrets hold ciphertext only (core encrypts); never plaintext.
    api_key: Mapped[str] = mapped_column(Text, default="")
    api_secret: Mapped[str] = mapped_column(Text, default="")
    webhook_secret: Mapped[str] = mapped_column(Text, default="")
    api_endpoint: Mapped[str] = mapped_column(String(500), default="")
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class AIModelConfig(Timestamps, Base):
    __tablename__ = "ai_model_config"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100), unique=True)
    model_type: Mapped[ModelType] = mapped_column(enum_type(ModelType))
    provider: Mapped[str] = mapped_column(ForeignKey("integration_provider.provider_id", ondelete="RESTRICT"))
    display_name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    cost_per_1k_input: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    cost_per_1k_output: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    cost_per_image: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    tokens_per_credit: Mapped[int | None] = mapped_column(Integer)
    credits_per_image: Mapped[int | None] = mapped_column(Integer)
    quality_tier: Mapped[QualityTier | None] = mapped_column(enum_type(QualityTier))
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    context_window: Mapped[int | None] = mapped_column(Integer)
    capabilities: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # One default per type, enforced by the database.
        Index("uq_ai_model_config_default_per_type", "model_type", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
        CheckConstraint("tokens_per_credit IS NULL OR tokens_per_credit > 0", name="tokens_per_credit_positive"),
        CheckConstraint("credits_per_image IS NULL OR credits_per_image >= 0", name="credits_per_image_non_negative"),
    )


class SystemAISettings(Base):
    """Singleton (id = 1) of system-wide AI defaults."""

    __tablename__ = "system_ai_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    temperature: Mapped[float] = mapped_column(Float, default=0.7)
    max_tokens: Mapped[int] = mapped_column(Integer, default=8192)
    image_style: Mapped[str] = mapped_column(String(30), default="photorealistic")
    image_quality: Mapped[str] = mapped_column(String(20), default="standard")
    max_images_per_article: Mapped[int] = mapped_column(Integer, default=4)
    image_size: Mapped[str] = mapped_column(String(20), default="1024x1024")
    default_quality_tier: Mapped[QualityTier] = mapped_column(enum_type(QualityTier), default=QualityTier.quality)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("id = 1", name="singleton"),
        CheckConstraint("temperature >= 0 AND temperature <= 2", name="temperature_range"),
        CheckConstraint("max_images_per_article >= 0 AND max_images_per_article <= 8", name="max_images_range"),
    )


class AccountSettings(AccountScoped, Base):
    __tablename__ = "account_settings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[object] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("account_id", "key"),)


class CreditCostConfig(Timestamps, Base):
    __tablename__ = "credit_cost_config"

    operation_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    base_credits: Mapped[int] = mapped_column(Integer, default=1)
    unit: Mapped[str] = mapped_column(String(20), default="per_request")  # per_request/per_100_words/per_item/per_image
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    previous_cost: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (CheckConstraint("base_credits >= 0", name="base_credits_non_negative"),)


class GlobalAIPrompt(Timestamps, Base):
    __tablename__ = "global_ai_prompt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prompt_type: Mapped[str] = mapped_column(String(100), unique=True)
    prompt_value: Mapped[str] = mapped_column(Text)
    variables: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class AIPrompt(AccountScoped, Base):
    """An account's override of a global prompt."""

    __tablename__ = "ai_prompt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prompt_type: Mapped[str] = mapped_column(String(100))
    prompt_value: Mapped[str] = mapped_column(Text)
    function_name: Mapped[str] = mapped_column(String(100), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("account_id", "prompt_type"),)


class AuthorProfile(Timestamps, Base):
    """A writing voice: global when account_id is null, else the account's own."""

    __tablename__ = "author_profile"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    tone: Mapped[Tone] = mapped_column(enum_type(Tone), default=Tone.professional)
    language: Mapped[str] = mapped_column(String(10), default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Strategy(Timestamps, Base):
    """Content strategy: global when account_id is null, else the account's own (optionally per sector)."""

    __tablename__ = "strategy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    prompt_types: Mapped[list] = mapped_column(JSON, default=list)
    section_logic: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ModuleEnableSettings(Base):
    __tablename__ = "module_enable_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    planner_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    writer_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    linker_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    optimizer_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    automation_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    integration_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    publisher_enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class ProviderSlot(Base):
    """One of a provider's concurrent-call slots, shared by every process (the app and each scheduler): a call
    holds a slot while it runs; a slot whose holder died frees itself when its lease runs out."""

    __tablename__ = "provider_slot"

    provider_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProviderCall(Base):
    """When a call to a provider started, for its requests-per-minute window across processes (pruned as the
    window moves)."""

    __tablename__ = "provider_call"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_provider_call_provider_started", "provider_id", "started_at"),)
