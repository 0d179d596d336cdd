"""Names are data, never Markdown: every screen, walked as the owner with account, site, sector, cluster, idea,
keyword, strategy, profile, model and user names full of Markdown and HTML, shows them as the text they are — no
link, image, emphasis, colour or autolink is left live in any text Streamlit renders as Markdown (alerts, captions,
titles, labels, help, tab and expander titles, radio options, metrics) — and the messages after a merge, a create
and a refused duplicate carry the name escaped."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.ai import models as ai_models
from core.ai import prompts
from core.automation import runs
from core.billing import credits
from core.identity import accounts, users
from core.planner import clusters, ideas, keyword_edits
from db.enums import Role
from db.models import Clusters, Sector
from tests.ai.helpers import configure
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts
from ui_text import md, shown

IMG = '<img src="https://evil.example/x.png">'
LINK = "[Session expired - log in again](https://evil.example)"
EVIL = f"{IMG} {LINK} **bold** :red[x] https://evil.example/bare"
LIVE = ["<img", "](http", "**bold**", ":red[", "://evil", "www.evil", "@evil"]  # what must never stay unescaped
PLAIN_TYPES = {"text", "code", "html", "json", "dataframe", "arrow_data_frame", "arrow_table"}
PAGES = ["overview", "keywords", "keyword_import", "clusters", "ideas", "keyword_library", "ai_settings", "prompts",
         "credit_usage", "credits", "sites", "users", "ai_admin", "ai_pricing", "my_account", "automation",
         "automation_runs", "schedulers"]
NAMES = {"account": f"Agency {EVIL}", "site": f"Site {EVIL}", "sector": f"Sector {EVIL}", "owner": f"Olive {EVIL}",
         "model": f"{IMG} [m](https://evil.example)", "cluster": f"Cluster {EVIL}", "other cluster": f"Other {EVIL}"}
SHOWN_IN_TEXT = ["account", "site", "sector", "owner", "model"]  # cluster names show in tables and pickers only


@pytest.fixture(scope="module")
def world(app_db, fake):
    configure(app_db.rt, fake)  # the automation screen's forecast asks the providers for their prices
    site_id = app_db.add_site(NAMES["site"], sectors=(NAMES["sector"],))
    with app_db.tx() as s:
        owner = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        accounts.update_account(s, owner, account_id=owner.account_id, name=NAMES["account"])
        users.update_user(s, owner, user_id=owner.user_id, first_name="Olive", last_name=EVIL)
        for name in ("cluster", "other cluster"):
            clusters.create(s, owner, site_id=site_id, sector_id=sector_id, name=NAMES[name])
        keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=sector_id, keyword=f"keyword {EVIL}")
        ideas.create(s, owner, site_id=site_id, sector_id=sector_id, title=f"Idea {EVIL}")
        prompts.create_strategy(s, owner, name=f"Strategy {EVIL}", description=EVIL)
        prompts.create_author_profile(s, owner, name=f"Voice {EVIL}", tone="friendly", description=EVIL)
        model = ai_models.create_model(s, owner, model_name=NAMES["model"], model_type="text", provider="openai",
                                       display_name=f"Model {EVIL}", tokens_per_credit=1000).id
    with app_db.tx() as s:  # a run of the site, for the automation screens
        credits.grant(s, app_db.actor(s), amount=1000, kind="purchase", reason="markup tests")
        runs.start(s, app_db.actor(s), site_id=site_id)
    mallory = app_db.add_user("mallory@evil.example", Role.editor, site_ids=(site_id,))
    with app_db.tx() as s:
        users.update_user(s, app_db.actor(s), user_id=mallory, first_name="Mallory", last_name=EVIL)
    return {"site": site_id, "sector": sector_id, "mallory": mallory, "model": model}


def _markdown(node) -> list[str]:
    """Every text of the run that Streamlit renders as Markdown: bodies of Markdown elements, alerts, headings,
    toasts and metrics, labels and help of widgets, tab and expander titles, radio options."""
    found, proto, kind = [], getattr(node, "proto", None), getattr(node, "type", "")
    if proto is not None and kind not in PLAIN_TYPES and hasattr(proto, "DESCRIPTOR"):
        fields = proto.DESCRIPTOR.fields_by_name
        found += [getattr(proto, f) for f in ("body", "label", "help") if f in fields and getattr(proto, f)]
        if kind == "radio":
            found += list(proto.options)
    for child in getattr(node, "children", {}).values():
        found += _markdown(child)
    return found


def live_markup(markdown: str) -> list[str]:
    """The pieces of LIVE that Markdown would still act on: anything escaped (a backslash pair) does not count."""
    bare = re.sub(r"\\.", "\0", markdown)
    return [token for token in LIVE if token in bare]


def _check(at, where: str) -> list[str]:
    """Every Markdown text of the screen has no live markup; returns them as a person reads them."""
    texts_ = _markdown(at._tree)
    assert texts_, where
    for text in texts_:
        assert not live_markup(text), f"{where}: live {live_markup(text)} in {text!r}"
    return [shown(t) for t in texts_]


def test_md_escapes_markup_and_shows_the_text_as_written():
    for text in (EVIL, "a -> b <-> c -- d >= e <= f ~= g", "www.evil.example a@evil.example", "$x^2$ :material/home:",
                 "1. # > | ~~s~~ `c` &lt; {x} \\ back", "line\nbreak\ttab"):
        assert not live_markup(md(text)), text
        assert shown(md(text)) == " ".join(text.replace("\t", " ").split("\n"))
    assert md("Trail shoes") == "Trail shoes"  # plain words stay as they are


def test_every_screen_shows_the_names_as_text(app_db, world):
    at = login()
    seen: list[str] = _check(at, "sidebar of the first screen")
    for name in PAGES:
        page = f"pages/{name}.py"
        assert in_navigation(at, page), page  # the owner of the system account sees every screen but two
        if name == "users":
            at.selectbox(key="user_pick").set_value(world["mallory"]).run()
        if name == "credit_usage":
            at.multiselect(key="usage_sites").set_value([world["site"]]).run()
        if name == "ai_admin":
            at.selectbox(key="model_pick").set_value(world["model"]).run()
        assert not at.exception, (page, at.exception)
        seen += _check(at, page)
    everything = "\n".join(seen)
    for what in SHOWN_IN_TEXT:
        assert NAMES[what] in everything, f"the {what} name is shown somewhere, as written"


def _clusters(app_db, world) -> dict[str, int]:
    with app_db.tx() as s:
        return {c.name: c.id for c in s.scalars(select(Clusters).where(Clusters.sector_id == world["sector"],
                                                                       Clusters.deleted_at.is_(None)))}


def test_messages_after_merge_create_and_a_refused_duplicate_carry_the_names_escaped(app_db, world):
    at = go(login(), "pages/clusters.py")
    ids = _clusters(app_db, world)
    at.text_input(key="cl_new_name").input(NAMES["cluster"])
    click(at, "cl_create_submit")
    assert texts(at.error) == [f"Sector “{NAMES['sector']}” has a cluster named “{NAMES['cluster']}” already."]
    assert not live_markup(at.error[0].value)

    fresh = f"New {EVIL}"
    at.text_input(key="cl_new_name").input(fresh)
    click(at, "cl_create_submit")
    assert texts(at.success) == [f"Cluster “{fresh}” created."] and not live_markup(at.success[0].value)

    picker = next(m for m in at.multiselect if m.key.startswith("cl_picked_"))
    picker.set_value([_clusters(app_db, world)[fresh]]).run()
    at.selectbox(key="cl_merge_target").set_value(ids[NAMES["other cluster"]])
    click(at, "cl_merge")
    assert texts(at.success) == [f"Merged 1 cluster(s) into “{NAMES['other cluster']}”: 0 keyword(s), 0 idea(s) "
                                 "and 0 task(s) moved."]
    assert not live_markup(at.success[0].value)
    _check(at, "clusters after the merge")


def test_an_editor_sees_the_names_as_text_too(app_db, world):
    at = login("mallory@evil.example", PASSWORD)
    for page in ("pages/overview.py", "pages/keywords.py", "pages/clusters.py", "pages/my_account.py"):
        seen = _check(go(at, page), page)
        assert any(f"Mallory {EVIL}" in text for text in seen), page  # the sidebar's name: bold, escaped inside
        assert any(NAMES["sector"] in text for text in seen) or page == "pages/my_account.py", page
