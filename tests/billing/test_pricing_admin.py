"""The price table (CreditCostConfig) and the system AI defaults (SystemAISettings) in core: global rows that only
platform admins change, checked before anything is set; a new price applies to the next estimate and leaves past
charges alone; a new default reaches accounts without an override; the top-up on start keeps an admin's edits."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from core import reference, tenancy
from core.ai import engine, providers
from core.ai import settings as ai_settings
from core.billing import credits, pricing
from core.errors import AccessDenied, NotFound, ValidationFailed
from core.planner import clusters, keyword_edits
from db.enums import Role
from db.models import Account, CreditCostConfig, CreditTransaction, CreditUsageLog, SystemAISettings
from tests import factories as f

NEW_DEFAULTS = {"temperature": 0.2, "max_tokens": 4096, "image_style": "cartoon", "image_quality": "hd",
                "max_images": 6, "image_size": "1792x1024", "image_quality_tier": "premium"}


@pytest.fixture
def platform(session):
    return f.platform_admin(session)


@pytest.fixture
def owner(session):
    return f.owner_actor(session, f.account(session))


def _cost(session, operation: str) -> tuple:
    c = session.get(CreditCostConfig, operation)
    session.refresh(c)
    return c.base_credits, c.unit, c.is_active, c.display_name, c.previous_cost, c.updated_by_id


def _stored_defaults(session) -> ai_settings.EffectiveAISettings:
    session.expire_all()
    return ai_settings.get_system_defaults(session)


def test_the_price_table_lists_the_spec_defaults(session):
    listed = {c.operation_type: (c.display_name, c.base_credits, c.unit, c.description)
              for c in pricing.list_costs(session)}
    assert listed == {o: (n, b, u, d) for o, n, b, u, d in reference.CREDIT_COSTS}
    assert {c[3] for c in reference.CREDIT_COSTS} <= set(pricing.UNITS)
    assert ai_settings.as_dict(ai_settings.get_system_defaults(session)) == {
        "temperature": 0.7, "max_tokens": 8192, "image_style": "photorealistic", "image_quality": "standard",
        "max_images": 4, "image_size": "1024x1024", "image_quality_tier": "quality"}


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_a_customer_accounts_owner_or_admin_changes_neither(session, owner, role):
    customer = f.actor(session, f.user(session, session.get(Account, owner.account_id), role=role))
    system_editor = f.actor(session, f.user(session, f.account(session, is_system=True), role=Role.editor))
    before, defaults = _cost(session, "idea_generation"), _stored_defaults(session)
    for who in (customer, system_editor):
        err = f.refused(session, AccessDenied, lambda a=who: pricing.update_cost(
            session, a, operation_type="idea_generation", base_credits=9))
        assert str(err) == tenancy.PLATFORM_ONLY
        f.refused(session, AccessDenied, lambda a=who: ai_settings.update_system_defaults(session, a, temperature=1.5))
    assert _cost(session, "idea_generation") == before and _stored_defaults(session) == defaults
    assert pricing.list_costs(session) and ai_settings.get_system_defaults(session) == defaults  # reading is open


def test_a_price_change_prices_the_next_estimate_and_leaves_past_charges(session, platform):
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = f.site(session, acct)
    sector = f.sector(session, site)
    cluster = clusters.create(session, owner, site_id=site.id, sector_id=sector.id, name="Trail shoes")
    keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="trail shoes",
                           cluster_id=cluster.id)
    providers.update_provider(session, platform, provider_id="openai", api_key="sk-estimate-only-0000")
    credits.grant(session, tenancy.operator_actor(acct.id), amount=100, kind="purchase", reason="test")

    def quote() -> int:
        return engine.estimate(session, owner, function="generate_ideas", cluster_id=cluster.id, count=3).credits

    assert quote() == 6  # idea_generation: 2 credits per idea (above gpt-4o-mini's token price)
    past = credits.charge(session, tenancy.system_actor(acct.id), credits=quote(), idempotency_key="ideas-1",
                          description="Ideas", usage=credits.Usage(operation_type="idea_generation",
                                                                   model_used="gpt-4o-mini", cost_usd=Decimal("0.01")))
    changed = pricing.update_cost(session, platform, operation_type="idea_generation", base_credits=5)
    assert (changed.base_credits, changed.previous_cost, changed.updated_by_id) == (5, 2, platform.user_id)
    assert quote() == 15
    pricing.update_cost(session, platform, operation_type="idea_generation", unit="per_request")
    assert quote() == 5
    session.expire_all()
    assert session.get(CreditTransaction, past.transaction_id).amount == -6
    assert session.get(CreditUsageLog, past.usage_log_id).credits_used == 6
    assert credits.balance(session, owner) == 94 == credits.ledger_sum(session, account_id=acct.id)
    pricing.update_cost(session, platform, operation_type="idea_generation", is_active=False)
    err = f.refused(session, ValidationFailed, quote)
    assert str(err) == "“Idea generation” is switched off by the administrator."


@pytest.mark.parametrize(("changes", "message"), [
    ({"base_credits": -1}, "The base credits of “Idea generation” must be a whole number from 0 to 10,000 (got “-1”)."),
    ({"base_credits": "1.5"}, "The base credits of “Idea generation” must be a whole number from 0 to 10,000 "
                              "(got “1.5”)."),
    ({"base_credits": 10_001}, "The base credits of “Idea generation” must be a whole number from 0 to 10,000 "
                               "(got “10001”)."),
    ({"base_credits": "lots"}, "The base credits of “Idea generation” must be a whole number from 0 to 10,000 "
                               "(got “lots”)."),
    ({"base_credits": True}, "The base credits of “Idea generation” must be a whole number from 0 to 10,000 "
                             "(got “True”)."),
    ({"base_credits": 4, "unit": "per_word"}, "The unit of “Idea generation” must be one of per_request, "
                                              "per_100_words, per_item, per_image (got “per_word”)."),
    ({"base_credits": 4, "display_name": "  "}, "The display name of an operation is required (at most 100 "
                                                "characters)."),
])
def test_bad_prices_are_refused_with_a_message_and_nothing_changes(session, platform, changes, message):
    before = _cost(session, "idea_generation")
    err = f.refused(session, ValidationFailed, lambda: pricing.update_cost(
        session, platform, operation_type="idea_generation", **changes))
    assert str(err) == message
    assert _cost(session, "idea_generation") == before


def test_an_unknown_operation_is_named_with_the_known_ones(session, platform):
    err = f.refused(session, NotFound, lambda: pricing.update_cost(session, platform, operation_type="translation",
                                                                   base_credits=1))
    assert str(err) == ("There is no credit cost for the operation “translation” (known: clustering, "
                        "content_generation, idea_generation, image_generation, image_prompt_extraction, optimization, "
                        "reparse).")
    assert pricing.update_cost(session, platform, operation_type="reparse", base_credits=0).base_credits == 0


def test_a_new_default_reaches_accounts_without_an_override_only(session, platform, owner):
    plain = f.owner_actor(session, f.account(session))
    ai_settings.save(session, owner, temperature=1.3, image_style="artistic")
    shown = ai_settings.update_system_defaults(session, platform, **NEW_DEFAULTS)
    assert ai_settings.as_dict(shown) == NEW_DEFAULTS == ai_settings.as_dict(_stored_defaults(session))
    assert ai_settings.as_dict(ai_settings.get_effective(session, plain)) == NEW_DEFAULTS
    assert ai_settings.as_dict(ai_settings.get_effective(session, owner)) == NEW_DEFAULTS | {
        "temperature": 1.3, "image_style": "artistic"}
    assert session.get(SystemAISettings, 1).updated_by_id == platform.user_id
    # Names as the column calls them are not settings: the same names as an account's overrides are used.
    err = f.refused(session, ValidationFailed, lambda: ai_settings.update_system_defaults(
        session, platform, max_images_per_article=2))
    assert str(err) == "Unknown AI setting(s): max_images_per_article."


@pytest.mark.parametrize("changes", [
    {"temperature": 2.5}, {"max_tokens": 100}, {"max_tokens": "1000.5"}, {"max_images": 9},
    {"image_style": "neon"}, {"image_quality_tier": "ultra"}, {"image_quality": "4k"}, {"colour": "red"},
])
def test_bad_defaults_are_refused_like_an_accounts_override_and_nothing_changes(session, platform, owner, changes):
    before = _stored_defaults(session)
    account_err = f.refused(session, ValidationFailed, lambda: ai_settings.save(session, owner, **changes))
    err = f.refused(session, ValidationFailed, lambda: ai_settings.update_system_defaults(
        session, platform, **{"max_tokens": 2048, **changes}))  # a valid change beside it is not half-saved
    assert str(err) == str(account_err)
    assert _stored_defaults(session) == before


def test_a_bad_image_size_is_refused(session, platform):
    err = f.refused(session, ValidationFailed, lambda: ai_settings.update_system_defaults(
        session, platform, image_size="640x480"))
    assert str(err) == "Image size must be one of 1024x1024, 1792x1024, 1024x1792 (got “640x480”)."


def test_the_top_up_on_start_fills_missing_rows_and_keeps_an_admins_edits(session, platform):
    pricing.update_cost(session, platform, operation_type="clustering", base_credits=7, unit="per_item",
                        display_name="Clustering (AI)", is_active=False)
    ai_settings.update_system_defaults(session, platform, **NEW_DEFAULTS)
    session.execute(delete(CreditCostConfig).where(CreditCostConfig.operation_type == "reparse"))
    added = reference.seed(session)
    assert added.get("credit_costs") == 1 and "ai_settings" not in added
    session.expire_all()
    assert _cost(session, "clustering")[:5] == (7, "per_item", False, "Clustering (AI)", 1)
    assert _cost(session, "reparse")[:3] == (1, "per_request", True)  # the missing row is back at the spec's price
    assert ai_settings.as_dict(ai_settings.get_system_defaults(session)) == NEW_DEFAULTS
    assert len(session.scalars(select(CreditCostConfig)).all()) == len(reference.CREDIT_COSTS)
