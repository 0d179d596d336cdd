"""Keyword import on both databases: real Semrush export, other tools' layouts, update/skip, library, roles."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.common import uow
from core.errors import AccessDenied, LimitExceeded, NotFound, ValidationFailed
from core.planner import clusters, keyword_edits, library
from core.planner import keyword_import as ki
from db.base import utcnow
from db.enums import Role
from db.models import Account, Clusters, Keywords, Plan, SeedKeyword
from tests import factories as f
from tests.fakes import keyword_files as kf
from tests.requires import require


@pytest.fixture
def world(session):
    return kf.make_world(session)


run, stored = kf.run, kf.stored


def test_real_semrush_export(session, world):
    require(kf.SEMRUSH.is_file(), f"the shared Semrush export {kf.SEMRUSH}")
    isec = kf.industry_sector(session, world["site"], world["sector"])
    curated = library.create_seed(session, f.platform_admin(session), industry_sector_id=isec.id,
                                  keyword="WordPress News", volume=1)
    library_before = kf.library_rows(session)
    progress: list[ki.Progress] = []
    report = ki.run_import(session, world["owner"], site_id=world["site"].id, sector_id=world["sector"].id,
                           data=kf.SEMRUSH, on_progress=progress.append)
    assert (report.rows, report.imported, report.updated, report.skipped) == (12_680, 12_679, 0, 1)
    assert report.reasons == {"duplicate": 1} and report.source == "Semrush" and report.encoding == "utf-8"
    [dup] = report.problems
    assert dup.code == "duplicate" and "Same keyword as line" in dup.message
    assert session.scalar(select(func.count()).where(Keywords.sector_id == world["sector"].id)) == 12_679
    news = session.scalars(select(Keywords).where(Keywords.sector_id == world["sector"].id,
                                                  Keywords.keyword_norm == "wordpress news")).one()
    assert (news.volume, news.difficulty, news.cpc, news.intent) == (40500, 40, Decimal("3.01"), "informational")
    assert news.attributes["serp_features"] == ["Top stories", "Related searches"]
    assert len(news.attributes["trend"]) == 12 and news.status.value == "new" and news.deleted_at is None
    # Linked to the curated library keyword, which the import leaves as it was; no library keyword is added.
    assert news.seed_keyword_id == curated.id and kf.library_rows(session) == library_before
    assert session.scalar(select(func.count()).where(Keywords.sector_id == world["sector"].id,
                                                     Keywords.seed_keyword_id.is_not(None))) == 1
    assert "1 keyword(s) are linked to the same keyword in the industry sector's keyword library" in report.notes[-1]
    multi = session.scalars(select(Keywords.intent).where(Keywords.sector_id == world["sector"].id,
                                                          Keywords.intent.like("%,%"))).first()
    assert multi in ("informational, transactional", "informational, commercial", "navigational, transactional",
                     "informational, navigational", "navigational, commercial")
    assert [p.phase for p in progress][-2:] == ["writing", "done"] and progress[0].rows == 10_000
    lines = list(csv.reader(io.StringIO(report.csv_text())))
    assert ["line", "reason", "detail", "keyword"] in lines and lines[-1][1] == "duplicate"


@pytest.mark.parametrize(("data", "source", "expect"), [
    (kf.AHREFS, "Ahrefs", {"wordpress hosting": (18000, 72, Decimal("12.50"), "commercial, informational"),
                           "best wordpress themes": (4200, 45, Decimal("1.10"), "informational"),
                           "wp engine login": (900, 3, None, "navigational")}),
    (kf.GKP, "Google Keyword Planner", {"wordpress website builder": (1000, None, None, None),
                                        "wordpress plugins": (10000, None, None, None),
                                        "wordpress for beginners": (100, None, None, None),
                                        "tiny wordpress": (0, None, None, None)}),
    (kf.MOZ, "Moz", {"wordpress seo": (11500, 61, None, None), "yoast seo": (6500, 55, None, None),
                     "wordpress seo plugin": (501, 48, None, None)}),
    (kf.SEMICOLON, "Semrush", {"wordpress agentur": (1300, 38, Decimal("2.45"), None),
                                    "wordpress kurs": (880, 21, Decimal("0.90"), None),
                                    "wordpress hosting schweiz": (1900, 40, Decimal("1234.50"), None)}),
], ids=["ahrefs", "google-keyword-planner", "moz", "semicolon-bom-decimal-comma"])
def test_other_tools_layouts(session, world, data, source, expect):
    report = run(session, world, data)
    assert report.source == source and report.skipped == 0 and report.imported == len(expect)
    got = {k: (v.volume, v.difficulty, v.cpc, v.intent) for k, v in stored(session, world["sector"].id).items()}
    assert got == expect


def test_google_keyword_planner_details(session, world):
    p = ki.preview(kf.GKP)
    assert (p.encoding, p.delimiter, p.header_line) == ("utf-16", "\t", 3)
    assert p.mapping == {"keyword": "Keyword", "volume": "Avg. monthly searches"}
    run(session, world, kf.GKP)
    kw = stored(session, world["sector"].id)["wordpress website builder"]
    assert kw.attributes == {"volume_range": "1K – 10K", "Currency": "USD", "Three month change": "0%",
                             "YoY change": "+900%", "Competition": "High", "Competition (indexed value)": "77",
                             "Top of page bid (low range)": "3.02", "Top of page bid (high range)": "16.25"}
    report = run(session, world, kf.GKP, on_existing="skip")
    assert "Lines 1–2 before the header were skipped (titles)." in report.notes


def test_ahrefs_intent_columns_become_one_intent_and_two_flags():
    data = kf.csv_bytes(["Keyword", "Volume", "Informational", "Commercial", "Branded", "Local"],
                        [["wp engine pricing", "900", "true", "true", "true", "false"],
                         ["wordpress", "90K", "false", "false", "false", ""]])
    p = ki.preview(data)
    assert [(r["keyword"], r["volume"], r["intent"], r["attributes"]) for r in p.rows] == [
        ("wp engine pricing", 900, "informational, commercial", {"branded": True, "local": False}),
        ("wordpress", 90000, None, {"branded": False})]


def test_one_column_lists_with_and_without_header(session, world):
    report = run(session, world, kf.ONE_COLUMN)
    assert (report.rows, report.imported, report.reasons) == (4, 3, {"duplicate": 1})
    assert report.problems[0].line == 4 and "line 2" in report.problems[0].message
    assert set(stored(session, world["sector"].id)) == {"wordpress", "wordpress themes", "wp-admin login"}
    assert stored(session, world["sector"].id)["wordpress themes"].keyword == "WordPress Themes"
    p = ki.preview(kf.ONE_COLUMN_HEADER)
    assert (p.header_line, p.mapping, p.source) == (1, {"keyword": "Keywords"}, "one-column list")
    again = run(session, world, kf.ONE_COLUMN_HEADER, on_existing="skip")
    assert (again.imported, again.reasons) == (1, {"exists": 1})


def test_utf16_big_endian_and_explicit_choices(session, world):
    data = kf.csv_bytes(["Keyword", "Volume"], [["café wordpress", "10"]], encoding="utf-16-be")
    assert ki.preview(data).encoding == "utf-16"
    latin = "Keyword;Volume\ncafé wordpress;20\n".encode("cp1252")
    p = ki.preview(latin, options=ki.ImportOptions(encoding="cp1252"))
    assert p.rows[0]["keyword"] == "café wordpress" and p.delimiter == ";"
    report = run(session, world, latin, encoding="cp1252", on_existing="update")
    assert report.imported == 1 and stored(session, world["sector"].id)["café wordpress"].volume == 20


def test_update_and_skip_existing_keywords_and_restore_deleted(session, world):
    sector = world["sector"]
    keyword_edits.create_keyword(session, world["owner"], site_id=world["site"].id, sector_id=sector.id,
                           keyword="WordPress Hosting", volume=10, difficulty=5, cpc="1.00", intent="commercial")
    gone = keyword_edits.create_keyword(session, world["owner"], site_id=world["site"].id, sector_id=sector.id,
                                  keyword="old keyword", volume=1)
    gone.deleted_at = utcnow()
    gone.attributes = {"note": "kept"}
    session.flush()
    data = kf.csv_bytes(["Keyword", "Volume", "KD", "Notes"],
                        [["wordpress hosting", "500", "", "from file"], ["old keyword", "7", "9", ""],
                         ["new one", "3", "1", "fresh"]])
    skipped = run(session, world, data, on_existing="skip")
    assert (skipped.imported, skipped.updated, skipped.reasons) == (1, 0, {"exists": 2})
    assert [p.message for p in skipped.problems] == ["The sector has this keyword already.",
                                                     "The sector has this keyword already (deleted)."]
    kws = stored(session, sector.id)
    assert kws["wordpress hosting"].volume == 10 and kws["old keyword"].deleted_at is not None
    session.expire_all()
    updated = run(session, world, data, on_existing="update")
    assert (updated.imported, updated.updated, updated.restored, updated.skipped) == (0, 3, 1, 0)
    session.expire_all()
    kws = stored(session, sector.id)
    hosting = kws["wordpress hosting"]
    # Values from the file replace; an empty cell never erases (difficulty stays 5); the display form stays.
    assert (hosting.keyword, hosting.volume, hosting.difficulty, hosting.cpc) == ("WordPress Hosting", 500, 5,
                                                                                Decimal("1.00"))
    assert hosting.attributes == {"Notes": "from file"}
    old = kws["old keyword"]
    assert old.deleted_at is None and (old.volume, old.difficulty) == (7, 9) and old.attributes == {"note": "kept"}


def test_update_refreshes_cluster_volume(session, world):
    w = world
    cluster = clusters.create(session, w["owner"], site_id=w["site"].id, sector_id=w["sector"].id, name="Host")
    keyword_edits.create_keyword(session, w["owner"], site_id=w["site"].id, sector_id=w["sector"].id,
                           keyword="wp hosting", volume=10, cluster_id=cluster.id)
    run(session, w, kf.csv_bytes(["Keyword", "Volume"], [["wp hosting", "990"]]))
    session.expire_all()
    assert session.get(Clusters, cluster.id).volume == 990


def test_extra_columns_and_html_formulas_are_kept_as_text(session, world):
    data = kf.csv_bytes(["Keyword", "Volume", "Client note", "Landing page"],
                        [["<script>alert(1)</script> wordpress", "5", "=HYPERLINK(\"http://x\")", "<b>/hosting</b>"],
                         ["=1+2", "6", "@SUM(A1)", "-3"]])
    report = run(session, world, data)
    assert report.imported == 2 and "Kept in each keyword's attributes: Client note, Landing page." in report.notes
    kws = stored(session, world["sector"].id)
    script = kws["<script>alert(1)</script> wordpress"]
    assert script.attributes == {"Client note": "=HYPERLINK(\"http://x\")", "Landing page": "<b>/hosting</b>"}
    assert kws["=1+2"].keyword == "=1+2" and kws["=1+2"].attributes == {"Client note": "@SUM(A1)",
                                                                        "Landing page": "-3"}


def test_explicit_mapping_and_unknown_headers(session, world):
    data = kf.csv_bytes(["Begriff", "Suchvolumen", "Schwierigkeit"], [["wordpress kurs", "880", "21"]])
    p = ki.preview(data)
    assert p.mapping == {} and p.problems and "Choose the column that holds the keywords" in p.problems[0]
    with pytest.raises(ValidationFailed, match="Choose the column"):
        run(session, world, data)
    mapping = {"keyword": "Begriff", "volume": "Suchvolumen", "difficulty": "Schwierigkeit"}
    assert ki.preview(data, options=ki.ImportOptions(mapping=mapping)).rows[0]["volume"] == 880
    report = run(session, world, data, mapping=mapping)
    assert report.imported == 1 and stored(session, world["sector"].id)["wordpress kurs"].difficulty == 21


def test_a_customer_import_never_writes_the_global_library(session, world):
    """The library is curated by platform admins: an import only links to its active keywords, read-only, and
    what one customer imports (metrics included) stays in that customer's account."""
    isec = kf.industry_sector(session, world["site"], world["sector"])
    admin = f.platform_admin(session)
    curated = library.create_seed(session, admin, industry_sector_id=isec.id, keyword="yoast seo", volume=7)
    hidden = library.create_seed(session, admin, industry_sector_id=isec.id, keyword="wordpress seo", volume=8)
    library.set_active(session, admin, seed_ids=[hidden.id], active=False)
    before = kf.library_rows(session)
    for on_existing in ("update", "update", "skip"):  # new keywords, then updates, then skips
        report = run(session, world, kf.MOZ, on_existing=on_existing)
        assert kf.library_rows(session) == before, on_existing
    assert not any("added to the industry sector's keyword library" in n for n in report.notes)
    mine = stored(session, world["sector"].id)
    assert {k: v.seed_keyword_id for k, v in mine.items()} == {
        "wordpress seo": None, "yoast seo": curated.id, "wordpress seo plugin": None}  # disabled: not linked
    assert mine["yoast seo"].volume == 6500 and session.get(SeedKeyword, curated.id).volume == 7
    # Another customer of the same industry sector sees the curated library only, and links to nothing else.
    stranger_acct = f.account(session)
    stranger = f.owner_actor(session, stranger_acct)
    assert [s.keyword for s in library.list_seeds(session, stranger, industry_sector_id=isec.id).rows] == ["yoast seo"]
    other_site = f.site(session, stranger_acct)
    other = {"site": other_site, "sector": f.sector(session, other_site), "owner": stranger}
    kf.industry_sector(session, other_site, other["sector"])
    run(session, other, kf.csv_bytes(["Keyword"], [["wordpress seo plugin"], ["yoast seo"]]))
    theirs = stored(session, other["sector"].id)
    assert (theirs["wordpress seo plugin"].seed_keyword_id, theirs["wordpress seo plugin"].volume) == (None, None)
    assert (theirs["yoast seo"].seed_keyword_id, theirs["yoast seo"].volume) == (curated.id, None)


def test_without_industry_sector_keywords_are_not_linked(session, world):
    report = run(session, world, kf.MOZ)
    assert any("no industry sector" in n for n in report.notes)
    assert all(k.seed_keyword_id is None for k in stored(session, world["sector"].id).values())


def test_editor_with_site_access_may_import_viewer_and_others_may_not(session, world):
    editor = f.user(session, world["acct"], role=Role.editor)
    viewer = f.user(session, world["acct"], role=Role.viewer)
    from core.identity import users
    users.set_site_access(session, world["owner"], user_id=editor.id, site_ids=[world["site"].id])
    users.set_site_access(session, world["owner"], user_id=viewer.id, site_ids=[world["site"].id])
    assert run(session, world, kf.MOZ, actor=f.actor(session, editor)).imported == 3
    f.refused(session, AccessDenied, lambda: run(session, world, kf.AHREFS, actor=f.actor(session, viewer)))
    outsider = f.user(session, world["acct"], role=Role.editor)  # no access to this site
    f.refused(session, NotFound, lambda: run(session, world, kf.AHREFS, actor=f.actor(session, outsider)))
    stranger = f.owner_actor(session, f.account(session))
    f.refused(session, NotFound, lambda: run(session, world, kf.AHREFS, actor=stranger))


def test_plan_keyword_limit_refuses_the_whole_import(session, world):
    plan = session.get(Plan, session.get(Account, world["acct"].id).plan_id)
    plan.max_keywords = 2
    session.flush()
    err = f.refused(session, LimitExceeded, lambda: run(session, world, kf.MOZ))
    assert "allows 2 keywords" in str(err) and "Nothing was imported" in str(err)


@pytest.fixture
def committed(fresh_database):
    """A runtime on a new database with an account, a site, a sector and the account's owner, committed."""
    from core import runtime
    from core.config import load
    rt = runtime.start(load(), url=fresh_database())
    try:
        with rt.transaction() as s:
            acct = f.account(s)
            site = f.site(s, acct)
            sector = f.sector(s, site)
            owner = f.owner_actor(s, acct)
        yield SimpleNamespace(rt=rt, acct=acct, site=site, sector=sector, owner=owner)
    finally:
        rt.engine.dispose()


def test_import_file_commits_in_its_own_transaction(backend, committed):
    rt, owner, site_id, sector_id = committed.rt, committed.owner, committed.site.id, committed.sector.id
    seen: list[ki.Progress] = []
    done = ki.import_file(rt, owner, site_id=site_id, sector_id=sector_id, data=kf.AHREFS, name="a.csv",
                          on_progress=seen.append)
    assert done.imported == 3 and seen[-1].phase == "done"
    rejected = ki.import_file(uow.of(rt.factory), owner, site_id=site_id, sector_id=sector_id, name="b.csv",
                              data=kf.csv_bytes(["Keyword", "Volume"], [["ok", "1"], ["bad", "lots"]]),
                              options=ki.ImportOptions(all_or_nothing=True))
    assert rejected.rejected and "line 3" in rejected.rejected and rejected.imported == 0
    with rt.transaction() as s:
        assert set(s.scalars(select(Keywords.keyword_norm).where(Keywords.sector_id == sector_id))) == {
            "wordpress hosting", "best wordpress themes", "wp engine login"}


@pytest.mark.pg_only
def test_a_keyword_added_meanwhile_rolls_back_the_direct_copy(backend, committed):
    """The first import into an empty sector COPYs straight into keywords; a keyword another session commits to
    the sector meanwhile makes the unique key refuse it, and nothing of the import remains."""
    from sqlalchemy import insert

    rt, owner, acct_id, site_id, sector_id = (committed.rt, committed.owner, committed.acct.id, committed.site.id,
                                              committed.sector.id)
    data = kf.csv_bytes(["Keyword", "Volume"], [[f"keyword {i}", str(i)] for i in range(30_000)])

    def meanwhile(p: ki.Progress) -> None:
        if p.phase == "reading" and p.rows == 10_000:
            with rt.engine.begin() as other:
                other.execute(insert(Keywords).values(account_id=acct_id, site_id=site_id, sector_id=sector_id,
                                                      keyword="keyword 20000", keyword_norm="keyword 20000"))
    with pytest.raises(ki.ImportRejected, match="added to this sector by someone else"):
        ki.import_file(rt, owner, site_id=site_id, sector_id=sector_id, data=data, on_progress=meanwhile)
    with rt.transaction() as s:
        assert list(s.scalars(select(Keywords.keyword).where(Keywords.sector_id == sector_id))) == [
            "keyword 20000"]
