"""core.planner.library: curate the global seed-keyword library (platform admins), import a CSV, add library keywords to
a sector."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import tenancy
from core.errors import AccessDenied, Conflict, ValidationFailed
from core.identity import sites
from core.planner import keyword_edits, keywords, library
from db.enums import Role
from db.models import Keywords, SeedKeyword
from tests import factories as f


@pytest.fixture
def w(session):
    acct = f.account(session, is_system=True)  # its owner curates the global library (a platform admin)
    actor = f.owner_actor(session, acct)
    industries = sites.list_industries(session)
    ind, other_ind = industries[0], industries[1]
    isec, isec2 = sites.list_industry_sectors(session, industry_id=ind.id)[:2]
    foreign_isec = sites.list_industry_sectors(session, industry_id=other_ind.id)[0]
    site = sites.create_site(session, actor, name="Lib Site", industry_id=ind.id)
    sector = sites.create_sector(session, actor, site_id=site.id, name="Main", industry_sector_id=isec.id)
    return type("W", (), {"s": session, "acct": acct, "actor": actor, "site": site, "sector": sector, "isec": isec,
                          "isec2": isec2, "foreign_isec": foreign_isec})


def _seed(w, text: str, isec=None, **kw) -> SeedKeyword:
    return library.create_seed(w.s, w.actor, industry_sector_id=(isec or w.isec).id, keyword=text, **kw)


def _sector_keywords(w) -> dict[str, Keywords]:
    return {k.keyword: k for k in w.s.scalars(select(Keywords).where(Keywords.sector_id == w.sector.id))}


def test_admins_curate_the_library(w):
    seed = _seed(w, "  Trail  Shoes ", volume="1200", difficulty=40, cpc="1.5", intent="commercial")
    assert (seed.keyword, seed.keyword_norm, seed.volume, seed.cpc, seed.industry_id) == (
        "Trail Shoes", "trail shoes", 1200, Decimal("1.50"), w.isec.industry_id)
    with pytest.raises(Conflict, match="already"):
        _seed(w, "trail shoes")
    library.update_seed(w.s, w.actor, seed_id=seed.id, volume=900, difficulty=None, cpc=None, intent="informational")
    assert (seed.volume, seed.difficulty, seed.intent) == (900, None, "informational")
    with pytest.raises(ValidationFailed, match="Difficulty"):
        library.update_seed(w.s, w.actor, seed_id=seed.id, difficulty=101)
    assert library.set_active(w.s, w.actor, seed_ids=[seed.id], active=False) == 1
    assert library.list_seeds(w.s, w.actor, industry_sector_id=w.isec.id).total == 0
    assert library.list_seeds(w.s, w.actor, industry_sector_id=w.isec.id, include_inactive=True).total == 1
    editor = tenancy.Actor(None, Role.editor, w.acct.id, None)
    f.refused(w.s, AccessDenied, lambda: library.create_seed(w.s, editor, industry_sector_id=w.isec.id, keyword="x"))
    f.refused(w.s, AccessDenied, lambda: library.set_active(w.s, editor, seed_ids=[seed.id], active=True))


def test_list_searches_and_pages_by_volume(w):
    for i in range(5):
        _seed(w, f"running shoe {i}", volume=i * 100)
    _seed(w, "hiking boots", volume=50)
    page = library.list_seeds(w.s, w.actor, industry_sector_id=w.isec.id, search="Running", limit=3)
    assert page.total == 5 and [r.keyword for r in page.rows] == ["running shoe 4", "running shoe 3", "running shoe 2"]
    rest = library.list_seeds(w.s, w.actor, industry_sector_id=w.isec.id, search="running", limit=3,
                              after=page.next_after)
    assert [r.keyword for r in rest.rows] == ["running shoe 1", "running shoe 0"] and rest.next_after is None


def test_add_selected_to_the_sector_copies_metrics_and_skips_duplicates(w):
    a = _seed(w, "trail shoes", volume=1000, difficulty=30, cpc="0.80", intent="commercial")
    b = _seed(w, "Road Shoes", volume=500)
    keyword_edits.create_keyword(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, keyword="road shoes", volume=7)
    res = library.add_to_sector(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, seed_ids=[a.id, b.id])
    assert (res.added, res.duplicates) == (1, 1)
    assert res.message == "Added 1 library keyword(s) to sector “Main”. 1 were in the sector already and were skipped."
    kws = _sector_keywords(w)
    assert (kws["trail shoes"].seed_keyword_id, kws["trail shoes"].volume, kws["trail shoes"].cpc) == (
        a.id, 1000, Decimal("0.80"))
    assert kws["trail shoes"].status.value == "new" and kws["trail shoes"].created_at is not None
    assert kws["road shoes"].volume == 7  # the site's own value stays (its override)
    # a per-site override after adding does not touch the library
    kws["trail shoes"].volume = 12
    w.s.flush()
    assert w.s.get(SeedKeyword, a.id).volume == 1000


def test_add_all_filtered_skips_disabled_and_counts(w):
    for t in ("coffee grinder", "coffee beans", "tea pot"):
        _seed(w, t)
    off = _seed(w, "coffee filter")
    library.set_active(w.s, w.actor, seed_ids=[off.id], active=False)
    res = library.add_to_sector(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, search="coffee")
    assert (res.added, res.duplicates) == (2, 0) and set(_sector_keywords(w)) == {"coffee grinder", "coffee beans"}
    res = library.add_to_sector(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id)
    assert (res.added, res.duplicates) == (1, 2)
    res = library.add_to_sector(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, seed_ids=[off.id])
    assert (res.added, res.inactive) == (0, 1)


def test_industry_and_sector_mismatch_is_refused(w):
    other_sector_seed = _seed(w, "boots", isec=w.isec2)
    f.refused(w.s, ValidationFailed, lambda: library.add_to_sector(w.s, w.actor, site_id=w.site.id,
                                                                    sector_id=w.sector.id,
                                                                    seed_ids=[other_sector_seed.id]),
              match=f"belong to industry sector “{w.isec2.name}”, but sector “Main” is tied to “{w.isec.name}”")
    foreign = _seed(w, "loans", isec=w.foreign_isec)
    f.refused(w.s, ValidationFailed, lambda: library.add_to_sector(w.s, w.actor, site_id=w.site.id,
                                                                    sector_id=w.sector.id, seed_ids=[foreign.id]),
              match="but site “Lib Site” is in another industry")
    untied = sites.create_sector(w.s, w.actor, site_id=w.site.id, name="Untied")
    f.refused(w.s, ValidationFailed, lambda: library.add_to_sector(w.s, w.actor, site_id=w.site.id,
                                                                    sector_id=untied.id),
              match="not tied to an industry sector")


def test_import_csv_adds_updates_and_reports_skipped_rows(w):
    _seed(w, "trail shoes", volume=1)
    data = ("Keyword;Search Volume;KD %;CPC (USD);Intent;Trend\n"
            "Trail Shoes;1,200;45;1.10;commercial;up\n"
            "running socks;1.5K;;0,80;;\n"
            ";100;;;;\n"
            "RUNNING SOCKS;5;;;;\n"
            "gaiters;lots;;;;\n").encode("utf-8-sig")
    rep = library.import_seeds(w.s, w.actor, industry_sector_id=w.isec.id, data=data)
    assert (rep.read, rep.imported, rep.updated, rep.skipped_total) == (5, 1, 1, 3)
    assert rep.skipped == [(4, "The keyword cell is empty."), (5, "duplicate of line 3"),
                           (6, "Volume “lots” is not a number (column “Search Volume”).")]
    assert rep.message == "Read 5 row(s): 1 new library keyword(s), 1 updated, 3 skipped."
    w.s.expire_all()
    rows = {s.keyword_norm: s for s in w.s.scalars(select(SeedKeyword).where(
        SeedKeyword.industry_sector_id == w.isec.id))}
    assert (rows["trail shoes"].volume, rows["trail shoes"].difficulty, rows["trail shoes"].cpc) == (
        1200, 45, Decimal("1.10"))
    assert (rows["running socks"].volume, rows["running socks"].cpc) == (1500, Decimal("0.80"))
    assert rows["running socks"].attributes == {}
    one_column = "hiking poles\nHiking Poles\ntent pegs\ntrail shoes\n".encode("utf-16")
    rep = library.import_seeds(w.s, w.actor, industry_sector_id=w.isec.id, data=one_column, update_existing=False)
    assert (rep.imported, rep.updated, rep.skipped) == (2, 0, [(2, "duplicate of line 1"),
                                                               (4, "already in the library")])
    with pytest.raises(ValidationFailed, match="nothing to import"):
        library.import_seeds(w.s, w.actor, industry_sector_id=w.isec.id, data=b"  \n")
    with pytest.raises(ValidationFailed, match="not valid UTF-8"):
        library.import_seeds(w.s, w.actor, industry_sector_id=w.isec.id, data="Keyword\ncafé\n".encode("latin-1"))


def test_library_file_keeps_flags_out_of_intent_and_they_reach_the_sector(w):
    data = (b"Keyword,Volume,Intents\n"
            b"trail shoes brand x,900,\"Commercial, Branded, Non-local\"\n"
            b"trail shoes near me,50,\"Transactional, Non-branded, Local\"\n")
    rep = library.import_seeds(w.s, w.actor, industry_sector_id=w.isec.id, data=data)
    assert (rep.imported, rep.skipped_total) == (2, 0)
    seeds = {s.keyword: (s.intent, s.attributes) for s in w.s.scalars(select(SeedKeyword).where(
        SeedKeyword.industry_sector_id == w.isec.id))}
    assert seeds == {"trail shoes brand x": ("commercial", {"branded": True, "local": False}),
                     "trail shoes near me": ("transactional", {"branded": False, "local": True})}
    library.add_to_sector(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id)
    listed = keywords.list_keywords(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id,
                                    filters=keywords.KeywordFilter(local=True)).rows
    assert [(r.keyword, r.intent) for r in listed] == [("trail shoes near me", "transactional")]


@pytest.mark.parametrize("intent", ["branded", "Commercial, Non-branded", "local", "informational / non-local"])
def test_admins_cannot_file_branded_or_local_as_an_intent(w, intent):
    named = "Intents are informational, navigational, commercial and transactional"
    f.refused(w.s, ValidationFailed, lambda: _seed(w, "trail shoes", intent=intent), match="is not a search intent")
    seed = _seed(w, "trail shoes", intent="Commercial, Transactional")  # several, as typed
    assert seed.intent == "Commercial, Transactional"
    with pytest.raises(ValidationFailed, match=named):
        library.update_seed(w.s, w.actor, seed_id=seed.id, intent=intent)
    w.s.refresh(seed)
    assert seed.intent == "Commercial, Transactional"
    with pytest.raises(ValidationFailed, match="at most 100"):
        library.update_seed(w.s, w.actor, seed_id=seed.id, intent="x" * 101)
