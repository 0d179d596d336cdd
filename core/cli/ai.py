"""Operator commands of the AI engine: providers, account AI settings and the system AI defaults.

Registered by core.cli (EXTENSIONS). Secrets are never printed in full, only masked; a key is best given through
an environment variable (--api-key-env), so it stays out of the shell history and the process list.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from sqlalchemy.orm import Session

from core.ai import models as ai_models
from core.ai import providers
from core.ai import settings as ai_settings
from core.cli import main as cli
from core.errors import ValidationFailed
from core.runtime import Runtime
from core.tenancy import operator_actor

SETTING_NAMES = {field: field for field in ai_settings.KEYS.values()} | dict(ai_settings.KEYS)
# the system defaults by their setting names and by their column names (max_images_per_article …)
SYSTEM_NAMES = {field: field for field in ai_settings.SYSTEM_COLUMNS} | {
    column: field for field, column in ai_settings.SYSTEM_COLUMNS.items()}


# --- Providers --------------------------------------------------------------------------------------------------

def _provider_view(session: Session, provider_id: str) -> providers.ProviderView:
    found = [p for p in providers.list_providers(session, operator_actor()) if p.provider_id == provider_id]
    if not found:
        known = ", ".join(p.provider_id for p in providers.list_providers(session, operator_actor()))
        raise ValidationFailed(f"There is no provider “{provider_id}” (known: {known}).")
    return found[0]


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_env is None:
        return args.api_key
    value = os.environ.get(args.api_key_env, "").strip()
    if not value:
        raise ValidationFailed(f"The environment variable {args.api_key_env} is not set or empty.")
    return value


def _make_default(session: Session, provider_id: str, model_name: str, model_type: str) -> str:
    model = ai_models.get_by_name(session, model_name=model_name)
    if str(model.model_type) != model_type:
        raise ValidationFailed(f"“{model_name}” is a {model.model_type} model, so it cannot be the default "
                               f"{model_type} model.")
    if model.provider != provider_id:
        raise ValidationFailed(f"“{model_name}” belongs to provider {model.provider}, not {provider_id}.")
    ai_models.set_default(session, operator_actor(), model_id=model.id)
    return f"Default {model_type} model: {model.model_name} ({model.display_name})."


def cmd_configure_provider(session: Session, args: argparse.Namespace) -> list[str]:
    config = None
    if args.keyless is not None:
        config = {k: v for k, v in _provider_view(session, args.provider).config.items() if k != "allow_no_key"}
        config |= {"allow_no_key": True} if args.keyless else {}
    view = providers.update_provider(session, operator_actor(), provider_id=args.provider, api_key=_api_key(args),
                                     api_endpoint=args.endpoint, is_active=args.active, config=config)
    lines = [f"Provider {view.provider_id} ({view.display_name}): endpoint {view.api_endpoint or '(default)'}, "
             f"{'active' if view.is_active else 'inactive'}{', sandbox' if view.is_sandbox else ''}, "
             f"API key {view.api_key_masked or '(none)'}"
             f"{', no key needed' if view.config.get('allow_no_key') else ''}."]
    for name, mtype in ((args.default_text_model, "text"), (args.default_image_model, "image")):
        if name:
            lines.append(_make_default(session, args.provider, name, mtype))
    return lines


def cmd_test_provider(rt: Runtime, args: argparse.Namespace) -> list[str]:
    from core.ai import engine  # the AI client stack loads only for the command that calls out
    from core.ai.errors import AIProviderError

    check = engine.check_provider(rt, operator_actor(), provider_id=args.provider, model=args.model)
    if not check.ok:
        raise AIProviderError(check.message)
    return [check.message, *(f"  {m}" for m in check.models[:100])]


# --- Credits ----------------------------------------------------------------------------------------------------

# --- AI settings --------------------------------------------------------------------------------------------------

def _setting_rows(settings: ai_settings.EffectiveAISettings) -> cli.Rows:
    return [{"setting": k, "value": v} for k, v in ai_settings.as_dict(settings).items()]


def cmd_ai_settings(session: Session, args: argparse.Namespace) -> cli.Rows:
    acct = cli.find_account(session, args.account)
    actor = operator_actor(acct.id)
    changes = cli.assignments(args.set or [], SETTING_NAMES)
    if args.reset:
        ai_settings.reset(session, actor)
    effective = ai_settings.save(session, actor, **changes) if changes else ai_settings.get_effective(session, actor)
    return _setting_rows(effective)


def cmd_system_ai_settings(session: Session, args: argparse.Namespace) -> cli.Rows:
    changes = cli.assignments(args.set or [], SYSTEM_NAMES)
    if changes:
        return _setting_rows(ai_settings.update_system_defaults(session, operator_actor(), **changes))
    return _setting_rows(ai_settings.get_system_defaults(session))


# --- Registration -----------------------------------------------------------------------------------------------

def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the AI and credit commands to the CLI."""
    p = command("configure-provider", cmd_configure_provider,
                "Set a provider's API key, endpoint (any OpenAI-compatible base URL), state and default models.")
    p.add_argument("--provider", required=True, metavar="ID", help="openai, runware, anthropic …")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--api-key", metavar="K", help="visible in the process list: prefer --api-key-env")
    key.add_argument("--api-key-env", metavar="VAR", help="read the key from this environment variable")
    p.add_argument("--endpoint", metavar="URL", help="e.g. http://localhost:11434/v1 for Ollama")
    p.add_argument("--default-text-model", metavar="NAME")
    p.add_argument("--default-image-model", metavar="NAME")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--active", dest="active", action="store_true", default=None)
    state.add_argument("--inactive", dest="active", action="store_false")
    p.add_argument("--keyless", action=argparse.BooleanOptionalAction, default=None,
                   help="the server needs no API key (a local Ollama or LM Studio)")
    p = command("test-provider", cmd_test_provider, "Check that a provider answers with the stored key and endpoint.",
                own_transactions=True)
    p.add_argument("--provider", required=True, metavar="ID")
    p.add_argument("--model", metavar="NAME", help="a model to ping when the server cannot list its models")
    p = command("ai-settings", cmd_ai_settings, "Show or change an account's AI settings (overrides of the system "
                "defaults).")
    p.add_argument("--account", required=True, metavar="SLUG|ID")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE",
                   help=f"names: {', '.join(ai_settings.KEYS.values())}")
    p.add_argument("--reset", action="store_true", help="drop the account's overrides first")
    p.add_argument("--json", action="store_true")
    p = command("system-ai-settings", cmd_system_ai_settings, "Show or change the system AI defaults (every account "
                "without an override of a setting follows them).")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE", help=f"names: {', '.join(ai_settings.SYSTEM_COLUMNS)}")
    p.add_argument("--json", action="store_true")
