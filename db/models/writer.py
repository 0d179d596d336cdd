"""Writer: tasks, content (workflow + publishing status), images, taxonomies, cluster maps, attributes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, BigId, SiteSectorScoped, SoftDelete, UTCDateTime, enum_type
from db.enums import (
    AttributeType,
    ClusterRole,
    ContentSource,
    ContentStatus,
    ContentStructure,
    ContentType,
    ImageStatus,
    ImageType,
    MapSource,
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
    # Lease of a scheduler process publishing this item (claim -> commit -> work -> record).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_content_site_status_scheduled", "site_status", "scheduled_publish_at"),)


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


class ContentTaxonomy(SiteSectorScoped, Base):
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
