"""Planner: keywords, clusters, content ideas (all per site and sector, soft-deletable)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
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

from db.base import Base, BigId, SiteSectorScoped, SoftDelete, enum_type
from db.enums import ClusterStatus, ContentStructure, ContentType, IdeaStatus, KeywordStatus


class Clusters(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # Denormalised counters, refreshed by core when keywords move.
    keywords_count: Mapped[int] = mapped_column(Integer, default=0)
    volume: Mapped[int] = mapped_column(Integer, default=0)
    mapped_pages: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ClusterStatus] = mapped_column(enum_type(ClusterStatus), default=ClusterStatus.new)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("site_id", "sector_id", "name"),)


class Keywords(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "keywords"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seed_keyword_id: Mapped[int | None] = mapped_column(ForeignKey("seed_keyword.id", ondelete="SET NULL"), index=True)
    keyword: Mapped[str] = mapped_column(String(500))
    keyword_norm: Mapped[str] = mapped_column(String(500))  # trimmed, case-folded, NFKC: the de-duplication key
    volume: Mapped[int | None] = mapped_column(Integer)  # per-site override of the seed keyword's volume
    difficulty: Mapped[int | None] = mapped_column(Integer)
    cpc: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    intent: Mapped[str | None] = mapped_column(String(100))  # may hold several, comma-separated
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)  # extra import columns are kept here
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    status: Mapped[KeywordStatus] = mapped_column(enum_type(KeywordStatus), default=KeywordStatus.new)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("sector_id", "keyword_norm"),
        CheckConstraint("difficulty IS NULL OR (difficulty >= 0 AND difficulty <= 100)", name="difficulty_range"),
        CheckConstraint("volume IS NULL OR volume >= 0", name="volume_non_negative"),
        Index("ix_keywords_sector_status_volume", "sector_id", "status", "volume", "id"),
        # The keywords screen sorts a sector by each of these with keyset pagination on (column, id); sorting by
        # keyword uses the unique (sector_id, keyword_norm) above. See core/planner/keywords.py.
        Index("ix_keywords_sector_volume", "sector_id", "volume", "id"),
        Index("ix_keywords_sector_difficulty", "sector_id", "difficulty", "id"),
        Index("ix_keywords_sector_cpc", "sector_id", "cpc", "id"),
        Index("ix_keywords_sector_created", "sector_id", "created_at", "id"),
        Index("ix_keywords_sector_cluster", "sector_id", "cluster_id"),
        # Substring search (LIKE '%term%') on PostgreSQL: a trigram GIN index (pg_trgm, a trusted extension the
        # migration creates). SQLite could not use it for LIKE '%term%', so there it is an always-empty partial
        # index of the same name: the schema matches the model on both backends and SQLite writes pay nothing.
        Index("ix_keywords_keyword_norm_trgm", "keyword_norm", postgresql_using="gin",
              postgresql_ops={"keyword_norm": "gin_trgm_ops"}, sqlite_where=text("0")),
    )


class ContentIdeas(SiteSectorScoped, SoftDelete, Base):
    __tablename__ = "content_ideas"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idea_title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[ContentType] = mapped_column(enum_type(ContentType), default=ContentType.post)
    content_structure: Mapped[ContentStructure] = mapped_column(
        enum_type(ContentStructure), default=ContentStructure.article
    )
    target_keywords: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    keyword_cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    estimated_word_count: Mapped[int] = mapped_column(Integer, default=1000)
    outline: Mapped[list] = mapped_column(JSON, default=list)  # sections of the planned structure
    status: Mapped[IdeaStatus] = mapped_column(enum_type(IdeaStatus), default=IdeaStatus.new)

    __table_args__ = (CheckConstraint("estimated_word_count >= 0", name="word_count_non_negative"),)
