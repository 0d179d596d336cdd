"""Demo credit usage: price past AI calls from the reference configuration and charge them through the real ledger."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.billing import credits, pricing
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.enums import ModelType
from db.models import AIModelConfig, CreditCostConfig

# Which models the demo team used for what (name, weight); a model missing from the configuration falls back
# to the default model of its type.
MODEL_CHOICES: dict[str, tuple[tuple[str, int], ...]] = {
    "clustering": (("gpt-4o-mini", 1),),
    "idea_generation": (("gpt-4o", 2), ("gpt-4o-mini", 1)),
    "content_generation": (("gpt-4o", 3), ("gpt-5.1", 2)),
    "image_prompt_extraction": (("gpt-4o-mini", 1),),
    "image_generation": (("dall-e-3", 4), ("runware:97@1", 3), ("bria:10@1", 2), ("google:4@2", 1)),
    "optimization": (("gpt-4o-mini", 2), ("gpt-4o", 1)),
}
IMAGE_OPERATIONS = frozenset({"image_generation"})


@dataclass(frozen=True)
class UsageEvent:
    """One past AI call of the demo: when, by whom, what for."""

    at: datetime
    who: str  # "owner" | "admin" | "editor" | "system"
    operation: str  # a CreditCostConfig.operation_type
    site_id: int
    related_type: str
    related_id: int | None
    description: str
    words: int = 0  # article length: per_100_words pricing and token estimates
    items: int = 1  # ideas made, images made, keywords clustered


@dataclass(frozen=True)
class UsageTotals:
    usage_logs: int
    grants: int
    credits_used: int
    cost_usd: Decimal


def _tokens(rng: random.Random, ev: UsageEvent) -> tuple[int, int]:
    """Plausible input/output tokens of the call."""
    if ev.operation == "clustering":
        return ev.items * 7 + 600, ev.items * 5
    if ev.operation == "idea_generation":
        return rng.randint(1200, 2000), 260 * ev.items
    if ev.operation == "content_generation":
        return rng.randint(1800, 3200), int(ev.words * 1.35)
    if ev.operation == "image_prompt_extraction":
        return int(ev.words * 1.35) + 400, rng.randint(150, 320)
    if ev.operation == "optimization":
        return int(ev.words * 1.35) + 600, rng.randint(400, 900)
    return 0, 0


def price(session: Session, model: AIModelConfig, ev: UsageEvent, tokens_in: int,
          tokens_out: int) -> tuple[int, Decimal]:
    """(credits, provider cost in USD) through core.billing.pricing; the operation's base is taken per its unit
    (per_100_words, per_item), so a long article or a batch of ideas costs more than one request."""
    base = pricing.base_credits(session, operation_type=ev.operation)  # refuses an unknown or switched-off one
    if model.model_type == ModelType.image:
        return (pricing.image_credits(model, images=ev.items),
                pricing.image_cost_usd(model, images=ev.items))
    cost = session.get(CreditCostConfig, ev.operation)
    units = {"per_100_words": math.ceil(ev.words / 100), "per_item": ev.items}.get(cost.unit, 1)
    return (pricing.text_credits(model, tokens_in=tokens_in, tokens_out=tokens_out, base=base * max(units, 1)),
            pricing.text_cost_usd(model, tokens_in=tokens_in, tokens_out=tokens_out))


class _Models:
    """The active models of the reference data, picked per operation."""

    def __init__(self, session: Session):
        self.by_name = {m.model_name: m for m in session.scalars(select(AIModelConfig)
                                                                 .where(AIModelConfig.is_active.is_(True)))}

    def pick(self, rng: random.Random, operation: str) -> AIModelConfig:
        names, weights = zip(*MODEL_CHOICES.get(operation, (("gpt-4o-mini", 1),)), strict=True)
        picked = self.by_name.get(rng.choices(names, weights=weights)[0])
        if picked is not None:
            return picked
        kind = ModelType.image if operation in IMAGE_OPERATIONS else ModelType.text
        fallback = sorted((m for m in self.by_name.values() if m.model_type == kind),
                          key=lambda m: (not m.is_default, m.model_name))
        if not fallback:
            raise ValidationFailed(f"No active {kind.value} model is configured.")
        return fallback[0]


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first instant (UTC) of every calendar month that begins after `start` and by `end`."""
    out: list[datetime] = []
    year, month = start.year, start.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        first = datetime(year, month, 1, tzinfo=UTC)
        if first > end:
            return out
        out.append(first)


def charge_all(session: Session, actors: dict[str, Actor], *, account_id: int, events: list[UsageEvent],
               start: datetime, now: datetime, rng: random.Random) -> UsageTotals:
    """The plan's credits first, then every event in time order through credits.charge (a new month's credits
    arrive at its first instant); the ledger stays append-only with a correct balance_after."""
    models = _Models(session)
    grants = [start, *month_starts(start, now)]
    timeline = sorted([(at, 0, None) for at in grants] + [(ev.at, 1, ev) for ev in events],
                      key=lambda item: (item[0], item[1]))
    used, usd, logs, granted = 0, Decimal(0), 0, 0
    for n, (at, _, ev) in enumerate(timeline):
        if ev is None:
            granted += credits.grant_plan_period(session, tenancy.system_actor(account_id), now=at) is not None
            continue
        model = models.pick(rng, ev.operation)
        tokens_in, tokens_out = _tokens(rng, ev) if model.model_type == ModelType.text else (0, 0)
        amount, dollars = price(session, model, ev, tokens_in, tokens_out)
        label = session.get(CreditCostConfig, ev.operation).display_name
        usage = credits.Usage(operation_type=ev.operation, model_used=model.model_name, tokens_input=tokens_in,
                              tokens_output=tokens_out, cost_usd=dollars, site_id=ev.site_id,
                              related_object_type=ev.related_type, related_object_id=ev.related_id,
                              metadata={"demo": True, "items": ev.items})
        credits.charge(session, actors[ev.who], credits=amount, idempotency_key=f"demo:{n}",
                       description=f"{label}: {ev.description}"[:1000], usage=usage, now=at)
        used, usd, logs = used + amount, usd + dollars, logs + 1
    return UsageTotals(logs, granted, used, usd)
