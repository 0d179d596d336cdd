"""Credit usage and credits screens: charts from SQL aggregates (days in the time zone of the sites in view, operations
and models by display name, round dollar ticks, nothing overlapping), filters, keyset "load more", adding credits
(platform admins only: the system account's owner for any account they choose, a developer for the sidebar's
account; customer owners and admins read their ledger), and editors kept out."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import tenancy
from core.billing import credits
from core.identity import auth, sites
from db.enums import Role
from tests.pages.conftest import PASSWORD, click, go, in_navigation, login, texts
from ui_text import shown

USAGE, CREDITS = "pages/credit_usage.py", "pages/credits.py"
PAGES = Path(__file__).resolve().parents[2] / "pages"
SMALL = 55  # one-credit calls on Beta: with the three below, more rows than one page (50) of the usage table


@pytest.fixture(scope="module")
def world(app_db):
    """Sites Alpha (New York) and Beta (London); 1,000 credits; three priced calls on Alpha and 55 one-credit calls
    on Beta in the last days, and a 7-credit call 40 days ago; an admin, an editor and a viewer."""
    st.cache_data.clear()  # the other backend's run may have cached numbers for the same ids and dates
    alpha = app_db.add_site("Alpha", sectors=("Coffee",), timezone="America/New_York")
    beta = app_db.add_site("Beta", sectors=("Tea",), timezone="Europe/London")
    for role in (Role.admin, Role.editor, Role.viewer):
        app_db.add_user(f"usage-{role.value}@example.com", role, site_ids=(alpha,) if role != Role.admin else ())
    now = datetime.now(UTC)
    calls = [(alpha, 30, "content_generation", "gpt-4o", "0.150000", now - timedelta(days=2)),
             (alpha, 20, "image_generation", "dall-e-3", "0.080000", now - timedelta(days=1)),
             (alpha, 10, "clustering", "gpt-4o-mini", "0.010000", now - timedelta(hours=3)),
             (alpha, 7, "clustering", "gpt-4o-mini", "0.007000", now - timedelta(days=40))]
    calls += [(beta, 1, "idea_generation", "gpt-4o-mini", "0.001000", now - timedelta(hours=5, minutes=i))
              for i in range(SMALL)]
    with app_db.tx() as s:
        owner = app_db.actor(s)
        credits.grant(s, owner, amount=1000, kind="purchase", reason="Opening balance")
        for n, (site, amount, op, model, usd, when) in enumerate(sorted(calls, key=lambda c: c[-1])):
            credits.charge(s, owner, credits=amount, idempotency_key=f"page-test-{n}", description=op, now=when,
                           usage=credits.Usage(operation_type=op, model_used=model, cost_usd=Decimal(usd),
                                               site_id=site, related_object_type="task", related_object_id=n + 1))
    return {"alpha": alpha, "beta": beta}


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _rows(at) -> int:
    return len(at.container(key="usage_rows_table").dataframe[0].value)


def test_usage_page_draws_the_charts(app_db, world):
    at = go(login(), USAGE)
    assert texts(at.title) == ["Credit usage"] and not at.error
    assert _metrics(at) == {"Credits used": f"{60 + SMALL:,}", "Cost (USD)": "$0.30", "AI calls": str(3 + SMALL),
                            "Balance now": f"{1000 - 67 - SMALL:,}"}
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # per day by operation, the breakdown (by site, model or user), balance over time
    costliest = at.container(key="usage_costliest").dataframe[0].value
    assert list(costliest["Credits"][:3]) == [30, 20, 10] and list(costliest["What"][:1]) == ["Task"]
    assert _rows(at) == 50
    assert at.get("download_button")


def test_site_and_date_filters(app_db, world):
    at = go(login(), USAGE)
    at.multiselect(key="usage_sites").set_value([world["beta"]]).run()
    assert not at.exception and not at.error
    assert _metrics(at)["Credits used"] == str(SMALL)
    at.multiselect(key="usage_sites").set_value([world["alpha"]]).run()
    assert _metrics(at)["Credits used"] == "60" and _rows(at) == 3
    today = datetime.now(UTC).date()
    at.date_input(key="usage_dates").set_value((today - timedelta(days=60), today)).run()
    assert _metrics(at)["Credits used"] == "67"  # the call of 40 days ago is in the window now
    at.date_input(key="usage_dates").set_value((today - timedelta(days=400), today)).run()
    assert texts(at.error) == ["Pick at most 366 days at a time (this range has 401)."]
    assert not at.get("plotly_chart")


def _days_caption(at) -> str:
    """The caption that says which days and sites the numbers are for, as a person reads it."""
    return next(shown(c) for c in texts(at.caption) if shown(c).startswith("Days in"))


def _figures(at) -> dict[str, dict]:
    """The page's plotly figures by title: the JSON the browser draws."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"]: spec for spec in specs}


def test_days_are_counted_in_the_time_zone_of_the_sites_in_view(app_db, world):
    at = go(login(), USAGE)  # the sidebar has picked Alpha (New York); the filter picks Beta (London)
    assert _days_caption(at).startswith("Days in UTC: the sites lie in different time zones")
    at.multiselect(key="usage_sites").set_value([world["beta"]]).run()
    assert _days_caption(at) == "Days in Europe/London · Beta · the balance is the whole account's"
    assert "When (Europe/London)" in at.container(key="usage_rows_table").dataframe[0].value.columns
    at.multiselect(key="usage_sites").set_value([world["alpha"]]).run()
    assert _days_caption(at) == "Days in America/New_York · Alpha · the balance is the whole account's"
    at.multiselect(key="usage_sites").set_value([world["alpha"], world["beta"]]).run()
    assert _days_caption(at).startswith("Days in UTC: the sites lie in different time zones (pick sites of one")


def test_operations_and_models_appear_by_their_display_names(app_db, world):
    at = go(login(), USAGE)
    per_day = _figures(at)["Credits per day by operation"]
    assert [t["name"] for t in per_day["data"]] == [  # most credits first
        "Idea generation", "Content generation", "Image generation", "Keyword clustering"]
    at.segmented_control(key="usage_by").set_value("model").run()
    by_model = _figures(at)["Credits and USD by model"]
    assert by_model["data"][0]["y"] == ["GPT-4o mini", "GPT-4o", "DALL·E 3 (quality)"]
    at.multiselect(key="usage_sites").set_value([world["alpha"]]).run()  # its three rows
    rows = at.container(key="usage_rows_table").dataframe[0].value
    assert list(rows["Operation"]) == ["Keyword clustering", "Image generation", "Content generation"]
    assert list(rows["Model"]) == ["GPT-4o mini", "DALL·E 3 (quality)", "GPT-4o"]


def test_no_stored_operation_id_is_shown(app_db, world):
    at = go(login(), USAGE)
    shown_text = [t["name"] for t in _figures(at)["Credits per day by operation"]["data"]]
    for by in ("site", "model", "user"):
        at.segmented_control(key="usage_by").set_value(by).run()
        shown_text += _figures(at)[f"Credits and USD by {by}"]["data"][0]["y"]
    shown_text += list(at.container(key="usage_rows_table").dataframe[0].value["Operation"])
    shown_text += list(at.container(key="usage_costliest").dataframe[0].value["What"])
    assert not [t for t in shown_text if re.search(r"[a-z]+_[a-z]+", t)]
    assert "Task" in shown_text


def test_dollar_axes_step_in_round_amounts_with_cents(app_db, world):
    at = go(login(), USAGE)
    layout = _figures(at)["Credits and USD by site"]["layout"]  # Alpha $0.24, Beta $0.055
    usd, used = layout["xaxis2"], layout["xaxis"]
    assert (usd["title"]["text"], usd["tickformat"], usd["dtick"], usd["tick0"]) == ("USD", "$,.2f", 0.1, 0)
    assert (used["title"]["text"], used["tickformat"], used["dtick"]) == ("Credits", ",d", 20)  # 60 and 55
    today = datetime.now(UTC).date()  # only the call of 40 days ago: $0.007, steps of a fifth of a cent
    at.date_input(key="usage_dates").set_value((today - timedelta(days=45), today - timedelta(days=35))).run()
    usd = _figures(at)["Credits and USD by site"]["layout"]["xaxis2"]
    assert (usd["tickformat"], usd["dtick"]) == ("$,.3f", 0.002)


def test_labels_and_legends_leave_each_other_room(app_db, world):
    at = go(login(), USAGE)
    legend = _figures(at)["Credits per day by operation"]["layout"]["legend"]
    assert (legend["orientation"], legend["yanchor"], legend["y"] >= 1) == ("h", "bottom", True)  # above the bars
    at.segmented_control(key="usage_by").set_value("user").run()
    by_user = _figures(at)["Credits and USD by user"]
    assert [t["orientation"] for t in by_user["data"]] == ["h", "h"]  # e-mails along the bars, never rotated
    assert by_user["data"][0]["y"] == ["owner@example.com"]
    assert by_user["layout"]["showlegend"] is False and by_user["layout"]["yaxis"]["automargin"] is True


def test_load_more_pages_through_the_rows(app_db, world):
    at = go(login(), USAGE)
    assert _rows(at) == 50
    click(at, "usage_load_more")
    assert _rows(at) == 3 + SMALL
    assert "usage_load_more" not in _keys(at)  # nothing more to load


def _keys(at) -> set[str]:
    return {b.key for b in at.button}


def test_owner_adds_credits_and_pages_the_ledger(app_db, world):
    at = go(login(), CREDITS)
    before = int(_metrics(at)["Balance"].split()[0].replace(",", ""))
    at.selectbox(key="grant_kind").set_value("refund")
    at.number_input(key="grant_amount").set_value(250)
    at.text_input(key="grant_reason").input("Invoice 42 refund")
    click(at, "grant_submit")
    assert texts(at.success) == ["+250 credits (refund) added to the ledger of “My Agency (my-agency)”."]
    assert _metrics(at)["Balance"] == f"{before + 250:,} credits"
    ledger = at.container(key="credits_ledger").dataframe[0].value
    assert (ledger["Kind"][0], ledger["Amount"][0], ledger["Description"][0]) == ("refund", "+250",
                                                                                   "Invoice 42 refund")
    assert len(ledger) == 50
    click(at, "ledger_older")
    older = at.container(key="credits_ledger").dataframe[0].value
    assert len(older) == 1 + 4 + SMALL + 1 - 50  # opening grant, the calls, the refund: 61 entries in all
    assert texts(at.caption)[-1].startswith("Page 2")

    go(at, USAGE)
    assert _metrics(at)["Balance now"] == f"{before + 250:,}"  # the cached report was dropped after the grant


def test_a_refused_grant_is_a_message(app_db, world):
    at = go(login(), CREDITS)
    at.number_input(key="grant_amount").set_value(-5)
    at.text_input(key="grant_reason").input("oops")
    click(at, "grant_submit")
    assert texts(at.error) == ["Grant a positive number of credits (only an adjustment may be negative)."]


def test_admin_sees_both_pages(app_db, world):
    at = login("usage-admin@example.com", PASSWORD)
    assert in_navigation(at, USAGE) and texts(at.title) == ["Credit usage"]
    assert in_navigation(at, CREDITS) and texts(at.title) == ["Credits"]


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_see_usage_or_credits(app_db, world, role):
    email = f"usage-{role}@example.com"
    at = login(email, PASSWORD)
    assert not in_navigation(at, USAGE) and not in_navigation(at, CREDITS)
    with app_db.tx() as s:
        ticket = auth.issue_ticket(app_db.user(s, email))
    for page in ("credit_usage.py", "credits.py"):  # run directly, as directory discovery could
        alone = AppTest.from_file(str(PAGES / page), default_timeout=30)
        alone.session_state["auth_ticket"] = ticket
        alone.run()
        assert not alone.exception
        assert texts(alone.error) == ["Only an owner, admin or developer can do this."]
        assert not alone.metric and not alone.get("plotly_chart") and not alone.dataframe


def test_sites_of_the_filter_are_the_accounts_active_sites(app_db, world):
    with app_db.tx() as s:
        names = {x.id: x.name for x in sites.list_sites(s, app_db.actor(s), active_only=True)}
    at = go(login(), USAGE)
    assert at.multiselect(key="usage_sites").options == [names[i] for i in names]


def _customer(app_db, name: str, email: str, role: Role, *, opening: int = 0) -> int:
    """A customer account with one user (and an opening balance the platform team added); its id."""
    app_db.add_customer_user(name, email, role)
    with app_db.tx() as s:
        account_id = app_db.user(s, email).account_id
        if opening:
            credits.grant(s, tenancy.operator_actor(account_id), amount=opening, kind="purchase", reason="Invoice 1")
    return account_id


def _balance_of(app_db, account_id: int) -> int:
    with app_db.tx() as s:
        return credits.balance(s, tenancy.operator_actor(account_id))


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_a_customer_owner_or_admin_reads_the_ledger_but_adds_nothing(app_db, world, role):
    email = f"customer-{role.value}@example.com"
    _customer(app_db, f"Customer {role.value}", email, role, opening=300)
    at = go(login(email, PASSWORD), CREDITS)
    assert not at.error and _metrics(at) == {"Balance": "300 credits"}
    ledger = at.container(key="credits_ledger").dataframe[0].value
    assert (list(ledger["Amount"]), list(ledger["Description"])) == (["+300"], ["Invoice 1"])
    assert credits.GRANT_REFUSED in texts(at.caption)
    assert "grant_submit" not in _keys(at) and not at.number_input and not at.text_input


def test_the_system_owner_tops_up_the_customer_account_they_choose(app_db, world):
    customer = _customer(app_db, "Buyer Co", "buyer@example.com", Role.owner)
    at = go(login(), CREDITS)
    own = _metrics(at)["Balance"]
    with app_db.tx() as s:
        system_account = app_db.actor(s).account_id
    box = at.selectbox(key="grant_account")
    assert "Buyer Co (buyer-co)" in box.options and box.value == system_account  # their own account first
    box.set_value(customer)
    at.number_input(key="grant_amount").set_value(700)
    at.text_input(key="grant_reason").input("Invoice 99")
    click(at, "grant_submit")
    assert texts(at.success) == ["+700 credits (purchase) added to the ledger of “Buyer Co (buyer-co)”."]
    assert _balance_of(app_db, customer) == 700 and _metrics(at)["Balance"] == own  # their own account: untouched


def test_a_developer_tops_up_the_account_picked_in_the_sidebar(app_db, world):
    customer = _customer(app_db, "Picked Co", "picked@example.com", Role.owner, opening=10)
    app_db.add_user("credits-dev@example.com", Role.developer)
    at = login("credits-dev@example.com", PASSWORD)
    at.sidebar.selectbox(key="scope_account_id").set_value(customer).run()
    go(at, CREDITS)
    assert _metrics(at)["Balance"] == "10 credits" and "grant_account" not in {b.key for b in at.selectbox}
    assert "To “Picked Co”, the account picked in the sidebar." in texts(at.caption)
    at.number_input(key="grant_amount").set_value(90)
    at.text_input(key="grant_reason").input("Goodwill")
    click(at, "grant_submit")
    assert texts(at.success) == ["+90 credits (purchase) added to the ledger of “Picked Co”."]
    assert _metrics(at)["Balance"] == "100 credits" == f"{_balance_of(app_db, customer)} credits"


def test_names_in_the_charts_are_text_not_markup(app_db, world):
    # Plotly draws <b>, <i>, <a href> … of a label; a site's or a person's name must show as typed.
    _customer(app_db, "Markup Co", "markup@example.com", Role.owner, opening=100)
    with app_db.tx() as s:
        owner = app_db.actor(s, "markup@example.com")
        site = sites.create_site(s, owner, name="<b>Bold</b> & Co")
        credits.charge(s, owner, credits=5, idempotency_key="markup-1", description="clustering",
                       usage=credits.Usage(operation_type="clustering", model_used="gpt-4o", cost_usd=Decimal("0.01"),
                                           site_id=site.id))
    at = go(login("markup@example.com", PASSWORD), USAGE)
    assert _figures(at)["Credits and USD by site"]["data"][0]["y"] == ["&lt;b&gt;Bold&lt;/b&gt; &amp; Co"]
    assert _days_caption(at) == "Days in UTC · all sites · the balance is the whole account's"
