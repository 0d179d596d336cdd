"""Sites & sectors page: create and edit through the forms; domain errors are messages, never tracebacks."""
from __future__ import annotations

import pytest

from core.identity import sites
from tests.pages.conftest import click, go, login, texts


@pytest.fixture
def sites_page(app_db):
    return go(login(), "pages/sites.py")


def _site(app_db, name: str):
    with app_db.tx() as s:
        return next(x for x in sites.list_sites(s, app_db.actor(s)) if x.name == name)


def _sectors(app_db, site_id: int):
    with app_db.tx() as s:
        return sites.list_sectors(s, app_db.actor(s), site_id=site_id)


def _create_site(at, name: str, *, slug: str = "", domain: str = "", timezone: str = "UTC"):
    at.text_input(key="site_name").input(name)
    at.text_input(key="site_slug").input(slug)
    at.text_input(key="site_domain").input(domain)
    at.selectbox(key="site_timezone").set_value(timezone)
    return click(at, "site_create_submit")


def test_create_site_through_the_form(app_db, sites_page):
    at = _create_site(sites_page, "Garden Guide", domain="garden.example.com", timezone="Europe/Berlin")
    assert texts(at.success) == ["Site “Garden Guide” created."]
    site = _site(app_db, "Garden Guide")
    assert (site.slug, site.domain, site.timezone, site.is_active) == (
        "garden-guide", "garden.example.com", "Europe/Berlin", True)
    table = at.container(key="sites_table").dataframe[0].value
    row = table[table["Name"] == "Garden Guide"].iloc[0]
    assert row["Time zone"] == "Europe/Berlin"
    assert row["Created"].endswith(("CET", "CEST"))  # shown in the site's time zone, stored in UTC
    assert "Garden Guide" in at.sidebar.selectbox(key="scope_site_id").options
    assert at.text_input(key="site_name").value == ""  # the form is emptied after a success


def test_duplicate_slug_is_an_error_message(app_db, sites_page):
    _create_site(sites_page, "Kitchen Hub")
    at = _create_site(sites_page, "Kitchen Hub Two", slug="kitchen-hub")
    assert not at.exception
    assert texts(at.error) == ["The account has a site with slug “kitchen-hub” already."]
    with app_db.tx() as s:
        assert [x.name for x in sites.list_sites(s, app_db.actor(s)) if x.slug.startswith("kitchen")] == ["Kitchen Hub"]
    assert at.text_input(key="site_name").value == "Kitchen Hub Two"  # the form keeps what was typed


def test_invalid_timezone_free_input_is_impossible_and_bad_domain_is_refused(app_db, sites_page):
    at = _create_site(sites_page, "Spaced Out", domain="has spaces.com")
    assert texts(at.error) == ["The domain must be one word such as example.com (at most 255 characters)."]
    with app_db.tx() as s:
        assert all(x.name != "Spaced Out" for x in sites.list_sites(s, app_db.actor(s)))


def test_sectors_create_limit_and_toggle(app_db, sites_page):
    at = _create_site(sites_page, "Sector Site")
    site = _site(app_db, "Sector Site")
    at.selectbox(key="site_pick").set_value(site.id).run()
    assert texts(at.subheader) == ["Sectors of “Sector Site”"]
    for i in range(1, 6):
        at.text_input(key=f"sector_name_{site.id}").input(f"Topic {i}")
        click(at, f"sector_create_submit_{site.id}")
        assert texts(at.success) == [f"Sector “Topic {i}” added."]
    assert [x.name for x in _sectors(app_db, site.id)] == [f"Topic {i}" for i in range(1, 6)]

    at.text_input(key=f"sector_name_{site.id}").input("Topic 6")
    click(at, f"sector_create_submit_{site.id}")
    assert texts(at.error) == ["Site “Sector Site” has 5 active sectors, the most a site may have. "
                               "Deactivate one first."]
    assert len(_sectors(app_db, site.id)) == 5

    topic1 = next(x for x in _sectors(app_db, site.id) if x.name == "Topic 1")
    at.selectbox(key=f"sector_pick_{site.id}").set_value(topic1.id).run()
    assert at.button(key=f"sector_toggle_{site.id}").label == "Deactivate"
    click(at, f"sector_toggle_{site.id}")
    assert texts(at.success) == ["Sector “Topic 1” deactivated."]
    assert next(x for x in _sectors(app_db, site.id) if x.name == "Topic 1").is_active is False

    assert at.text_input(key=f"sector_name_{site.id}").value == "Topic 6"  # kept after the refusal
    click(at, f"sector_create_submit_{site.id}")  # now there is room
    assert at.text_input(key=f"sector_name_{site.id}").value == ""  # emptied after the success
    assert texts(at.success) == ["Sector “Topic 6” added."]
    at.selectbox(key=f"sector_pick_{site.id}").set_value(topic1.id).run()
    click(at, f"sector_toggle_{site.id}")  # reactivating would make 6 active
    assert "5 active sectors" in at.error[0].value
    assert sum(x.is_active for x in _sectors(app_db, site.id)) == 5


def test_sector_with_industry_sector(app_db, sites_page):
    with app_db.tx() as s:
        industry = sites.list_industries(s)[0]
        isec = sites.list_industry_sectors(s, industry_id=industry.id)[0]
        industry_id, isec_id, isec_name = industry.id, isec.id, isec.name
    at = _create_site(sites_page, "Industry Site")
    site = _site(app_db, "Industry Site")
    at.selectbox(key="site_pick").set_value(site.id).run()
    at.selectbox(key=f"site_edit_industry_{site.id}").set_value(industry_id)
    click(at, f"site_edit_submit_{site.id}")
    assert _site(app_db, "Industry Site").industry_id == industry_id
    at.text_input(key=f"sector_name_{site.id}").input("Niche")
    at.selectbox(key=f"sector_isec_{site.id}").set_value(isec_id)
    click(at, f"sector_create_submit_{site.id}")
    assert [x.industry_sector_id for x in _sectors(app_db, site.id)] == [isec_id]
    assert at.container(key="sectors_table").dataframe[0].value["Industry sector"].tolist() == [isec_name]


def test_deactivated_site_leaves_the_scope_picker(app_db, sites_page):
    at = _create_site(sites_page, "Retired Site")
    site = _site(app_db, "Retired Site")
    at.selectbox(key="site_pick").set_value(site.id).run()
    at.checkbox(key=f"site_edit_active_{site.id}").uncheck()
    click(at, f"site_edit_submit_{site.id}")
    assert texts(at.success) == ["Site “Retired Site” saved."]
    assert _site(app_db, "Retired Site").is_active is False
    assert "Retired Site" not in at.sidebar.selectbox(key="scope_site_id").options
