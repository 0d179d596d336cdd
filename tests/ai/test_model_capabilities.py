"""A text model's capabilities shape the chat request: reasoning models (gpt-5.1 as seeded) are sent
max_completion_tokens and no temperature; other models max_tokens and the account's temperature."""
from __future__ import annotations

import uuid

import pytest

from core import tenancy
from core.ai import engine
from core.ai import models as ai_models
from core.ai import settings as ai_settings
from core.ai.errors import AIProviderError
from tests.ai.helpers import keywords


@pytest.fixture
def text_model(rt):
    """Make a model the default text model for one test (the database is shared by this module's tests)."""
    op = tenancy.operator_actor()
    with rt.transaction() as s:
        before = ai_models.default_model(s, model_type="text").id

    def use(name: str, **changes: object) -> None:
        with rt.transaction() as s:
            m = ai_models.get_by_name(s, model_name=name)
            if changes:
                ai_models.update_model(s, op, model_id=m.id, **changes)
            ai_models.set_default(s, op, model_id=m.id)

    yield use
    with rt.transaction() as s:
        ai_models.set_default(s, op, model_id=before)
        gpt51 = ai_models.get_by_name(s, model_name="gpt-5.1")
        ai_models.update_model(s, op, model_id=gpt51.id, capabilities=ai_models.REASONING)


def _cluster(rt, fake, world) -> dict:
    """Run auto_cluster on a new keyword; the body of the last chat request."""
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, temperature=0.3, max_tokens=2048)
    word = f"trail shoes {uuid.uuid4().hex[:6]}"
    fake.reply_json({"clusters": [{"name": "Trail shoes", "description": "Footwear", "keywords": [word]}]})
    engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=keywords(rt, world, [word]))
    return fake.posts("/chat/completions")[-1].json


def test_gpt_5_1_is_sent_max_completion_tokens_and_no_temperature(rt, fake, world, text_model):
    with rt.transaction() as s:
        assert ai_models.get_by_name(s, model_name="gpt-5.1").capabilities == {
            "max_tokens_param": "max_completion_tokens", "temperature": False}  # as seeded
    text_model("gpt-5.1")
    sent = _cluster(rt, fake, world)
    assert sent["model"] == "gpt-5.1" and sent["max_completion_tokens"] == 2048
    assert "max_tokens" not in sent and "temperature" not in sent
    assert sent["response_format"] == {"type": "json_object"}


def test_gpt_4o_mini_is_sent_max_tokens_and_the_temperature(rt, fake, world, text_model):
    text_model("gpt-4o-mini")
    sent = _cluster(rt, fake, world)
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == ("gpt-4o-mini", 2048, 0.3)
    assert "max_completion_tokens" not in sent


def test_a_reasoning_model_without_capabilities_is_refused_with_a_hint(rt, fake, world, text_model):
    text_model("gpt-5.1", capabilities={})
    with pytest.raises(AIProviderError) as info:
        _cluster(rt, fake, world)
    assert "HTTP 400" in str(info.value) and "Use 'max_completion_tokens' instead" in str(info.value)
    assert str(info.value).endswith('ask the platform team to set its capabilities on the “AI providers & models” '
                                    'screen, e.g. {"max_tokens_param": "max_completion_tokens", "temperature": false}.')
    text_model("gpt-5.1", capabilities={"max_tokens_param": "max_completion_tokens"})  # the temperature still sent
    with pytest.raises(AIProviderError, match="'temperature' does not support 0.3"):
        _cluster(rt, fake, world)
