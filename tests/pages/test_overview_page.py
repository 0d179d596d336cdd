"""Overview page: the pipeline counts of the scope, for the sector or the whole site."""
from __future__ import annotations

from core.identity import sites
from core.planner import clusters, ideas, keyword_edits
from db.enums import Role
from tests.pages.conftest import PASSWORD, login, texts


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_counts_for_sector_and_whole_site(app_db):
    site_id = app_db.add_site("Counting Site", sectors=("Alpha", "Beta"))
    with app_db.tx() as s:
        owner = app_db.actor(s)
        alpha, beta = sites.list_sectors(s, owner, site_id=site_id)
        cluster = clusters.create(s, owner, site_id=site_id, sector_id=alpha.id, name="Beans")
        for word in ("arabica", "robusta", "liberica"):
            keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=alpha.id, keyword=word,
                                   cluster_id=cluster.id if word == "arabica" else None)
        keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=beta.id, keyword="oolong")
        ideas.create(s, owner, cluster_id=cluster.id, title="Arabica vs robusta")
    at = login()
    assert at.session_state["scope_site_id"] == site_id and at.session_state["scope_sector_id"] == alpha.id
    assert texts(at.caption)[0] == "Counting Site · Alpha"
    assert _metrics(at) == {"Keywords": "3", "Clusters": "1", "Ideas": "1", "Tasks": "0", "Content": "0",
                            "Publishing": "0"}
    keywords = at.container(key="overview_keywords").dataframe[0].value
    assert dict(zip(keywords["Status"], keywords["Count"], strict=True)) == {"new": 2, "mapped": 1}

    at.toggle(key="overview_whole_site").set_value(True).run()
    assert not at.exception
    assert texts(at.caption)[0] == "Counting Site · all sectors"
    assert _metrics(at)["Keywords"] == "4"


def test_user_without_sites_gets_a_hint(app_db):
    app_db.add_user("lonely@example.com", Role.viewer)
    at = login("lonely@example.com", PASSWORD)
    assert texts(at.info) == [
        "No site is shared with you yet. Ask an owner or admin of your account for access to one."]
    assert not at.metric
