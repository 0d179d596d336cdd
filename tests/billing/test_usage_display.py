"""How the usage screen names things (core.billing.usage_display): operations and models by their display names in
the per-day sums, the breakdowns and the usage rows (the CSV keeps the stored ids), repeated names told apart, and
the time zone of the sites in view. Both backends."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update

from core.billing import usage, usage_display, usage_rollup
from core.identity import users
from db.enums import Role
from db.models import AIModelConfig, CreditUsageLog
from tests import factories as f

DAY = date(2025, 3, 1)
WINDOW = {"start": DAY, "end": DAY}


def _log(s, acct, hour: int, credits: int, op: str, model: str, *, site=None) -> None:
    """A usage row of 2025-03-01 and its rollup rows, as credits.charge writes them."""
    when = datetime(2025, 3, 1, hour, 15, tzinfo=UTC)
    s.add(CreditUsageLog(account_id=acct.id, site_id=site.id if site else None, operation_type=op,
                         credits_used=credits, cost_usd=Decimal("0.010000"), model_used=model, created_at=when))
    s.flush()
    usage_rollup.add(s.connection(), account_id=acct.id, at=when, site_id=site.id if site else None, user_id=None,
                     operation=op, model=model, credits=credits, cost_usd=Decimal("0.010000"), tokens_input=0,
                     tokens_output=0)


@pytest.fixture
def data(session):
    """One account with sites in New York and London, and calls of four operations (one not priced any more) on
    four models (one not configured any more)."""
    acct = f.account(session)
    ny, london = f.site(session, acct, name="Hub"), f.site(session, acct, name="Forge")
    ny.timezone, london.timezone = "America/New_York", "Europe/London"
    session.flush()
    _log(session, acct, 9, 30, "content_generation", "gpt-4o", site=ny)
    _log(session, acct, 10, 20, "image_generation", "runware:97@1", site=london)
    _log(session, acct, 11, 10, "clustering", "gpt-4o-mini", site=ny)
    _log(session, acct, 12, 5, "legacy_rewrite", "old-model-2", site=london)
    return {"owner": f.owner_actor(session, acct), "acct": acct, "ny": ny, "london": london}


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata"])  # the hourly rollup, and the log for a half-hour zone
def test_days_name_operations_by_their_display_names(session, data, tz):
    days = usage.credits_per_day_by_operation(session, data["owner"], **WINDOW, tz=tz)
    assert sorted((d.operation, d.label) for d in days) == [
        ("clustering", "Keyword clustering"), ("content_generation", "Content generation"),
        ("image_generation", "Image generation"), ("legacy_rewrite", "Legacy rewrite")]  # unpriced: made readable


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata"])
def test_models_are_labelled_by_display_name(session, data, tz):
    groups = usage.by_model(session, data["owner"], **WINDOW, tz=tz)
    assert [(g.key, g.label, g.credits) for g in groups] == [
        ("gpt-4o", "GPT-4o", 30), ("runware:97@1", "Hi Dream Full (basic)", 20), ("gpt-4o-mini", "GPT-4o mini", 10),
        ("old-model-2", "old-model-2", 5)]  # no longer configured: its stored name


def test_usage_rows_show_display_names_and_the_csv_keeps_the_ids(session, data):
    rows = usage.list_usage(session, data["owner"], **WINDOW)
    assert [(r.operation, r.operation_label, r.model, r.model_label) for r in rows] == [
        ("legacy_rewrite", "Legacy rewrite", "old-model-2", "old-model-2"),
        ("clustering", "Keyword clustering", "gpt-4o-mini", "GPT-4o mini"),
        ("image_generation", "Image generation", "runware:97@1", "Hi Dream Full (basic)"),
        ("content_generation", "Content generation", "gpt-4o", "GPT-4o")]
    out = io.StringIO()
    usage.export_usage_csv(session, data["owner"], **WINDOW, out=out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["operation"], r["model"]) for r in exported][:2] == [("content_generation", "gpt-4o"),
                                                                    ("image_generation", "runware:97@1")]


def test_repeated_names_are_told_apart_by_their_key(session, data):
    # An admin gave two models one display name, and a second site is called like the first: a chart would draw
    # one bar for each pair.
    session.execute(update(AIModelConfig).where(AIModelConfig.model_name == "gpt-4o-mini")
                    .values(display_name="GPT-4o"))
    twin = f.site(session, data["acct"], name="Hub")
    _log(session, data["acct"], 13, 1, "clustering", "gpt-4o", site=twin)
    models = {g.key: g.label for g in usage.by_model(session, data["owner"], **WINDOW)}
    assert (models["gpt-4o"], models["gpt-4o-mini"]) == ("GPT-4o (gpt-4o)", "GPT-4o (gpt-4o-mini)")
    sites = {g.key: g.label for g in usage.by_site(session, data["owner"], **WINDOW)}
    assert (sites[data["ny"].id], sites[twin.id], sites[data["london"].id]) == (
        f"Hub ({data['ny'].id})", f"Hub ({twin.id})", "Forge")


def test_the_days_zone_is_the_one_the_sites_in_view_share(session, data):
    owner, ny, london = data["owner"], data["ny"], data["london"]
    assert usage_display.display_zone(session, owner, site_ids=[ny.id]) == "America/New_York"
    assert usage_display.display_zone(session, owner, site_ids=[london.id]) == "Europe/London"
    assert usage_display.display_zone(session, owner, site_ids=[ny.id, london.id]) is None  # zones differ
    assert usage_display.display_zone(session, owner) is None  # all the account's sites: they differ
    london.is_active = False
    session.flush()
    assert usage_display.display_zone(session, owner) == "America/New_York"  # the active sites
    assert usage_display.display_zone(session, owner, site_ids=[london.id]) == "Europe/London"  # picked anyway


def test_the_days_zone_never_looks_past_the_actors_sites(session, data):
    other = f.account(session)
    berlin = f.site(session, other, name="Elsewhere")
    berlin.timezone = "Europe/Berlin"
    session.flush()
    owner = data["owner"]
    assert usage_display.display_zone(session, owner, site_ids=[berlin.id]) == "UTC"  # not theirs: no site in view
    assert usage_display.display_zone(session, owner, site_ids=[berlin.id, data["ny"].id]) == "America/New_York"
    assert usage_display.display_zone(session, f.owner_actor(session, f.account(session))) == "UTC"  # no sites
    editor = f.user(session, data["acct"], role=Role.editor)  # granted one site: an editor's view is that site
    users.set_site_access(session, owner, user_id=editor.id, site_ids=[data["london"].id])
    assert usage_display.display_zone(session, f.actor(session, editor)) == "Europe/London"
