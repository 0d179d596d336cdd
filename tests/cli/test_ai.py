"""The AI and credit commands of `python -m core.cli`, as real subprocesses against a fresh database of each backend
(a provider on a loopback OpenAI-compatible server). Few calls: each one costs a process start."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import runtime
from core.ai import models as ai_models
from core.ai import settings as ai_settings
from core.billing import credits
from core.common import vault
from core.tenancy import operator_actor, system_actor
from db.models import CreditCostConfig, CreditTransaction, CreditUsageRollup, IntegrationProvider
from tests import factories as f
from tests.fakes.openai_server import FakeAI

ROOT = Path(__file__).resolve().parents[2]
CLI_SECRET = "cli-ai-test-secret"


@pytest.fixture
def db(fresh_database, tmp_path):
    """A fresh database prepared in this process (migrated, seeded), and the environment a CLI run gets."""
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY=CLI_SECRET, IGNY8_DATA_DIR=str(tmp_path / "data"))
    rt = runtime.start(url=url)
    yield rt, env
    rt.engine.dispose()


def run(db, *args: str, extra_env: dict[str, str] | None = None, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env={**db[1], **(extra_env or {})},
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


def look(db) -> Session:
    return Session(db[0].engine, expire_on_commit=False)


@pytest.fixture
def tenant(db):
    """An account with a site, 100 credits granted and three AI calls charged today."""
    with db[0].transaction() as s:
        acct = f.account(s)
        site = f.site(s, acct)
        bot = system_actor(acct.id)
        credits.grant(s, operator_actor(acct.id), amount=100, kind="purchase", reason="seed")
        for i, op in enumerate(("clustering", "idea_generation", "content_generation")):
            credits.charge(s, bot, credits=i + 1, idempotency_key=f"call-{i}", description=op, usage=credits.Usage(
                operation_type=op, model_used="gpt-4o-mini", tokens_input=100 * i, tokens_output=10 * i,
                cost_usd=Decimal("0.0015"), site_id=site.id if i else None))
        return acct.slug, site.slug, acct.id


def test_configure_and_test_a_provider_key_never_shown(db):
    with FakeAI(api_key=f"sk-cli-{uuid.uuid4().hex}") as fake:
        out = run(db, "configure-provider", "--provider", "openai", "--api-key-env", "OPENAI_KEY_FOR_TEST",
                  "--endpoint", fake.url + "/", "--default-text-model", "gpt-4o", "--active",
                  extra_env={"OPENAI_KEY_FOR_TEST": fake.api_key}).stdout
        assert out.splitlines() == [
            f"Provider openai (OpenAI): endpoint {fake.url}, active, API key ••••••••{fake.api_key[-4:]}.",
            "Default text model: gpt-4o (GPT-4o)."]
        with look(db) as s:
            stored = s.get(IntegrationProvider, "openai").api_key
            assert fake.api_key not in stored
            assert vault.decrypt(stored, ring=vault.KeyRing(CLI_SECRET)) == fake.api_key  # with the configured secret
            assert ai_models.default_model(s, model_type="text").model_name == "gpt-4o"

        done = run(db, "test-provider", "--provider", "openai")
        assert done.stdout.splitlines() == [f"Connected to openai at {fake.url}: 2 model(s) available.",
                                            "  dall-e-3", "  gpt-4o-mini"]
        assert [r.path for r in fake.requests] == ["/v1/models"]
        assert fake.api_key not in done.stdout + done.stderr

        err = run(db, "configure-provider", "--provider", "openai", "--api-key", "sk-other-00000000",
                  "--default-image-model", "gpt-4o", code=2).stderr
        assert err == "error: “gpt-4o” is a text model, so it cannot be the default image model.\n"
        with look(db) as s:  # one transaction: the new key was not kept either
            assert s.get(IntegrationProvider, "openai").api_key == stored


def test_credit_ledger_usage_and_settings_commands(db, tenant, tmp_path):
    slug, site_slug, account_id = tenant
    grant = ["grant-credits", "--account", slug, "--amount", "1000", "--kind", "purchase", "--reason",
             "Invoice 7", "--idempotency-key", "inv-7"]
    first = run(db, *grant).stdout
    assert first.startswith("Ledger #") and first.endswith("+1,000 credits (purchase) to account "
                                                          f"{slug}; balance 1,094.\n")
    assert run(db, *grant).stdout == first  # the same key grants once
    err = run(db, "grant-credits", "--account", slug, "--amount", "5", "--kind", "refund", "--reason", " ",
              code=2).stderr
    assert err == "error: Say why the credits are added (the reason goes into the ledger).\n"
    assert run(db, "balance", "--account", slug).stdout == f"Account {slug}: 1,094 credits.\n"
    ledger = json.loads(run(db, "ledger", "--account", slug, "--limit", "2", "--json").stdout)
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in ledger] == [("purchase", 1000, 1094),
                                                                               ("deduction", -3, 94)]
    with look(db) as s:
        assert credits.ledger_sum(s, account_id=account_id) == 1094

    today = datetime.now(UTC).date()
    span = ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1))]
    rows = list(csv.DictReader(io.StringIO(run(db, "export-usage", "--account", slug, *span, "--site",
                                               site_slug).stdout)))
    assert sorted((r["operation"], r["credits"]) for r in rows) == [("content_generation", "3"),
                                                                     ("idea_generation", "2")]
    target = tmp_path / "out" / "usage.csv"
    assert run(db, "export-usage", "--account", slug, *span, "--out", str(target)).stdout == (
        f"Wrote 3 usage rows of account {slug} ({span[1]}..{span[3]}) to {target}.\n")
    assert len(list(csv.DictReader(target.open(encoding="utf-8")))) == 3
    assert "is after the end date" in run(db, "export-usage", "--account", slug, "--from", span[3], "--to", span[1],
                                          code=2).stderr

    with look(db) as s:
        kept = s.execute(select(CreditUsageRollup.dimension, CreditUsageRollup.key, CreditUsageRollup.credits)
                         .where(CreditUsageRollup.account_id == account_id)).all()
    assert sum(c for d, _, c in kept if d == "operation") == 6
    assert run(db, "rebuild-usage-rollup", "--account", slug).stdout == (
        f"Rebuilt the hourly usage rollup of account {slug} from the usage log: {len(kept)} rows.\n")
    with look(db) as s:
        assert sorted(s.execute(select(CreditUsageRollup.dimension, CreditUsageRollup.key, CreditUsageRollup.credits)
                                .where(CreditUsageRollup.account_id == account_id)).all()) == sorted(kept)

    shown = json.loads(run(db, "ai-settings", "--account", slug, "--set", "temperature=1.1",
                           "ai.image_quality_tier=premium", "--json").stdout)
    assert {r["setting"]: r["value"] for r in shown}.items() >= {"temperature": 1.1,
                                                                 "image_quality_tier": "premium"}.items()
    err = run(db, "ai-settings", "--account", slug, "--reset", "--set", "max_images=9", code=2).stderr
    assert err == "error: Max images must be a whole number from 0 to 8 (got “9”).\n"
    with look(db) as s:  # the refused command did not reset either
        eff = ai_settings.effective(s, account_id=account_id)
        assert (eff.temperature, eff.image_quality_tier) == (1.1, "premium")


def test_price_table_and_system_defaults_commands(db, tenant):
    account_id = tenant[2]
    costs = json.loads(run(db, "credit-costs", "--set", "idea_generation=3", "clustering=0", "--json").stdout)
    by_op = {c["operation"]: (c["base_credits"], c["unit"], c["previous"]) for c in costs}
    assert by_op["idea_generation"] == (3, "per_item", 2) and by_op["clustering"] == (0, "per_request", 1)
    err = run(db, "credit-costs", "--set", "reparse=4", "idea_generation=1.5", code=2).stderr
    assert err == "error: The base credits of “Idea generation” must be a whole number from 0 to 10,000 (got “1.5”).\n"
    assert run(db, "credit-costs", "--set", "translation=1", code=2).stderr.startswith(
        "error: Give prices as OPERATION=CREDITS with an operation of: clustering, content_generation, ")
    table = run(db, "credit-costs").stdout.splitlines()  # a new start: the top-up kept the edits
    assert table[0].split() == ["operation", "name", "base_credits", "unit", "active", "previous"]
    rows = {line.split()[0]: line.split()[-4:] for line in table[1:]}
    assert (rows["idea_generation"], rows["clustering"]) == (["3", "per_item", "True", "2"],
                                                             ["0", "per_request", "True", "1"])
    with look(db) as s:
        assert s.get(CreditCostConfig, "reparse").base_credits == 1  # the refused command wrote nothing
        assert s.scalars(select(CreditTransaction.amount).where(
            CreditTransaction.account_id == account_id, CreditTransaction.amount < 0)
            .order_by(CreditTransaction.id)).all() == [-1, -2, -3]  # charged before the change: kept

    with db[0].transaction() as s:
        ai_settings.save(s, operator_actor(account_id), temperature=1.1)
        plain_id = f.account(s).id
    shown = json.loads(run(db, "system-ai-settings", "--set", "temperature=0.3", "max_images_per_article=6",
                           "image_quality_tier=premium", "--json").stdout)
    assert {r["setting"]: r["value"] for r in shown}.items() >= {"temperature": 0.3, "max_images": 6,
                                                                 "image_quality_tier": "premium"}.items()
    err = run(db, "system-ai-settings", "--set", "image_style=cartoon", "max_tokens=100", code=2).stderr
    assert err == "error: Max tokens must be a whole number from 256 to 128,000 (got “100”).\n"
    with look(db) as s:
        plain, own = (ai_settings.effective(s, account_id=i) for i in (plain_id, account_id))
        assert (plain.temperature, plain.max_images, plain.image_quality_tier, plain.image_style) == (
            0.3, 6, "premium", "photorealistic")
        assert (own.temperature, own.max_images, own.image_quality_tier) == (1.1, 6, "premium")
