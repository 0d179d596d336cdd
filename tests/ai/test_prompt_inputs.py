"""What reaches the AI: the prompt a job renders, read back from the fake server's request log. The author profile
(tone, language, description) and the strategy (name, description, section logic) feed it; another account's are
refused; a stored prompt that cannot be filled in stops the run before any call, with a message for a person."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.ai import engine, prompts
from core.ai.prompts_default import NO_AUTHOR, NO_SECTION_LOGIC, NO_STRATEGY
from core.errors import NotFound, ValidationFailed
from db.models import Account, AIPrompt, Content
from tests import factories as f
from tests.ai.helpers import balance, cluster, task


def test_a_stored_prompt_with_a_format_spec_stops_the_run_before_any_call(rt, fake, world):
    cid = cluster(rt, world)
    with rt.transaction() as s:  # written directly: the old check let such a prompt be saved
        s.add(AIPrompt(account_id=world.account_id, prompt_type="ideas", is_active=True,
                       prompt_value="{count} ideas for {cluster_name} ({cluster_description}): {keywords:d}"))
    with pytest.raises(ValidationFailed, match=r"^This account's own “ideas” prompt cannot be used: Write variables "
                                               r"plain, as \{keywords\}, not \{keywords:d\}"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid, count=2)
    assert fake.posts("/chat/completions") == [] and balance(rt, world) == 1000


ARTICLE = {"content_html": "<h2>Grip</h2><p>Lugs bite into mud.</p>", "meta_title": "Trail shoes guide"}


def _voices(rt, w, *, account_id=None):
    """An author profile and a strategy of the world's account (or, with account_id, of another account)."""
    with rt.transaction() as s:
        actor = w.actor if account_id is None else f.owner_actor(s, s.get(Account, account_id))
        profile = prompts.create_author_profile(s, actor, name="Trail coach", tone="friendly", language="de",
                                                description="Speaks to beginners; one idea per paragraph.")
        strategy = prompts.create_strategy(s, actor, name="Pillar first", description="Hub before spokes.",
                                           prompt_types=["content_generation", "ideas"], section_logic={
                                               "intro_max_words": 80, "faq": "close with five questions"})
        return profile.id, strategy.id


def _prompt(fake) -> str:
    return fake.posts("/chat/completions")[-1].json["messages"][1]["content"]


def test_the_article_prompt_carries_the_profile_and_the_strategy(rt, fake, world):
    profile_id, strategy_id = _voices(rt, world)
    tid = task(rt, world)
    fake.reply_json(ARTICLE)
    engine.run(rt, world.actor, function="generate_content", task_id=tid, author_profile_id=profile_id,
               strategy_id=strategy_id)
    prompt = _prompt(fake)
    assert "Write an SEO article in de, tone friendly" in prompt
    assert "Author voice: Speaks to beginners; one idea per paragraph." in prompt
    assert "Content strategy: Pillar first: Hub before spokes." in prompt
    assert "Section logic:\n- intro max words: 80\n- faq: close with five questions\n" in prompt


def test_without_profile_or_strategy_the_prompt_gets_the_defaults(rt, fake, world):
    tid = task(rt, world)
    fake.reply_json(ARTICLE)
    engine.generate_content(rt, world.actor, task_id=tid)
    prompt = _prompt(fake)
    assert "in en, tone professional" in prompt and f"Author voice: {NO_AUTHOR}\n" in prompt
    assert f"Content strategy: {NO_STRATEGY}\n" in prompt and f"Section logic:\n{NO_SECTION_LOGIC}\n" in prompt


def test_the_global_strategy_and_profiles_are_usable_by_every_account(rt, fake, world):
    with rt.transaction() as s:
        hub = next(x for x in prompts.list_strategies(s, world.actor) if x.account_id is None)
        voice = next(p for p in prompts.list_author_profiles(s, world.actor) if p.account_id is None)
        expected = (hub.name, prompts.describe_section_logic(hub.section_logic), voice.description)
    cid = cluster(rt, world)
    fake.reply_json({"ideas": [{"title": "Hub: trail shoes", "content_structure": "guide",
                                "estimated_word_count": 2000}]})
    engine.run(rt, world.actor, function="generate_ideas", cluster_id=cid, count=1, strategy_id=hub.id)
    assert f"Content strategy: {expected[0]}" in _prompt(fake) and expected[1] in _prompt(fake)
    fake.reply_json(ARTICLE)
    engine.generate_content(rt, world.actor, task_id=task(rt, world), author_profile_id=voice.id)
    assert f"Author voice: {expected[2]}" in _prompt(fake)


def test_another_accounts_strategy_or_profile_is_refused_before_any_call(rt, fake, world):
    with rt.transaction() as s:
        other = f.account(s).id
    profile_id, strategy_id = _voices(rt, world, account_id=other)
    tid, cid = task(rt, world), cluster(rt, world, name="Other cluster")
    for function, params in (("generate_content", {"task_id": tid, "strategy_id": strategy_id}),
                             ("generate_content", {"task_id": tid, "author_profile_id": profile_id}),
                             ("generate_ideas", {"cluster_id": cid, "strategy_id": strategy_id})):
        with pytest.raises(NotFound, match=r"^(Strategy|Author profile) #\d+ was not found\.$"):
            engine.run(rt, world.actor, function=function, **params)
    assert fake.posts("/chat/completions") == [] and balance(rt, world) == 1000
    with rt.transaction() as s:
        assert s.scalar(select(Content.id).where(Content.task_id == tid)) is None


def test_a_strategy_meant_for_ideas_only_is_refused_for_an_article(rt, fake, world):
    with rt.transaction() as s:
        ideas_only = prompts.create_strategy(s, world.actor, name="Idea funnel", prompt_types=["ideas"]).id
    with pytest.raises(ValidationFailed, match="^Strategy “Idea funnel” is meant for ideas, not articles.$"):
        engine.run(rt, world.actor, function="generate_content", task_id=task(rt, world), strategy_id=ideas_only)
    assert fake.posts("/chat/completions") == []
