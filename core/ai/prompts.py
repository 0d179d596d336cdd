"""Prompts per AI function (global default, per-account override, reset) and the voices that feed them."""
from __future__ import annotations

import string
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai.prompts_default import DEFAULT_PROMPTS, NO_AUTHOR, NO_SECTION_LOGIC, NO_STRATEGY
from core.common.text import clean_name
from core.errors import NotFound, ValidationFailed
from core.tenancy import Actor
from db.enums import Tone
from db.models import AIPrompt, AuthorProfile, GlobalAIPrompt, Strategy

MAX_PROMPT = 20_000
STRATEGY_PROMPTS = {"content_generation": "articles", "ideas": "ideas"}  # the prompts a strategy feeds
MAX_RULES, MAX_RULE = 50, 1000  # section rules of a strategy: how many, and characters per rule


@dataclass(frozen=True)
class PromptView:
    prompt_type: str
    text: str
    variables: list[str]  # every variable the engine fills in
    is_override: bool
    default_text: str
    optional: list[str] = field(default_factory=list)  # the ones a prompt may leave out

    @property
    def required(self) -> list[str]:
        return [v for v in self.variables if v not in self.optional]


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
    # The engine fills what the code says; the stored list is what the row was seeded (or migrated) with.
    spec = DEFAULT_PROMPTS.get(prompt_type, {})
    return PromptView(prompt_type, own.prompt_value if own else g.prompt_value,
                      list(spec.get("variables", g.variables)), own is not None, g.prompt_value,
                      list(spec.get("optional", [])))


def list_prompts(session: Session, actor: Actor) -> list[PromptView]:
    """Every prompt type with what is in force for the account in scope."""
    account_id = tenancy.require_account(actor)
    types = session.scalars(select(GlobalAIPrompt.prompt_type).order_by(GlobalAIPrompt.prompt_type))
    return [get_prompt(session, account_id=account_id, prompt_type=t) for t in types]


def save_override(session: Session, actor: Actor, *, prompt_type: str, text: str) -> PromptView:
    """Set the account's own prompt after checking its variables (owners/admins)."""
    tenancy.require_admin(actor)
    account_id = tenancy.require_account(actor)
    view = get_prompt(session, account_id=account_id, prompt_type=prompt_type)
    check_template(text, view.variables, view.required)
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
    """The prompt in force with its variables filled in (the required ones, and every one it uses, must be given)."""
    view = get_prompt(session, account_id=account_id, prompt_type=prompt_type)
    try:
        problem, used = template_problem(view.text, view.variables), variables_of(view.text)
    except ValidationFailed as exc:
        problem, used = str(exc), set()
    if problem:  # a prompt stored before the checks it now fails
        whose = "This account's own" if view.is_override else "The default"
        raise ValidationFailed(f"{whose} “{prompt_type}” prompt cannot be used: {problem} An owner or admin can "
                               "correct it under Prompts & voices, or reset it to the default.")
    missing = sorted((set(view.required) | used) - set(values))
    if missing:
        raise ValidationFailed(f"Prompt “{prompt_type}” needs {', '.join(missing)}.")
    return view.text.format(**{k: values[k] for k in used})


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


def strategies_for(session: Session, actor: Actor, *, prompt_type: str, sector_id: int | None = None
                   ) -> list[Strategy]:
    """The strategies that may feed `prompt_type` (ideas, content_generation) in a sector: meant for that prompt
    (or for every prompt) and for that sector (or for none)."""
    if prompt_type not in STRATEGY_PROMPTS:
        raise ValidationFailed(f"Strategies feed {', '.join(STRATEGY_PROMPTS)}, not {prompt_type}.")
    return [st for st in list_strategies(session, actor)
            if (not st.prompt_types or prompt_type in st.prompt_types)
            and (st.sector_id is None or st.sector_id == sector_id)]


def strategy_choices(session: Session, actor: Actor, *, prompt_type: str, sector_id: int | None = None
                     ) -> dict[int, str]:
    """strategies_for() as a picker's options: id → name (shared ones marked)."""
    return {st.id: st.name + (" (shared)" if st.account_id is None else "")
            for st in strategies_for(session, actor, prompt_type=prompt_type, sector_id=sector_id)}


def create_strategy(session: Session, actor: Actor, *, name: str, description: str = "",
                    sector_id: int | None = None, site_id: int | None = None, prompt_types: list[str] | None = None,
                    section_logic: dict[str, object] | None = None) -> Strategy:
    """An account's own strategy, optionally for one sector and for some prompts only (none: every prompt that
    takes a strategy)."""
    tenancy.require_write(actor)
    account_id = tenancy.require_account(actor)
    if sector_id is not None:
        if site_id is None:
            raise ValidationFailed("Give the site of the sector.")
        tenancy.sector_for_write(session, actor, site_id=site_id, sector_id=sector_id)
    types = list(dict.fromkeys(prompt_types or []))
    wrong = [t for t in types if t not in STRATEGY_PROMPTS]
    if wrong:
        raise ValidationFailed(f"A strategy cannot feed {', '.join(wrong)}; it can feed "
                               f"{', '.join(STRATEGY_PROMPTS)}.")
    st = Strategy(account_id=account_id, sector_id=sector_id, name=clean_name(name, "Strategy name"),
                  description=(description or "").strip()[:5000], prompt_types=types,
                  section_logic=_checked_logic(section_logic or {}))
    session.add(st)
    session.flush()
    return st


# --- what a profile and a strategy put into a prompt ---

def _checked_logic(logic: dict[str, object]) -> dict[str, object]:
    """Section rules as name → rule (text, number, or a list of them), within bounds."""
    if len(logic) > MAX_RULES:
        raise ValidationFailed(f"A strategy has at most {MAX_RULES} section rules (got {len(logic)}).")
    for name, rule in logic.items():
        if not str(name).strip() or len(str(name)) > 100:
            raise ValidationFailed("Each section rule needs a name of at most 100 characters.")
        if len(_rule_text(rule)) > MAX_RULE:
            raise ValidationFailed(f"Section rule “{name}” is too long (at most {MAX_RULE:,} characters).")
    return {str(k).strip(): v for k, v in logic.items()}


def section_logic_from_text(text: str) -> dict[str, str]:
    """Section rules typed one per line as “name: rule” (blank lines skipped)."""
    logic: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, rule = line.partition(":")
        if not colon or not name.strip() or not rule.strip():
            raise ValidationFailed(f"Section logic line {number} should read “name: rule”, e.g. “intro: a short "
                                   f"hook of two sentences” (got “{line.strip()[:80]}”).")
        logic[name.strip()] = rule.strip()
    return _checked_logic(logic)


def _rule_text(rule: object) -> str:
    if isinstance(rule, list | tuple):
        return ", ".join(_rule_text(r) for r in rule)
    if isinstance(rule, dict):
        return "; ".join(f"{k}: {_rule_text(v)}" for k, v in rule.items())
    return " ".join(str(rule).split())


def describe_section_logic(logic: object) -> str:
    """Section rules as prompt lines: {"hub_min_words": 2000} → "- hub min words: 2000"."""
    if isinstance(logic, dict):
        return "\n".join(f"- {str(k).replace('_', ' ')}: {_rule_text(v)}" for k, v in logic.items())
    if isinstance(logic, list):
        return "\n".join(f"- {_rule_text(v)}" for v in logic)
    return _rule_text(logic) if logic else ""


def _voice_row(session: Session, actor: Actor, model: type[AuthorProfile] | type[Strategy], row_id: int,
               what: str) -> AuthorProfile | Strategy:
    """An active profile or strategy the actor may use: the account's own or a global one."""
    row = session.scalars(tenancy.scoped(select(model).where(model.id == row_id, model.is_active.is_(True)),
                                         model, actor)).one_or_none()
    if row is None:
        raise NotFound(f"{what} #{row_id} was not found.")
    return row


def author_values(session: Session, actor: Actor, *, author_profile_id: int | None) -> dict[str, str]:
    """tone, language and author_description for a prompt: from the chosen profile, else the defaults."""
    if author_profile_id is None:
        return {"tone": str(Tone.professional), "language": "en", "author_description": NO_AUTHOR}
    profile = _voice_row(session, actor, AuthorProfile, author_profile_id, "Author profile")
    return {"tone": str(profile.tone), "language": profile.language,
            "author_description": " ".join(profile.description.split()) or NO_AUTHOR}


def strategy_values(session: Session, actor: Actor, *, strategy_id: int | None, prompt_type: str,
                    sector_id: int) -> dict[str, str]:
    """strategy and section_logic for a prompt: from the chosen strategy (it must be meant for this prompt and,
    when it has one, this sector), else the defaults."""
    if strategy_id is None:
        return {"strategy": NO_STRATEGY, "section_logic": NO_SECTION_LOGIC}
    st = _voice_row(session, actor, Strategy, strategy_id, "Strategy")
    if st.prompt_types and prompt_type not in st.prompt_types:
        meant = ", ".join(STRATEGY_PROMPTS.get(t, t) for t in st.prompt_types)
        raise ValidationFailed(f"Strategy “{st.name}” is meant for {meant}, not {STRATEGY_PROMPTS[prompt_type]}.")
    if st.sector_id is not None and st.sector_id != sector_id:
        raise ValidationFailed(f"Strategy “{st.name}” is for another sector.")
    description = " ".join(st.description.split())
    return {"strategy": f"{st.name}: {description}" if description else st.name,
            "section_logic": describe_section_logic(st.section_logic) or NO_SECTION_LOGIC}
