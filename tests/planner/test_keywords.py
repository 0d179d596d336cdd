"""Keywords screen service: filters, keyset paging against the OFFSET order, counts, inline edits, bulk actions,
cluster counters and tenancy — on SQLite and PostgreSQL."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from core.errors import AccessDenied, NotFound, ValidationFailed
from core.identity import sites, users
from core.planner import clusters, keyword_edits, keywords
from core.planner.keywords import Cursor, KeywordFilter
from db.enums import Role
from db.models import Clusters, Keywords
from tests import factories as f

KF = KeywordFilter
SORT_CASES = [(s, d) for s in keywords.SORTS for d in ("asc", "desc")]


class World:
    """One account with a site, two sectors, clusters and 60 keywords with ties and NULLs in every sort column."""

    def __init__(self, session):
        self.s = session
        self.acct = f.account(session)
        self.owner = f.owner_actor(session, self.acct)
        self.site = sites.create_site(session, self.owner, name="Site")
        self.sector = sites.create_sector(session, self.owner, site_id=self.site.id, name="Main")
        self.other_sector = sites.create_sector(session, self.owner, site_id=self.site.id, name="Other")
        self.c1 = clusters.create(session, self.owner, site_id=self.site.id, sector_id=self.sector.id,
                                         name="Shoes")
        self.c2 = clusters.create(session, self.owner, site_id=self.site.id, sector_id=self.sector.id,
                                         name="Boots")
        self.foreign_cluster = clusters.create(session, self.owner, site_id=self.site.id,
                                                      sector_id=self.other_sector.id, name="Elsewhere")
        rnd = random.Random(7)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(60):
            kw = keyword_edits.create_keyword(
                session, self.owner, site_id=self.site.id, sector_id=self.sector.id, keyword=f"Keyword {i:02d} red",
                volume=rnd.choice([None, 10, 20, 20, 500, 1000]), difficulty=rnd.choice([None, 0, 35, 35, 100]),
                cpc=rnd.choice([None, "0.5", "1.25", "1.25"]), intent=rnd.choice([None, "Informational",
                                                                                  "Commercial, Transactional"]),
                cluster_id=rnd.choice([None, None, self.c1.id, self.c2.id]))
            kw.created_at = base + timedelta(minutes=i // 3)  # ties of three
            kw.disabled = i % 7 == 0
        session.flush()

    def list(self, actor=None, **kw):
        return keywords.list_keywords(self.s, actor or self.owner, site_id=self.site.id, sector_id=self.sector.id,
                                      **kw)

    def bulk(self, actor=None, **kw):
        return keyword_edits.bulk_update(self.s, actor or self.owner, site_id=self.site.id,
                                         sector_id=self.sector.id, **kw)

    def ids(self, filters: KeywordFilter | None = None, **kw) -> list[int]:
        return [r.id for r in self.list(filters=filters or KF(), limit=500, **kw).rows]

    def kw(self, kid: int) -> Keywords:
        self.s.expire_all()
        return self.s.get(Keywords, kid)

    def cluster(self, cid: int) -> Clusters:
        self.s.expire_all()
        return self.s.get(Clusters, cid)

    def truth(self, cid: int) -> tuple[int, int]:
        """A cluster's live keyword count and volume, counted from the keywords."""
        rows = [k for k in self.s.scalars(select(Keywords).where(Keywords.cluster_id == cid,
                                                                 Keywords.deleted_at.is_(None)))]
        return len(rows), sum(k.volume or 0 for k in rows)


@pytest.fixture
def w(session) -> World:
    return World(session)


def _offset_order(w: World, sort: str, direction: str, limit: int) -> list[int]:
    """The reference order: ORDER BY col NULLS LAST, id with LIMIT/OFFSET pages."""
    col = keywords.SORTS[sort].column
    key = col.desc() if direction == "desc" else col.asc()
    tie = Keywords.id.desc() if direction == "desc" else Keywords.id.asc()
    out, offset = [], 0
    while True:
        page = w.s.scalars(select(Keywords.id).where(Keywords.sector_id == w.sector.id, Keywords.deleted_at.is_(None))
                           .order_by(key.nulls_last(), tie).limit(limit).offset(offset)).all()
        out += page
        offset += limit
        if len(page) < limit:
            return out


@pytest.mark.parametrize(("sort", "direction"), SORT_CASES)
def test_keyset_paging_matches_offset_order_both_ways(w, sort, direction):
    limit = 7
    pages, cursor = [], None
    while True:
        page = w.list(sort=sort, direction=direction, after=cursor, limit=limit)
        assert len(page.rows) <= limit and page.fetched <= len(page.rows) + 1
        assert (page.prev_before is None) == (cursor is None)
        pages.append([r.id for r in page.rows])
        if not page.has_more:
            assert page.next_after is None
            break
        cursor = page.next_after
    walked = [i for p in pages for i in p]
    assert walked == _offset_order(w, sort, direction, limit)
    assert len(walked) == len(set(walked)) == 60
    assert [len(p) for p in pages] == [7] * 8 + [4]
    back, page_no = w.list(sort=sort, direction=direction, after=cursor, limit=limit), len(pages) - 1
    while back.prev_before is not None:  # Previous from the last page retraces every page
        assert [r.id for r in back.rows] == pages[page_no]
        back, page_no = w.list(sort=sort, direction=direction, before=back.prev_before, limit=limit), page_no - 1
        assert back.fetched <= limit + 1
    assert page_no == 0 and [r.id for r in back.rows] == pages[0]


def test_nulls_come_last_in_both_directions(w):
    for direction in ("asc", "desc"):
        vols = [r.volume for r in w.list(sort="volume", direction=direction, limit=500).rows]
        cut = vols.index(None)
        assert all(v is None for v in vols[cut:]) and None not in vols[:cut]
        assert vols[:cut] == sorted(vols[:cut], reverse=direction == "desc")


def test_created_at_paging_survives_times_stored_without_microseconds(w):
    """Rows written by SQL defaults (an import's INSERT … SELECT) store whole seconds; on SQLite that is text."""
    same = "2026-02-01 10:00:00" if w.s.get_bind().dialect.name == "sqlite" else "2026-02-01 10:00:00+00"
    w.s.execute(text("UPDATE keywords SET created_at = :t WHERE sector_id = :s"), {"t": same, "s": w.sector.id})
    walked, cursor = [], None
    while True:
        page = w.list(sort="created_at", direction="asc", after=cursor, limit=9)
        walked += [r.id for r in page.rows]
        if not page.has_more:
            break
        cursor = page.next_after
    assert walked == sorted(walked) and len(walked) == 60


def test_limit_and_bad_arguments(w):
    assert len(w.list(limit=1).rows) == 1
    for kwargs, message in (({"limit": 0}, "page holds"), ({"sort": "id; drop"}, "cannot be sorted"),
                            ({"direction": "up"}, "direction"),
                            ({"after": Cursor("volume", False, 1, 1)}, "another sort order")):
        with pytest.raises(ValidationFailed, match=message):
            w.list(**kwargs)


def test_filters(w):
    rows = w.list(limit=500).rows
    by = {r.id: r for r in rows}

    def check(filters: KeywordFilter, expect) -> None:
        got = w.ids(filters)
        assert sorted(got) == sorted(i for i, r in by.items() if expect(r)), filters
        assert got, f"vacuous filter {filters}"

    check(KF(search="  KEYWORD   0"), lambda r: r.keyword.lower().startswith("keyword 0"))
    check(KF(search="ｋｅｙｗｏｒｄ 1"), lambda r: r.keyword.startswith("Keyword 1"))  # full width, NFKC
    check(KF(status="mapped"), lambda r: r.status == "mapped")
    check(KF(cluster_id=w.c1.id), lambda r: r.cluster_id == w.c1.id)
    check(KF(unclustered=True), lambda r: r.cluster_id is None)
    check(KF(intent="transact"), lambda r: "Transactional" in (r.intent or ""))
    check(KF(volume_min=20, volume_max=500), lambda r: r.volume is not None and 20 <= r.volume <= 500)
    check(KF(difficulty_max=35), lambda r: r.difficulty is not None and r.difficulty <= 35)
    check(KF(disabled=True), lambda r: r.disabled)
    check(KF(disabled=False, status="new", volume_min=10), lambda r: not r.disabled and r.status == "new"
          and r.volume is not None)
    assert w.ids(KF(search="100%")) == [] and w.ids(KF(search="_")) == []  # wildcards are literal
    with pytest.raises(ValidationFailed, match="range is empty"):
        w.list(filters=KF(volume_min=50, volume_max=10))


def test_branded_and_local_flags_filter_in_sql(w):
    """The import keeps Ahrefs' Branded/Local flags as attributes; the list filters on them (and a stray text value
    under the same key neither matches nor breaks the query)."""
    from core.planner import keyword_import as ki  # the flags arrive through an import
    from tests.fakes import keyword_files as kf
    data = kf.csv_bytes(["Keyword", "Intents"], [["wp engine login", "Navigational, Branded, Non-local"],
                                                 ["wordpress near me", "Commercial, Non-branded, Local"],
                                                 ["local wordpress meetup", "Informational, Local"],
                                                 ["wordpress", "Informational"]])
    ki.run_import(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, data=data)
    stray = keyword_edits.create_keyword(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, keyword="odd one")
    stray.attributes = {"branded": "true", "local": 1}
    w.s.flush()
    name = {r.id: r.keyword for r in w.list(limit=500).rows}

    def found(**flags) -> set[str]:
        rows = {name[i] for i in w.ids(KF(**flags))}
        count = keywords.count_filtered(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, filters=KF(**flags))
        assert count.value == len(rows), flags
        return rows

    assert found(branded=True) == {"wp engine login"}
    assert found(branded=False) == {"wordpress near me"}
    assert found(local=True) == {"wordpress near me", "local wordpress meetup"}
    assert found(local=False) == {"wp engine login"}
    assert found(branded=False, local=True, intent="commercial") == {"wordpress near me"}
    assert found(intent="local") == set() and found(intent="brand") == set()  # flags are not intents
    assert len(found()) == 65


def test_counts(w):
    rows = w.list(limit=500).rows
    counts = keywords.count_by_status(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id,
                                      filters=KF(status="new", disabled=False))
    assert counts == {s: sum(1 for r in rows if r.status == s and not r.disabled) for s in ("new", "mapped")}
    total = keywords.count_filtered(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, filters=KF())
    assert (total.value, total.capped, str(total)) == (60, False, "60")
    capped = keywords.count_filtered(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, filters=KF(), cap=25)
    assert (capped.value, capped.capped, str(capped)) == (25, True, "25+")


def test_inline_edits_apply_and_keep_cluster_rules(w):
    new = w.ids(KF(unclustered=True))[:3]
    mapped = w.ids(KF(cluster_id=w.c1.id))[:2]
    n = keyword_edits.update_keywords(w.s, w.owner, changes={
        new[0]: {"volume": "1200", "difficulty": 40, "cpc": "2.5", "intent": " Commercial ", "disabled": True},
        new[1]: {"cluster_id": w.c2.id},
        mapped[0]: {"cluster_id": None},
        mapped[1]: {"status": "new"},
    })
    assert n == 4
    k = w.kw(new[0])
    assert (k.volume, k.difficulty, k.cpc, k.intent, k.disabled) == (1200, 40, Decimal("2.50"), "Commercial", True)
    assert (w.kw(new[1]).cluster_id, w.kw(new[1]).status) == (w.c2.id, "mapped")
    for kid in mapped:
        assert (w.kw(kid).cluster_id, w.kw(kid).status) == (None, "new")
    for c in (w.c1, w.c2):
        cl = w.cluster(c.id)
        assert (cl.keywords_count, cl.volume) == w.truth(c.id)


@pytest.mark.parametrize(("change", "message"), [
    ({"volume": -1}, "Volume must be between 0"),
    ({"difficulty": "hard"}, "Difficulty must be a whole number"),
    ({"cpc": "abc"}, "CPC must be an amount"),
    ({"status": "done"}, "Status must be one of"),
    ({"status": "mapped"}, "needs a cluster"),
    ({"disabled": "maybe"}, "Disabled is yes or no"),
    ({"keyword": "x"}, "cannot be edited here"),
    ({"intent": "x" * 101}, "at most 100"),
    ({"cluster_id": "foreign"}, "belongs to another sector"),
    ({"cluster_id": "Beans"}, "Pick the cluster from"),
    ({"cluster_id": 999_999}, "#999999 was not found"),
])
def test_invalid_edit_names_the_keyword_and_writes_nothing(w, change, message):
    first, bad = w.ids(KF(unclustered=True))[:2]
    if change.get("cluster_id") == "foreign":
        change = {"cluster_id": w.foreign_cluster.id}
    before = (w.kw(first).volume, w.kw(bad).volume)
    bad_name = w.kw(bad).keyword
    with pytest.raises((ValidationFailed, NotFound), match=message) as info:
        keyword_edits.update_keywords(w.s, w.owner, changes={first: {"volume": 999_999}, bad: change})
    assert f"Keyword “{bad_name}”" in str(info.value)
    assert (w.kw(first).volume, w.kw(bad).volume) == before  # the valid row was not written either


INTENTS_NAMED = "Intents are informational, navigational, commercial and transactional"


@pytest.mark.parametrize("intent", ["Branded", "commercial, Non-branded", "informational; local", "Non local",
                                    "transactional, nonlocal"])
def test_branded_and_local_are_refused_as_intents(w, intent):
    """They are the flags the import keeps as the attributes branded/local, never intents (as the import splits
    a cell: any of , ; | / between the parts)."""
    kid = w.ids(KF(unclustered=True))[0]
    before = w.kw(kid).intent
    with pytest.raises(ValidationFailed, match="is not a search intent") as info:
        keyword_edits.update_keywords(w.s, w.owner, changes={kid: {"intent": intent}})
    assert INTENTS_NAMED in str(info.value) and w.kw(kid).intent == before
    with pytest.raises(ValidationFailed, match=INTENTS_NAMED):
        keyword_edits.create_keyword(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, keyword="fresh one",
                                     intent=intent)
    assert not w.s.scalars(select(Keywords).where(Keywords.keyword == "fresh one")).all()


def test_several_intents_are_accepted_as_typed(w):
    kid = w.ids(KF(unclustered=True))[0]
    keyword_edits.update_keywords(w.s, w.owner, changes={kid: {"intent": " Commercial, Transactional "}})
    assert w.kw(kid).intent == "Commercial, Transactional"
    kw = keyword_edits.create_keyword(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, keyword="brand new",
                                      intent="informational; navigational")
    assert kw.intent == "informational; navigational"
    keyword_edits.update_keywords(w.s, w.owner, changes={kid: {"intent": ""}})
    assert w.kw(kid).intent is None


def test_bulk_on_selection_delete_restore_and_counters(w):
    sel = w.ids(KF(cluster_id=w.c1.id))[:3]
    count_before = w.cluster(w.c1.id).keywords_count
    assert w.bulk(action="delete", ids=sel) == 3
    assert not set(sel) & set(w.ids())
    assert sorted(w.ids(KF(deleted="only"))) == sorted(sel)
    assert w.cluster(w.c1.id).keywords_count == count_before - 3 == w.truth(w.c1.id)[0]
    assert w.bulk(action="delete", ids=sel) == 0  # already deleted: nothing changes
    assert w.bulk(action="restore", ids=sel) == 3
    assert set(sel) <= set(w.ids()) and w.ids(KF(deleted="only")) == []
    assert (w.cluster(w.c1.id).keywords_count, w.cluster(w.c1.id).volume) == w.truth(w.c1.id)


def test_bulk_on_the_filtered_set(w):
    flt = KF(search="keyword 1", unclustered=True)
    target = w.ids(flt)
    assert w.bulk(action="assign_cluster", filters=flt, cluster_id=w.c2.id) == len(target) > 0
    assert all(w.kw(i).cluster_id == w.c2.id and w.kw(i).status == "mapped" for i in target)
    assert (w.cluster(w.c2.id).keywords_count, w.cluster(w.c2.id).volume) == w.truth(w.c2.id)
    in_c2 = w.list(filters=KF(cluster_id=w.c2.id), limit=500).rows
    assert w.bulk(action="disable", filters=KF(cluster_id=w.c2.id)) == sum(not r.disabled for r in in_c2) > 0
    assert w.ids(KF(cluster_id=w.c2.id, disabled=False)) == []
    assert w.bulk(action="enable", filters=KF(cluster_id=w.c2.id)) == len(in_c2)  # counts what changed
    n_c1 = len(w.ids(KF(cluster_id=w.c1.id)))
    assert w.bulk(action="remove_from_cluster", filters=KF(cluster_id=w.c1.id)) == n_c1
    c1 = w.cluster(w.c1.id)
    assert (c1.keywords_count, c1.volume, c1.status) == (0, 0, "new")
    deleted = w.bulk(action="delete", filters=KF(status="new"))
    assert deleted == 60 - len(w.ids(KF(status="mapped"))) and w.ids(KF(status="new")) == []
    assert w.bulk(action="restore", filters=KF(deleted="only")) == deleted


def test_bulk_set_status_rules(w):
    with pytest.raises(ValidationFailed, match="is in no cluster"):
        w.bulk(action="set_status", status="mapped", filters=KF())
    assert w.bulk(action="set_status", status="mapped", filters=KF(status="mapped")) == 0  # nothing to change
    mapped = w.ids(KF(status="mapped"))
    assert w.bulk(action="set_status", status="new", ids=mapped[:2]) == 2
    assert all(w.kw(i).cluster_id is None for i in mapped[:2])
    for c in (w.c1, w.c2):
        assert w.cluster(c.id).keywords_count == w.truth(c.id)[0]
    with pytest.raises(ValidationFailed, match="either to selected"):
        w.bulk(action="delete")
    with pytest.raises(ValidationFailed, match="another sector"):
        w.bulk(action="assign_cluster", ids=mapped[:1], cluster_id=w.foreign_cluster.id)


def test_other_accounts_ids_are_refused(session, w):
    other = World(session)
    theirs = other.ids()[:2]
    with pytest.raises(NotFound):
        keyword_edits.update_keywords(session, w.owner, changes={theirs[0]: {"volume": 1}})
    with pytest.raises(NotFound):
        w.bulk(action="delete", ids=[w.ids()[0], theirs[0]])
    with pytest.raises(NotFound):  # their sector through our actor
        keyword_edits.bulk_update(session, w.owner, site_id=other.site.id, sector_id=other.sector.id,
                                  action="delete", filters=KF())
    assert keywords.list_keywords(session, w.owner, site_id=other.site.id, sector_id=other.sector.id).rows == []
    assert w.bulk(action="delete", filters=KF()) == 60
    assert len(other.ids()) == 60 and other.kw(theirs[0]).deleted_at is None


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_viewers_cannot_change_and_editors_only_granted_sites(session, w, role):
    person = users.create_user(session, w.owner, email=f"{role.value}@example.com", password="correct-horse-42",
                               role=role.value)
    actor = f.actor(session, person)
    assert w.list(actor).rows == []  # no site granted yet
    users.set_site_access(session, w.owner, user_id=person.id, site_ids=[w.site.id])
    actor = f.actor(session, person)
    kid = w.ids()[0]
    assert len(w.list(actor, limit=500).rows) == 60
    if role == Role.viewer:
        with pytest.raises(AccessDenied):
            keyword_edits.update_keywords(session, actor, changes={kid: {"volume": 1}})
        with pytest.raises(AccessDenied):
            w.bulk(actor, action="delete", ids=[kid])
        assert w.kw(kid).deleted_at is None
    else:
        assert keyword_edits.update_keywords(session, actor, changes={kid: {"volume": 1}}) == 1
        assert w.bulk(actor, action="delete", ids=[kid]) == 1
