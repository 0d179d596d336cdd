"""Prompts & voices page: the prompt in force, an override with its variables checked, reset to the default;
author profiles and strategies; editors read prompts but cannot change them."""
from __future__ import annotations

import pytest

from core.ai import prompts
from core.ai.prompts_default import DEFAULT_PROMPTS
from db.enums import Role
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts

PAGE = "pages/prompts.py"
IDEAS = DEFAULT_PROMPTS["ideas"]["text"]


@pytest.fixture
def page(app_db):
    with app_db.tx() as s:  # every test starts from the defaults
        for ptype in DEFAULT_PROMPTS:
            prompts.reset_to_default(s, app_db.actor(s), prompt_type=ptype)
    at = go(login(), PAGE)
    at.selectbox(key="prompt_pick").set_value("ideas").run()
    return at


def _in_force(app_db, ptype: str = "ideas") -> prompts.PromptView:
    with app_db.tx() as s:
        return prompts.get_prompt(s, account_id=app_db.actor(s).account_id, prompt_type=ptype)


def _table_row(at, ptype: str):
    table = at.container(key="prompts_table").dataframe[0].value
    return table[table["Prompt"] == ptype].iloc[0]


def test_unknown_variable_is_refused_with_the_allowed_ones(app_db, page):
    at = page
    assert at.text_area(key="prompt_text_ideas").value == IDEAS
    at.text_area(key="prompt_text_ideas").input(IDEAS + " Mention {brand}.")
    click(at, "prompt_save_ideas")
    assert texts(at.error) == ["Unknown variable(s) {brand}. This prompt may use: {cluster_name}, "
                               "{cluster_description}, {keywords}, {count}, {strategy}, {section_logic}."]
    assert _in_force(app_db).is_override is False
    assert at.text_area(key="prompt_text_ideas").value.endswith("Mention {brand}.")  # what was typed is kept


def test_save_override_then_reset_to_default(app_db, page):
    at = page
    own = "Give {count} ideas for “{cluster_name}” ({cluster_description}) from: {keywords}. Answer in JSON."
    at.text_area(key="prompt_text_ideas").input(own)
    click(at, "prompt_save_ideas")
    assert texts(at.success) == ["Prompt “ideas” saved for this account."]
    assert (_in_force(app_db).text, _in_force(app_db).is_override) == (own, True)
    assert _table_row(at, "ideas")["In force"] == "Account's own"
    fresh = go(login(), PAGE)
    fresh.selectbox(key="prompt_pick").set_value("ideas").run()
    assert fresh.text_area(key="prompt_text_ideas").value == own

    click(at, "prompt_reset_ideas")
    assert texts(at.success) == ["Prompt “ideas” reset to the default."]
    assert (_in_force(app_db).text, _in_force(app_db).is_override) == (IDEAS, False)
    assert at.text_area(key="prompt_text_ideas").value == IDEAS  # the editor shows the default again
    assert _table_row(at, "ideas")["In force"] == "Default"
    assert at.button(key="prompt_reset_ideas").disabled  # nothing left to reset


def test_a_format_spec_is_refused_naming_the_placeholder(app_db, page):
    at = page
    at.text_area(key="prompt_text_ideas").input(IDEAS.replace("{count}", "{count:d}"))
    click(at, "prompt_save_ideas")
    assert texts(at.error) == ["Write variables plain, as {count}, not {count:d}: format specs (:…) and conversions "
                               "(!…) are not allowed."]
    assert _in_force(app_db).is_override is False
    assert _table_row(at, "ideas")["Variables"] == ("{cluster_name}, {cluster_description}, {keywords}, {count}; "
                                                    "optional: {strategy}, {section_logic}")


def test_missing_variable_is_refused(app_db, page):
    at = page
    at.text_area(key="prompt_text_ideas").input("Give {count} ideas for {cluster_name}.")
    click(at, "prompt_save_ideas")
    assert texts(at.error) == ["The prompt must use {cluster_description}, {keywords}: the AI needs them."]


def test_author_profile_and_strategy_are_added(app_db, page):
    at = page
    at.text_input(key="profile_name").input("Friendly Expert")
    at.selectbox(key="profile_tone").set_value("friendly")
    at.text_input(key="profile_language").input("de")
    click(at, "profile_create_submit")
    assert texts(at.success) == ["Author profile “Friendly Expert” added."]
    table = at.container(key="profiles_table").dataframe[0].value
    row = table[table["Name"] == "Friendly Expert"].iloc[0]
    assert (row["Tone"], row["Language"], row["Scope"]) == ("friendly", "de", "Account")

    at.text_input(key="profile_name").input("Bad Lang")
    at.text_input(key="profile_language").input("german!")
    click(at, "profile_create_submit")
    assert texts(at.error) == ["Language must be a code such as en, de or pt-br."]

    at.text_input(key="strategy_name").input("Pillar pages first")
    at.text_area(key="strategy_description").input("Hub pages before spokes.")
    click(at, "strategy_create_submit")
    assert texts(at.success) == ["Strategy “Pillar pages first” added."]
    with app_db.tx() as s:
        actor = app_db.actor(s)
        assert "Pillar pages first" in [x.name for x in prompts.list_strategies(s, actor)]
        assert "Bad Lang" not in [x.name for x in prompts.list_author_profiles(s, actor)]


def test_editor_reads_prompts_but_cannot_change_them(app_db, page):
    app_db.add_user("reader@example.com", Role.editor)
    at = login("reader@example.com", PASSWORD)
    assert in_navigation(at, PAGE)
    at.selectbox(key="prompt_pick").set_value("ideas").run()
    assert at.text_area(key="prompt_text_ideas").value == IDEAS
    assert at.text_area(key="prompt_text_ideas").disabled
    assert at.button(key="prompt_save_ideas").disabled and at.button(key="prompt_reset_ideas").disabled
    assert not at.button(key="profile_create_submit").disabled  # editors may add voices (core allows writers)


def test_strategy_with_section_logic_for_articles_only(app_db, page):
    at = page
    at.text_input(key="strategy_name").input("Beginner guides")
    at.multiselect(key="strategy_prompt_types").set_value(["content_generation"])
    at.text_area(key="strategy_section_logic").input("intro: two sentences\nno rule here")
    click(at, "strategy_create_submit")
    assert texts(at.error) == ["Section logic line 2 should read “name: rule”, e.g. “intro: a short hook of two "
                               "sentences” (got “no rule here”)."]
    at.text_area(key="strategy_section_logic").input("intro: two sentences\nfaq: five questions")
    click(at, "strategy_create_submit")
    assert texts(at.success) == ["Strategy “Beginner guides” added."]
    table = at.container(key="strategies_table").dataframe[0].value
    row = table[table["Name"] == "Beginner guides"].iloc[0]
    assert (row["Used for"], row["Section logic"]) == ("content_generation", "- intro: two sentences\n"
                                                                            "- faq: five questions")
    with app_db.tx() as s:
        made = next(x for x in prompts.list_strategies(s, app_db.actor(s)) if x.name == "Beginner guides")
        assert (made.prompt_types, made.section_logic) == (["content_generation"], {"intro": "two sentences",
                                                                                   "faq": "five questions"})
