"""The CLI tests' database: new and empty per test, with the environment a `python -m core.cli` run gets."""
from __future__ import annotations

import os

import pytest

from db.session import make_engine


@pytest.fixture
def db(fresh_database, tmp_path):
    """A new empty database, the environment a CLI run gets, and a way to look inside afterwards."""
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY="cli-test-secret", IGNY8_DATA_DIR=str(tmp_path / "data"))
    engine = make_engine(url)
    yield url, env, engine
    engine.dispose()
