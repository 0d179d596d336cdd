"""Prices of AI calls: credits from CreditCostConfig and the model's credit settings; USD from the model's prices."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from core.errors import ValidationFailed
from db.models import AIModelConfig, CreditCostConfig

USD = Decimal("0.000001")


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
