"""Voices in core: what an author profile and a strategy put into a prompt, which ones an actor may use, and the
voice variables being known but optional in an account's own prompt. Both backends; every refusal writes nothing."""
from __future__ import annotations

import pytest

from core.ai import prompts
from core.errors import NotFound, ValidationFailed
from db.models import Account
from tests import factories as f


@pytest.fixture
def owner(session):
    return f.owner_actor(session, f.account(session))


def test_strategy_prompt_types_and_section_logic_are_checked_and_described(session, owner):
    logic = prompts.section_logic_from_text("intro: a hook of two sentences\n\n  faq : five questions  \n")
    assert logic == {"intro": "a hook of two sentences", "faq": "five questions"}
    f.refused(session, ValidationFailed, lambda: prompts.section_logic_from_text("intro: short\nno colon here"),
              match="Section logic line 2 should read “name: rule”")
    f.refused(session, ValidationFailed, lambda: prompts.create_strategy(
        session, owner, name="Pics", prompt_types=["image_prompt_template"]),
        match="A strategy cannot feed image_prompt_template; it can feed content_generation, ideas.")
    f.refused(session, ValidationFailed, lambda: prompts.create_strategy(
        session, owner, name="Long", section_logic={"intro": "x" * 1001}), match="Section rule “intro” is too long")
    st = prompts.create_strategy(session, owner, name="Pillar", description=" Hubs\nfirst ", section_logic=logic,
                                 prompt_types=["ideas", "ideas"])
    assert (st.prompt_types, st.section_logic) == (["ideas"], logic)
    assert prompts.describe_section_logic({"hub_min_words": 2000, "parts": ["intro", "body"]}) == (
        "- hub min words: 2000\n- parts: intro, body")
    values = prompts.strategy_values(session, owner, strategy_id=st.id, prompt_type="ideas", sector_id=1)
    assert values == {"strategy": "Pillar: Hubs first", "section_logic": "- intro: a hook of two sentences\n"
                                                                         "- faq: five questions"}


def test_a_strategy_of_one_sector_or_another_account_or_inactive_is_refused(session, owner):
    acct = session.get(Account, owner.account_id)
    site = f.site(session, acct)
    sector, other_sector = f.sector(session, site), f.sector(session, site)
    st = prompts.create_strategy(session, owner, name="Local", site_id=site.id, sector_id=sector.id)
    assert prompts.strategy_values(session, owner, strategy_id=st.id, prompt_type="content_generation",
                                   sector_id=sector.id)["strategy"] == "Local"
    f.refused(session, ValidationFailed, lambda: prompts.strategy_values(
        session, owner, strategy_id=st.id, prompt_type="ideas", sector_id=other_sector.id),
        match="Strategy “Local” is for another sector.")
    mine = prompts.create_author_profile(session, owner, name="Mine", tone="casual")
    stranger = f.owner_actor(session, f.account(session))
    for fn in (lambda: prompts.strategy_values(session, stranger, strategy_id=st.id, prompt_type="ideas",
                                               sector_id=sector.id),
               lambda: prompts.author_values(session, stranger, author_profile_id=mine.id)):
        f.refused(session, NotFound, fn, match=r"^(Strategy|Author profile) #\d+ was not found\.$")
    st.is_active = False
    session.flush()
    f.refused(session, NotFound, lambda: prompts.strategy_values(session, owner, strategy_id=st.id,
                                                                  prompt_type="ideas", sector_id=sector.id))


def test_voice_variables_are_known_but_optional_in_an_own_prompt(session, owner):
    view = prompts.get_prompt(session, account_id=owner.account_id, prompt_type="content_generation")
    assert view.optional == ["author_description", "strategy", "section_logic"]
    assert view.required == ["title", "description", "keywords", "word_count", "tone", "language"]
    plain = "Article {title} ({description}) in {language}, {tone}, {word_count} words on {keywords}. JSON."
    assert prompts.save_override(session, owner, prompt_type="content_generation", text=plain).text == plain
    voiced = plain + " Voice {author_description}; plan {strategy}; sections {section_logic}."
    assert prompts.save_override(session, owner, prompt_type="content_generation", text=voiced).text == voiced
    f.refused(session, ValidationFailed, lambda: prompts.save_override(
        session, owner, prompt_type="ideas", text="{count} {cluster_name} {cluster_description} {keywords} {tone}"),
        match=r"This prompt may use: \{cluster_name\}, \{cluster_description\}, \{keywords\}, \{count\}, "
              r"\{strategy\}, \{section_logic\}\.$")


def test_render_needs_every_variable_the_prompt_uses(session, owner):
    values = {"title": "T", "description": "D", "keywords": "k", "word_count": 900, "tone": "casual", "language": "en"}
    f.refused(session, ValidationFailed, lambda: prompts.render(
        session, account_id=owner.account_id, prompt_type="content_generation", values=values),
        match="^Prompt “content_generation” needs author_description, section_logic, strategy.$")
    plain = "Article {title} ({description}) in {language}, {tone}, {word_count} words on {keywords}."
    prompts.save_override(session, owner, prompt_type="content_generation", text=plain)
    assert prompts.render(session, account_id=owner.account_id, prompt_type="content_generation",
                          values=values) == "Article T (D) in en, casual, 900 words on k."


def test_the_strategy_picker_offers_what_fits_the_prompt_and_sector(session, owner):
    acct = session.get(Account, owner.account_id)
    site = f.site(session, acct)
    here, there = f.sector(session, site), f.sector(session, site)
    every = prompts.create_strategy(session, owner, name="Everywhere")
    ideas = prompts.create_strategy(session, owner, name="Ideas here", prompt_types=["ideas"], site_id=site.id,
                                    sector_id=here.id)
    articles = prompts.create_strategy(session, owner, name="Articles", prompt_types=["content_generation"])
    other = f.owner_actor(session, f.account(session))
    prompts.create_strategy(session, other, name="Not ours")
    mine = {every.id, ideas.id, articles.id}
    assert {k for k in prompts.strategy_choices(session, owner, prompt_type="ideas", sector_id=here.id)} & mine == {
        every.id, ideas.id}
    assert {k for k in prompts.strategy_choices(session, owner, prompt_type="ideas", sector_id=there.id)} & mine == {
        every.id}
    offered = prompts.strategy_choices(session, owner, prompt_type="content_generation", sector_id=here.id)
    assert {k for k in offered} & mine == {every.id, articles.id} and "Not ours" not in offered.values()
    f.refused(session, ValidationFailed, lambda: prompts.strategies_for(session, owner, prompt_type="clustering"),
              match="Strategies feed content_generation, ideas, not clustering.")
