"""Automation, publishing, integration and optimization: per-site configuration and run/record rows."""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import AccountScoped, Base, BigId, SiteScoped, SiteSectorScoped, UTCDateTime, enum_type
from db.enums import (
    Frequency,
    OptimizationStatus,
    Platform,
    PlatformType,
    PublishStatus,
    RunStatus,
    RunTrigger,
    SyncStatus,
)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
TIME_SLOTS = ["09:00", "14:00", "18:00"]


class AutomationConfig(SiteScoped, Base):
    __tablename__ = "automation_config"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    frequency: Mapped[Frequency] = mapped_column(enum_type(Frequency), default=Frequency.daily)
    scheduled_time: Mapped[time] = mapped_column(Time, default=time(2, 0))
    stage_1_batch_size: Mapped[int] = mapped_column(Integer, default=20)  # keywords -> clusters
    stage_2_batch_size: Mapped[int] = mapped_column(Integer, default=1)  # clusters -> ideas
    stage_3_batch_size: Mapped[int] = mapped_column(Integer, default=20)  # ideas -> tasks
    stage_4_batch_size: Mapped[int] = mapped_column(Integer, default=1)  # tasks -> content
    stage_5_batch_size: Mapped[int] = mapped_column(Integer, default=1)  # content -> image prompts
    stage_6_batch_size: Mapped[int] = mapped_column(Integer, default=1)  # image prompts -> images
    within_stage_delay: Mapped[int] = mapped_column(Integer, default=3)  # seconds
    between_stage_delay: Mapped[int] = mapped_column(Integer, default=5)  # seconds
    stage_7_batch_size: Mapped[int] = mapped_column(Integer, default=20, server_default="20")  # review
    stage_8_batch_size: Mapped[int] = mapped_column(Integer, default=20, server_default="20")  # approved -> slots
    ideas_per_cluster: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    clustering: Mapped[str] = mapped_column(String(10), default="offline", server_default="offline")  # or "ai"
    stop_on_error: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # "site": follow the site's publishing settings; "on"/"off": this automation's own choice
    auto_approve: Mapped[str] = mapped_column(String(10), default="site", server_default="site")
    auto_publish: Mapped[str] = mapped_column(String(10), default="site", server_default="site")
    max_run_minutes: Mapped[int] = mapped_column(Integer, default=240, server_default="240")
    credit_budget: Mapped[int] = mapped_column(Integer, default=500, server_default="500")  # per run
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    __table_args__ = (UniqueConstraint("site_id"),)


class AutomationRun(SiteScoped, Base):
    __tablename__ = "automation_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(100), unique=True)
    trigger_type: Mapped[RunTrigger] = mapped_column(enum_type(RunTrigger), default=RunTrigger.manual)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.pending)
    current_stage: Mapped[int] = mapped_column(Integer, default=1)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_credits_used: Mapped[int] = mapped_column(Integer, default=0)
    stage_results: Mapped[dict] = mapped_column(JSON, default=dict)  # {"1": {...}, "2": {...}}
    items_processed: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    forecast_credits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_credits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reservation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("credit_reservation.id",
                                                                         ondelete="SET NULL"))
    # why a run ended other than by finishing its stages: budget | nothing_to_do | max_time | error | cancelled
    stop_reason: Mapped[str] = mapped_column(String(30), default="", server_default="")
    settings_json: Mapped[dict] = mapped_column(JSON, default=dict)  # the config the run was started with
    forecast_json: Mapped[dict] = mapped_column(JSON, default=dict)  # per stage: items and credits forecast
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_automation_run_status_lease", "status", "lease_until"),
        Index("ix_automation_run_site_created", "site_id", "created_at"),
    )


class AutomationRunItem(SiteScoped, Base):
    """One piece of work of a run's stage (a sector's keywords, a cluster, an idea, a task, an article): planned
    when the stage starts, done exactly once, its result and message kept for the run's page and for retries."""

    __tablename__ = "automation_run_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("automation_run.id", ondelete="CASCADE"))
    stage: Mapped[int] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(BigId)
    sector_id: Mapped[int | None] = mapped_column(BigId)
    label: Mapped[str] = mapped_column(String(255), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | failed | skipped
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    estimate_credits: Mapped[int] = mapped_column(Integer, default=0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("run_id", "stage", "object_id"),
        Index("ix_automation_run_item_run_status", "run_id", "status"),
    )


class SchedulerProcess(Base):
    """One scheduler process as it last reported itself (the scheduler status screen)."""

    __tablename__ = "scheduler_process"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the worker id: host:pid:random
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    working_on: Mapped[str] = mapped_column(String(255), default="")


class PublishingSettings(SiteScoped, Base):
    __tablename__ = "publishing_settings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    auto_approval_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_publish_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    daily_publish_limit: Mapped[int] = mapped_column(Integer, default=3)
    weekly_publish_limit: Mapped[int] = mapped_column(Integer, default=15)
    monthly_publish_limit: Mapped[int] = mapped_column(Integer, default=50)
    publish_days: Mapped[list] = mapped_column(JSON, default=lambda: list(WEEKDAYS))
    publish_time_slots: Mapped[list] = mapped_column(JSON, default=lambda: list(TIME_SLOTS))

    __table_args__ = (
        UniqueConstraint("site_id"),
        CheckConstraint("daily_publish_limit >= 0 AND weekly_publish_limit >= 0 AND monthly_publish_limit >= 0",
                        name="limits_non_negative"),
    )


class SiteIntegration(SiteScoped, Base):
    __tablename__ = "site_integration"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[Platform] = mapped_column(enum_type(Platform), default=Platform.wordpress)
    platform_type: Mapped[PlatformType] = mapped_column(enum_type(PlatformType), default=PlatformType.cms)
    external_site_url: Mapped[str] = mapped_column(String(500), default="")
    config_json: Mapped[dict] = mapped_column(JSON, default=dict)
    credentials_json: Mapped[dict] = mapped_column(JSON, default=dict)  # values encrypted by core
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_status: Mapped[SyncStatus] = mapped_column(enum_type(SyncStatus), default=SyncStatus.pending)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sync_error: Mapped[str] = mapped_column(Text, default="")
    # The connection doctor's verdict: unknown (never checked), connected, warning, error.
    connection_status: Mapped[str] = mapped_column(String(20), default="unknown", server_default="unknown")
    connection_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connection_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    structure_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # authors, terms cached

    __table_args__ = (UniqueConstraint("site_id", "platform"),)


class SyncEvent(SiteScoped, Base):
    __tablename__ = "sync_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("site_integration.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    content_id: Mapped[int | None] = mapped_column(BigId)
    external_id: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    error_message: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_sync_event_site_created", "site_id", "created_at"),)


class PublishingRecord(SiteSectorScoped, Base):
    __tablename__ = "publishing_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String(50), default="wordpress")
    destination_id: Mapped[str] = mapped_column(String(255), default="")
    destination_url: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[PublishStatus] = mapped_column(enum_type(PublishStatus), default=PublishStatus.pending)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_message: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)


class OptimizationTask(AccountScoped, Base):
    __tablename__ = "optimization_task"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    scores_before: Mapped[dict] = mapped_column(JSON, default=dict)
    scores_after: Mapped[dict] = mapped_column(JSON, default=dict)
    html_before: Mapped[str] = mapped_column(Text, default="")
    html_after: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OptimizationStatus] = mapped_column(
        enum_type(OptimizationStatus), default=OptimizationStatus.pending
    )
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
