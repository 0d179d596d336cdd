"""Ahrefs' "Intents" mixes search intents with the flags Branded/Non-branded and Local/Non-local: the import keeps
intents to the search intents and the flags as the attributes `branded` / `local`; migration 0007 moves flags that
older imports stored in `intent`."""
from __future__ import annotations

import io

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from core import runtime
from core.planner import keyword_export
from core.planner.keyword_import import values
from db import migrate
from db.models import Keywords, SeedKeyword
from tests import factories as f
from tests.fakes import keyword_files as kf

run, stored = kf.run, kf.stored


@pytest.fixture
def world(session):
    return kf.make_world(session)


@pytest.mark.parametrize(("cell", "expected"), [
    ("Navigational, Branded", ("navigational", {"branded": True})),
    ("Commercial, Non-branded, Local", ("commercial", {"branded": False, "local": True})),
    ("Informational, Non-local", ("informational", {"local": False})),
    ("non branded; non local", (None, {"branded": False, "local": False})),
    ("Branded", (None, {"branded": True})),
    ("Transactional, Branded, Non-branded", ("transactional", {"branded": True})),  # the first mention wins
    ("Informational, Transactional", ("informational, transactional", {})),
])
def test_intent_cells_split_into_intents_and_flags(cell, expected):
    assert values.intent_and_flags(cell) == expected
    assert values.intent(cell) == expected[0]


def test_ahrefs_export_keeps_flags_as_attributes(session, world):
    report = run(session, world, kf.AHREFS)
    assert report.source == "Ahrefs" and report.imported == 3
    kws = stored(session, world["sector"].id)
    login = kws["wp engine login"]
    assert (login.intent, login.attributes["branded"]) == ("navigational", True)
    assert "local" not in login.attributes and "branded" not in kws["wordpress hosting"].attributes
    assert kws["wordpress hosting"].intent == "commercial, informational"


def test_flags_survive_an_export_and_reimport(session, world):
    data = kf.csv_bytes(["Keyword", "Volume", "Intents"], [["wp engine login", "900", "Navigational, Branded"],
                                                           ["wp near me", "50", "Commercial, Non-branded, Local"]])
    run(session, world, data)
    out = io.StringIO()
    keyword_export.export_keywords(session, world["owner"], site_id=world["site"].id, sector_id=world["sector"].id,
                                   out=out)
    other = {**world, "sector": f.sector(session, world["site"])}
    run(session, other, out.getvalue().encode())
    again = {k: (v.intent, v.attributes) for k, v in stored(session, other["sector"].id).items()}
    assert again == {"wp engine login": ("navigational", {"branded": True}),
                     "wp near me": ("commercial", {"branded": False, "local": True})}


def test_migration_0007_moves_flags_out_of_intent(fresh_database):
    rt = runtime.start(url=fresh_database())
    try:
        with rt() as s:
            w = kf.make_world(s)
            isec = kf.industry_sector(s, w["site"], w["sector"])
            rows = {"a": "navigational, branded, non-local", "b": "Commercial; Non-Branded", "c": "local",
                    "d": "informational", "e": "brand awareness"}
            for key, intent in rows.items():
                s.add(Keywords(account_id=w["acct"].id, site_id=w["site"].id, sector_id=w["sector"].id, keyword=key,
                               keyword_norm=key, intent=intent, attributes={"note": key} if key != "c" else {}))
            s.add(SeedKeyword(keyword="s", keyword_norm="s", industry_id=isec.industry_id, industry_sector_id=isec.id,
                              intent="transactional, local", attributes={"local": False}))  # its own value wins
            sector_id = w["sector"].id
        migrate.downgrade(rt.engine, "0006")
        migrate.upgrade(rt.engine)
        with rt() as s:
            got = {k.keyword: (k.intent, k.attributes) for k in s.scalars(select(Keywords).where(
                Keywords.sector_id == sector_id))}
            seed = s.scalars(select(SeedKeyword).where(SeedKeyword.keyword_norm == "s")).one()
            revision = s.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        rt.engine.dispose()
    assert got == {"a": ("navigational", {"note": "a", "branded": True, "local": False}),
                   "b": ("Commercial", {"note": "b", "branded": False}),
                   "c": (None, {"local": True}),
                   "d": ("informational", {"note": "d"}),
                   "e": ("brand awareness", {"note": "e"})}
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert (seed.intent, seed.attributes, revision) == ("transactional", {"local": False}, head)
