"""How the usage screen names what it counts: operations and AI models by their display names (CreditCostConfig,
AIModelConfig), never by their stored ids, and the time zone its days are counted in (the sites' own)."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from core import tenancy
from core.tenancy import Actor
from db.models import AIModelConfig, CreditCostConfig, Site

G = TypeVar("G")  # a usage.Group: key, label …


def operation_names() -> Subquery:
    """(id, name): each priced operation type with its display name (reference data, not tenant rows)."""
    return select(CreditCostConfig.operation_type.label("id"), CreditCostConfig.display_name.label("name")).subquery()


def model_names() -> Subquery:
    """(id, name): each configured AI model's stored name with its display name."""
    return select(AIModelConfig.model_name.label("id"), AIModelConfig.display_name.label("name")).subquery()


def operation_label(operation: str, name: str | None) -> str:
    """The display name, else the stored id made readable (“idea_generation” → “Idea generation”)."""
    if name:
        return name
    words = operation.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "(none)"


def model_label(model: str, name: str | None) -> str:
    """The display name, else the stored model id (a model removed from the configuration since)."""
    return name or model or "(none)"


def distinct(groups: list[G]) -> list[G]:
    """Labels that repeat (two sites or models of one name) get their key added: a chart would merge their bars."""
    count = Counter(g.label for g in groups)  # type: ignore[attr-defined]
    return [replace(g, label=f"{g.label} ({g.key})")  # type: ignore[attr-defined, type-var]
            if count[g.label] > 1 and g.key is not None else g for g in groups]  # type: ignore[attr-defined]


def display_zone(session: Session, actor: Actor, *, site_ids: list[int] | None = None) -> str | None:
    """The time zone the sites in view share — the picked ones, or all active sites of the account when none are
    picked; None when they lie in different zones (the screen then counts UTC days), "UTC" without sites."""
    stmt = tenancy.scoped(select(Site.timezone).distinct(), Site, actor)
    stmt = stmt.where(Site.id.in_(site_ids)) if site_ids else stmt.where(Site.is_active.is_(True))
    zones = set(session.scalars(stmt))
    if not zones:
        return "UTC"
    return zones.pop() if len(zones) == 1 else None
