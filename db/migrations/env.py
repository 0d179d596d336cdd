"""Alembic environment: runs on a connection handed in by db.migrate, or builds one from the URL."""
import os
from pathlib import Path

from alembic import context
from sqlalchemy import pool

import db.models  # noqa: F401  (registers every table)
from db.base import Base
from db.session import make_engine

config = context.config
target_metadata = Base.metadata
ROOT = Path(__file__).resolve().parents[2]  # the project root, as core.config.ROOT


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Only for the bare `alembic` command line: core.config's default, read here because db/ imports nothing of core/.
    data_dir = Path(os.environ.get("IGNY8_DATA_DIR", ROOT / ".data"))
    return os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'igny8.sqlite3'}"


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
