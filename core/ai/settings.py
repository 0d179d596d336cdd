"""Effective AI settings: SystemAISettings defaults overridden by the account's AccountSettings keys.

The system defaults are one global row: everyone reads them, platform admins change them (with the same ranges and
choices as an account's overrides); accounts without an override of a setting follow the change at once."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.base import utcnow
from db.enums import QualityTier
from db.models import AccountSettings, AIModelConfig, SystemAISettings

IMAGE_STYLES = {"photorealistic": "Photorealistic", "illustration": "Illustration", "3d_render": "3D Render",
                "minimal_flat": "Minimal / Flat", "artistic": "Artistic", "cartoon": "Cartoon"}
IMAGE_QUALITIES = ("standard", "hd")
IMAGE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
MAX_IMAGES_ALLOWED = 8
MAX_TOKENS_RANGE = (256, 128_000)
# AccountSettings key → (field of EffectiveAISettings)
KEYS = {"ai.temperature": "temperature", "ai.max_tokens": "max_tokens", "ai.image_style": "image_style",
        "ai.image_quality": "image_quality", "ai.max_images": "max_images",
        "ai.image_quality_tier": "image_quality_tier"}
# field of EffectiveAISettings → its SystemAISettings column
SYSTEM_COLUMNS = {"temperature": "temperature", "max_tokens": "max_tokens", "image_style": "image_style",
                  "image_quality": "image_quality", "max_images": "max_images_per_article", "image_size": "image_size",
                  "image_quality_tier": "default_quality_tier"}


@dataclass(frozen=True)
class EffectiveAISettings:
    temperature: float
    max_tokens: int
    image_style: str
    image_quality: str
    max_images: int
    image_size: str
    image_quality_tier: str


@dataclass(frozen=True)
class TierOption:
    tier: str
    credits: int
    label: str
    model_name: str


def system_defaults(session: Session) -> SystemAISettings:
    """The singleton of system defaults (created with the spec's defaults if missing)."""
    row = session.get(SystemAISettings, 1)
    if row is None:
        row = SystemAISettings(id=1)
        session.add(row)
        session.flush()
    return row


def validate(field: str, value: object) -> object:
    """A value for one setting, or ValidationFailed with what is allowed."""
    try:
        if field == "temperature":
            v = float(value)
            if not 0.0 <= v <= 2.0:
                raise ValueError
            return round(v, 2)
        if field == "max_tokens":
            v = int(value)
            if not MAX_TOKENS_RANGE[0] <= v <= MAX_TOKENS_RANGE[1] or v != float(value):
                raise ValueError
            return v
        if field == "max_images":
            v = int(value)
            if not 0 <= v <= MAX_IMAGES_ALLOWED or v != float(value):
                raise ValueError
            return v
    except (TypeError, ValueError) as exc:
        ranges = {"temperature": "a number from 0.0 to 2.0",
                  "max_tokens": f"a whole number from {MAX_TOKENS_RANGE[0]:,} to {MAX_TOKENS_RANGE[1]:,}",
                  "max_images": f"a whole number from 0 to {MAX_IMAGES_ALLOWED}"}
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be {ranges[field]} "
                               f"(got “{value}”).") from exc
    choices = {"image_style": tuple(IMAGE_STYLES), "image_quality": IMAGE_QUALITIES, "image_size": IMAGE_SIZES,
               "image_quality_tier": tuple(t.value for t in QualityTier)}
    if field not in choices:
        raise ValidationFailed(f"Unknown AI setting “{field}”.")
    if value not in choices[field]:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be one of "
                               f"{', '.join(choices[field])} (got “{value}”).")
    return value


def _checked(changes: dict[str, object], *, allowed: Iterable[str]) -> dict[str, object]:
    """Every given value validated (None: not given), or ValidationFailed before anything is stored."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationFailed(f"Unknown AI setting(s): {', '.join(sorted(unknown))}.")
    return {f: validate(f, v) for f, v in changes.items() if v is not None}


def effective(session: Session, *, account_id: int) -> EffectiveAISettings:
    """System defaults with the account's overrides applied (an invalid stored override is ignored)."""
    values = _default_values(system_defaults(session))
    rows = session.execute(select(AccountSettings.key, AccountSettings.value).where(
        AccountSettings.account_id == account_id, AccountSettings.key.in_(KEYS))).all()
    for key, value in rows:
        try:
            values[KEYS[key]] = validate(KEYS[key], value)
        except ValidationFailed:
            continue
    return EffectiveAISettings(**values)


def _default_values(row: SystemAISettings) -> dict[str, object]:
    values = {field: getattr(row, column) for field, column in SYSTEM_COLUMNS.items()}
    return values | {"image_quality_tier": str(row.default_quality_tier)}


def get_system_defaults(session: Session) -> EffectiveAISettings:
    """The system defaults (what an account without overrides gets)."""
    return EffectiveAISettings(**_default_values(system_defaults(session)))


def update_system_defaults(session: Session, actor: Actor, **changes: object) -> EffectiveAISettings:
    """Change the system defaults (platform admins); every value is checked first, nothing is half-saved."""
    tenancy.require_platform_admin(actor)
    checked = _checked(changes, allowed=SYSTEM_COLUMNS)
    row = system_defaults(session)
    for field, value in checked.items():
        setattr(row, SYSTEM_COLUMNS[field], QualityTier(value) if field == "image_quality_tier" else value)
    row.updated_by_id = actor.user_id
    session.flush()
    return get_system_defaults(session)


def get_effective(session: Session, actor: Actor) -> EffectiveAISettings:
    """The settings that apply to the account in scope."""
    return effective(session, account_id=tenancy.require_account(actor))


def save(session: Session, actor: Actor, **changes: object) -> EffectiveAISettings:
    """Store the account's overrides (owners/admins); every value is checked first, nothing is half-saved."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    fields = {v: k for k, v in KEYS.items()}
    checked = _checked(changes, allowed=fields)
    existing = {r.key: r for r in session.scalars(select(AccountSettings).where(
        AccountSettings.account_id == account_id, AccountSettings.key.in_([fields[f] for f in checked])))}
    for field, value in checked.items():
        row = existing.get(fields[field])
        if row is None:
            session.add(AccountSettings(account_id=account_id, key=fields[field], value=value))
        else:
            row.value = value
            row.updated_at = utcnow()
    session.flush()
    return effective(session, account_id=account_id)


def reset(session: Session, actor: Actor) -> EffectiveAISettings:
    """Drop the account's overrides: the system defaults apply again."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    session.execute(delete(AccountSettings).where(AccountSettings.account_id == account_id,
                                                  AccountSettings.key.in_(KEYS)))
    return effective(session, account_id=account_id)


def quality_tiers(session: Session) -> list[TierOption]:
    """The image quality tiers with their credits per image (from the active image models)."""
    labels = {"basic": "Basic", "quality": "Quality", "premium": "Premium"}
    rows = session.scalars(select(AIModelConfig).where(
        AIModelConfig.model_type == "image", AIModelConfig.is_active.is_(True), AIModelConfig.quality_tier.is_not(None))
        .order_by(AIModelConfig.is_default.desc(), AIModelConfig.id))
    tiers: dict[str, TierOption] = {}
    for m in rows:
        tier = str(m.quality_tier)
        tiers.setdefault(tier, TierOption(tier, m.credits_per_image or 0, labels.get(tier, tier), m.model_name))
    return [tiers[t] for t in ("basic", "quality", "premium") if t in tiers]


def as_dict(s: EffectiveAISettings) -> dict:
    """Plain dict of the settings (for CLI and JSON output)."""
    return asdict(s)
