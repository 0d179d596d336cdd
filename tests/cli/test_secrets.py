"""`python -m core.cli rotate-secrets` as a real subprocess against a fresh database of each backend: values of both
formats written with the old key end up readable with the new key alone, a rerun rewrites nothing, and a secret
no key decrypts is named while nothing is written. Few calls: each one costs a process start."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import runtime
from core.common import vault
from db.models import IntegrationProvider, SiteIntegration
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "cli-old-secret", "cli-new-secret"


def v1_the_old_way(plaintext: str, passphrase: str) -> str:
    key = base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())
    return "enc:v1:" + Fernet(key).encrypt(plaintext.encode()).decode()


@pytest.fixture
def db(fresh_database, tmp_path):
    """A fresh database with old-key secrets in every registered column, and the environment of a rotation."""
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY=NEW, IGNY8_PREVIOUS_SECRET_KEYS=OLD,
               IGNY8_DATA_DIR=str(tmp_path / "data"))
    rt = runtime.start(url=url)
    old = vault.KeyRing(OLD)
    with rt.transaction() as s:
        provider = s.scalars(select(IntegrationProvider).order_by(IntegrationProvider.provider_id)).first()
        provider.api_key, provider.api_secret = v1_the_old_way("key-1", OLD), vault.encrypt("secret-1", ring=old)
        site = f.site(s, f.account(s))
        link = SiteIntegration(account_id=site.account_id, site_id=site.id, credentials_json={
            "username": "bot", "password": v1_the_old_way("app-pass", OLD),
            "app_password": vault.encrypt("wp-pass", ring=old)})
        s.add(link)
        s.flush()
        site_id = link.id
    yield rt, env, site_id
    rt.engine.dispose()


def run(db, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "core.cli", "rotate-secrets", *args], cwd=ROOT, env=db[1],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


def stored(db) -> list[str]:
    with Session(db[0].engine) as s:
        values = [v for p in s.scalars(select(IntegrationProvider)) for v in (p.api_key, p.api_secret) if v]
        values += [link.credentials_json[k] for link in s.scalars(select(SiteIntegration))
                   for k in ("password", "app_password")]
        return values


def test_rotate_secrets_rewrites_everything_for_the_new_key_and_reruns_as_a_no_op(db):
    out = run(db).stdout
    assert out.splitlines() == [
        "Every stored secret decrypts; re-encrypted 4 of 4 with the current key (0 already current).",
        "  integration_provider: 2 secret(s), 2 rewritten", "  site_integration: 2 secret(s), 2 rewritten"]
    values = stored(db)
    assert all(v.startswith(vault.V2) for v in values)
    assert sorted(vault.decrypt(v, ring=vault.KeyRing(NEW)) for v in values) == ["app-pass", "key-1", "secret-1",
                                                                                 "wp-pass"]
    rows = json.loads(run(db, "--json").stdout)
    assert [(r["table"], r["secrets"], r["rewritten"]) for r in rows] == [
        ("integration_provider", 2, 0), ("site_integration", 2, 0)]
    assert stored(db) == values  # nothing to rewrite: nothing rewritten


def test_a_secret_no_key_decrypts_fails_the_whole_rotation(db):
    rt, _, link_id = db
    with rt.transaction() as s:
        link = s.get(SiteIntegration, link_id)
        link.credentials_json = {**link.credentials_json, "app_password": v1_the_old_way("lost", "a-key-nobody-has")}
    before = stored(db)
    err = run(db, code=2).stderr
    assert run(db, "--dry-run", code=2).stderr == err  # a dry run finds the same
    assert err.startswith("error: 1 stored secret(s) cannot be decrypted with IGNY8_SECRET_KEY or "
                          f"IGNY8_PREVIOUS_SECRET_KEYS, so nothing was re-encrypted: site_integration {link_id} "
                          "credentials_json.app_password (no key fits).")
    assert stored(db) == before
