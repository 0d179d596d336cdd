"""Keyword imports racing in several processes: the plan's keyword limit holds, imports into one sector never die
of a deadlock, and an import that cannot get its turn is refused with a message (page, job and CLI alike).

Imports of one account are serialised by a lock held for the import's transaction (PostgreSQL: an advisory lock
keyed on the account; SQLite: the write transaction). A waiting import re-checks the plan once it has its turn.
Keywords added by hand or from the library take the same turn and count against the same limit.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core import runtime
from core.cli import main as cli_main
from core.cli import planner as planner_cli
from core.errors import Conflict, DomainError, LimitExceeded
from core.planner import keyword_edits, library
from core.planner import keyword_import as ki
from core.planner.keyword_import import locks
from db.models import Account, IndustrySector, Keywords, Plan, Sector, Site
from db.session import make_engine
from tests import factories as f
from tests import races
from tests.fakes import keyword_files as kf

ROOT = Path(__file__).resolve().parents[2]
LIMIT, PER_IMPORT = 5_000, 2_000  # three imports of 2,000 under a 5,000 limit: two fit, the third does not
SAME_SECTOR_ROWS = 3_000


def _rows(prefix: str, n: int, *, reverse: bool = False) -> bytes:
    order = range(n - 1, -1, -1) if reverse else range(n)
    return kf.csv_bytes(["Keyword", "Volume"], [[f"{prefix} keyword {i}", str(i)] for i in order])


def _world(rt: runtime.Runtime, *, sectors: int, max_keywords: int | None = None) -> SimpleNamespace:
    """A committed account (on a plan of its own when max_keywords is given), a site, sectors and the owner."""
    with rt() as s:
        acct = f.account(s)
        if max_keywords is not None:
            plan = Plan(name="Race plan", slug=f"race-{uuid.uuid4().hex[:10]}", max_keywords=max_keywords)
            s.add(plan)
            s.flush()
            s.get(Account, acct.id).plan_id = plan.id
        site = f.site(s, acct)
        secs = [f.sector(s, site) for _ in range(sectors)]
        return SimpleNamespace(acct_id=acct.id, slug=acct.slug, site_id=site.id, sector_ids=[x.id for x in secs],
                               owner=f.owner_actor(s, acct))


def _importer(url: str, actor: Any, site_id: int, sector_id: int, data: bytes, go: Any) -> tuple:
    """One process with its own engine: imports once released; a domain error is an outcome, anything else fails."""
    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            s.execute(select(1))  # connect before the start: the race is in the import, not in start-up
        go()
        try:
            report = ki.import_file(rt, actor, site_id=site_id, sector_id=sector_id, data=data, name="race.csv")
        except DomainError as exc:
            return type(exc).__name__, str(exc)
        return "imported", report.imported, report.updated
    finally:
        rt.engine.dispose()


def _url(rt: runtime.Runtime) -> str:
    return rt.engine.url.render_as_string(hide_password=False)


def _count(rt: runtime.Runtime, **where: int) -> int:
    with rt() as s:
        return s.scalar(select(func.count()).select_from(Keywords).filter_by(**where)) or 0


def test_imports_racing_under_the_plan_limit_never_pass_it(pg_runtime):
    w = _world(pg_runtime, sectors=3, max_keywords=LIMIT)
    argsets = [(_url(pg_runtime), w.owner, w.site_id, sector_id, _rows(f"s{n}", PER_IMPORT))
               for n, sector_id in enumerate(w.sector_ids)]
    outcomes = races.run_together(_importer, argsets, timeout=120)
    assert _count(pg_runtime, account_id=w.acct_id) <= LIMIT
    done = [o for o in outcomes if o[0] == "imported"]
    refused = [o for o in outcomes if o[0] != "imported"]
    # The waiting import re-checks the plan once it has its turn: two fit, the third is told why it does not.
    assert done == [("imported", PER_IMPORT, 0)] * 2, outcomes
    assert [name for name, _ in refused] == ["LimitExceeded"], outcomes
    assert f"allows {LIMIT:,} keywords; the account has {2 * PER_IMPORT:,}" in refused[0][1]


def test_imports_racing_into_one_sector_do_not_deadlock(pg_runtime):
    w = _world(pg_runtime, sectors=1)
    sector_id = w.sector_ids[0]
    ki.import_file(pg_runtime, w.owner, site_id=w.site_id, sector_id=sector_id, data=b"Keyword\nalready here\n")
    # The same keywords in opposite orders: unserialised merges lock the unique index in opposite orders.
    argsets = [(_url(pg_runtime), w.owner, w.site_id, sector_id, _rows("same", SAME_SECTOR_ROWS, reverse=rev))
               for rev in (False, True)]
    outcomes = sorted(races.run_together(_importer, argsets, timeout=120))
    assert outcomes == [("imported", 0, SAME_SECTOR_ROWS), ("imported", SAME_SECTOR_ROWS, 0)]
    assert _count(pg_runtime, sector_id=sector_id) == SAME_SECTOR_ROWS + 1


def test_an_import_that_cannot_get_its_turn_is_refused_with_a_message(pg_runtime):
    w = _world(pg_runtime, sectors=1)
    data = _rows("late", 10)
    with pg_runtime() as holder:  # another import of the account holds its turn
        locks.take_turn(holder, w.acct_id, wait=0)
        for wait in (0, 0.2):  # fail at once, or after waiting a moment
            with pytest.raises(ki.ImportRejected, match="Another keyword import into this account is running"):
                ki.import_file(pg_runtime, w.owner, site_id=w.site_id, sector_id=w.sector_ids[0], data=data,
                               options=ki.ImportOptions(lock_wait=wait))
    other = _world(pg_runtime, sectors=1)
    with pg_runtime() as holder:  # another account's import does not hold this one up
        locks.take_turn(holder, w.acct_id, wait=0)
        report = ki.import_file(pg_runtime, other.owner, site_id=other.site_id, sector_id=other.sector_ids[0],
                                data=data, options=ki.ImportOptions(lock_wait=0))
    assert report.imported == 10 and _count(pg_runtime, sector_id=w.sector_ids[0]) == 0


# --- Keywords by hand and from the library take the imports' turn and count against the same limit ------------

def _library_world(rt: runtime.Runtime, *, max_keywords: int, seeds: int, library_sectors: int
                   ) -> SimpleNamespace:
    """_world's account with sectors tied to an industry sector (library_sectors of them) and one not, and a
    curated library of `seeds` keywords of its own prefix (made by a platform admin), committed."""
    w = _world(rt, sectors=library_sectors + 1, max_keywords=max_keywords)
    prefix = f"lib{uuid.uuid4().hex[:8]}"
    with rt() as s:
        isec = s.scalars(select(IndustrySector).order_by(IndustrySector.id)).first()
        for sector_id in w.sector_ids[:library_sectors]:  # ties the site to the industry too
            kf.industry_sector(s, s.get(Site, w.site_id), s.get(Sector, sector_id))
        library.import_seeds(s, f.platform_admin(s), industry_sector_id=isec.id, data=_rows(prefix, seeds))
    return SimpleNamespace(**vars(w), prefix=prefix, library_sector_ids=w.sector_ids[:library_sectors],
                           plain_sector_id=w.sector_ids[-1])


def _adder(url: str, actor: Any, site_id: int, sector_id: int, search: str, go: Any) -> tuple:
    """One process adding every library keyword matching `search` to a sector, once released."""
    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            s.execute(select(1))
        go()
        try:
            with rt() as s:
                result = library.add_to_sector(s, actor, site_id=site_id, sector_id=sector_id, search=search)
        except DomainError as exc:
            return type(exc).__name__, str(exc)
        return "added", result.added
    finally:
        rt.engine.dispose()


def test_adds_by_hand_and_from_the_library_wait_for_a_running_import(pg_runtime, monkeypatch):
    w = _library_world(pg_runtime, max_keywords=30, seeds=10, library_sectors=1)
    lib_sector = w.library_sector_ids[0]
    monkeypatch.setattr(locks, "WAIT_SECONDS", 0.2)  # how long a hand-made addition waits for an import

    def add(s: Session) -> library.AddResult:
        return library.add_to_sector(s, w.owner, site_id=w.site_id, sector_id=lib_sector, search=w.prefix)

    def create(s: Session, keyword: str) -> Keywords:
        return keyword_edits.create_keyword(s, w.owner, site_id=w.site_id, sector_id=lib_sector, keyword=keyword)
    with pg_runtime() as holder:  # an import of 25 keywords, not yet committed: it holds the account's turn
        ki.run_import(holder, w.owner, site_id=w.site_id, sector_id=w.plain_sector_id, data=_rows("held", 25))
        with pg_runtime() as s, pytest.raises(Conflict, match="A keyword import into this account is running, so "
                                                              "the library keywords could not be added"):
            add(s)
        with pg_runtime() as s, pytest.raises(Conflict, match="so “by hand” could not be added; nothing was added"):
            create(s, "by hand")
    assert _count(pg_runtime, account_id=w.acct_id) == 25
    # Its turn over, the import's keywords count: 10 library keywords do not fit in the 5 left, one more does.
    with pg_runtime() as s, pytest.raises(LimitExceeded, match="allows 30 keywords; the account has 25 and these "
                                                               "library keywords would add 10"):
        add(s)
    with pg_runtime() as s:
        create(s, "by hand")
    assert _count(pg_runtime, account_id=w.acct_id) == 26


def _worker(kind: str, *args: Any) -> tuple:
    return (_importer if kind == "import" else _adder)(*args)


def test_library_adds_racing_an_import_under_the_plan_limit_never_pass_it(pg_runtime):
    """An import and two library additions of 2,000 keywords each, at once, under a 3,000 limit: one fits."""
    w = _library_world(pg_runtime, max_keywords=3_000, seeds=PER_IMPORT, library_sectors=2)
    url = _url(pg_runtime)
    argsets = [("import", url, w.owner, w.site_id, w.plain_sector_id, _rows("raced", PER_IMPORT)),
               *(("add", url, w.owner, w.site_id, sector_id, w.prefix) for sector_id in w.library_sector_ids)]
    outcomes = races.run_together(_worker, argsets, timeout=120)
    assert _count(pg_runtime, account_id=w.acct_id) == PER_IMPORT
    done = [o for o in outcomes if o[0] in ("imported", "added")]
    refused = sorted(o for o in outcomes if o not in done)
    assert done in ([("imported", PER_IMPORT, 0)], [("added", PER_IMPORT)]), outcomes
    assert [name for name, _ in refused] == ["LimitExceeded"] * 2, outcomes
    assert all(f"allows 3,000 keywords; the account has {PER_IMPORT:,} and" in m for _, m in refused), refused


def _cli_env(url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=url, IGNY8_SECRET_KEY="test-secret-key-not-for-production",
               IGNY8_DATA_DIR=str(tmp_path / "data"))
    return env


def test_cli_import_waiting_for_its_turn_exits_2_with_the_message(pg_runtime, tmp_path):
    w = _world(pg_runtime, sectors=1)
    src = tmp_path / "kw.csv"
    src.write_bytes(_rows("cli", 5))
    where = ["--account", str(w.acct_id), "--site", str(w.site_id), "--sector", str(w.sector_ids[0])]
    with pg_runtime() as holder:
        locks.take_turn(holder, w.acct_id, wait=0)
        done = subprocess.run([sys.executable, "-m", "core.cli", "import-keywords", *where, str(src), "--wait", "0"],
                              cwd=ROOT, env=_cli_env(_url(pg_runtime), tmp_path), capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "error: Another keyword import into this account is running" in done.stderr
    assert _count(pg_runtime, sector_id=w.sector_ids[0]) == 0


# --- SQLite: the write transaction serialises imports; one that waits past the busy timeout gets the message ----

@pytest.fixture
def sqlite_rt(backend, fresh_database):
    if backend != "sqlite":
        pytest.skip("SQLite's busy timeout")
    rt = runtime.start(url=fresh_database())
    yield rt
    rt.engine.dispose()


@pytest.fixture
def impatient(sqlite_rt):
    """Sessions of a second engine on the same file whose busy timeout is 0.2 s instead of 10 s."""
    engine = make_engine(sqlite_rt.engine.url.render_as_string(hide_password=False))
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout = 200"))
    yield lambda: Session(engine)
    engine.dispose()


def test_sqlite_import_behind_another_write_gets_the_message(sqlite_rt, impatient):
    w = _world(sqlite_rt, sectors=1)
    args = cli_main.build_parser().parse_args(
        ["import-keywords", "--account", w.slug, "--site", str(w.site_id), "--sector", str(w.sector_ids[0]),
         str(ROOT / "README.md")])
    with sqlite_rt() as holder:
        holder.execute(select(1))  # BEGIN IMMEDIATE: this transaction holds the database's write lock
        with impatient() as s, pytest.raises(ki.ImportRejected, match="Try again when it finishes"):
            ki.run_import(s, w.owner, site_id=w.site_id, sector_id=w.sector_ids[0], data=_rows("busy", 10))
        with impatient() as s, pytest.raises(ki.ImportRejected, match="Try again when it finishes"):
            planner_cli.cmd_import_keywords(s, args)  # its first query waits already; main() makes it exit 2
    assert _count(sqlite_rt, sector_id=w.sector_ids[0]) == 0
