"""Migration 0005 brings the stored default prompts of an existing database to the texts with the voice
variables; a default someone changed keeps its text; downgrade restores the old defaults."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from core.ai.prompts_default import DEFAULT_PROMPTS
from db import migrate
from db.models import GlobalAIPrompt
from db.session import make_engine

EDITED = "Write about {title} in {language} ({tone}), {word_count} words, {description}, {keywords}."
MIGRATION = Path(migrate.__file__).parent / "migrations" / "versions" / "0005_prompt_voice_variables.py"


def _changes() -> dict[str, tuple[str, list, str, list]]:
    spec = importlib.util.spec_from_file_location("migration_0005", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHANGES


@pytest.fixture
def engine(fresh_database):
    eng = make_engine(fresh_database())
    yield eng
    eng.dispose()


def _stored(engine) -> dict[str, tuple[str, list]]:
    with engine.connect() as conn:
        rows = conn.execute(select(GlobalAIPrompt.prompt_type, GlobalAIPrompt.prompt_value, GlobalAIPrompt.variables))
        return {r.prompt_type: (r.prompt_value, list(r.variables)) for r in rows}


def test_old_default_texts_are_replaced_edited_ones_kept_and_downgrade_restores(engine):
    old = {k: {"text": c[0], "variables": c[1]} for k, c in _changes().items()}
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(GlobalAIPrompt.__table__.insert(), [
            {"prompt_type": "ideas", "prompt_value": old["ideas"]["text"], "variables": old["ideas"]["variables"]},
            {"prompt_type": "content_generation", "prompt_value": EDITED,
             "variables": old["content_generation"]["variables"]}])
    migrate.upgrade(engine)
    stored = _stored(engine)
    assert stored["ideas"] == (DEFAULT_PROMPTS["ideas"]["text"], DEFAULT_PROMPTS["ideas"]["variables"])
    assert stored["content_generation"] == (EDITED, DEFAULT_PROMPTS["content_generation"]["variables"])
    migrate.downgrade(engine, "0004")
    stored = _stored(engine)
    assert stored["ideas"] == (old["ideas"]["text"], old["ideas"]["variables"])
    assert stored["content_generation"] == (EDITED, old["content_generation"]["variables"])
