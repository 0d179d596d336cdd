"""The screens as a person uses them (issue 9, point 14): the clusters tabs keep their place while a background job
comes and goes; a number typed out of range is refused with a message, never replaced by the previous value;
viewers see the write buttons disabled with the reason; messages say whom to ask; empty screens name the next step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import models as ai_models
from core.identity import sites
from core.planner import clusters, ideas, keyword_edits
from db.enums import Role
from db.models import ContentIdeas, Sector
from tests.pages.conftest import PASSWORD, click, finish_job, go, login, texts
from ui import VIEW_ONLY
from ui_jobs import Job
from ui_text import shown

JOB = "clusters_job"


@pytest.fixture(scope="module")
def world(app_db):
    """A site with a sector, a cluster with keywords, a new idea; a viewer and an editor of the site."""
    site_id = app_db.add_site("People Blog", sectors=("Gear",))
    with app_db.tx() as s:
        owner = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        cid = clusters.create(s, owner, site_id=site_id, sector_id=sector_id, name="Trail shoes").id
        for i, text in enumerate(["trail shoes", "trail running shoes", "coffee grinder", "best coffee grinder"]):
            keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=sector_id, keyword=text, volume=90 - i,
                                         cluster_id=cid if i < 2 else None)
        idea = ideas.create(s, owner, site_id=site_id, sector_id=sector_id, cluster_id=cid, title="Shoe guide").id
    for role in (Role.viewer, Role.editor):
        app_db.add_user(f"{role.value}@people.example", role, site_ids=(site_id,))
    return {"site": site_id, "sector": sector_id, "cluster": cid, "idea": idea}


def _tabs_path(node, path: tuple = ()) -> tuple | None:
    """Where the page's st.tabs sit in the element tree (the browser draws them anew when this changes)."""
    proto = getattr(node, "proto", None)
    if type(proto).__name__ == "Block" and proto.WhichOneof("type") == "tab_container":
        return path
    for index, child in getattr(node, "children", {}).items():
        found = _tabs_path(child, (*path, index))
        if found is not None:
            return found
    return None


def test_the_clusters_tabs_stay_in_place_while_a_job_runs_and_after(app_db, world):
    at = go(login(), "pages/clusters.py")
    idle = _tabs_path(at.main)
    assert idle is not None and at.main.children[idle[0]].proto.id.endswith("-cl_tab")  # keyed: the same element
    at.session_state[JOB] = Job("preview", "Clustering")  # running: the progress bar shows above the tabs
    at.run()
    assert at.get("progress") and _tabs_path(at.main) == idle
    at.session_state[JOB] = Job("preview", "Clustering", error="The clustering failed.", finished=True)
    at.run()
    assert texts(at.error) == ["The clustering failed."] and _tabs_path(at.main) == idle
    click(at, "cl_preview")  # a real preview, start to end
    finish_job(at, JOB)
    assert texts(at.subheader) == ["Preview (nothing written yet)"] and _tabs_path(at.main) == idle


def _number_inputs_without_limits(at) -> None:
    for box in at.number_input:
        assert not box.proto.has_min and not box.proto.has_max, box.key  # the browser would block the submit


@pytest.mark.parametrize("page", ["pages/clusters.py", "pages/ideas.py", "pages/keywords.py", "pages/credits.py",
                                  "pages/ai_admin.py"])
def test_number_inputs_leave_the_range_to_a_message(app_db, world, page):
    _number_inputs_without_limits(go(login(), page))


def test_an_out_of_range_filter_is_refused_not_replaced_by_the_previous_one(app_db, world):
    at = go(login(), "pages/keywords.py")
    at.number_input(key="kw_f_diff_max").set_value(150)
    click(at, "kw_f_apply")
    assert texts(at.error) == ["Difficulty to must be between 0 and 100 (150 typed); nothing was applied."]
    assert not at.get("arrow_data_frame") and not at.metric
    at.number_input(key="kw_f_diff_max").set_value(100)
    at.number_input(key="kw_f_vol_min").set_value(-5)
    click(at, "kw_f_apply")
    assert texts(at.error) == ["Volume from must be at least 0 (-5 typed); nothing was applied."]
    at.number_input(key="kw_f_vol_min").set_value(None)
    click(at, "kw_f_apply")
    assert not at.error and at.metric


def test_an_idea_with_an_out_of_range_word_count_is_refused_and_keeps_its_title(app_db, world):
    at = go(login(), "pages/ideas.py")
    at.text_input(key="id_new_title").input("Typed title")
    at.number_input(key="id_new_words").set_value(200_000)
    click(at, "id_create_submit")
    assert texts(at.error) == ["Estimated word count must be between 0 and 100,000 (200,000 given)."]
    assert at.text_input(key="id_new_title").value == "Typed title"
    with app_db.tx() as s:
        assert s.scalar(select(ContentIdeas.id).where(ContentIdeas.idea_title == "Typed title")) is None
    at.number_input(key="id_new_words").set_value(2_000)
    click(at, "id_create_submit")
    assert texts(at.success) == ["Idea “Typed title” created."]


def test_an_out_of_range_idea_count_is_refused_before_the_estimate(app_db, world):
    at = go(login(), "pages/clusters.py")
    next(m for m in at.multiselect if m.key.startswith("cl_picked_")).set_value([world["cluster"]]).run()
    at.number_input(key="cl_ideas_count").set_value(25).run()
    assert texts(at.error) == ["Ideas per cluster must be between 1 and 20 (25 typed); nothing was applied."]
    assert at.button(key="cl_ideas_estimate").disabled


WRITE_BUTTONS = {
    "pages/clusters.py": ["cl_create_submit", "cl_rename_submit", "cl_merge", "cl_delete", "cl_split_submit_{cluster}",
                          "cl_preview", "cl_ai_estimate", "cl_ideas_estimate"],
    "pages/ideas.py": ["id_queue", "id_delete", "id_create_submit", "id_edit_submit_{idea}", "id_ai_estimate"],
    "pages/keyword_library.py": ["lib_add_selected", "lib_add_all"],
}


@pytest.mark.parametrize("page", list(WRITE_BUTTONS))
def test_viewers_see_the_write_buttons_disabled_with_the_reason(app_db, world, page):
    viewer = go(login("viewer@people.example", PASSWORD), page)
    editor = go(login("editor@people.example", PASSWORD), page)
    if page == "pages/ideas.py":
        for at in (viewer, editor):
            at.selectbox(key="id_edit_pick").set_value(world["idea"]).run()
    for key in (k.format(**world) for k in WRITE_BUTTONS[page]):
        button = viewer.button(key=key)
        assert button.disabled and shown(button.help) == VIEW_ONLY, key
        assert shown(editor.button(key=key).help) != VIEW_ONLY, key
    assert not viewer.error  # nothing was refused: nothing could be pressed
    if page != "pages/keyword_library.py":  # its buttons wait for a selection, or for library rows
        assert not editor.button(key=WRITE_BUTTONS[page][2 if page == "pages/ideas.py" else 0]).disabled


def test_a_customer_is_told_whom_to_ask_for_a_missing_image_model(app_db, world):
    app_db.add_customer_user("Pixel Co", "pixel-owner@example.com", Role.owner)
    with app_db.tx() as s:
        owner = app_db.actor(s)
        tiers = {m.id: str(m.quality_tier) for m in ai_models.list_models(s, model_type="image") if m.quality_tier}
        for model_id in tiers:
            ai_models.update_model(s, owner, model_id=model_id, quality_tier="")
    try:
        customer = go(login("pixel-owner@example.com", PASSWORD), "pages/ai_settings.py")
        assert texts(customer.warning) == ["No active image model offers a quality tier. The platform team (the team "
                                           "running this dashboard) sets up image models: ask them to add one."]
        platform = go(login(), "pages/ai_settings.py")
        assert texts(platform.warning) == ["No active image model offers a quality tier. Add one under Admin → AI "
                                           "providers & models."]
    finally:
        with app_db.tx() as s:
            for model_id, tier in tiers.items():
                ai_models.update_model(s, app_db.actor(s), model_id=model_id, quality_tier=tier)


def test_empty_screens_name_the_next_step(app_db, world):
    app_db.add_customer_user("Empty Co", "empty-owner@example.com", Role.owner)
    at = go(login("empty-owner@example.com", PASSWORD), "pages/keywords.py")
    no_site = "This account has no active site yet. Create one under Admin → Sites & sectors."
    assert texts(at.info) == [no_site] and texts(at.sidebar.caption) == [no_site]  # there is no site picker
    assert texts(go(at, "pages/overview.py").info) == [no_site]

    app_db.add_user("lonely-editor@people.example", Role.editor)  # of the first account, no site granted
    lonely = go(login("lonely-editor@people.example", PASSWORD), "pages/clusters.py")
    assert texts(lonely.info) == ["No site is shared with you yet. Ask an owner or admin of your account for access "
                                  "to one."]

    with app_db.tx() as s:
        empty_owner = tenancy.actor_for(s, app_db.user(s, "empty-owner@example.com"))
        sites.create_site(s, empty_owner, name="Bare Site")
    at = go(login("empty-owner@example.com", PASSWORD), "pages/ideas.py")
    assert texts(at.info) == ["Site “Bare Site” has no active sector yet. Add one under Admin → Sites & sectors."]

    with app_db.tx() as s:
        empty_owner = tenancy.actor_for(s, app_db.user(s, "empty-owner@example.com"))
        site_id = sites.list_sites(s, empty_owner)[0].id
        sites.create_sector(s, empty_owner, site_id=site_id, name="Fresh")
    at = go(login("empty-owner@example.com", PASSWORD), "pages/keywords.py")
    assert texts(at.info) == ["This sector has no keywords yet. Import a file under Import keywords, or add some "
                              "from the Keyword library."]
