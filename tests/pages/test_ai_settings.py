"""Content Generation Settings page: save and reload, out-of-range refused, reset, editors see but cannot save."""
from __future__ import annotations

import pytest

from core.ai import settings as ai_settings
from db.enums import Role
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts
from ui_text import shown

PAGE = "pages/ai_settings.py"
DEFAULTS = {"ai_temperature": 0.7, "ai_max_tokens": 8192, "ai_quality_tier": "quality",
            "ai_image_style": "photorealistic", "ai_max_images": 4}


@pytest.fixture
def page(app_db):
    with app_db.tx() as s:  # every test starts from the system defaults
        ai_settings.reset(s, app_db.actor(s))
    return go(login(), PAGE)


def _effective(app_db) -> ai_settings.EffectiveAISettings:
    with app_db.tx() as s:
        return ai_settings.get_effective(s, app_db.actor(s))


def _shown(at) -> dict:
    return {"ai_temperature": at.slider(key="ai_temperature").value,
            "ai_max_tokens": at.number_input(key="ai_max_tokens").value,
            "ai_quality_tier": at.radio(key="ai_quality_tier").value,
            "ai_image_style": at.selectbox(key="ai_image_style").value,
            "ai_max_images": at.number_input(key="ai_max_images").value}


def test_tiers_show_credits_per_image_and_defaults_are_shown(app_db, page):
    assert _shown(page) == DEFAULTS
    assert [shown(o) for o in page.radio(key="ai_quality_tier").options] == [  # radio options are Markdown
        "Basic (1 credit/image) – Fast, simple", "Quality (5 credits/image) – Balanced",
        "Premium (15 credits/image) – Best quality"]
    assert "More focused ←→ More creative" in texts(page.caption)


def test_save_then_a_new_session_shows_the_new_values(app_db, page):
    at = page
    at.slider(key="ai_temperature").set_value(1.2)
    at.number_input(key="ai_max_tokens").set_value(4096)
    at.radio(key="ai_quality_tier").set_value("premium")
    at.selectbox(key="ai_image_style").set_value("illustration")
    at.number_input(key="ai_max_images").set_value(6)
    click(at, "ai_settings_save")
    assert texts(at.success) == ["AI settings saved."] and not at.error
    eff = _effective(app_db)
    assert (eff.temperature, eff.max_tokens, eff.image_quality_tier, eff.image_style, eff.max_images) == (
        1.2, 4096, "premium", "illustration", 6)
    expected = {"ai_temperature": 1.2, "ai_max_tokens": 4096, "ai_quality_tier": "premium",
                "ai_image_style": "illustration", "ai_max_images": 6}
    assert _shown(at) == expected
    assert _shown(go(login(), PAGE)) == expected  # reloaded from the database in a new browser session


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ai_max_tokens", 100, "Max tokens must be a whole number from 256 to 128,000 (got “100”)."),
    ("ai_max_images", 9, "Max images must be a whole number from 0 to 8 (got “9”)."),
])
def test_out_of_range_is_refused_with_the_core_message(app_db, page, key, value, message):
    at = page
    at.slider(key="ai_temperature").set_value(1.5)  # a valid change in the same form is not half-saved
    at.number_input(key=key).set_value(value)
    click(at, "ai_settings_save")
    assert texts(at.error) == [message] and not at.success
    assert _effective(app_db) == _effective_defaults(app_db)
    assert at.number_input(key=key).value == value  # the form keeps what was typed


def _effective_defaults(app_db) -> ai_settings.EffectiveAISettings:
    with app_db.tx() as s:
        return ai_settings.effective(s, account_id=-1)  # an account without overrides: the system defaults


def test_reset_to_system_defaults(app_db, page):
    with app_db.tx() as s:
        ai_settings.save(s, app_db.actor(s), temperature=1.9, image_style="cartoon", max_images=2)
    at = go(login(), PAGE)
    assert _shown(at)["ai_image_style"] == "cartoon"
    click(at, "ai_settings_reset")
    assert texts(at.success) == ["AI settings reset to the system defaults."]
    assert _effective(app_db) == _effective_defaults(app_db)
    assert _shown(at) == DEFAULTS  # the inputs show the defaults again, not what they held before


def test_editor_sees_the_values_but_cannot_save(app_db, page):
    app_db.add_user("writer@example.com", Role.editor)
    with app_db.tx() as s:
        ai_settings.save(s, app_db.actor(s), image_style="artistic")
    at = login("writer@example.com", PASSWORD)
    assert in_navigation(at, PAGE)
    assert _shown(at)["ai_image_style"] == "artistic"
    assert at.button(key="ai_settings_save").disabled and at.button(key="ai_settings_reset").disabled
    assert at.slider(key="ai_temperature").disabled and at.radio(key="ai_quality_tier").disabled
    assert any(c.startswith("Only owners and admins can change these settings") for c in texts(at.caption))
