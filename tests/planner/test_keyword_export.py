"""Keyword export: the filtered view as CSV, formula-safe, BOM on request, and an export imports back the same."""
from __future__ import annotations

import csv
import io

import pytest

from core.errors import NotFound
from core.identity import users
from core.planner import clusters, keyword_edits, keyword_export
from core.planner.keywords import KeywordFilter
from db.enums import Role
from tests import factories as f
from tests.fakes import keyword_files as kf


@pytest.fixture
def world(session):
    return kf.make_world(session)


def export(session, w, *, actor=None, **kw) -> tuple[str, int]:
    out = io.StringIO(newline="")
    n = keyword_export.export_keywords(session, actor or w["owner"], site_id=w["site"].id,
                                       sector_id=w["sector"].id, out=out, **kw)
    return out.getvalue(), n


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def comparable(session, sector_id: int) -> dict[str, tuple]:
    return {k.keyword: (k.volume, k.difficulty, k.cpc, k.intent, k.attributes)
            for k in kf.stored(session, sector_id).values()}


def test_export_round_trip_reproduces_the_keywords(session, world):
    data = kf.csv_bytes(["Keyword", "Volume", "KD", "CPC", "Intent", "Trend", "SERP Features", "Note"],
                        [["wordpress hosting", "1,300", "40", "2.50", "Commercial", "0.10,0.50,1.00", "Video", "a"],
                         ["=1+2 wordpress", "", "", "", "", "", "", "=cmd|' /C calc'!A0"],
                         ["-wordpress negative", "10", "1", "0.10", "Informational, Navigational", "", "", ""],
                         ["café wordpress", "1K – 10K", "", "", "", "", "", "<b>bold</b>"]])
    kf.run(session, world, data)
    text, n = export(session, world)
    assert n == 4
    other = {**world, "sector": f.sector(session, world["site"])}
    report = kf.run(session, other, text.encode())
    assert report.source == "IGNY8 export" and report.imported == 4 and report.skipped == 0
    assert comparable(session, other["sector"].id) == comparable(session, world["sector"].id)
    # Status, cluster, dates describe the keyword here: they are not imported as attributes.
    assert "Status" not in kf.stored(session, other["sector"].id)["wordpress hosting"].attributes


def test_formula_cells_are_neutralised(session, world):
    for kw in ("=SUM(A1:A9)", "+wordpress", "-wordpress", "@wordpress", "plain wordpress"):
        keyword_edits.create_keyword(session, world["owner"], site_id=world["site"].id, sector_id=world["sector"].id,
                               keyword=kw, intent="=HYPERLINK(\"http://evil\")" if kw.startswith("=") else None)
    got = {r["Keyword"]: r for r in rows(export(session, world)[0])}
    assert set(got) == {"'=SUM(A1:A9)", "'+wordpress", "'-wordpress", "'@wordpress", "plain wordpress"}
    assert got["'=SUM(A1:A9)"]["Intent"] == "'=HYPERLINK(\"http://evil\")"
    for row in got.values():  # no cell of the file starts a formula
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())


def test_filters_bom_and_who_may_export(session, world):
    w = world
    cluster = clusters.create(session, w["owner"], site_id=w["site"].id, sector_id=w["sector"].id, name="Host")
    for i in range(1, 6):
        keyword_edits.create_keyword(session, w["owner"], site_id=w["site"].id, sector_id=w["sector"].id,
                               keyword=f"wordpress hosting {i}", volume=i * 100,
                               cluster_id=cluster.id if i <= 2 else None)
    keyword_edits.create_keyword(session, w["owner"], site_id=w["site"].id, sector_id=w["sector"].id, keyword="themes")
    text, n = export(session, w, filters=KeywordFilter(search="HOSTING", volume_min=200), bom=True)
    assert text.startswith("\ufeffKeyword,Volume,") and n == 4
    mapped = rows(export(session, w, filters=KeywordFilter(status="mapped"))[0])
    assert [(r["Keyword"], r["Cluster"], r["Status"]) for r in mapped] == [
        ("wordpress hosting 1", "Host", "mapped"), ("wordpress hosting 2", "Host", "mapped")]
    viewer = f.user(session, w["acct"], role=Role.viewer)
    users.set_site_access(session, w["owner"], user_id=viewer.id, site_ids=[w["site"].id])
    assert export(session, w, actor=f.actor(session, viewer))[1] == 6  # reading is enough to export
    with pytest.raises(NotFound):
        export(session, w, actor=f.owner_actor(session, f.account(session)))
    with pytest.raises(NotFound):
        export(session, w, actor=f.actor(session, f.user(session, w["acct"], role=Role.viewer)))  # no site access
