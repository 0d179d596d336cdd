"""The vault: scrypt-derived keys with the salt in each stored value, the first format still read, key rotation
(MultiFernet) and `rotate`, which re-encrypts every stored secret with the current key, all or nothing."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import JSON, String, select, update

from core import config
from core.common import vault
from core.errors import AccessDenied, ValidationFailed
from core.tenancy import operator_actor
from db.base import Base
from db.models import IntegrationProvider, SiteIntegration
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "the-old-passphrase", "the-new-passphrase"
SECRET = "sk-live-abcdefghijklmnop1234"


def v1_the_old_way(plaintext: str, passphrase: str) -> str:
    """A value as the first vault wrote it: one SHA-256 of the passphrase as the Fernet key."""
    key = base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())
    return "enc:v1:" + Fernet(key).encrypt(plaintext.encode()).decode()


# --- Format, keys, compatibility ------------------------------------------------------------------------------

def test_new_values_carry_their_salt_and_round_trip():
    ring = vault.KeyRing(NEW)
    stored = vault.encrypt(SECRET, ring=ring)
    assert re.fullmatch(r"enc:v2:[A-Za-z0-9_-]{22}:gAAAAA[A-Za-z0-9_=-]+", stored), stored
    assert SECRET not in stored and vault.encrypt(SECRET, ring=ring) != stored  # a fresh IV each time
    assert vault.decrypt(stored, ring=ring) == SECRET and vault.is_current(stored, ring=ring)
    assert vault.encrypt("", ring=ring) == "" and vault.decrypt("", ring=ring) == ""
    assert vault.reencrypt(stored, ring=ring) is None  # already current: nothing to rewrite


def test_a_first_format_value_made_the_old_way_still_decrypts():
    assert vault.decrypt(v1_the_old_way(SECRET, OLD), ring=vault.KeyRing(OLD)) == SECRET
    conftest_key = os.environ["IGNY8_SECRET_KEY"]  # the process's own ring reads it too
    assert vault.decrypt(v1_the_old_way(SECRET, conftest_key)) == SECRET
    raw_key = Fernet.generate_key().decode()  # IGNY8_SECRET_KEY (or the key file) holding a Fernet key as is
    stored = "enc:v1:" + Fernet(raw_key.encode()).encrypt(SECRET.encode()).decode()
    assert vault.decrypt(stored, ring=vault.KeyRing(raw_key)) == SECRET
    assert not vault.is_current(stored, ring=vault.KeyRing(raw_key))


def test_previous_keys_still_decrypt_and_the_current_one_encrypts():
    old_ring, ring = vault.KeyRing(OLD), vault.KeyRing(NEW, (OLD,))
    for stored in (v1_the_old_way(SECRET, OLD), vault.encrypt(SECRET, ring=old_ring)):
        assert vault.decrypt(stored, ring=ring) == SECRET
        assert not vault.is_current(stored, ring=ring)
        with pytest.raises(ValidationFailed, match="IGNY8_SECRET_KEY has changed"):
            vault.decrypt(stored, ring=vault.KeyRing(NEW))
        fresh = vault.reencrypt(stored, ring=ring)
        assert fresh and vault.decrypt(fresh, ring=vault.KeyRing(NEW)) == SECRET
    with pytest.raises(ValidationFailed, match="IGNY8_PREVIOUS_SECRET_KEYS"):
        vault.decrypt(vault.encrypt(SECRET, ring=ring), ring=old_ring)  # the old key alone cannot read new values


@pytest.mark.parametrize("stored", ["enc:v2:nosalt", "enc:v2:AAAA:gAAAAAbroken", "enc:v2:***:x", "enc:v9:x",
                                    "enc:gAAAAAsomething"])
def test_damaged_values_give_a_message(stored):
    with pytest.raises(ValidationFailed, match="cannot be decrypted"):
        vault.decrypt(stored, ring=vault.KeyRing(NEW))


def test_a_plaintext_value_is_refused():
    with pytest.raises(ValidationFailed, match="not encrypted; set it again"):
        vault.decrypt(SECRET, ring=vault.KeyRing(NEW))


def test_the_key_ring_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IGNY8_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IGNY8_SECRET_KEY", NEW)
    monkeypatch.setenv("IGNY8_PREVIOUS_SECRET_KEYS", f" {OLD} , ,older-one,{NEW}")
    ring = vault.keyring(config.load())
    assert (ring.current, ring.previous) == (NEW, (OLD, "older-one"))
    assert NEW not in repr(ring) and OLD not in repr(ring)  # a traceback never shows a key
    with pytest.raises(ValidationFailed, match="secret key is empty"):
        vault.KeyRing(" ")


def test_without_a_key_a_private_key_file_is_made_and_kept_when_a_key_is_set(monkeypatch, tmp_path):
    monkeypatch.setenv("IGNY8_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IGNY8_SECRET_KEY", raising=False)
    monkeypatch.delenv("IGNY8_PREVIOUS_SECRET_KEYS", raising=False)
    ring = vault.keyring(config.load())
    key_file = tmp_path / "data" / vault.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and ring.current == key_file.read_text().strip()
    stored = vault.encrypt(SECRET, ring=ring)
    legacy = "enc:v1:" + Fernet(ring.current.encode()).encrypt(SECRET.encode()).decode()
    monkeypatch.setenv("IGNY8_SECRET_KEY", NEW)  # the operator sets a key later: the file's values still decrypt
    later = vault.keyring(config.load())
    assert later.current == NEW and later.previous == (ring.current,)
    assert vault.decrypt(stored, ring=later) == vault.decrypt(legacy, ring=later) == SECRET


def test_another_machine_with_the_same_key_but_its_own_data_dir_reads_our_values(tmp_path):
    env = {**os.environ, "IGNY8_SECRET_KEY": NEW, "IGNY8_DATA_DIR": str(tmp_path / "elsewhere")}
    env.pop("IGNY8_PREVIOUS_SECRET_KEYS", None)
    done = subprocess.run([sys.executable, "-c", f"from core.common import vault; print(vault.encrypt({SECRET!r}))"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    theirs = done.stdout.strip()
    assert vault.decrypt(theirs, ring=vault.KeyRing(NEW)) == SECRET
    assert theirs.split(":")[2] != vault.encrypt(SECRET, ring=vault.KeyRing(NEW)).split(":")[2]  # its own salt


def test_derived_keys_are_cached_so_scrypt_runs_once_per_key_and_salt():
    ring = vault.KeyRing("a-passphrase-for-the-cache-test", (OLD,))
    vault.decrypt(vault.encrypt(SECRET, ring=ring), ring=ring)  # scrypt runs here, once per key and salt
    before = vault._v2_fernet.cache_info()
    for i in range(300):
        assert vault.decrypt(vault.encrypt(f"{SECRET}{i}", ring=ring), ring=ring) == f"{SECRET}{i}"
    after = vault._v2_fernet.cache_info()
    assert after.misses == before.misses  # no new derivation: one salt per process, keys cached


# --- Rotation ---------------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"password|secret|api_key|credential|token")


def test_every_secret_looking_column_is_rotated():
    listed = {(m.__tablename__, c) for m, cols in vault.SECRET_COLUMNS.items() for c in cols}
    found = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
             if SECRET_NAME.search(c.name) and isinstance(c.type, String | JSON) and not c.name.endswith("_hash")}
    assert found <= listed, f"add to vault.SECRET_COLUMNS: {sorted(found - listed)}"


@pytest.fixture
def stored(session):
    """Only this test's secrets in the database (the savepoint puts the others back): old-key values of both
    formats, one already current, in every registered column, and plain JSON values that are no secrets."""
    session.execute(update(IntegrationProvider).values(api_key="", api_secret="", webhook_secret=""))
    session.execute(update(SiteIntegration).values(credentials_json={}))
    old, new = vault.KeyRing(OLD), vault.KeyRing(NEW)
    ids = session.scalars(select(IntegrationProvider.provider_id).order_by(IntegrationProvider.provider_id)).all()
    first, second = (session.get(IntegrationProvider, i) for i in ids[:2])
    first.api_key, first.api_secret = v1_the_old_way("key-1", OLD), vault.encrypt("secret-1", ring=old)
    second.webhook_secret = vault.encrypt("hook-2", ring=new)
    site = f.site(session, f.account(session))
    link = SiteIntegration(account_id=site.account_id, site_id=site.id, credentials_json={
        "username": "bot", "password": vault.encrypt("app-pass", ring=old), "app_password": v1_the_old_way("wp-pass", OLD),
        "extra": {"tokens": [v1_the_old_way("tok-1", OLD), "plain"]}, "port": 443})
    session.add(link)
    session.flush()
    return first, second, site, link


def _all_plain(session, ring: vault.KeyRing) -> dict[str, str]:
    session.expire_all()
    out: dict[str, str] = {}
    for p in session.scalars(select(IntegrationProvider)):
        for col in ("api_key", "api_secret", "webhook_secret"):
            if getattr(p, col):
                out[f"{p.provider_id}.{col}"] = vault.decrypt(getattr(p, col), ring=ring)
    for link in session.scalars(select(SiteIntegration)):
        creds = link.credentials_json
        if creds:
            out["link.password"] = vault.decrypt(creds["password"], ring=ring)
            out["link.app_password"] = vault.decrypt(creds["app_password"], ring=ring)
            out["link.token"] = vault.decrypt(creds["extra"]["tokens"][0], ring=ring)
            assert (creds["username"], creds["extra"]["tokens"][1], creds["port"]) == ("bot", "plain", 443)
    return out


def test_rotation_rewrites_every_secret_for_the_new_key_alone_and_is_idempotent(session, stored):
    expected = {"key-1", "secret-1", "hook-2", "wp-pass", "app-pass", "tok-1"}
    ring = vault.KeyRing(NEW, (OLD,))
    assert set(_all_plain(session, ring).values()) == expected
    counts = vault.rotate(session, operator_actor(), ring=ring)
    assert [(c.table, c.secrets, c.rewritten) for c in counts] == [
        ("integration_provider", 3, 2), ("site_integration", 3, 3)]
    plain = _all_plain(session, vault.KeyRing(NEW))  # the old key is no longer needed
    assert set(plain.values()) == expected and len(plain) == 6
    again = vault.rotate(session, operator_actor(), ring=vault.KeyRing(NEW))
    assert [(c.secrets, c.rewritten) for c in again] == [(3, 0), (3, 0)]


def test_a_secret_no_key_decrypts_is_named_and_nothing_is_written(session, stored):
    first, _, _, link = stored
    link.credentials_json = {**link.credentials_json, "app_password": v1_the_old_way("lost", "a-key-nobody-has")}
    session.flush()
    before = {p.provider_id: p.api_key for p in session.scalars(select(IntegrationProvider))}
    with pytest.raises(ValidationFailed, match=rf"1 stored secret\(s\).*site_integration {link.id} credentials_json.app_password \(no key"):
        vault.rotate(session, operator_actor(), ring=vault.KeyRing(NEW, (OLD,)))
    session.expire_all()
    assert {p.provider_id: p.api_key for p in session.scalars(select(IntegrationProvider))} == before
    first.api_key = "sk-plaintext-by-hand"
    session.flush()
    with pytest.raises(ValidationFailed, match=rf"integration_provider {first.provider_id} api_key \(not encrypted"):
        vault.rotate(session, operator_actor(), ring=vault.KeyRing(NEW, (OLD,)))


def test_a_dry_run_writes_nothing_and_only_developers_rotate(session, stored):
    first = stored[0]
    key_before = first.api_key
    counts = vault.rotate(session, operator_actor(), ring=vault.KeyRing(NEW, (OLD,)), dry_run=True)
    assert sum(c.rewritten for c in counts) == 5
    session.expire_all()
    assert session.get(IntegrationProvider, first.provider_id).api_key == key_before
    admin = f.platform_admin(session)  # may change providers, but rotation reads every account's secrets
    f.refused(session, AccessDenied, lambda: vault.rotate(session, admin, ring=vault.KeyRing(NEW, (OLD,))))
