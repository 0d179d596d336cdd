"""Prices of AI calls: credits from CreditCostConfig and the model's credit settings; USD from the model's prices.

The price table (CreditCostConfig) is global: everyone reads it, platform admins change it. A change applies to the
next estimate and charge; ledger and usage rows keep the credits they were charged."""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import NotFound, ValidationFailed
from core.tenancy import Actor
from db.models import AIModelConfig, CreditCostConfig

USD = Decimal("0.000001")
# What one base price pays for (the spec's units: per request, per 100 words, per item, per image).
UNITS = {"per_request": "per request", "per_100_words": "per 100 words", "per_item": "per item",
         "per_image": "per image"}
MAX_BASE_CREDITS = 10_000
_WHOLE = re.compile(r"[0-9]+")


def list_costs(session: Session) -> list[CreditCostConfig]:
    """The credit cost of every operation, by operation name (global configuration, readable by everyone)."""
    return list(session.scalars(select(CreditCostConfig).order_by(CreditCostConfig.operation_type)))


def update_cost(session: Session, actor: Actor, *, operation_type: str, base_credits: object = None,
                unit: str | None = None, is_active: bool | None = None, display_name: str | None = None,
                description: str | None = None) -> CreditCostConfig:
    """Change one operation's price, unit, name, notes or active flag (platform admins; None keeps a value).
    Every value is checked before any is set; the old base price is kept as previous_cost."""
    tenancy.require_platform_admin(actor)
    cfg = session.get(CreditCostConfig, (operation_type or "").strip())
    if cfg is None:
        known = ", ".join(c.operation_type for c in list_costs(session))
        raise NotFound(f"There is no credit cost for the operation “{operation_type}” (known: {known}).")
    changes: dict[str, object] = {}
    if base_credits is not None:
        changes["base_credits"] = _whole_credits(base_credits, cfg.display_name)
    if unit is not None:
        if unit not in UNITS:
            raise ValidationFailed(f"The unit of “{cfg.display_name}” must be one of {', '.join(UNITS)} "
                                   f"(got “{unit}”).")
        changes["unit"] = unit
    if display_name is not None:
        name = " ".join(display_name.split())
        if not name or len(name) > 100:
            raise ValidationFailed("The display name of an operation is required (at most 100 characters).")
        changes["display_name"] = name
    if description is not None:
        changes["description"] = description.strip()
    if is_active is not None:
        changes["is_active"] = bool(is_active)
    if changes.get("base_credits", cfg.base_credits) != cfg.base_credits:
        changes["previous_cost"] = cfg.base_credits
    for field, value in changes.items():
        setattr(cfg, field, value)
    cfg.updated_by_id = actor.user_id
    session.flush()
    return cfg


def _whole_credits(value: object, label: str) -> int:
    """Credits typed or passed: a whole number from 0 to MAX_BASE_CREDITS."""
    text = str(value).strip()
    if isinstance(value, bool) or not _WHOLE.fullmatch(text) or int(text) > MAX_BASE_CREDITS:
        raise ValidationFailed(f"The base credits of “{label}” must be a whole number from 0 to "
                               f"{MAX_BASE_CREDITS:,} (got “{value}”).")
    return int(text)


def base_credits(session: Session, *, operation_type: str) -> int:
    """The fixed (minimum) credits of an operation; refused when the operation is switched off."""
    cfg = session.get(CreditCostConfig, operation_type)
    if cfg is None:
        raise ValidationFailed(f"No credit cost is configured for “{operation_type}”.")
    if not cfg.is_active:
        raise ValidationFailed(f"“{cfg.display_name}” is switched off by the administrator.")
    return cfg.base_credits


def text_credits(model: AIModelConfig, *, tokens_in: int, tokens_out: int, base: int) -> int:
    """Text calls: input + output tokens at the model's tokens_per_credit, never below the operation's base."""
    if not model.tokens_per_credit:
        raise ValidationFailed(f"Model “{model.model_name}” has no tokens per credit configured.")
    return max(base, math.ceil((max(tokens_in, 0) + max(tokens_out, 0)) / model.tokens_per_credit))


def image_credits(model: AIModelConfig, *, images: int) -> int:
    """Image calls: the model's credits per image for its quality tier."""
    if model.credits_per_image is None:
        raise ValidationFailed(f"Model “{model.model_name}” has no credits per image configured.")
    return model.credits_per_image * max(images, 0)


def text_cost_usd(model: AIModelConfig, *, tokens_in: int, tokens_out: int) -> Decimal:
    """What the provider charges for the tokens, in USD (6 decimals)."""
    cost = (Decimal(tokens_in) * (model.cost_per_1k_input or 0) + Decimal(tokens_out) * (model.cost_per_1k_output or 0))
    return (cost / 1000).quantize(USD, rounding=ROUND_HALF_UP)


def image_cost_usd(model: AIModelConfig, *, images: int) -> Decimal:
    """What the provider charges for the images, in USD."""
    return (Decimal(images) * (model.cost_per_image or 0)).quantize(USD, rounding=ROUND_HALF_UP)


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for a prompt (about 4 characters per token, rounded up)."""
    return math.ceil(len(text or "") / 3.5)
