"""Bad input never half-imports: broken files are refused with a message naming the line or byte; bad rows are
reported (and, all-or-nothing, nothing is written); formulas and HTML are stored as text."""
from __future__ import annotations

import codecs
import os

import pytest
from sqlalchemy import select

from core.planner import keyword_import as ki
from core.planner.keyword_import import values
from db.models import Keywords
from tests import factories as f
from tests.fakes import keyword_files as kf

run, stored = kf.run, kf.stored

GOOD = [["wordpress hosting", "100"], ["wordpress themes", "90"]]


@pytest.fixture
def world(session):
    return kf.make_world(session)


def rejected(session, w, data, match: str, **options) -> ki.ImportRejected:
    return f.refused(session, ki.ImportRejected, lambda: run(session, w, data, **options), match=match)


def test_empty_and_header_only_files(session, world):
    rejected(session, world, b"", "is empty \\(0 bytes\\)")
    rejected(session, world, b"\n\n  \n", "holds no text lines")
    rejected(session, world, b"Keyword,Volume\r\n", "has no keyword rows after the header on line 1")


def test_truncated_and_misquoted_csv(session, world):
    truncated = kf.csv_bytes(["Keyword", "Volume"], GOOD) + b'"wordpress plugins, 50\r\n'
    err = rejected(session, world, truncated, "line 4: a quoted field that starts on this line is never closed")
    assert "truncated or mis-quoted" in str(err)
    misquoted = b'Keyword,Volume\r\n"wordpress" hosting,100\r\n'
    rejected(session, world, misquoted, "line 2: text follows a closing quote")
    # The same mistakes are refused even when the user did not ask for all-or-nothing: the file cannot be trusted.
    rejected(session, world, truncated, "never closed", all_or_nothing=False)


def test_wrong_encoding_names_line_and_byte(session, world):
    data = "Keyword,Volume\nwordpress hosting,100\ncafé wordpress,10\n".encode("cp1252")
    err = rejected(session, world, data, "byte 0xE9 on line 3")
    assert "(byte 41 of the file)" in str(err) and "cp1252" in str(err)
    with pytest.raises(ki.ImportRejected, match="byte 0xE9 on line 3"):
        ki.preview(data)
    late = b"Keyword\n" + b"wordpress x\n" * 20_000 + b"caf\xe9\n"  # beyond the 64 KB sample: found while streaming
    rejected(session, world, late, "byte 0xE9 on line 20,002")


def test_utf16_without_bom_and_nul_bytes(session, world):
    bare = "Keyword\tVolume\nwordpress\t10\n".encode("utf-16-le")  # no byte-order mark
    assert ki.preview(bare).encoding == "utf-16-le"
    assert run(session, world, bare).imported == 1
    # Read in the wrong encoding, half of every line is NUL: the file is refused, not stripped into nonsense.
    err = rejected(session, world, bare, "line 1 holds NUL bytes", encoding="utf-8")
    assert "binary file, or UTF-16 text" in str(err)


def test_nul_characters_in_cells_are_removed_and_the_keywords_kept(session, world):
    """PostgreSQL text cannot hold NUL (the COPY would fail), SQLite would store it: the cells lose their NULs, the
    report says how many cells held one, and no keyword is lost — into an empty sector (COPY straight into the
    table) and into one with keywords (COPY into a stage, then the merge)."""
    data = kf.csv_bytes(["Keyword", "Volume", "Notes", "Attributes"],
                        [["word\x00press hosting", "1\x0000", "fast\x00 and cheap", ""],
                         ["wordpress themes", "90", "ok", '{"owner": "te\\u0000am"}'],
                         ["\x00", "5", "a row with no keyword but its NUL", ""]])
    for sector in (world["sector"], None):
        if sector is None:  # the second round: a sector that has keywords already
            world = {**world, "sector": f.sector(session, world["site"])}
            run(session, world, kf.csv_bytes(["Keyword"], [["already here"]]))
        report = run(session, world, data)
        assert (report.rows, report.imported, report.skipped, report.nul_cells) == (3, 2, 1, 5)
        assert ("5 cell(s) held NUL characters (\\0), which were removed; their keywords were imported."
                in report.notes)
        assert "nul_cells,5" in report.csv_text()
        kws = stored(session, world["sector"].id)
        hosting, themes = kws["wordpress hosting"], kws["wordpress themes"]
        assert (hosting.keyword, hosting.volume, hosting.attributes) == ("wordpress hosting", 100,
                                                                         {"Notes": "fast and cheap"})
        assert themes.attributes == {"Notes": "ok", "owner": "team"}  # our export's JSON, its \\u0000 removed
    preview = ki.preview(data)
    assert [r["keyword"] for r in preview.rows[:2]] == ["wordpress hosting", "wordpress themes"]


def test_workbooks_are_not_csv(session, world):
    rejected(session, world, b"PK\x03\x04" + b"\0" * 100, "Excel workbook")


def test_oversized_file_is_refused_before_reading(session, world, tmp_path):
    big = tmp_path / "huge.csv"
    with open(big, "wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.truncate(2 * 2**30)
    err = rejected(session, world, big, "has 2,048.0 MB; at most 200.0 MB")
    assert "Nothing was read" in str(err)
    small = rejected(session, world, kf.MOZ, "at most 10 bytes", max_bytes=10)
    assert "Split it into smaller files" in str(small)
    os.remove(big)


def test_bad_rows_are_reported_with_line_and_reason(session, world):
    rows = [["wordpress hosting", "100", "10", "1.00"],
            ["", "5", "1", "0"],                             # line 3: empty keyword
            ["x" * 501, "5", "1", "0"],                      # line 4: keyword too long
            ["wordpress cell", "5", "1", "y" * 10_000],      # line 5: a 10,000-character cell
            ["wordpress volume", "lots", "1", "0"],          # line 6: volume not a number
            ["wordpress kd", "5", "101", "0"],               # line 7: difficulty out of range
            ["wordpress cpc", "5", "1", "-2"],               # line 8: negative CPC
            ["wordpress short", "5"],                        # line 9: fields missing
            ["WordPress  Hosting", "7", "1", "0"],           # line 10: duplicate of line 2
            ["", "", "", ""]]                                # line 11: blank: not a row at all
    data = kf.csv_bytes(["Keyword", "Volume", "KD", "CPC"], rows)
    report = run(session, world, data)
    assert (report.rows, report.imported, report.skipped) == (9, 1, 8)
    got = [(p.line, p.code) for p in report.problems]
    assert got == [(3, "empty"), (4, "too_long"), (5, "cell_too_long"), (6, "bad_value"), (7, "bad_value"),
                   (8, "bad_value"), (9, "fields"), (10, "duplicate")]
    messages = {p.line: p.message for p in report.problems}
    assert messages[5] == "Column “CPC” holds 10,000 characters (at most 1,000)."
    assert messages[6] == "Volume “lots” is not a number (column “Volume”)."
    assert messages[7] == "Difficulty 101 is outside 0–100 (column “KD”)."
    assert messages[9] == "The row has 2 fields; the header has 4."
    text = report.csv_text()
    assert "3,empty,The keyword cell is empty.," in text and report.summary().startswith("9 rows read: 1 imported")


def test_a_long_cell_in_an_extra_column_is_cut_and_the_keyword_kept(session, world):
    long_note, long_serp = "n" * 20_000, ", ".join(["Video"] * 400)  # 2,795 characters
    data = kf.csv_bytes(["Keyword", "Volume", "Notes", "SERP Features"],
                        [["wordpress hosting", "100", long_note, long_serp], ["wordpress themes", "90", "ok", ""],
                         ["wordpress plugins", "80", long_note, ""]])
    report = run(session, world, data, all_or_nothing=True)  # nothing is wrong with these rows
    assert (report.rows, report.imported, report.skipped, report.cut_cells) == (3, 3, 0, 3)
    assert ("3 cell(s) of extra columns held more than 1,000 characters and were cut to 1,000 (“Notes”: 2, "
            "“SERP Features”: 1); their keywords were imported.") in report.notes
    assert "cut_cells,3" in report.csv_text()
    kws = stored(session, world["sector"].id)
    assert kws["wordpress hosting"].attributes["Notes"] == "n" * ki.MAX_CELL
    assert len(", ".join(kws["wordpress hosting"].attributes["serp_features"])) <= ki.MAX_CELL
    assert kws["wordpress themes"].attributes == {"Notes": "ok"}
    # Our own export's attributes travel as JSON: a long text value in it is cut the same way, the JSON kept.
    own = kf.csv_bytes(["Keyword", "Volume", "Attributes", "Status"],
                       [["wordpress kurs", "5", '{"Notes": "' + long_note + '", "trend": [1, 2]}', "new"]])
    again = run(session, world, own)
    assert (again.imported, again.cut_cells) == (1, 1)
    assert stored(session, world["sector"].id)["wordpress kurs"].attributes == {"Notes": "n" * ki.MAX_CELL,
                                                                               "trend": [1, 2]}


def test_all_or_nothing_writes_nothing_and_says_why(session, world):
    data = kf.csv_bytes(["Keyword", "Volume"], [*GOOD, ["wordpress plugins", "many"], ["wp", "1"], ["wp", "2"]])
    err = rejected(session, world, data, "line 4 cannot be imported", all_or_nothing=True)
    assert err.report is not None and err.report.rejected and err.report.imported == 0
    assert [(p.line, p.code) for p in err.report.problems] == [(4, "bad_value"), (6, "duplicate")]
    assert err.report.summary().startswith("Nothing was imported: line 4")
    # Duplicates alone are not errors: all-or-nothing imports the file and reports them.
    ok = run(session, world, kf.csv_bytes(["Keyword"], [["a"], ["A"]]), all_or_nothing=True)
    assert (ok.imported, ok.reasons) == (1, {"duplicate": 1})


def test_formula_and_html_cells_are_stored_as_plain_text(session, world):
    data = kf.csv_bytes(["Keyword", "Volume", "Note"],
                        [["=cmd|' /C calc'!A0", "1", "+SUM(1,2)"], ["<img src=x onerror=alert(1)>", "2", "@x"],
                         ["'=escaped by our export", "3", ""]])
    run(session, world, data)
    kws = stored(session, world["sector"].id)
    assert kws["=cmd|' /c calc'!a0"].keyword == "=cmd|' /C calc'!A0"
    assert kws["=cmd|' /c calc'!a0"].attributes == {"Note": "+SUM(1,2)"}
    assert kws["<img src=x onerror=alert(1)>"].keyword == "<img src=x onerror=alert(1)>"
    assert "=escaped by our export" in kws  # our export's leading ' is undone on the way back in


def test_nothing_half_imported_on_postgres_copy_errors(session, world):
    """A broken file found after rows were streamed into the COPY leaves no row behind."""
    data = kf.csv_bytes(["Keyword", "Volume"], [[f"keyword {i}", str(i)] for i in range(30_000)])
    rejected(session, world, data + b'"unterminated, 1\r\n', "never closed")
    assert session.scalar(select(Keywords.id).where(Keywords.sector_id == world["sector"].id)) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("1,300", (1300, None)), ("1.300", (1300, None)), ("1 300", (1300, None)), ("1'300", (1300, None)),
    ("1,234,567", (1234567, None)), ("1.5K", (1500, None)), ("2M", (2_000_000, None)), ("12.4k", (12400, None)),
    ("1K – 10K", (1000, "1K – 10K")), ("100-1,000", (100, "100-1,000")), ("10K to 100K", (10000, "10K to 100K")),
    ("<10", (0, "<10")), (">1M", (1_000_000, ">1M")), ("n/a", (None, None)), ("", (None, None)),
    ("0.5", (1, None)), ("1,5", (2, None)),
])
def test_volume_rules(text, expected):
    assert values.volume(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1.25", "1.25"), ("$1.25", "1.25"), ("1,25 €", "1.25"), ("1.300", "1.30"), ("1,300", "1300.00"),
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("USD 0.5", "0.50"), ("", None), ("n/a", None),
])
def test_cpc_rules(text, expected):
    assert values.cpc(text) == expected


def test_difficulty_intent_and_bad_values():
    assert [values.difficulty(t) for t in ("45", "45%", "45.5", "", "-")] == [45, 45, 46, None, None]
    assert values.intent("Informational, Transactional") == "informational, transactional"
    assert values.intent("0;1 | N / t") == "commercial, informational, navigational, transactional"
    assert values.intent("Commercial, commercial") == "commercial"
    for fn, text in ((values.volume, "-5"), (values.volume, "1,2,3"), (values.difficulty, "hard"),
                     (values.cpc, "1.00 – 2.00"), (values.cpc, "-1"), (values.volume, "9" * 12)):
        with pytest.raises(values.BadValue):
            fn(text)


def test_utf8_bom_is_not_part_of_the_header():
    data = codecs.BOM_UTF8 + b"Keyword;Volume\nwp;1\n"
    assert ki.preview(data).columns == ["Keyword", "Volume"]
