"""Prompts per AI function (global default, per-account override, reset) and the voices that feed them."""
from __future__ import annotations

import string
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import tenancy
from core.errors import NotFound, ValidationFailed
from core.tenancy import Actor
from core.text import clean_name
from db.enums import Tone
from db.models import AIPrompt, AuthorProfile, GlobalAIPrompt, Strategy

MAX_PROMPT = 20_000


@dataclass(frozen=True)
class PromptView:
    prompt_type: str
    text: str
    variables: list[str]
    is_override: bool
    default_text: str


@dataclass(frozen=True)
class Placeholder:
    """One {…} of a template as written: the name, and the format spec and conversion that are not allowed."""

    name: str
    spec: str
    conversion: str | None

    def __str__(self) -> str:
        return "{" + self.name + (f"!{self.conversion}" if self.conversion else "") + (
            f":{self.spec}" if self.spec else "") + "}"


def placeholders(text: str) -> list[Placeholder]:
    """The {placeholders} of a template in order ({{ and }} are literal braces)."""
    try:
        return [Placeholder(name, spec or "", conversion)
                for _, name, spec, conversion in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ValidationFailed(f"The prompt has an unbalanced brace: {exc}. Write {{{{ and }}}} for literal "
                               "braces.") from exc


def variables_of(text: str) -> set[str]:
    """The variable names a template uses."""
    return {p.name for p in placeholders(text)}


def _braced(names: list[str]) -> str:
    return ", ".join("{" + n + "}" for n in names)


def template_problem(text: str, allowed: list[str]) -> str | None:
    """Why a template cannot be filled in (unknown variables, format specs, conversions), or None."""
    used = placeholders(text)
    unknown = sorted({p.name for p in used if not p.name.isidentifier() or p.name not in allowed})
    if unknown:
        return (f"Unknown variable(s) {_braced(unknown)}. This prompt may use: {_braced(allowed) or 'none'}.")
    fancy = list(dict.fromkeys(str(p) for p in used if p.spec or p.conversion))
    if fancy:
        plain = list(dict.fromkeys("{" + p.name + "}" for p in used if p.spec or p.conversion))
        return (f"Write variables plain, as {', '.join(plain)}, not {', '.join(fancy)}: format specs (:…) and "
                "conversions (!…) are not allowed.")
    return None


def check_template(text: str, allowed: list[str], required: list[str] | None = None) -> None:
    """Refuse a prompt that is empty or too long, malformed, uses unknown variables or format specs or
    conversions, or misses a required variable (all allowed ones unless `required` says otherwise)."""
    if not (text or "").strip():
        raise ValidationFailed("The prompt cannot be empty.")
    if len(text) > MAX_PROMPT:
        raise ValidationFailed(f"The prompt is too long ({len(text):,} characters; at most {MAX_PROMPT:,}).")
    problem = template_problem(text, allowed)
    if problem:
        raise ValidationFailed(problem)
    missing = sorted(set(allowed if required is None else required) - variables_of(text))
    if missing:
        raise ValidationFailed(f"The prompt must use {_braced(missing)}: the AI needs them.")


def _global(session: Session, prompt_type: str) -> GlobalAIPrompt:
    g = session.scalars(select(GlobalAIPrompt).where(GlobalAIPrompt.prompt_type == prompt_type)).one_or_none()
    if g is None:
        raise NotFound(f"There is no prompt type “{prompt_type}”.")
    return g


def get_prompt(session: Session, *, account_id: int, prompt_type: str) -> PromptView:
    """The prompt in force for an account: its active override, else the global default."""
    g = _global(session, prompt_type)
    own = session.scalars(select(AIPrompt).where(AIPrompt.account_id == account_id,
                                                 AIPrompt.prompt_type == prompt_type,
                                                 AIPrompt.is_active.is_(True))).one_or_none()
    return PromptView(prompt_type, own.prompt_value if own else g.prompt_value, list(g.variables), own is not None,
                      g.prompt_value)


def list_prompts(session: Session, actor: Actor) -> list[PromptView]:
    """Every prompt type with what is in force for the account in scope."""
    account_id = tenancy.require_account(actor)
    types = session.scalars(select(GlobalAIPrompt.prompt_type).order_by(GlobalAIPrompt.prompt_type))
    return [get_prompt(session, account_id=account_id, prompt_type=t) for t in types]


def save_override(session: Session, actor: Actor, *, prompt_type: str, text: str) -> PromptView:
    """Set the account's own prompt after checking its variables (owners/admins)."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    g = _global(session, prompt_type)
    check_template(text, list(g.variables))
    own = session.scalars(select(AIPrompt).where(AIPrompt.account_id == account_id,
                                                 AIPrompt.prompt_type == prompt_type)).one_or_none()
    if own is None:
        session.add(AIPrompt(account_id=account_id, prompt_type=prompt_type, prompt_value=text, is_active=True))
    else:
        own.prompt_value, own.is_active = text, True
    session.flush()
    return get_prompt(session, account_id=account_id, prompt_type=prompt_type)


def reset_to_default(session: Session, actor: Actor, *, prompt_type: str) -> PromptView:
    """Drop the account's override: the global default applies again."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    _global(session, prompt_type)
    session.execute(delete(AIPrompt).where(AIPrompt.account_id == account_id, AIPrompt.prompt_type == prompt_type))
    return get_prompt(session, account_id=account_id, prompt_type=prompt_type)


def render(session: Session, *, account_id: int, prompt_type: str, values: dict[str, object]) -> str:
    """The prompt in force with its variables filled in (every declared variable must be given)."""
    view = get_prompt(session, account_id=account_id, prompt_type=prompt_type)
    missing = sorted(set(view.variables) - set(values))
    if missing:
        raise ValidationFailed(f"Prompt “{prompt_type}” needs {', '.join(missing)}.")
    try:
        problem = template_problem(view.text, view.variables)
    except ValidationFailed as exc:
        problem = str(exc)
    if problem:  # a prompt stored before the checks it now fails
        whose = "This account's own" if view.is_override else "The default"
        raise ValidationFailed(f"{whose} “{prompt_type}” prompt cannot be used: {problem} An owner or admin can "
                               "correct it under Prompts & voices, or reset it to the default.")
    return view.text.format(**{k: values[k] for k in variables_of(view.text)})


# --- voices: author profiles and strategies (global rows have account_id NULL) ---

def list_author_profiles(session: Session, actor: Actor) -> list[AuthorProfile]:
    """Global and the account's own author profiles."""
    stmt = tenancy.scoped(select(AuthorProfile).where(AuthorProfile.is_active.is_(True)), AuthorProfile, actor)
    return list(session.scalars(stmt.order_by(AuthorProfile.account_id.is_(None), AuthorProfile.name)))


def create_author_profile(session: Session, actor: Actor, *, name: str, tone: str, language: str = "en",
                          description: str = "") -> AuthorProfile:
    """An account's own writing voice."""
    tenancy.require_write(actor)
    account_id = tenancy.require_account(actor)
    try:
        tone_ = Tone(tone)
    except ValueError as exc:
        raise ValidationFailed(f"Tone must be one of {', '.join(t.value for t in Tone)}.") from exc
    lang = (language or "").strip().lower()
    if not (2 <= len(lang) <= 10 and lang.replace("-", "").isalpha()):
        raise ValidationFailed("Language must be a code such as en, de or pt-br.")
    p = AuthorProfile(account_id=account_id, name=clean_name(name, "Profile name"), tone=tone_, language=lang,
                      description=(description or "").strip()[:5000])
    session.add(p)
    session.flush()
    return p


def list_strategies(session: Session, actor: Actor) -> list[Strategy]:
    """Global and the account's own content strategies."""
    stmt = tenancy.scoped(select(Strategy).where(Strategy.is_active.is_(True)), Strategy, actor)
    return list(session.scalars(stmt.order_by(Strategy.account_id.is_(None), Strategy.name)))


def create_strategy(session: Session, actor: Actor, *, name: str, description: str = "",
                    sector_id: int | None = None, site_id: int | None = None) -> Strategy:
    """An account's own strategy, optionally for one sector."""
    tenancy.require_write(actor)
    account_id = tenancy.require_account(actor)
    if sector_id is not None:
        if site_id is None:
            raise ValidationFailed("Give the site of the sector.")
        tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    st = Strategy(account_id=account_id, sector_id=sector_id, name=clean_name(name, "Strategy name"),
                  description=(description or "").strip()[:5000])
    session.add(st)
    session.flush()
    return st
