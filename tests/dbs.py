"""Test databases: a SQLite file and a scratch PostgreSQL database, each migrated with Alembic."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from db import scratch

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG


def pg_available() -> tuple[bool, str]:
    """Whether PostgreSQL answers at TEST_DATABASE_URL (or the local default), and why not."""
    try:
        eng = create_engine(pg_base_url(), connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not available", reported verbatim
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def create_pg_database(prefix: str = "igny8_test") -> str:
    """A new empty database next to TEST_DATABASE_URL's; returns its URL."""
    return scratch.create_database(pg_base_url(), prefix)


def drop_pg_database(url: str) -> None:
    """Drop a scratch database made by create_pg_database."""
    scratch.drop_database(pg_base_url(), url)
