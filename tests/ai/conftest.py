"""AI engine fixtures: a real OpenAI-compatible server on loopback, and a fresh migrated database per module
(the engine commits, so the savepoint `session` fixture cannot be used)."""
from __future__ import annotations

import pytest

from core import tenancy
from core.billing import credits
from tests import factories as f
from tests.ai.helpers import API_KEY, World, configure
from tests.fakes.openai_server import FakeAI


@pytest.fixture(scope="module")
def fake():
    with FakeAI(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def world(rt, fake) -> World:
    fake.reset()
    configure(rt, fake)
    with rt.transaction() as s:
        acct = f.account(s)
        actor = f.owner_actor(s, acct)
        site = f.site(s, acct)
        sector = f.sector(s, site)
        credits.grant(s, tenancy.operator_actor(acct.id), amount=1000, kind="purchase", reason="test credits")
        return World(acct.id, actor, site.id, sector.id)
