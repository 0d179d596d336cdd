"""AI and service providers (IntegrationProvider): global rows, secrets encrypted at rest, shown masked, editable
by platform admins only (tenancy.require_platform_admin)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import limits
from core.common import vault
from core.errors import NotFound, ValidationFailed
from core.tenancy import Actor
from db.models import IntegrationProvider

SECRET_FIELDS = ("api_key", "api_secret", "webhook_secret")


@dataclass(frozen=True)
class ProviderView:
    """What a screen may show of a provider: secrets masked."""

    provider_id: str
    display_name: str
    provider_type: str
    api_endpoint: str
    is_active: bool
    is_sandbox: bool
    api_key_masked: str
    api_secret_masked: str
    webhook_secret_masked: str
    config: dict


@dataclass(frozen=True)
class ProviderConnection:
    """What an adapter needs to call out: the plaintext key never leaves core."""

    provider_id: str
    api_key: str
    base_url: str | None
    config: dict
    # the database whose shared limits the calls obey (None: this process's own; see core/ai/limits.py)
    limits_engine: Any = field(default=None, compare=False, repr=False)


def _view(p: IntegrationProvider) -> ProviderView:
    masks = {f: vault.mask(vault.decrypt(getattr(p, f))) for f in SECRET_FIELDS}
    return ProviderView(p.provider_id, p.display_name, str(p.provider_type), p.api_endpoint, p.is_active,
                        p.is_sandbox, masks["api_key"], masks["api_secret"], masks["webhook_secret"], dict(p.config))


def list_providers(session: Session, actor: Actor) -> list[ProviderView]:
    """Every provider, secrets masked (admins and developers)."""
    tenancy.require_admin(actor)
    return [_view(p) for p in session.scalars(select(IntegrationProvider).order_by(IntegrationProvider.provider_id))]


def _get(session: Session, provider_id: str) -> IntegrationProvider:
    p = session.get(IntegrationProvider, provider_id)
    if p is None:
        raise NotFound(f"There is no provider “{provider_id}”.")
    return p


def _endpoint(value: str) -> str:
    url = (value or "").strip()
    if not url:
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 500:
        raise ValidationFailed(f"“{value}” is not an http(s) URL such as https://api.openai.com/v1.")
    return url.rstrip("/")


def _secret(value: str, what: str) -> str:
    secret = (value or "").strip()
    if len(secret) > 2000 or any(c.isspace() for c in secret):
        raise ValidationFailed(f"The {what} must be one word of at most 2,000 characters.")
    return vault.encrypt(secret)


def update_provider(session: Session, actor: Actor, *, provider_id: str, api_key: str | None = None,
                    api_secret: str | None = None, webhook_secret: str | None = None,
                    api_endpoint: str | None = None, is_active: bool | None = None, is_sandbox: bool | None = None,
                    config: dict | None = None) -> ProviderView:
    """Change a provider (platform admins); a secret left as None keeps its stored value, "" clears it."""
    tenancy.require_platform_admin(actor)
    p = _get(session, provider_id)
    for name, value in (("api_key", api_key), ("api_secret", api_secret), ("webhook_secret", webhook_secret)):
        if value is not None:
            setattr(p, name, _secret(value, name.replace("_", " ")))
    if api_endpoint is not None:
        p.api_endpoint = _endpoint(api_endpoint)
    if is_active is not None:
        p.is_active = is_active
    if is_sandbox is not None:
        p.is_sandbox = is_sandbox
    if config is not None:
        if not isinstance(config, dict):
            raise ValidationFailed("The provider config must be a JSON object.")
        p.config = config
    p.updated_by_id = actor.user_id
    session.flush()
    return _view(p)


def connection(session: Session, *, provider_id: str) -> ProviderConnection:
    """The decrypted connection of an active provider, for the adapter that calls it."""
    p = _get(session, provider_id)
    if not p.is_active:
        raise ValidationFailed(f"Provider “{p.display_name}” is switched off. Ask the platform team (the team "
                               "running this dashboard) to enable it on the “AI providers & models” screen.")
    key = vault.decrypt(p.api_key)
    if not key and not p.config.get("allow_no_key"):
        raise ValidationFailed(f"Provider “{p.display_name}” has no API key. Ask the platform team (the team "
                               "running this dashboard) to set one on the “AI providers & models” screen.")
    return ProviderConnection(p.provider_id, key, p.api_endpoint or None, dict(p.config),
                              limits.shared_engine(session.get_bind()))
