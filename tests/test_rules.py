"""Business rules of sites, sectors and the planner; every refused call leaves the database unchanged."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.errors import AccessDenied, Conflict, LimitExceeded, ValidationFailed
from core.identity import accounts, sites
from core.planner import clusters, keyword_edits
from db.enums import KeywordStatus, Role
from db.models import Account, Industry, IndustrySector, Keywords, Plan, Sector, Site
from tests import factories as f


@pytest.fixture
def owned(session):
    """An account, its owner actor and one site with one sector."""
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = sites.create_site(session, owner, name="Blog")
    sector = sites.create_sector(session, owner, site_id=site.id, name="Hosting")
    return acct, owner, site, sector


def _industry(session, name: str) -> Industry:
    return session.scalars(select(Industry).where(Industry.name == name)).one()


def _industry_sector(session, industry: Industry, name: str) -> IndustrySector:
    return session.scalars(select(IndustrySector).where(IndustrySector.industry_id == industry.id,
                                                        IndustrySector.name == name)).one()


def test_sector_must_belong_to_the_site(session, owned):
    _, owner, site, sector = owned
    other_site = sites.create_site(session, owner, name="Shop")
    err = f.refused(session, ValidationFailed, lambda: tenancy.sector_for_write(
        session, owner, site_id=other_site.id, sector_id=sector.id))
    assert "does not belong to site" in str(err) and "Hosting" in str(err) and "Shop" in str(err)
    f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=other_site.id, sector_id=sector.id, keyword="misplaced"))
    f.refused(session, ValidationFailed, lambda: sites.update_sector(
        session, owner, site_id=other_site.id, sector_id=sector.id, name="Moved"))
    assert tenancy.sector_for_write(session, owner, site_id=site.id, sector_id=sector.id) is sector


def test_at_most_five_active_sectors(session, owned):
    _, owner, site, first = owned
    for i in range(4):
        sites.create_sector(session, owner, site_id=site.id, name=f"Sector {i}")
    err = f.refused(session, LimitExceeded, lambda: sites.create_sector(session, owner, site_id=site.id,
                                                                        name="Sixth"))
    assert "5 active sectors" in str(err) and "Deactivate one first" in str(err)
    sites.update_sector(session, owner, site_id=site.id, sector_id=first.id, is_active=False)
    sixth = sites.create_sector(session, owner, site_id=site.id, name="Sixth")
    assert sixth.is_active
    f.refused(session, LimitExceeded, lambda: sites.update_sector(session, owner, site_id=site.id,
                                                                  sector_id=first.id, is_active=True))
    assert session.get(Sector, first.id).is_active is False
    assert len(sites.list_sectors(session, owner, site_id=site.id, active_only=True)) == 5
    assert len(sites.list_sectors(session, owner, site_id=site.id)) == 6


def test_keyword_and_cluster_share_a_sector(session, owned):
    _, owner, site, sector = owned
    other = sites.create_sector(session, owner, site_id=site.id, name="Themes")
    cluster = clusters.create(session, owner, site_id=site.id, sector_id=sector.id, name="Cheap hosting")
    err = f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=site.id, sector_id=other.id, keyword="dark theme", cluster_id=cluster.id))
    assert "same sector" in str(err)
    kw = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=other.id, keyword="dark theme")
    err = f.refused(session, ValidationFailed, lambda: clusters.assign_keywords(
        session, owner, keyword_ids=[kw.id], cluster_id=cluster.id))
    assert "same sector" in str(err)
    session.refresh(kw)
    assert kw.cluster_id is None and kw.status == KeywordStatus.new
    ok = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="cheap host",
                                volume=50, cluster_id=cluster.id)
    session.refresh(cluster)
    assert ok.cluster_id == cluster.id and cluster.keywords_count == 1 and cluster.volume == 50


def test_duplicate_keyword_after_normalisation(session, owned):
    _, owner, site, sector = owned
    kw = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword=" WordPress  Hosting ")
    assert (kw.keyword, kw.keyword_norm) == ("WordPress Hosting", "wordpress hosting")
    for variant in ("wordpress hosting", "WORDPRESS\tHOSTING", "ｗｏｒｄｐｒｅｓｓ hosting"):
        err = f.refused(session, Conflict, lambda v=variant: keyword_edits.create_keyword(
            session, owner, site_id=site.id, sector_id=sector.id, keyword=v))
        assert "is in sector “Hosting” already" in str(err)
    other = sites.create_sector(session, owner, site_id=site.id, name="Other")
    assert keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=other.id,
                                  keyword="wordpress hosting").sector_id == other.id
    f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=site.id, sector_id=sector.id, keyword="   "), match="cannot be empty")


def test_keyword_metrics_are_validated(session, owned):
    _, owner, site, sector = owned
    for kwargs, fragment in (({"volume": -1}, "Volume"), ({"difficulty": 101}, "Difficulty"),
                             ({"cpc": "abc"}, "CPC"), ({"volume": "many"}, "whole number")):
        err = f.refused(session, ValidationFailed, lambda k=kwargs: keyword_edits.create_keyword(
            session, owner, site_id=site.id, sector_id=sector.id, keyword="metric test", **k))
        assert fragment in str(err)


def test_industry_sector_must_match_the_site_industry(session, owned):
    _, owner, site, _ = owned
    tech, finance = _industry(session, "Technology"), _industry(session, "Finance")
    wp, investing = _industry_sector(session, tech, "WordPress"), _industry_sector(session, finance, "Investing")
    err = f.refused(session, ValidationFailed, lambda: sites.create_sector(
        session, owner, site_id=site.id, name="WP", industry_sector_id=wp.id))
    assert "Set the industry" in str(err)
    sites.update_site(session, owner, site_id=site.id, industry_id=tech.id)
    err = f.refused(session, ValidationFailed, lambda: sites.create_sector(
        session, owner, site_id=site.id, name="Money", industry_sector_id=investing.id))
    assert "not part of the site's industry" in str(err)
    bound = sites.create_sector(session, owner, site_id=site.id, name="WP", industry_sector_id=wp.id)
    assert bound.industry_sector_id == wp.id
    err = f.refused(session, ValidationFailed, lambda: sites.update_site(session, owner, site_id=site.id,
                                                                         industry_id=finance.id))
    assert "tied to another industry" in str(err)
    assert session.get(Site, site.id).industry_id == tech.id


def test_site_slug_unique_per_account(session):
    a1, a2 = f.account(session), f.account(session)
    o1, o2 = f.owner_actor(session, a1), f.owner_actor(session, a2)
    blog1 = sites.create_site(session, o1, name="Blog")
    blog2 = sites.create_site(session, o2, name="Blog", slug="blog")
    assert blog1.slug == blog2.slug == "blog"
    err = f.refused(session, Conflict, lambda: sites.create_site(session, o1, name="Another blog", slug="Blog"))
    assert "slug “blog”" in str(err)


def test_sector_slug_unique_per_site(session, owned):
    _, owner, site, _ = owned
    f.refused(session, Conflict, lambda: sites.create_sector(session, owner, site_id=site.id, name="hosting"))
    other = sites.create_site(session, owner, name="Shop")
    assert sites.create_sector(session, owner, site_id=other.id, name="Hosting").slug == "hosting"


def test_timezone_is_validated(session, owned):
    _, owner, site, _ = owned
    for bad in ("Mars/Olympus", "Europe/Berlinn", "../etc/passwd"):
        err = f.refused(session, ValidationFailed, lambda b=bad: sites.create_site(session, owner, name="T",
                                                                                    timezone=b))
        assert "not a known time zone" in str(err)
        f.refused(session, ValidationFailed, lambda b=bad: sites.update_site(session, owner, site_id=site.id,
                                                                             timezone=b))
    assert session.get(Site, site.id).timezone == "UTC"
    assert sites.update_site(session, owner, site_id=site.id, timezone=" Europe/Berlin ").timezone == "Europe/Berlin"


def test_names_and_domains_are_validated(session, owned):
    _, owner, site, _ = owned
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="   "), match="required")
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="x" * 300),
              match="too long")
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="D", domain="a b.com"),
              match="domain")
    f.refused(session, ValidationFailed, lambda: clusters.create(
        session, owner, site_id=site.id, sector_id=owned[3].id, name=""), match="Cluster name is required")


def test_plan_change_refused_when_the_account_has_too_many_sites(session, owned):
    acct, owner, _, _ = owned
    sites.create_site(session, owner, name="Second")
    dev = f.actor(session, f.user(session, None, role=Role.developer)).in_account(acct.id)
    free = accounts.get_plan_by_slug(session, "free")
    before = acct.plan_id
    err = f.refused(session, LimitExceeded, lambda: accounts.update_account(session, dev, account_id=acct.id,
                                                                            plan_id=free.id))
    assert "2 active sites" in str(err) and "Free" in str(err) and "Deactivate some first" in str(err)
    assert session.get(Account, acct.id).plan_id == before
    starter = accounts.get_plan_by_slug(session, "starter")
    assert accounts.update_account(session, dev, account_id=acct.id, plan_id=starter.id).plan_id == starter.id


def test_only_developers_change_plans(session, owned):
    acct, owner, _, _ = owned
    free = session.scalars(select(Plan).where(Plan.slug == "free")).one()
    f.refused(session, AccessDenied, lambda: accounts.update_account(session, owner, account_id=acct.id,
                                                                  plan_id=free.id), match="Only a developer")
    assert accounts.update_account(session, owner, account_id=acct.id, name=" Renamed  agency ").name == \
        "Renamed agency"


def test_refused_helper_detects_a_write_before_the_error(session, owned):
    """The 'unchanged' check itself works: a call that inserts and then raises is reported."""
    _, owner, site, sector = owned

    def sloppy() -> None:
        keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="written first")
        raise ValidationFailed("too late")

    with pytest.raises(AssertionError, match="keywords"):
        f.refused(session, ValidationFailed, sloppy)
    assert session.scalar(select(Keywords.id).where(Keywords.keyword == "written first")) is None
