"""core.common.text: choices refused with a message, and the NUL guard that keeps raw driver errors out of searches
and names on both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.common import text
from core.errors import ValidationFailed
from core.identity import accounts, sites
from core.planner import clusters, ideas, keyword_edits, keywords
from core.planner.keywords import KeywordFilter
from db.enums import KeywordStatus, Role
from db.models import Clusters
from tests import factories as f

NUL = "coffee\x00grinder"


@pytest.fixture
def w(session):
    return f.workspace(session)


def test_one_of_names_the_valid_choices():
    assert text.one_of(KeywordStatus, "mapped", "Keyword status") is KeywordStatus.mapped
    with pytest.raises(ValidationFailed, match="Keyword status must be one of new, mapped, not “gone”"):
        text.one_of(KeywordStatus, "gone", "Keyword status")


@pytest.mark.parametrize("filters, message", [
    (KeywordFilter(status="gone"), "Keyword status must be one of"),
    (KeywordFilter(deleted="yes"), "The deleted filter must be one of exclude, only, include"),
])
def test_an_unknown_keyword_filter_gets_a_message(w, filters, message):
    with pytest.raises(ValidationFailed, match=message):
        keywords.list_keywords(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, filters=filters)


def test_unknown_cluster_and_idea_statuses_get_a_message(w):
    with pytest.raises(ValidationFailed, match="Cluster status must be one of new, mapped"):
        clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, status="archived")
    with pytest.raises(ValidationFailed, match="Idea status must be one of new, queued, completed"):
        ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, status="done")


def _searches(w):
    yield lambda: keywords.list_keywords(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id,
                                         filters=KeywordFilter(search=NUL))
    yield lambda: keywords.list_keywords(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id,
                                         filters=KeywordFilter(intent="info\x00"))
    yield lambda: clusters.list_clusters(w.s, w.actor, sector_id=w.sector.id, search=NUL)
    yield lambda: ideas.list_ideas(w.s, w.actor, sector_id=w.sector.id, search=NUL)


def _new_names(w, admin):
    yield lambda: clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name=NUL)
    yield lambda: ideas.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, title=NUL)
    yield lambda: keyword_edits.create_keyword(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, keyword=NUL)
    yield lambda: sites.create_sector(w.s, w.actor, site_id=w.site.id, name=NUL)
    yield lambda: sites.create_site(w.s, w.actor, name=NUL)
    yield lambda: accounts.update_account(w.s, admin, account_id=w.acct.id, name=NUL)


def test_a_nul_in_a_search_gets_a_message_and_the_transaction_goes_on(w):
    # On PostgreSQL the driver used to raise a raw psycopg.DataError, which also aborted the transaction.
    cid = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Kept").id
    for call in _searches(w):
        with pytest.raises(ValidationFailed, match="NUL character"):
            call()
        assert w.s.scalar(select(Clusters.name).where(Clusters.id == cid)) == "Kept"  # the transaction is usable


def test_a_nul_in_a_new_name_gets_a_message_and_writes_nothing(w):
    admin = f.platform_admin(w.s, role=Role.developer)
    before = f.row_counts(w.s)
    for call in _new_names(w, admin):
        with pytest.raises(ValidationFailed, match="NUL character"), w.s.begin_nested():
            call()
    assert f.row_counts(w.s) == before


def test_a_nul_in_a_renamed_cluster_is_refused_and_the_old_name_kept(w):
    cid = clusters.create(w.s, w.actor, site_id=w.site.id, sector_id=w.sector.id, name="Espresso").id
    with pytest.raises(ValidationFailed, match="NUL character"):
        clusters.rename(w.s, w.actor, cluster_id=cid, name="Esp\x00resso")
    with pytest.raises(ValidationFailed, match="NUL character"), w.s.begin_nested():
        clusters.rename(w.s, w.actor, cluster_id=cid, name="Espresso", description="bad\x00description")
    w.s.expire_all()
    assert w.s.get(Clusters, cid).name == "Espresso"
