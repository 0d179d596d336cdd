"""Pricing & AI defaults page: platform admins change the base credits of an operation and the system AI defaults
(bad values refused with core's message, nothing saved); accounts without an override see a new default on their AI
settings screen; customer admins see both read-only."""
from __future__ import annotations

import pytest

from core import tenancy
from core.ai import settings as ai_settings
from core.billing import pricing
from db.enums import Role
from db.models import CreditCostConfig
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts

PAGE = "pages/ai_pricing.py"
SPEC_DEFAULTS = {"temperature": 0.7, "max_tokens": 8192, "image_style": "photorealistic", "image_quality": "standard",
                 "max_images": 4, "image_size": "1024x1024", "image_quality_tier": "quality"}


@pytest.fixture
def spec_prices(app_db):
    """The prices and defaults are global rows of the module's database: every test leaves the spec's values."""
    yield
    op = tenancy.operator_actor()
    with app_db.tx() as s:
        pricing.update_cost(s, op, operation_type="idea_generation", base_credits=2)
        ai_settings.update_system_defaults(s, op, **SPEC_DEFAULTS)


def _table(at, key: str):
    return at.container(key=key).dataframe[0].value


def test_only_admins_reach_the_page(app_db):
    app_db.add_user("pricing-editor@example.com", Role.editor)
    assert not in_navigation(login("pricing-editor@example.com", PASSWORD), PAGE)
    at = login()
    assert in_navigation(at, PAGE) and texts(at.title) == ["Pricing & AI defaults"]


def test_a_price_is_changed_and_a_bad_one_refused(app_db, spec_prices):
    at = go(login(), PAGE)
    at.selectbox(key="cost_pick").set_value("idea_generation").run()
    at.number_input(key="cost_idea_generation_credits").set_value(-3)
    click(at, "cost_idea_generation_save")
    assert texts(at.error) == ["The base credits of “Idea generation” must be a whole number from 0 to 10,000 "
                               "(got “-3”)."] and not at.success
    with app_db.tx() as s:
        assert s.get(CreditCostConfig, "idea_generation").base_credits == 2

    at.number_input(key="cost_idea_generation_credits").set_value(4)
    at.selectbox(key="cost_idea_generation_unit").set_value("per_request")
    click(at, "cost_idea_generation_save")
    assert texts(at.success) == ["Price of “Idea generation” saved."] and not at.error
    row = _table(at, "costs_table").set_index("Operation").loc["idea_generation"]
    assert (row["Base credits"], row["Unit"], row["Previous"]) == (4, "per request", "2")
    with app_db.tx() as s:
        saved = s.get(CreditCostConfig, "idea_generation")
        assert (saved.base_credits, saved.unit, saved.previous_cost) == (4, "per_request", 2)
        pricing.update_cost(s, tenancy.operator_actor(), operation_type="idea_generation", unit="per_item")


def test_a_new_default_shows_on_the_ai_settings_of_accounts_without_an_override(app_db, spec_prices):
    app_db.add_customer_user("Plain Co", "plain@example.com", Role.owner)
    app_db.add_customer_user("Own Co", "own@example.com", Role.owner)
    with app_db.tx() as s:
        ai_settings.save(s, app_db.actor(s, "own@example.com"), temperature=1.1)
    at = go(login(), PAGE)
    at.slider(key="default_temperature").set_value(0.3)
    at.selectbox(key="default_image_style").set_value("cartoon")
    at.number_input(key="default_max_tokens").set_value(100)
    click(at, "defaults_save")
    assert texts(at.error) == ["Max tokens must be a whole number from 256 to 128,000 (got “100”)."]
    with app_db.tx() as s:
        assert ai_settings.as_dict(ai_settings.get_system_defaults(s)) == SPEC_DEFAULTS  # nothing half-saved

    at.number_input(key="default_max_tokens").set_value(4096)
    click(at, "defaults_save")
    assert texts(at.success) == ["System AI defaults saved."] and not at.error
    shown = dict(_table(at, "defaults_table").values.tolist())
    assert (shown["Temperature"], shown["Max tokens"], shown["Image style"]) == ("0.3", "4096", "cartoon")

    plain = go(login("plain@example.com", PASSWORD), "pages/ai_settings.py")
    assert (plain.slider(key="ai_temperature").value, plain.number_input(key="ai_max_tokens").value,
            plain.selectbox(key="ai_image_style").value) == (0.3, 4096, "cartoon")
    own = go(login("own@example.com", PASSWORD), "pages/ai_settings.py")
    assert (own.slider(key="ai_temperature").value, own.number_input(key="ai_max_tokens").value,
            own.selectbox(key="ai_image_style").value) == (1.1, 4096, "cartoon")


def test_a_customer_accounts_admin_sees_prices_and_defaults_read_only(app_db):
    app_db.add_customer_user("Pricing Customer", "pricing-admin@example.com", Role.admin)
    at = login("pricing-admin@example.com", PASSWORD)
    assert in_navigation(at, PAGE)
    assert texts(at.info) == [f"Read only. {tenancy.PLATFORM_ONLY}"]
    assert _table(at, "costs_table").set_index("Operation").loc["clustering", "Base credits"] == 1
    assert dict(_table(at, "defaults_table").values.tolist())["Image quality tier"] == "quality"
    main = at.main
    assert not (main.number_input or main.selectbox or main.slider or main.text_input or main.button)

