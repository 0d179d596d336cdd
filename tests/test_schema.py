"""Alembic migrations match the models on both backends; the secrets vault encrypts at rest."""
from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

import db.models  # noqa: F401  (registers every table)
from core.common import vault
from core.errors import ValidationFailed
from core.identity import sites
from core.publishing import connection
from db import migrate
from db.base import Base
from db.session import make_engine
from tests import factories as f


@pytest.fixture
def empty_engine(fresh_database):
    eng = make_engine(fresh_database())
    yield eng
    eng.dispose()


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(ctx, Base.metadata)


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_exactly_one_head():
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


def test_upgrade_matches_models_downgrade_empties_upgrade_again(empty_engine):
    assert _tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert _diff(empty_engine) == [], "models and migrations differ: write a migration"
    migrate.downgrade(empty_engine, "base")
    assert _tables(empty_engine) <= {"alembic_version"}
    with empty_engine.connect() as conn:
        if "alembic_version" in _tables(empty_engine):
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 0
    migrate.upgrade(empty_engine)
    assert _diff(empty_engine) == []
    assert len(_tables(empty_engine)) == len(Base.metadata.tables) + 1


def test_upgrade_is_idempotent(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)  # app and scheduler both migrate on start
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head


def test_the_comparison_notices_a_drift(empty_engine):
    """The no-difference check is not vacuous: a missing column is reported."""
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("ALTER TABLE invoice DROP COLUMN notes"))
    diff = _diff(empty_engine)
    assert any(d[0] == "add_column" and d[3].name == "notes" for d in diff), diff


SECRET = "sk-live-abcdefghijklmnop1234"


def test_encrypt_decrypt_round_trip():
    stored = vault.encrypt(SECRET)
    assert stored.startswith(vault.PREFIX) and SECRET not in stored
    assert vault.encrypt(SECRET) != stored  # a fresh IV each time: equal secrets do not look equal at rest
    assert vault.decrypt(stored) == SECRET
    assert vault.encrypt("") == "" and vault.decrypt("") == ""


def test_mask_shows_only_the_last_four():
    masked = vault.mask(SECRET)
    assert masked.endswith("1234") and SECRET[:-4] not in masked
    assert sum(c.isalnum() for c in masked) == 4
    assert not any(c.isalnum() for c in vault.mask("short-pw"))  # short secrets show nothing
    assert vault.mask("") == ""


def test_a_changed_key_gives_a_clear_message():
    other = Fernet(Fernet.generate_key())  # what a previous IGNY8_SECRET_KEY would have produced
    stored = vault.PREFIX + other.encrypt(SECRET.encode()).decode()
    with pytest.raises(ValidationFailed, match="IGNY8_SECRET_KEY has changed"):
        vault.decrypt(stored)
    with pytest.raises(ValidationFailed, match="not encrypted; set it again"):
        vault.decrypt(SECRET)


def test_wordpress_password_is_encrypted_in_the_database(session):
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = sites.create_site(session, owner, name="WP")
    connection.set_wordpress(session, owner, site_id=site.id, url="https://wp.example.com", username="bot",
                             app_password=" abcd efgh ijkl mnop ")
    raw = session.execute(text("SELECT credentials_json FROM site_integration WHERE site_id = :i"),
                          {"i": site.id}).scalar_one()
    stored = (json.loads(raw) if isinstance(raw, str) else raw)["app_password"]
    assert stored.startswith(vault.PREFIX) and "abcd" not in str(raw) and "mnop" not in str(raw)
    assert vault.decrypt(stored) == "abcd efgh ijkl mnop"
