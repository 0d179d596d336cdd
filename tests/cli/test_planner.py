"""`python -m core.cli import-keywords / export-keywords` as real subprocesses on a fresh database of each backend."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Keywords
from tests.cli.test_cli import ok, refused
from tests.fakes import keyword_files as kf


@pytest.fixture
def db(db):
    """The CLI's new database (tests/cli/conftest.py) with account acme, site blog, sector wordpress."""
    ok(db, "create-account", "--name", "Acme", "--plan", "agency")
    ok(db, "create-site", "--account", "acme", "--name", "Blog")
    ok(db, "create-sector", "--account", "acme", "--site", "blog", "--name", "WordPress")
    return db


WHERE = ("--account", "acme", "--site", "blog", "--sector", "wordpress")


def count(db) -> int:
    with Session(db[2]) as s:
        return s.scalar(select(func.count()).select_from(Keywords))


def test_import_report_export_and_reimport(db, tmp_path):
    src = tmp_path / "gkp.csv"
    src.write_bytes(kf.GKP)
    out = ok(db, "import-keywords", *WHERE, str(src), "--report", str(tmp_path / "report.csv"),
             "--map", "difficulty=Competition (indexed value)")
    assert out.splitlines()[0] == "4 rows read: 4 imported, 0 updated, 0 skipped."
    assert "Lines 1–2 before the header were skipped (titles)." in out and "(committed)" in out
    assert "rows,4" in (tmp_path / "report.csv").read_text()
    exported = ok(db, "export-keywords", *WHERE, "--volume-min", "1000")
    got = {r["Keyword"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert set(got) == {"wordpress website builder", "wordpress plugins"}  # stdout holds the CSV only
    assert got["wordpress website builder"]["Keyword Difficulty"] == "77"
    assert "Exported 4 keywords" in ok(db, "export-keywords", *WHERE, "--out", str(tmp_path / "all.csv"), "--bom")
    again = ok(db, "import-keywords", *WHERE, str(tmp_path / "all.csv"), "--on-existing", "skip")
    assert again.splitlines()[0] == "4 rows read: 0 imported, 0 updated, 4 skipped (4 already in the sector (skip mode))."
    assert count(db) == 4


def test_refusals_exit_2_and_write_nothing(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(kf.csv_bytes(["Keyword", "Volume"], [["fine", "1"], ["broken", "lots"]]))
    err = refused(db, "import-keywords", *WHERE, str(bad), "--all-or-nothing", "--report", str(tmp_path / "r.csv"))
    assert "Nothing was imported: line 3 cannot be imported" in err
    assert "3,bad_value," in (tmp_path / "r.csv").read_text()  # the report is written for a refused import too
    assert "was not found" in refused(db, "import-keywords", *WHERE, str(tmp_path / "missing.csv"))
    assert "There is no sector “nope”" in refused(db, "import-keywords", "--account", "acme", "--site", "blog",
                                                   "--sector", "nope", str(bad))
    assert "--map takes FIELD=Column" in refused(db, "import-keywords", *WHERE, str(bad), "--map", "colour=Volume")
    assert count(db) == 0
