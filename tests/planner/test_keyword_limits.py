"""The plan's max_keywords holds for every way keywords arrive, not only imports: a keyword added by hand
(keyword_edits.create_keyword) and library keywords added to a sector (library.add_to_sector) are counted under the
account's import lock and refused with the import's kind of message — on SQLite and PostgreSQL. (Processes racing
an import: tests/planner/test_import_processes.py.)"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from core.errors import LimitExceeded
from core.planner import keyword_edits, library
from db.models import Account, Keywords, Plan
from tests import factories as f
from tests.fakes import keyword_files as kf


@pytest.fixture
def w(session):
    """An account on a plan of 3 keywords, a sector tied to an industry sector with a curated library of four."""
    world = kf.make_world(session)
    plan = Plan(name="Tiny", slug=f"tiny-{uuid.uuid4().hex[:10]}", max_keywords=3)
    session.add(plan)
    session.flush()
    session.get(Account, world["acct"].id).plan_id = plan.id
    isec = kf.industry_sector(session, world["site"], world["sector"])
    admin = f.platform_admin(session)
    seeds = [library.create_seed(session, admin, industry_sector_id=isec.id, keyword=k, volume=10)
             for k in ("trail shoes", "road shoes", "hiking boots", "running socks")]
    session.flush()
    return type("W", (), {"s": session, **world, "plan": plan, "seeds": seeds})


def _create(w, keyword: str):
    return keyword_edits.create_keyword(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, keyword=keyword)


def _add(w, seeds=None):
    return library.add_to_sector(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id,
                                 seed_ids=None if seeds is None else [s.id for s in seeds])


def _count(w) -> int:
    return w.s.scalar(select(func.count()).select_from(Keywords).where(Keywords.account_id == w.acct.id)) or 0


def test_a_keyword_by_hand_is_refused_at_the_plan_limit(w):
    for k in ("one", "two", "three"):
        _create(w, k)
    err = f.refused(w.s, LimitExceeded, lambda: _create(w, "four"))
    assert str(err) == ("Plan “Tiny” allows 3 keywords; the account has 3 and “four” would add 1. Nothing was "
                        "added: delete keywords or upgrade the plan first.")
    assert _count(w) == 3
    # A deleted keyword frees its place; a duplicate is refused as a duplicate, not as over the limit.
    keyword_edits.bulk_update(w.s, w.owner, site_id=w.site.id, sector_id=w.sector.id, action="delete",
                              ids=[k.id for k in w.s.scalars(select(Keywords).where(Keywords.keyword == "one"))])
    assert _create(w, "four").keyword == "four"
    f.refused(w.s, LimitExceeded, lambda: _create(w, "five"))


def test_library_keywords_are_refused_when_they_would_pass_the_limit(w):
    _create(w, "trail shoes")  # in the sector already: a duplicate, which adds nothing
    _create(w, "own keyword")
    err = f.refused(w.s, LimitExceeded, lambda: _add(w))
    assert str(err) == ("Plan “Tiny” allows 3 keywords; the account has 2 and these library keywords would add 3. "
                        "Nothing was added: delete keywords or upgrade the plan first.")
    err = f.refused(w.s, LimitExceeded, lambda: _add(w, w.seeds[1:3]))
    assert "would add 2" in str(err) and _count(w) == 2
    res = _add(w, w.seeds[:2])  # one new, one duplicate: fits exactly
    assert (res.added, res.duplicates, _count(w)) == (1, 1, 3)
    assert _add(w, w.seeds[:2]).added == 0  # nothing new: nothing to refuse
    f.refused(w.s, LimitExceeded, lambda: _add(w, w.seeds[2:3]), match="the account has 3 and these library")


def test_without_a_plan_there_is_no_keyword_limit(w):
    w.s.get(Account, w.acct.id).plan_id = None
    w.s.flush()
    assert _add(w).added == 4
    assert _create(w, "fifth").id is not None and _count(w) == 5
