"""Fixtures: every core test runs on SQLite and on PostgreSQL, in a savepoint rolled back after the test."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("IGNY8_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("IGNY8_DATA_DIR", tempfile.mkdtemp(prefix="igny8-test-data-"))

import pytest  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import reference, runtime  # noqa: E402
from db import migrate  # noqa: E402
from db.session import make_engine  # noqa: E402
from tests import dbs  # noqa: E402

PG_OK, PG_WHY = dbs.pg_available()
REQUIRE_PG = os.environ.get("IGNY8_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: the test concerns SQLite behaviour only")
    config.addinivalue_line("markers", "pg_only: the test needs PostgreSQL")


def pytest_report_header(config):
    if PG_OK:
        return f"databases: SQLite and PostgreSQL ({dbs.pg_base_url()})"
    return f"databases: SQLite only — PostgreSQL SKIPPED ({PG_WHY})"


def pytest_terminal_summary(terminalreporter):
    if not PG_OK:
        terminalreporter.write_line(
            f"PostgreSQL was SKIPPED: {PG_WHY}. Set TEST_DATABASE_URL to run the PostgreSQL half.", red=True)


def _skip_or_fail_pg():
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL is required (IGNY8_REQUIRE_POSTGRES=1) but unreachable: {PG_WHY}")
    pytest.skip(f"PostgreSQL unreachable: {PG_WHY}")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """The database kind under test: 'sqlite' or 'postgresql'."""
    if request.param == "postgresql" and not PG_OK:
        _skip_or_fail_pg()
    return request.param


@pytest.fixture(autouse=True)
def _backend_markers(request):
    if "backend" not in request.fixturenames:
        return
    kind = request.getfixturevalue("backend")
    if request.node.get_closest_marker("sqlite_only") and kind != "sqlite":
        pytest.skip("SQLite-only test")
    if request.node.get_closest_marker("pg_only") and kind != "postgresql":
        pytest.skip("PostgreSQL-only test")


def new_database_url(kind: str, tmp_dir: str) -> str:
    """A fresh empty database of the given kind."""
    if kind == "sqlite":
        fd, path = tempfile.mkstemp(suffix=".sqlite3", dir=tmp_dir)
        os.close(fd)
        os.unlink(path)
        return f"sqlite:///{path}"
    return dbs.create_pg_database()


@pytest.fixture(scope="session")
def fresh_database(backend, tmp_path_factory):
    """Factory of new empty databases of the current backend (dropped at the end of the run)."""
    made: list[str] = []
    tmp = str(tmp_path_factory.mktemp("db"))

    def make() -> str:
        url = new_database_url(backend, tmp)
        made.append(url)
        return url

    yield make
    if backend == "postgresql":
        for url in made:
            dbs.drop_pg_database(url)


@pytest.fixture(scope="module")
def rt(backend, fresh_database):
    """A migrated database of the module's own, for code that commits between its phases (the AI engine, claims,
    publishing): the savepoint `session` cannot serve it. Modules racing processes on PostgreSQL use pg_runtime."""
    rt = runtime.start(url=fresh_database())
    yield rt
    rt.engine.dispose()


@pytest.fixture(scope="module")
def pg_runtime(backend, fresh_database):
    """A migrated PostgreSQL database of the module's own, for races whose workers commit (SQLite: skipped)."""
    if backend != "postgresql":
        pytest.skip("races of row locks across processes: PostgreSQL")
    rt = runtime.start(url=fresh_database())
    yield rt
    rt.engine.dispose()


@pytest.fixture(scope="session")
def engine(backend, fresh_database):
    """A migrated database with the reference data, shared by the session's tests."""
    eng = make_engine(fresh_database())
    migrate.upgrade(eng)
    with eng.begin() as conn, Session(bind=conn) as s:
        reference.seed(s)
        s.flush()
    yield eng
    eng.dispose()


def _fail_commit(session):
    if session.in_nested_transaction():
        return  # releasing a SAVEPOINT (begin_nested) is not a commit
    raise AssertionError("core/ committed a transaction: only the caller (page, job, CLI) may commit")


@pytest.fixture
def session(engine):
    """A session inside an outer transaction that is rolled back; any commit fails the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        event.listen(s, "before_commit", _fail_commit)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()
