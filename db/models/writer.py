"""Writer: tasks, content (workflow + publishing status), images, taxonomies, cluster maps, attributes."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigId, SiteScoped, SiteSectorScoped, SoftDelete, UTCDateTime, enum_type
from db.enums import (
    AttributeType,
    ClusterRole,
    ContentSource,
    ContentStatus,
    ContentStructure,
    ContentType,
    ImageStatus,
    ImageType,
    ItemStatus,
    MapSource,
    RevisionKind,
    RunStatus,
    SiteStatus,
    SyncStatus,
    TaskStatus,
    TaxonomyType,
)


class Tasks(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="RESTRICT"), index=True)
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("content_ideas.id", ondelete="SET NULL"), index=True)
    taxonomy_term_id: Mapped[int | None] = mapped_column(ForeignKey("content_taxonomy.id", ondelete="SET NULL"))
    content_type: Mapped[ContentType] = mapped_column(enum_type(ContentType), default=ContentType.post)
    content_structure: Mapped[ContentStructure] = mapped_column(
        enum_type(ContentStructure), default=ContentStructure.article
    )
    keywords: Mapped[str] = mapped_column(Text, default="")  # comma-separated target keywords
    word_count: Mapped[int] = mapped_column(Integer, default=1000)  # target
    status: Mapped[TaskStatus] = mapped_column(enum_type(TaskStatus), default=TaskStatus.queued)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    # Cannibalization guard: what the task's keyword and title collide with ([{kind, id, title, score}]), best first
    overlaps: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    overlap_score: Mapped[float | None] = mapped_column(Float)
    overlap_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_tasks_sector_status_id", "sector_id", "status", "id"),
        Index("ix_tasks_sector_due_id", "sector_id", "due_date", "id"),
    )


class Content(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "content"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    content_html: Mapped[str] = mapped_column(Text, default="")  # sanitized before storing
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    meta_title: Mapped[str] = mapped_column(String(255), default="")
    meta_description: Mapped[str] = mapped_column(Text, default="")
    primary_keyword: Mapped[str] = mapped_column(String(500), default="")
    secondary_keywords: Mapped[list] = mapped_column(JSON, default=list)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    content_type: Mapped[ContentType] = mapped_column(enum_type(ContentType), default=ContentType.post)
    content_structure: Mapped[ContentStructure] = mapped_column(
        enum_type(ContentStructure), default=ContentStructure.article
    )
    source: Mapped[ContentSource] = mapped_column(enum_type(ContentSource), default=ContentSource.igny8)
    status: Mapped[ContentStatus] = mapped_column(enum_type(ContentStatus), default=ContentStatus.draft)
    site_status: Mapped[SiteStatus] = mapped_column(enum_type(SiteStatus), default=SiteStatus.not_published)
    scheduled_publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    site_status_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str] = mapped_column(String(255), default="")
    external_url: Mapped[str] = mapped_column(String(1000), default="")
    external_type: Mapped[str] = mapped_column(String(100), default="")
    external_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    sync_status: Mapped[SyncStatus] = mapped_column(enum_type(SyncStatus), default=SyncStatus.pending)
    publish_error: Mapped[str] = mapped_column(Text, default="", server_default="")  # why site_status is failed
    # Lease of a scheduler process publishing this item (claim -> commit -> work -> record).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock of the editor: a save names the version it started from; a save from an older one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_content_site_status_scheduled", "site_status", "scheduled_publish_at"),
        Index("ix_content_sector_status_id", "sector_id", "status", "id"),
        Index("ix_content_sector_site_status_id", "sector_id", "site_status", "id"),
    )


class ContentRevision(SiteSectorScoped, Base):
    """A saved state of an article: every generation, edit and restore adds one (who, when, what changed)."""

    __tablename__ = "content_revision"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per content
    kind: Mapped[RevisionKind] = mapped_column(enum_type(RevisionKind), default=RevisionKind.edit)
    title: Mapped[str] = mapped_column(String(255))
    content_html: Mapped[str] = mapped_column(Text, default="")
    meta_title: Mapped[str] = mapped_column(String(255), default="")
    meta_description: Mapped[str] = mapped_column(Text, default="")
    primary_keyword: Mapped[str] = mapped_column(String(500), default="")
    secondary_keywords: Mapped[list] = mapped_column(JSON, default=list)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[list] = mapped_column(JSON, default=list)  # the fields that differ from the revision before
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("content_id", "number"),)


class ContentComment(SiteSectorScoped, Base):
    """A comment on an article, and each review step (from → to status) with its comment."""

    __tablename__ = "content_comment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[ContentStatus | None] = mapped_column(enum_type(ContentStatus, "from_status"))
    to_status: Mapped[ContentStatus | None] = mapped_column(enum_type(ContentStatus, "to_status"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class WriterBatch(SiteSectorScoped, Base):
    """A bulk "write these articles" run: its settings, its totals, and the lease of the process running it."""

    __tablename__ = "writer_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.pending)
    author_profile_id: Mapped[int | None] = mapped_column(ForeignKey("author_profile.id", ondelete="SET NULL"))
    strategy_id: Mapped[int | None] = mapped_column(ForeignKey("strategy.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    estimated_credits: Mapped[int] = mapped_column(Integer, default=0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WriterBatchItem(SiteSectorScoped, Base):
    """One task of a batch: its state, its line (the reason when it failed or was skipped), its article."""

    __tablename__ = "writer_batch_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("writer_batch.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ItemStatus] = mapped_column(enum_type(ItemStatus), default=ItemStatus.pending)
    message: Mapped[str] = mapped_column(Text, default="")
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="SET NULL"))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("batch_id", "task_id"), Index("ix_writer_batch_item_batch_position",
                                                                      "batch_id", "position"))


class Images(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    image_type: Mapped[ImageType] = mapped_column(enum_type(ImageType), default=ImageType.in_article)
    image_url: Mapped[str] = mapped_column(String(2000), default="")
    image_path: Mapped[str] = mapped_column(String(1000), default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    caption: Mapped[str] = mapped_column(Text, default="")
    alt_text: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ImageStatus] = mapped_column(enum_type(ImageStatus), default=ImageStatus.pending)
    position: Mapped[int] = mapped_column(Integer, default=0)
    thumbnail_path: Mapped[str] = mapped_column(String(1000), default="", server_default="")  # made once, data_dir
    preview_path: Mapped[str] = mapped_column(String(1000), default="", server_default="")  # ~1024 px, made once
    source: Mapped[str] = mapped_column(String(20), default="ai", server_default="ai")  # ai | upload


class ContentTaxonomy(SiteScoped, Base):
    """A category or tag of the site (WordPress terms are per site, not per sector): synced or made here."""

    __tablename__ = "content_taxonomy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    taxonomy_type: Mapped[TaxonomyType] = mapped_column(enum_type(TaxonomyType), default=TaxonomyType.category)
    external_taxonomy: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(100))
    sync_status: Mapped[SyncStatus] = mapped_column(enum_type(SyncStatus), default=SyncStatus.pending)
    description: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("site_id", "slug", "taxonomy_type"),
        UniqueConstraint("site_id", "external_id", "external_taxonomy"),
    )


class ContentTaxonomyRelation(SiteSectorScoped, Base):
    __tablename__ = "content_taxonomy_relation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    taxonomy_id: Mapped[int] = mapped_column(ForeignKey("content_taxonomy.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("content_id", "taxonomy_id"),)


class ContentClusterMap(SiteSectorScoped, Base):
    __tablename__ = "content_cluster_map"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    role: Mapped[ClusterRole] = mapped_column(enum_type(ClusterRole), default=ClusterRole.hub)
    source: Mapped[MapSource] = mapped_column(enum_type(MapSource), default=MapSource.manual)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (UniqueConstraint("content_id", "cluster_id", "role"),)


class ContentAttribute(SiteSectorScoped, Base):
    __tablename__ = "content_attribute"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    attribute_type: Mapped[AttributeType] = mapped_column(
        enum_type(AttributeType), default=AttributeType.product_spec
    )
    name: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(String(255), default="")
    external_id: Mapped[str | None] = mapped_column(String(100))
    external_attribute_name: Mapped[str] = mapped_column(String(150), default="")
    source: Mapped[MapSource] = mapped_column(enum_type(MapSource), default=MapSource.manual)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
