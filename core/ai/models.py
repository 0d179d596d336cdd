"""AI model configuration (AIModelConfig): global rows, one default per type, image quality tiers, and the
capabilities that shape each call; platform admins edit them."""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import Conflict, NotFound, ValidationFailed
from core.tenancy import Actor
from db.enums import ModelType, QualityTier
from db.models import AIModelConfig, IntegrationProvider

PRICE_FIELDS = ("cost_per_1k_input", "cost_per_1k_output", "cost_per_image")
INT_FIELDS = ("tokens_per_credit", "credits_per_image", "max_tokens", "context_window")

# The capability flags a model may carry, with their allowed values (what the AI calls read; absent = default).
CAPABILITIES: dict[str, tuple[object, ...]] = {
    "max_tokens_param": ("max_tokens", "max_completion_tokens"),  # how the output limit is sent
    "temperature": (True, False),  # false: the model takes only its default temperature, none is sent
    "json_mode": (True, False),  # false: no response_format json_object (servers without JSON mode)
    "b64_json": (True, False),  # image models: ask for base64 data (default: only DALL·E is asked)
}
CAPABILITIES_HELP = ('A JSON object of flags. max_tokens_param: "max_tokens" (default) or "max_completion_tokens" '
                     '(GPT-5.x and o-series models need it); temperature: false when the model refuses any but its '
                     'default temperature (reasoning models); json_mode: false for servers without JSON mode; '
                     'b64_json (image models): true to ask for base64 data, false for a link (the default asks only '
                     'DALL·E). Empty: every default.')
REASONING = {"max_tokens_param": "max_completion_tokens", "temperature": False}
_REASONING_NAME = re.compile(r"(^|/)(o[1-9]|gpt-5)", re.IGNORECASE)  # o1, o3-mini, o4-mini, gpt-5, gpt-5.1 …


def list_models(session: Session, *, model_type: str | None = None, active_only: bool = False) -> list[AIModelConfig]:
    """Models by type then name (global configuration, readable by every signed-in user)."""
    stmt = select(AIModelConfig).order_by(AIModelConfig.model_type, AIModelConfig.model_name)
    if model_type:
        stmt = stmt.where(AIModelConfig.model_type == model_type)
    if active_only:
        stmt = stmt.where(AIModelConfig.is_active.is_(True))
    return list(session.scalars(stmt))


def default_model(session: Session, *, model_type: str) -> AIModelConfig:
    """The active default model of a type."""
    m = session.scalars(select(AIModelConfig).where(AIModelConfig.model_type == model_type,
                                                    AIModelConfig.is_default.is_(True),
                                                    AIModelConfig.is_active.is_(True))).one_or_none()
    if m is None:
        raise ValidationFailed(f"No active default {model_type} model is configured. Ask the platform team (the "
                               "team running this dashboard) to set one on the “AI providers & models” screen.")
    return m


def model_for_tier(session: Session, *, tier: str) -> AIModelConfig:
    """The image model of a quality tier: the default image model when it has that tier, else the first active."""
    rows = list(session.scalars(select(AIModelConfig).where(
        AIModelConfig.model_type == ModelType.image, AIModelConfig.quality_tier == tier,
        AIModelConfig.is_active.is_(True)).order_by(AIModelConfig.is_default.desc(), AIModelConfig.id)))
    if not rows:
        raise ValidationFailed(f"No active image model offers the “{tier}” quality tier.")
    return rows[0]


def get_by_name(session: Session, *, model_name: str) -> AIModelConfig:
    """A model by its name."""
    m = session.scalars(select(AIModelConfig).where(AIModelConfig.model_name == model_name)).one_or_none()
    if m is None:
        raise NotFound(f"There is no model “{model_name}”.")
    return m


def default_capabilities(model_name: str) -> dict[str, object]:
    """The capabilities a model gets until an admin says otherwise: GPT-5.x and o-series reasoning models refuse
    max_tokens and a non-default temperature; every other model takes the defaults."""
    return dict(REASONING) if _REASONING_NAME.search(model_name.strip()) else {}


def clean_capabilities(value: object) -> dict[str, object]:
    """A capabilities object (a dict, or its JSON text; empty text is {}) of known flags, or ValidationFailed."""
    example = 'such as {"max_tokens_param": "max_completion_tokens", "temperature": false}'
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"Capabilities are not valid JSON: {exc.msg} (line {exc.lineno}, column "
                                   f"{exc.colno}). Write a JSON object {example}.") from exc
    if not isinstance(value, dict):
        raise ValidationFailed(f"Capabilities must be a JSON object {example}.")
    for flag, setting in value.items():
        allowed = CAPABILITIES.get(flag)
        if allowed is None:
            raise ValidationFailed(f"Unknown capability “{flag}”. Known: {', '.join(CAPABILITIES)}.")
        if not any(type(setting) is type(a) and setting == a for a in allowed):  # 1 is not true
            choices = " or ".join(json.dumps(a) for a in allowed)
            raise ValidationFailed(f"Capability “{flag}” must be {choices} (got {json.dumps(setting, default=str)}).")
    return dict(value)


def _clean(values: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for field, value in values.items():
        if value is None:
            continue
        if field in PRICE_FIELDS:
            try:
                price = Decimal(str(value))
            except (InvalidOperation, ValueError) as exc:
                raise ValidationFailed(f"{field} must be a USD amount like 0.00015.") from exc
            if price < 0 or price > 1000:
                raise ValidationFailed(f"{field} must be between 0 and 1000 USD.")
            out[field] = price
        elif field in INT_FIELDS:
            try:
                number = int(value)
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(f"{field} must be a whole number.") from exc
            if number < (1 if field == "tokens_per_credit" else 0) or number > 10_000_000:
                raise ValidationFailed(f"{field} is out of range ({number}).")
            out[field] = number
        elif field == "quality_tier":
            try:
                out[field] = QualityTier(value) if value != "" else None
            except ValueError as exc:
                raise ValidationFailed("Quality tier must be basic, quality or premium.") from exc
        elif field in ("display_name",):
            text = " ".join(str(value).split())
            if not text or len(text) > 200:
                raise ValidationFailed("The display name is required (at most 200 characters).")
            out[field] = text
        elif field in ("is_active",):
            out[field] = bool(value)
        elif field == "capabilities":
            out[field] = clean_capabilities(value)
        else:
            raise ValidationFailed(f"Unknown model field “{field}”.")
    return out


def _check_priced(m: AIModelConfig) -> None:
    if m.model_type == ModelType.text and not m.tokens_per_credit:
        raise ValidationFailed(f"Text model “{m.model_name}” needs tokens per credit.")
    if m.model_type == ModelType.image and m.credits_per_image is None:
        raise ValidationFailed(f"Image model “{m.model_name}” needs credits per image.")


def create_model(session: Session, actor: Actor, *, model_name: str, model_type: str, provider: str,
                 display_name: str, **fields: object) -> AIModelConfig:
    """Add a model (platform admins); without capabilities it gets those its name calls for."""
    tenancy.require_platform_admin(actor)
    name = (model_name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("The model name is required (at most 100 characters).")
    if session.scalar(select(AIModelConfig.id).where(AIModelConfig.model_name == name)):
        raise Conflict(f"A model named “{name}” exists already.")
    try:
        mtype = ModelType(model_type)
    except ValueError as exc:
        raise ValidationFailed("Model type must be text or image.") from exc
    if session.get(IntegrationProvider, provider) is None:
        raise NotFound(f"There is no provider “{provider}”.")
    if fields.get("capabilities") in (None, ""):
        fields["capabilities"] = default_capabilities(name)
    m = AIModelConfig(model_name=name, model_type=mtype, provider=provider, is_default=False,
                      **_clean({"display_name": display_name, **fields}))
    _check_priced(m)
    session.add(m)
    session.flush()
    return m


def update_model(session: Session, actor: Actor, *, model_id: int, **fields: object) -> AIModelConfig:
    """Change a model's prices, credits, tier, limits, capabilities or active flag (platform admins)."""
    tenancy.require_platform_admin(actor)
    m = session.get(AIModelConfig, model_id)
    if m is None:
        raise NotFound(f"Model #{model_id} was not found.")
    for field, value in _clean(fields).items():
        setattr(m, field, value)
    if m.is_default and not m.is_active:
        raise ValidationFailed(f"“{m.model_name}” is the default {m.model_type} model; make another default first.")
    _check_priced(m)
    session.flush()
    return m


def set_default(session: Session, actor: Actor, *, model_id: int) -> AIModelConfig:
    """Make a model the one default of its type (platform admins)."""
    tenancy.require_platform_admin(actor)
    m = session.get(AIModelConfig, model_id)
    if m is None:
        raise NotFound(f"Model #{model_id} was not found.")
    if not m.is_active:
        raise ValidationFailed(f"“{m.model_name}” is inactive; activate it before making it the default.")
    session.execute(update(AIModelConfig).where(AIModelConfig.model_type == m.model_type,
                                                AIModelConfig.id != m.id).values(is_default=False))
    session.flush()
    m.is_default = True
    session.flush()
    return m
