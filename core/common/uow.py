"""Who owns the transaction: the one type that code opening its own short transactions takes (house rules 2, 9).

Most core functions take a `Session` and never commit: the caller owns the transaction. Background work — an AI
run, an import, a clustering preview, a publish, an automation step — must commit between phases (claim → commit →
work → record), so it takes a `UnitOfWork` instead: a callable that opens one transaction, committed when the
`with` block ends and rolled back on any exception. A `core.runtime.Runtime` is one (`rt()`), and `of(factory)`
makes one from a bare sessionmaker (scripts, benchmarks).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from db.session import transaction


class UnitOfWork(Protocol):
    """`with uow() as session:` — one transaction: commits on success, rolls back on any exception."""

    def __call__(self) -> AbstractContextManager[Session]: ...


def of(factory: sessionmaker[Session]) -> UnitOfWork:
    """The unit of work of a bare session factory."""
    return lambda: transaction(factory)
