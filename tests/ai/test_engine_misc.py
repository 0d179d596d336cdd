"""The stored API key never appears in plaintext; provider checks; usage without reported tokens; bad inputs."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import engine
from core.ai.errors import AIProviderError
from core.billing import credits
from core.errors import AccessDenied, NotFound, ValidationFailed
from db.base import Base
from db.enums import Role
from db.models import CreditUsageLog
from tests import factories as f
from tests.ai.helpers import API_KEY, cluster, content, keywords, viewer
from tests.fakes.openai_server import Reply, completion

IDEA = {"title": "Best trail shoes", "content_structure": "guide", "estimated_word_count": 1500}


def test_the_api_key_is_never_stored_in_plaintext(rt, fake, world):
    cid = cluster(rt, world)
    fake.reply_json({"ideas": [IDEA]})
    engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1)
    fake.chat.append(Reply(status=400, body={"error": {"message": f"bad key {API_KEY}"}}))
    with pytest.raises(AIProviderError):
        engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1)
    found: list[str] = []
    with rt.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                found += [f"{table.name}.{col}" for col, value in row._mapping.items()
                          if value is not None and API_KEY in str(value)]
    assert found == []
    with rt.engine.connect() as conn:  # and the key is there, encrypted
        stored = conn.exec_driver_sql("SELECT api_key FROM integration_provider WHERE provider_id='openai'").scalar()
    assert stored and API_KEY not in stored


def test_check_provider_for_platform_admins(rt, fake, world):
    ok = engine.check_provider(rt, tenancy.operator_actor(), provider_id="openai")
    assert ok.ok and "gpt-4o-mini" in ok.models
    with rt.transaction() as s:
        system_admin = f.platform_admin(s, role=Role.admin)
    assert engine.check_provider(rt, system_admin, provider_id="openai").ok
    calls = len(fake.requests)
    for refused in (viewer(rt, world), world.actor):  # world.actor: a customer account's owner (it spends our key)
        with pytest.raises(AccessDenied, match="shared by every account"):
            engine.check_provider(rt, refused, provider_id="openai")
    assert len(fake.requests) == calls  # refused before any call out


def test_tokens_are_estimated_when_the_server_reports_no_usage(rt, fake, world):
    cid = cluster(rt, world)
    body = completion(json.dumps({"ideas": [IDEA]}))
    del body["usage"]
    fake.chat.append(Reply(body=body))
    res = engine.generate_ideas(rt, world.actor, cluster_id=cid, count=1)
    with rt.transaction() as s:
        log = s.get(CreditUsageLog, res.usage_log_id)
    assert log.tokens_input > 50 and log.tokens_output > 5 and log.metadata_["usage_estimated"] is True


def test_bad_inputs_are_refused_with_a_message(rt, fake, world):
    with pytest.raises(ValidationFailed, match="count"):
        engine.generate_ideas(rt, world.actor, cluster_id=1, count=99)
    with pytest.raises(ValidationFailed, match="Unknown AI function"):
        engine.run(rt, world.actor, function="write_poem")
    ids = keywords(rt, world, ["trail shoes"])
    with pytest.raises(NotFound, match="are not in sector"):
        engine.auto_cluster(rt, world.actor, sector_id=world.sector_id, keyword_ids=ids + [10**9])
    with pytest.raises(ValidationFailed, match="no image prompts waiting"):
        engine.generate_images(rt, world.actor, content_id=content(rt, world))
    assert fake.requests == []


def test_another_accounts_objects_are_not_found(rt, fake, world):
    cid = cluster(rt, world)
    with rt.transaction() as s:
        other = f.account(s)
        stranger = f.actor(s, f.user(s, other, role=Role.owner))
        credits.grant(s, tenancy.operator_actor(other.id), amount=100, kind="purchase", reason="x")
    with pytest.raises(NotFound):
        engine.generate_ideas(rt, stranger, cluster_id=cid)
    with rt.transaction() as s:
        with pytest.raises(NotFound):
            engine.estimate(s, stranger, function="generate_ideas", cluster_id=cid)
        assert s.scalar(select(CreditUsageLog.id).where(CreditUsageLog.account_id == other.id)) is None
    assert fake.requests == []
