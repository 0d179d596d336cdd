"""A first check that the fixtures work on both databases."""
from core.errors import LimitExceeded, ValidationFailed
from core.identity import sites
from core.planner import clusters, keyword_edits
from tests import factories as f


def test_sector_limit_and_same_sector_rule(session):
    acct = f.account(session)
    a = f.owner_actor(session, acct)
    site = sites.create_site(session, a, name="Blog")
    secs = [sites.create_sector(session, a, site_id=site.id, name=f"S{i}") for i in range(5)]
    try:
        sites.create_sector(session, a, site_id=site.id, name="Six")
        raise AssertionError("sixth active sector accepted")
    except LimitExceeded as e:
        assert "5 active sectors" in str(e)
    c = clusters.create(session, a, site_id=site.id, sector_id=secs[0].id, name="C")
    kw = keyword_edits.create_keyword(session, a, site_id=site.id, sector_id=secs[1].id, keyword="x y")
    try:
        clusters.assign_keywords(session, a, keyword_ids=[kw.id], cluster_id=c.id)
        raise AssertionError("cross-sector mapping accepted")
    except ValidationFailed as e:
        assert "same sector" in str(e)
