"""What reaches the AI: the prompt a job renders, read back from the fake server's request log; a stored prompt
that cannot be filled in stops the run before any call, with a message for a person."""
from __future__ import annotations

import pytest

from core.ai import engine
from core.errors import ValidationFailed
from db.models import AIPrompt
from tests.ai.helpers import balance, cluster


def test_a_stored_prompt_with_a_format_spec_stops_the_run_before_any_call(rt, fake, world):
    cid = cluster(rt, world)
    with rt.transaction() as s:  # written directly: the old check let such a prompt be saved
        s.add(AIPrompt(account_id=world.account_id, prompt_type="ideas", is_active=True,
                       prompt_value="{count} ideas for {cluster_name} ({cluster_description}): {keywords:d}"))
    with pytest.raises(ValidationFailed, match=r"^This account's own “ideas” prompt cannot be used: Write variables "
                                               r"plain, as \{keywords\}, not \{keywords:d\}"):
        engine.generate_ideas(rt, world.actor, cluster_id=cid, count=2)
    assert fake.posts("/chat/completions") == [] and balance(rt, world) == 1000
