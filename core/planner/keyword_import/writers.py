"""Writing parsed rows, streamed, in the caller's transaction: COPY into a staging table and one merge on
PostgreSQL; batched `INSERT … ON CONFLICT` on SQLite.

An existing keyword (same sector, same normalised form) is updated or left alone by `Target.update`:
- update: metrics the file has a value for replace the stored ones (an empty cell never erases a value);
  attributes are merged (the file's keys win); a soft-deleted keyword is restored; status and cluster stay.
- skip: the keyword is not touched (the pipeline has already reported it; ON CONFLICT only guards against a
  keyword added by someone else while the import runs).
The keyword library (SeedKeyword, global, curated by platform admins) is only read: a keyword of a sector tied to an
industry sector is linked to the active library keyword of the same normalised form, when there is one. An import
never adds or changes library rows: a customer's keywords and metrics stay in the customer's account.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import psycopg
from sqlalchemy.orm import Session

from core.planner.keyword_import.report import ImportRejected
from core.planner.keyword_import.rows import Row

SQLITE_BATCH = 5000
SQLITE_CACHE_KB = -65536  # negative: KiB, i.e. 64 MB
COLUMNS = ("account_id, site_id, sector_id, seed_keyword_id, keyword, keyword_norm, volume, difficulty, cpc, "
           "intent, attributes, status, disabled, created_at, updated_at")
DIRECT_COLUMNS = ("account_id, site_id, sector_id, keyword, keyword_norm, volume, difficulty, cpc, intent, attributes, "
                  "status, disabled, created_at, updated_at")


@dataclass(frozen=True)
class Target:
    """Where rows go: the validated sector, the industry sector whose library keywords are linked (None: no link)
    and the mode."""

    account_id: int
    site_id: int
    sector_id: int
    industry_sector_id: int | None
    update: bool
    now: datetime


class Sink(Protocol):
    def add(self, row: Row) -> None: ...
    def finish(self, *, write: bool) -> int: ...  # keyword rows written
    def fail(self, exc: BaseException) -> None: ...


def _on_conflict(update: bool, table: str) -> str:
    if not update:
        return "DO NOTHING"
    merge_attrs = (f"({table}.attributes::jsonb || EXCLUDED.attributes::jsonb)::json" if table == "k"
                   else f"json_patch({table}.attributes, excluded.attributes)")
    keep = ", ".join(f"{c} = COALESCE(excluded.{c}, {table}.{c})" for c in ("volume", "difficulty", "cpc", "intent"))
    return (f"DO UPDATE SET {keep}, attributes = {merge_attrs}, "
            f"seed_keyword_id = COALESCE({table}.seed_keyword_id, excluded.seed_keyword_id), deleted_at = NULL, "
            "updated_at = excluded.updated_at")


class PostgresSink:
    """COPY (text format) into a temporary stage as rows arrive; then one INSERT … SELECT (linking library keywords)."""

    def __init__(self, session: Session, target: Target):
        self.target = target
        self.cur = session.connection().connection.driver_connection.cursor()
        self.stage = f"keyword_import_{uuid.uuid4().hex[:12]}"
        self.cur.execute(f"CREATE TEMP TABLE {self.stage} (keyword text, keyword_norm text, volume integer, "
                         "difficulty integer, cpc numeric(10,2), intent text, attributes text) ON COMMIT DROP")
        self._copy_cm = self.cur.copy(f"COPY {self.stage} FROM STDIN")
        self.add = self._copy_cm.__enter__().write_row

    def fail(self, exc: BaseException) -> None:
        """End the COPY after an error (the savepoint around the import is then rolled back)."""
        try:
            self._copy_cm.__exit__(type(exc), exc, exc.__traceback__)
        except Exception:  # the server's reply to the aborted COPY; `exc` is the error that matters
            pass

    def finish(self, *, write: bool) -> int:
        self._copy_cm.__exit__(None, None, None)
        t = self.target
        params = {"account": t.account_id, "site": t.site_id, "sector": t.sector_id, "now": t.now,
                  "isec": t.industry_sector_id}
        written = 0
        if write:
            if t.industry_sector_id is not None:  # read only: the library is curated, never filled by imports
                seed, join = "sk.id", ("LEFT JOIN seed_keyword sk ON sk.industry_sector_id = %(isec)s "
                                       "AND sk.keyword_norm = s.keyword_norm AND sk.is_active")
            else:
                seed, join = "NULL", ""
            self.cur.execute(
                f"INSERT INTO keywords AS k ({COLUMNS}) SELECT %(account)s, %(site)s, %(sector)s, {seed}, "
                "s.keyword, s.keyword_norm, s.volume, s.difficulty, s.cpc, s.intent, s.attributes::json, 'new', "
                f"false, %(now)s, %(now)s FROM {self.stage} s {join} "
                f"ON CONFLICT (sector_id, keyword_norm) {_on_conflict(t.update, 'k')}", params)
            written = max(self.cur.rowcount, 0)
        self.cur.execute(f"DROP TABLE {self.stage}")  # a second import in the same transaction starts clean
        self.cur.close()
        return written


class DirectPostgresSink:
    """The first import into an empty sector with no library keywords to link: every row is new, so it is COPYed straight
    into keywords — no stage, no merge — as fast as `psql \\copy`. Were a keyword added to the sector by someone
    else meanwhile, the unique key refuses the COPY and the whole import is rolled back with a message."""

    def __init__(self, session: Session, target: Target):
        t = target
        self.cur = session.connection().connection.driver_connection.cursor()
        now = t.now.isoformat()
        self._before = (str(t.account_id), str(t.site_id), str(t.sector_id))
        self._after = ("new", "f", now, now)
        self._copy_cm = self.cur.copy(f"COPY keywords ({DIRECT_COLUMNS}) FROM STDIN")
        self._write = self._copy_cm.__enter__().write_row

    def add(self, row: Row) -> None:
        try:
            self._write(self._before + row + self._after)
        except psycopg.errors.UniqueViolation as exc:
            raise _raced() from exc

    def fail(self, exc: BaseException) -> None:
        PostgresSink.fail(self, exc)  # type: ignore[arg-type] - the same COPY context

    def finish(self, *, write: bool) -> int:
        try:
            self._copy_cm.__exit__(None, None, None)
        except psycopg.errors.UniqueViolation as exc:
            raise _raced() from exc
        written = max(self.cur.rowcount, 0)
        self.cur.close()
        return written


def _raced() -> ImportRejected:
    return ImportRejected("Keywords were added to this sector by someone else while the import ran, so nothing was "
                          "imported. Run the import again (choose update or skip for the keywords it has now).")


def _sqlite_time(value: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (UTCDateTime hands it UTC values), so the ORM reads it back.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class SQLiteSink:
    """executemany batches of `INSERT … ON CONFLICT`; constants are bound into the statement once."""

    def __init__(self, session: Session, target: Target):
        t = target
        self.conn = session.connection()
        # A larger page cache while the indexes grow (about a third faster at 100k rows); restored afterwards.
        self.cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
        self.conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_CACHE_KB}")
        self.batch: list[Row] = []
        self.written = 0
        now = _sqlite_time(t.now)
        seed = "NULL"
        if t.industry_sector_id is not None:  # read only: the library is curated, never filled by imports
            seed = (f"(SELECT id FROM seed_keyword WHERE industry_sector_id = {int(t.industry_sector_id)} "
                    "AND keyword_norm = ?2 AND is_active)")
        self.sql = (f"INSERT INTO keywords ({COLUMNS}) VALUES ({int(t.account_id)}, {int(t.site_id)}, "
                    f"{int(t.sector_id)}, {seed}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'new', 0, '{now}', '{now}') "
                    f"ON CONFLICT (sector_id, keyword_norm) {_on_conflict(t.update, 'keywords')}")

    def add(self, row: Row) -> None:
        self.batch.append(row)
        if len(self.batch) >= SQLITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        self.written += max(self.conn.exec_driver_sql(self.sql, self.batch).rowcount, 0)
        self.batch = []

    def fail(self, exc: BaseException) -> None:
        self.batch = []
        self._restore()

    def finish(self, *, write: bool) -> int:
        if write and self.batch:
            self._flush()
        self._restore()
        return self.written

    def _restore(self) -> None:
        self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self.cache_size)}")


def open_sink(session: Session, target: Target, *, sector_empty: bool) -> Sink:
    """The writer for the session's database (and, on PostgreSQL, for a first import into an empty sector)."""
    if session.get_bind().dialect.name != "postgresql":
        return SQLiteSink(session, target)
    if sector_empty and target.industry_sector_id is None:
        return DirectPostgresSink(session, target)
    return PostgresSink(session, target)
