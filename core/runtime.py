"""Process start-up shared by the app, the scheduler and the CLI: engine, migrations, reference data, first owner."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import reference
from core.ai import limits
from core.config import Settings, settings
from core.identity import auth
from core.identity.auth import FirstOwner
from db import migrate
from db.session import make_engine, make_session_factory
from db.session import transaction as _transaction


@dataclass
class Runtime:
    """One engine and session factory for the process."""

    engine: Engine
    factory: sessionmaker[Session]
    first_owner: FirstOwner | None = field(default=None)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any exception."""
        with _transaction(self.factory) as session:
            yield session

    def __call__(self) -> AbstractContextManager[Session]:
        """A Runtime is a `core.common.uow.UnitOfWork`: `with rt() as session:` is `rt.transaction()`."""
        return self.transaction()


def start(config: Settings | None = None, *, url: str | None = None, prepare: bool = True) -> Runtime:
    """Build the engine; when `prepare`, migrate to head, seed reference data and create the first owner."""
    config = config or settings()
    engine = make_engine(url or config.database_url)
    runtime = Runtime(engine, make_session_factory(engine))
    limits.share(engine)  # provider limits hold across the app, every scheduler and the CLI (kept in the database)
    if prepare:
        runtime.first_owner = prepare_database(runtime, config)
    return runtime


def prepare_database(runtime: Runtime, config: Settings) -> FirstOwner | None:
    """Apply migrations, top up reference data, and on an empty database create the first owner."""
    migrate.upgrade(runtime.engine)
    with runtime.transaction() as session:
        reference.seed(session)
        return auth.ensure_first_owner(session, email=config.owner_email, password=config.owner_password)


def first_owner_notice(first: FirstOwner | None) -> str | None:
    """The one-time message that tells the operator how to log in the first time."""
    if first is None:
        return None
    if first.generated_password:
        return (f"Created the first owner {first.email} with the one-time password: {first.generated_password}\n"
                "Log in and change it (Account → My account). It is not shown again.")
    return f"Created the first owner {first.email} with the password from IGNY8_OWNER_PASSWORD."
