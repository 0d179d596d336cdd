"""AI configuration in core: effective settings, providers (secrets encrypted, masked), models (one default per
type), prompts (variables checked, overrides per account) and voices. Both backends; every refusal writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import reference
from core.ai import models as ai_models
from core.ai import prompts, providers
from core.ai import settings as ai_settings
from core.ai.prompts_default import DEFAULT_PROMPTS
from core.common import vault
from core.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from db.enums import Role
from db.models import Account, AccountSettings, AIPrompt, IntegrationProvider
from tests import factories as f


@pytest.fixture
def owner(session):
    return f.owner_actor(session, f.account(session))


@pytest.fixture
def platform(session):
    """Providers and models are global: only a platform admin (here the system account's owner) changes them."""
    return f.platform_admin(session)


def _editor(session, actor):
    return f.actor(session, f.user(session, session.get(Account, actor.account_id), role=Role.editor))


# --- effective AI settings ----------------------------------------------------------------------------------------

def test_overrides_apply_to_their_account_only_and_reset_restores_defaults(session, owner):
    other = f.owner_actor(session, f.account(session))
    defaults = ai_settings.get_effective(session, owner)
    assert (defaults.temperature, defaults.max_tokens, defaults.image_style, defaults.max_images) == (
        0.7, 8192, "photorealistic", 4)
    saved = ai_settings.save(session, owner, temperature="1.25", max_tokens=4096, image_quality_tier="premium",
                             image_style="cartoon", max_images=8)
    assert (saved.temperature, saved.max_tokens, saved.image_quality_tier, saved.image_style, saved.max_images) == (
        1.25, 4096, "premium", "cartoon", 8)
    assert ai_settings.get_effective(session, other) == defaults
    assert ai_settings.save(session, owner, temperature=0.3).image_style == "cartoon"  # one key changes one key
    assert ai_settings.reset(session, owner) == defaults
    assert session.scalars(select(AccountSettings).where(AccountSettings.account_id == owner.account_id)).all() == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"temperature": 2.5}, "Temperature must be a number from 0.0 to 2.0 (got “2.5”)."),
    ({"max_tokens": 100}, "Max tokens must be a whole number from 256 to 128,000 (got “100”)."),
    ({"max_tokens": 1000.5}, "Max tokens must be a whole number from 256 to 128,000 (got “1000.5”)."),
    ({"max_images": 9}, "Max images must be a whole number from 0 to 8 (got “9”)."),
    ({"image_style": "neon"}, "Image style must be one of photorealistic, illustration, 3d_render, minimal_flat, "
                              "artistic, cartoon (got “neon”)."),
    ({"image_quality_tier": "ultra"}, "Image quality tier must be one of basic, quality, premium (got “ultra”)."),
    ({"colour": "red"}, "Unknown AI setting(s): colour."),
])
def test_out_of_range_settings_are_refused_and_nothing_is_half_saved(session, owner, changes, message):
    err = f.refused(session, ValidationFailed, lambda: ai_settings.save(session, owner, **{"temperature": 1.0, **changes}))
    assert str(err) == message
    assert ai_settings.get_effective(session, owner).temperature == 0.7


def test_editors_read_settings_but_cannot_change_them(session, owner):
    editor = _editor(session, owner)
    assert ai_settings.get_effective(session, editor) == ai_settings.get_effective(session, owner)
    f.refused(session, AccessDenied, lambda: ai_settings.save(session, editor, temperature=1.0))
    f.refused(session, AccessDenied, lambda: ai_settings.reset(session, editor))


def test_a_broken_stored_override_falls_back_to_the_default(session, owner):
    session.add(AccountSettings(account_id=owner.account_id, key="ai.max_images", value=99))
    session.flush()
    assert ai_settings.get_effective(session, owner).max_images == 4


def test_quality_tiers_carry_credits_per_image(session):
    tiers = ai_settings.quality_tiers(session)
    assert [(t.tier, t.credits, t.label) for t in tiers] == [("basic", 1, "Basic"), ("quality", 5, "Quality"),
                                                             ("premium", 15, "Premium")]
    assert next(t for t in tiers if t.tier == "quality").model_name == "dall-e-3"  # the default image model wins


# --- providers ----------------------------------------------------------------------------------------------------

def test_provider_secrets_are_encrypted_masked_kept_and_cleared(session, platform):
    key = "sk-proj-abcdefghijklmnopWXYZ"
    view = providers.update_provider(session, platform, provider_id="openai", api_key=f"  {key} ",
                                     api_secret="second-secret-9876", api_endpoint="http://127.0.0.1:11434/v1/")
    assert (view.api_key_masked, view.api_secret_masked, view.api_endpoint) == (
        "••••••••WXYZ", "••••••••9876", "http://127.0.0.1:11434/v1")
    row = session.get(IntegrationProvider, "openai")
    assert row.api_key.startswith(vault.PREFIX) and key not in row.api_key and vault.decrypt(row.api_key) == key
    assert row.updated_by_id == platform.user_id
    assert providers.connection(session, provider_id="openai").api_key == key
    providers.update_provider(session, platform, provider_id="openai", is_sandbox=True)  # None keeps the secrets
    assert vault.decrypt(session.get(IntegrationProvider, "openai").api_key) == key
    view = providers.update_provider(session, platform, provider_id="openai", api_key="")
    assert view.api_key_masked == "" and view.api_secret_masked == "••••••••9876"
    with pytest.raises(ValidationFailed, match="has no API key"):
        providers.connection(session, provider_id="openai")
    providers.update_provider(session, platform, provider_id="openai", config={"allow_no_key": True})
    assert providers.connection(session, provider_id="openai").api_key == ""  # a keyless local server


def test_provider_changes_are_checked(session, platform):
    editor = _editor(session, platform)
    f.refused(session, AccessDenied, lambda: providers.update_provider(session, editor, provider_id="openai",
                                                                       api_key="sk-editor-key-1234"))
    f.refused(session, AccessDenied, lambda: providers.list_providers(session, editor))
    for kwargs, fragment in (({"api_endpoint": "localhost:11434"}, r"is not an http\(s\) URL"),
                             ({"api_key": "two words"}, "must be one word"),
                             ({"config": ["not", "a", "dict"]}, "must be a JSON object"),
                             ({"provider_id": "nope"}, "There is no provider “nope”")):
        args = {"provider_id": "openai", **kwargs}
        f.refused(session, (ValidationFailed, NotFound), lambda a=args: providers.update_provider(
            session, platform, **a), match=fragment)
    providers.update_provider(session, platform, provider_id="runware", is_active=False)
    with pytest.raises(ValidationFailed, match="switched off"):
        providers.connection(session, provider_id="runware")
    assert all("enc:" not in p.api_key_masked for p in providers.list_providers(session, platform))


# --- models -------------------------------------------------------------------------------------------------------

def test_one_default_per_type(session, platform):
    gpt4o = ai_models.get_by_name(session, model_name="gpt-4o")
    ai_models.set_default(session, platform, model_id=gpt4o.id)
    assert [m.model_name for m in ai_models.list_models(session, model_type="text") if m.is_default] == ["gpt-4o"]
    assert ai_models.default_model(session, model_type="image").model_name == "dall-e-3"  # other type untouched
    f.refused(session, ValidationFailed, lambda: ai_models.update_model(session, platform, model_id=gpt4o.id,
                                                                        is_active=False), match="make another default")
    mini = ai_models.get_by_name(session, model_name="gpt-4o-mini")
    ai_models.update_model(session, platform, model_id=mini.id, is_active=False)
    f.refused(session, ValidationFailed, lambda: ai_models.set_default(session, platform, model_id=mini.id),
              match="inactive")
    editor = _editor(session, platform)
    f.refused(session, AccessDenied, lambda: ai_models.set_default(session, editor, model_id=gpt4o.id))


def test_create_and_update_models(session, platform):
    m = ai_models.create_model(session, platform, model_name="llama3.1:8b", model_type="text", provider="openai",
                               display_name="  Llama  3.1 ", tokens_per_credit="5000", cost_per_1k_input="0.0001")
    assert (m.display_name, m.tokens_per_credit, str(m.cost_per_1k_input), m.is_default) == (
        "Llama 3.1", 5000, "0.0001", False)
    f.refused(session, Conflict, lambda: ai_models.create_model(
        session, platform, model_name="llama3.1:8b", model_type="text", provider="openai", display_name="Again",
        tokens_per_credit=1))
    for fields, fragment in (({"model_type": "text"}, "needs tokens per credit"),
                             ({"model_type": "image"}, "needs credits per image"),
                             ({"model_type": "audio", "tokens_per_credit": 1}, "text or image"),
                             ({"model_type": "text", "tokens_per_credit": 0}, "out of range"),
                             ({"model_type": "image", "credits_per_image": 3, "quality_tier": "gold"}, "basic, quality")):
        f.refused(session, ValidationFailed, lambda x=fields: ai_models.create_model(
            session, platform, model_name="new-model", provider="openai", display_name="New", **x), match=fragment)
    premium = ai_models.get_by_name(session, model_name="google:4@2")
    ai_models.update_model(session, platform, model_id=premium.id, credits_per_image=20, cost_per_image="0.2")
    assert ai_models.model_for_tier(session, tier="premium").credits_per_image == 20
    f.refused(session, ValidationFailed, lambda: ai_models.update_model(session, platform, model_id=premium.id,
                                                                        cost_per_image="-1"), match="between 0")


def test_capabilities_are_known_flags_with_their_values(session, platform):
    o3 = ai_models.create_model(session, platform, model_name="o3-mini", model_type="text", provider="openai",
                                display_name="o3 mini", tokens_per_credit=1000)
    assert o3.capabilities == {"max_tokens_param": "max_completion_tokens", "temperature": False}  # by its name
    llama = ai_models.create_model(session, platform, model_name="llama3.1:8b", model_type="text", provider="openai",
                                   display_name="Llama", tokens_per_credit=1000, capabilities='{"json_mode": false}')
    assert llama.capabilities == {"json_mode": False}
    ai_models.update_model(session, platform, model_id=o3.id, tokens_per_credit=2000)  # None: capabilities kept
    assert o3.capabilities["max_tokens_param"] == "max_completion_tokens"
    ai_models.update_model(session, platform, model_id=llama.id, capabilities="")  # empty text: every default
    assert llama.capabilities == {}
    dalle = ai_models.get_by_name(session, model_name="dall-e-3")
    assert ai_models.update_model(session, platform, model_id=dalle.id, capabilities={"b64_json": False}
                                  ).capabilities == {"b64_json": False}
    example = 'such as {"max_tokens_param": "max_completion_tokens", "temperature": false}'
    for given, message in (
            ("{max_tokens_param: 1}", "Capabilities are not valid JSON: Expecting property name enclosed in double "
                                      f"quotes (line 1, column 2). Write a JSON object {example}."),
            ('["temperature"]', f"Capabilities must be a JSON object {example}."),
            ({"max_completion_tokens": True}, "Unknown capability “max_completion_tokens”. Known: max_tokens_param, "
                                              "temperature, json_mode, b64_json."),
            ({"temperature": 1}, "Capability “temperature” must be true or false (got 1)."),
            ({"max_tokens_param": "max_output_tokens"},
             'Capability “max_tokens_param” must be "max_tokens" or "max_completion_tokens" (got "max_output_tokens").')):
        err = f.refused(session, ValidationFailed, lambda g=given: ai_models.update_model(
            session, platform, model_id=llama.id, capabilities=g))
        assert str(err) == message
    assert session.get(type(llama), llama.id).capabilities == {}
    editor = _editor(session, platform)
    f.refused(session, AccessDenied, lambda: ai_models.update_model(session, editor, model_id=llama.id,
                                                                    capabilities={}))


def test_start_gives_reasoning_models_their_capabilities_and_keeps_an_admins(session, platform):
    gpt51 = ai_models.get_by_name(session, model_name="gpt-5.1")
    assert gpt51.capabilities == ai_models.REASONING  # seeded so
    assert ai_models.get_by_name(session, model_name="gpt-4o-mini").capabilities == {}
    gpt51.capabilities = {}  # a database seeded before capabilities were known
    session.flush()
    assert reference.seed(session).get("model_capabilities") == 1
    assert gpt51.capabilities == {"max_tokens_param": "max_completion_tokens", "temperature": False}
    ai_models.update_model(session, platform, model_id=gpt51.id, capabilities={"temperature": False})
    assert "model_capabilities" not in reference.seed(session)
    assert gpt51.capabilities == {"temperature": False}


# --- prompts and voices ---------------------------------------------------------------------------------------------

def test_prompt_override_is_checked_kept_per_account_and_reset(session, owner):
    other = f.owner_actor(session, f.account(session))
    default = DEFAULT_PROMPTS["ideas"]["text"]
    for text, fragment in ((default + " {brand}", r"Unknown variable\(s\) \{brand\}"),
                           ("Ideas for {cluster_name}", r"must use \{cluster_description\}, \{count\}, \{keywords\}"),
                           (default + " {", "unbalanced brace"), ("   ", "cannot be empty")):
        f.refused(session, ValidationFailed, lambda t=text: prompts.save_override(
            session, owner, prompt_type="ideas", text=t), match=fragment)
    own = "{count} ideas: {cluster_name} / {cluster_description} / {keywords} as JSON {{\"ideas\": []}}"
    view = prompts.save_override(session, owner, prompt_type="ideas", text=own)
    assert (view.text, view.is_override, view.default_text) == (own, True, default)
    assert prompts.get_prompt(session, account_id=other.account_id, prompt_type="ideas").text == default
    assert prompts.render(session, account_id=owner.account_id, prompt_type="ideas", values={
        "count": 3, "cluster_name": "Shoes", "cluster_description": "Trail", "keywords": "a, b"}) == \
        '3 ideas: Shoes / Trail / a, b as JSON {"ideas": []}'
    assert {p.prompt_type: p.is_override for p in prompts.list_prompts(session, owner)}["ideas"] is True
    editor = _editor(session, owner)
    f.refused(session, AccessDenied, lambda: prompts.save_override(session, editor, prompt_type="ideas", text=own))
    view = prompts.reset_to_default(session, owner, prompt_type="ideas")
    assert (view.text, view.is_override) == (default, False)


PLAIN = "format specs (:…) and conversions (!…) are not allowed."


@pytest.mark.parametrize(("bad", "message"), [
    ("{count:d}", f"Write variables plain, as {{count}}, not {{count:d}}: {PLAIN}"),
    ("{keywords!z}", f"Write variables plain, as {{keywords}}, not {{keywords!z}}: {PLAIN}"),
    ("{keywords!r:>10} {count:{count}}", "as {keywords}, {count}, not {keywords!r:>10}, {count:{count}}: "),
    ("{cluster_name.upper}", "Unknown variable(s) {cluster_name.upper}. This prompt may use: "),
    ("{keywords[0]}", "Unknown variable(s) {keywords[0]}."),
    ("{0}", "Unknown variable(s) {0}."),
])
def test_format_specs_and_conversions_are_refused_on_save_naming_the_placeholder(session, owner, bad, message):
    text = "{count} ideas: {cluster_name} / {cluster_description} / {keywords} " + bad
    err = f.refused(session, ValidationFailed, lambda: prompts.save_override(
        session, owner, prompt_type="ideas", text=text))
    assert message in str(err)
    assert prompts.get_prompt(session, account_id=owner.account_id, prompt_type="ideas").is_override is False


@pytest.mark.parametrize(("stored", "problem"), [
    ("{count} ideas for {cluster_name}: {keywords:d}", "Write variables plain, as {keywords}, not {keywords:d}"),
    ("Ideas for {cluster_name!z}", "Write variables plain, as {cluster_name}, not {cluster_name!z}"),
    ("Ideas for {cluster_name} in {brand}", "Unknown variable(s) {brand}."),
    ("Ideas for {cluster_name}}", "The prompt has an unbalanced brace"),
])
def test_a_stored_bad_prompt_fails_to_render_with_a_message_not_a_bare_value_error(session, owner, stored, problem):
    # Saved before save checked specs and conversions: the row is written directly, as the old code let it be.
    session.add(AIPrompt(account_id=owner.account_id, prompt_type="ideas", prompt_value=stored, is_active=True))
    session.flush()
    values = {"count": 3, "cluster_name": "Shoes", "cluster_description": "Trail", "keywords": "a, b",
              "strategy": "none", "section_logic": "none"}
    err = f.refused(session, ValidationFailed, lambda: prompts.render(
        session, account_id=owner.account_id, prompt_type="ideas", values=values))
    assert str(err).startswith(f"This account's own “ideas” prompt cannot be used: {problem}")
    assert str(err).endswith("An owner or admin can correct it under Prompts & voices, or reset it to the default.")


def test_author_profiles_and_strategies(session, owner):
    site = f.site(session, session.get(Account, owner.account_id))
    sector = f.sector(session, site)
    other_site = f.site(session, session.get(Account, owner.account_id))
    profile = prompts.create_author_profile(session, owner, name="Calm Guide", tone="friendly", language="PT-BR")
    assert (profile.language, profile.account_id) == ("pt-br", owner.account_id)
    assert profile.id in [p.id for p in prompts.list_author_profiles(session, owner)]
    stranger = f.owner_actor(session, f.account(session))
    assert profile.id not in [p.id for p in prompts.list_author_profiles(session, stranger)]
    f.refused(session, ValidationFailed, lambda: prompts.create_author_profile(
        session, owner, name="Loud", tone="shouting"), match="Tone must be one of")
    strategy = prompts.create_strategy(session, owner, name="Hubs first", site_id=site.id, sector_id=sector.id)
    assert strategy.sector_id == sector.id
    f.refused(session, ValidationFailed, lambda: prompts.create_strategy(
        session, owner, name="Misplaced", site_id=other_site.id, sector_id=sector.id), match="does not belong")
    viewer = f.actor(session, f.user(session, session.get(Account, owner.account_id), role=Role.viewer))
    f.refused(session, AccessDenied, lambda: prompts.create_strategy(session, viewer, name="Nope"))
