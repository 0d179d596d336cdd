"""What every AI function shares: the job shape (prepare → call → record), the text model setup, asking for
JSON with validation and retries, and the pricing of a job from its actual usage."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import client, providers
from core.ai import models as ai_models
from core.ai import settings as ai_settings
from core.ai.errors import AIOutputError, OutputRejected
from core.ai.providers import ProviderConnection
from core.ai.schemas import _Input, describe, parse_json_object
from core.ai.settings import EffectiveAISettings
from core.billing import pricing
from core.billing.credits import Usage
from core.tenancy import Actor
from db.models import AIModelConfig, CreditCostConfig

Progress = Callable[[int, int, str], None]
OutputT = TypeVar("OutputT", bound=BaseModel)
OUTPUT_ATTEMPTS = 3  # a malformed or cut-off answer is asked for again this many times in all
SYSTEM_MESSAGE = ("You work for an SEO content team. Answer with one JSON object only, exactly in the format the "
                  "user asks for, without comments or text around it.")


@dataclass(frozen=True)
class Quantities:
    """How much a job did, for the operation's floor price (CreditCostConfig.unit decides which one counts)."""

    requests: int = 1
    items: int = 0
    words: int = 0
    images: int = 0


@dataclass
class Outcome:
    """What phase 3 wrote and what it costs."""

    credits: int
    usage: Usage
    created: dict[str, list[int]]
    message: str
    chargeable: bool = True  # False: nothing succeeded, so nothing is charged
    error: str | None = None  # raised to the caller after the statuses were committed
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TextSetup:
    """Everything a text call needs, as plain data (it outlives the phase-1 transaction), and the meter: every
    answer the provider sent (and billed us for), kept or thrown away, with its prompt."""

    conn: ProviderConnection
    model: str
    temperature: float | None
    max_tokens: int
    max_tokens_param: str
    json_mode: bool
    meter: list[tuple[str, client.ChatResult]] = field(default_factory=list, compare=False, repr=False)


def floor_credits(session: Session, operation: str, q: Quantities) -> int:
    """The operation's base credits times the quantity its unit counts (never below one unit)."""
    base = pricing.base_credits(session, operation_type=operation)
    unit = session.get(CreditCostConfig, operation).unit  # type: ignore[union-attr]  # base_credits checked it
    count = {"per_request": q.requests, "per_item": q.items, "per_100_words": math.ceil(q.words / 100),
             "per_image": q.images}.get(unit, q.requests)
    return base * max(count, 1)


def text_setup(session: Session, model: AIModelConfig, settings: EffectiveAISettings) -> TextSetup:
    """Connection and call parameters of a text model under the account's effective settings."""
    caps = model.capabilities or {}
    limit = min(settings.max_tokens, model.max_tokens or settings.max_tokens)
    conn = providers.connection(session, provider_id=model.provider)
    return TextSetup(conn, model.model_name, None if caps.get("temperature") is False else settings.temperature,
                     limit, str(caps.get("max_tokens_param") or "max_tokens"), bool(caps.get("json_mode", True)))


@dataclass(frozen=True)
class Answer:
    """One accepted answer and what it used."""

    output: BaseModel
    result: client.ChatResult
    prompt: str
    discarded: int  # answers thrown away (malformed, cut off) before this one


def ask_json(setup: TextSetup, prompt: str, schema: type[OutputT], what: str,
             check: Callable[[OutputT], OutputT] | None = None) -> Answer:
    """Ask for JSON matching `schema` (and `check`); a malformed or cut-off answer is asked for again, then
    AIOutputError. Provider faults (429, 5xx, timeouts) are retried inside client.chat."""
    messages = [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": prompt}]
    problems: list[str] = []
    for attempt in range(OUTPUT_ATTEMPTS):
        result = client.chat(setup.conn, model=setup.model, messages=messages, max_tokens=setup.max_tokens,
                             temperature=setup.temperature, json_mode=setup.json_mode,
                             max_tokens_param=setup.max_tokens_param)
        setup.meter.append((prompt, result))
        if result.finish_reason == "length":
            problems.append("length")
            continue
        try:
            output = schema.model_validate(parse_json_object(result.text))
            output = check(output) if check else output
        except ValueError as exc:  # JSON errors, ValidationError and OutputRejected are all ValueErrors
            problems.append(describe(exc) if isinstance(exc, ValidationError) else str(exc)[:200])
            continue
        return Answer(output, result, prompt, attempt)
    if all(p == "length" for p in problems):
        raise AIOutputError(f"The AI's answer for {what} was cut off at the {setup.max_tokens:,}-token limit "
                            f"{len(problems)} times in a row. Raise “Max tokens” in AI settings or ask for less. "
                            "Nothing was charged.", attempts=len(problems))
    last = next(p for p in reversed(problems) if p != "length")
    raise AIOutputError(f"The AI's answer for {what} was not usable after {len(problems)} tries (last problem: "
                        f"{last}). Nothing was charged; try again.", attempts=len(problems))


def reject(message: str) -> OutputRejected:
    """An answer that parsed but fails our checks (asked for again)."""
    return OutputRejected(message)


class Job:
    """One AI function run: phase 1 prepare (in a transaction), phase 2 call (no transaction), phase 3 record."""

    function: ClassVar[str]
    operation: ClassVar[str]
    object_type: ClassVar[str]
    input_schema: ClassVar[type[_Input]]

    def __init__(self, params: _Input):
        self.params = params
        self.account_id = 0
        self.site_id: int | None = None
        self.model_name = ""

    @property
    def object_id(self) -> int:
        return int(getattr(self.params, f"{self.object_type}_id"))

    @property
    def steps(self) -> int:
        return 1

    def prepare(self, session: Session, actor: Actor) -> None:
        raise NotImplementedError

    def estimate_credits(self, session: Session) -> int:
        raise NotImplementedError

    def call(self, progress: Progress) -> None:
        raise NotImplementedError

    def record(self, session: Session, actor: Actor) -> Outcome:
        raise NotImplementedError

    def discard(self) -> None:
        """Undo what call() left outside the database (files) when recording fails."""

    def spent(self, session: Session) -> Usage | None:
        """What the provider billed for this run so far (None: nothing), for a 0-credit usage row when the run
        fails or its results are thrown away."""
        return None


class TextJob(Job):
    """A job of one or more JSON chat calls on the default text model."""

    def __init__(self, params: _Input):
        super().__init__(params)
        self.setup: TextSetup | None = None
        self.prompts: list[str] = []
        self.answers: list[Answer] = []

    def prepare_model(self, session: Session, actor: Actor) -> EffectiveAISettings:
        """The account's settings, and the default text model with its provider connection."""
        self.account_id = tenancy.require_account(actor)
        settings = ai_settings.effective(session, account_id=self.account_id)
        model = ai_models.default_model(session, model_type="text")
        self.setup, self.model_name = text_setup(session, model, settings), model.model_name
        return settings

    def planned(self) -> Quantities:
        """The quantities the estimate assumes (before the call)."""
        return Quantities(requests=len(self.prompts))

    def actual(self) -> Quantities:
        """The quantities actually produced (after the call)."""
        return Quantities(requests=len(self.answers))

    def estimate_credits(self, session: Session) -> int:
        model = ai_models.get_by_name(session, model_name=self.model_name)
        assert self.setup is not None
        tokens_in = sum(pricing.estimate_tokens(SYSTEM_MESSAGE + p) for p in self.prompts)
        return pricing.text_credits(model, tokens_in=tokens_in, tokens_out=self.setup.max_tokens * len(self.prompts),
                                    base=floor_credits(session, self.operation, self.planned()))

    def tokens(self) -> tuple[int, int]:
        """Input and output tokens of the accepted answers (what credits are priced on)."""
        return _sum_tokens((a.prompt, a.result) for a in self.answers)

    def usage(self, session: Session, *, related_type: str, related_id: int | None) -> tuple[int, Usage]:
        """Credits of the accepted answers, and the usage row of every answer the provider sent (the thrown-away
        ones cost the account nothing, but their tokens and USD are what the provider billed)."""
        model = ai_models.get_by_name(session, model_name=self.model_name)
        tin, tout = self.tokens()
        amount = pricing.text_credits(model, tokens_in=tin, tokens_out=tout,
                                      base=floor_credits(session, self.operation, self.actual()))
        meta = {"calls": len(self.answers), "attempts": sum(a.result.attempts for a in self.answers),
                "discarded_answers": sum(a.discarded for a in self.answers),
                "charged_tokens_input": tin, "charged_tokens_output": tout}
        return amount, self._metered(model, related_type=related_type, related_id=related_id, metadata=meta)

    def spent(self, session: Session) -> Usage | None:
        if self.setup is None or not self.setup.meter:
            return None
        model = ai_models.get_by_name(session, model_name=self.model_name)
        return self._metered(model, related_type=self.object_type, related_id=self.object_id,
                             metadata={"answers": len(self.setup.meter)})

    def _metered(self, model: AIModelConfig, *, related_type: str, related_id: int | None, metadata: dict) -> Usage:
        """A usage row of everything on the meter, priced at the model's current USD prices."""
        meter = self.setup.meter if self.setup is not None else []
        tin, tout = _sum_tokens(meter)
        return Usage(operation_type=self.operation, model_used=self.model_name, tokens_input=tin, tokens_output=tout,
                     cost_usd=pricing.text_cost_usd(model, tokens_in=tin, tokens_out=tout), site_id=self.site_id,
                     related_object_type=related_type, related_object_id=related_id,
                     metadata={**metadata, "usage_estimated": any(not r.usage_reported for _, r in meter)})


def _sum_tokens(answers: Iterable[tuple[str, client.ChatResult]]) -> tuple[int, int]:
    """Input and output tokens of (prompt, answer) pairs, estimated when a server reports no usage."""
    tin = tout = 0
    for prompt, result in answers:
        reported = result.usage_reported
        tin += result.prompt_tokens if reported else pricing.estimate_tokens(SYSTEM_MESSAGE + prompt)
        tout += result.completion_tokens if reported else pricing.estimate_tokens(result.text)
    return tin, tout
