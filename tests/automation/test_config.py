"""Automation settings: every value checked before any is saved, next_run_at in the site's timezone."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.automation import config
from core.errors import AccessDenied, ValidationFailed
from db.enums import Role
from db.models import Account
from tests import factories as f


@pytest.fixture
def site(session):
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    st = f.site(session, acct)
    st.timezone = "Europe/Berlin"
    f.sector(session, st)
    session.flush()
    return owner, st


def test_defaults_until_saved_then_the_saved_values(session, site):
    owner, st = site
    view = config.get(session, owner, site_id=st.id)
    assert not view.saved and view.settings == config.Settings() and view.next_run_at is None
    view = config.update(session, owner, site_id=st.id, changes={"is_enabled": "true", "scheduled_time": "7:05",
                                                                 "stage_4_batch_size": "25", "auto_publish": "ON"},
                         now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    assert view.saved and view.settings.stage_4_batch_size == 25 and view.settings.auto_publish == "on"
    assert view.settings.scheduled_time == "07:05"
    assert view.next_run_local.isoformat() == "2027-03-02T07:05:00+01:00"  # today's 07:05 has passed in Berlin


@pytest.mark.parametrize(("changes", "says"), [
    ({"stage_1_batch_size": 0}, "between 1 and 1,000"),
    ({"stage_4_batch_size": "10000"}, "between 1 and 1,000"),
    ({"scheduled_time": "25:00"}, "HH:MM between 00:00 and 23:59"),
    ({"credit_budget": 0}, "Credit budget per run must be between 1"),
    ({"frequency": "hourly"}, "daily, weekly or monthly"),
    ({"stop_on_error": "maybe"}, "on or off"),
    ({"clustering": "magic"}, "offline"),
    ({"auto_approve": "always"}, "follow the site"),
    ({"batch_size": 3}, "There is no automation setting"),
    ({"stage_2_batch_size": "two"}, "whole number"),
])
def test_a_bad_value_is_refused_and_nothing_is_saved(session, site, changes, says):
    owner, st = site
    config.update(session, owner, site_id=st.id, changes={"stage_3_batch_size": 7})
    with pytest.raises(ValidationFailed, match=says):
        config.update(session, owner, site_id=st.id, changes={"stage_5_batch_size": 9, **changes})
    kept = config.get(session, owner, site_id=st.id).settings
    assert kept.stage_3_batch_size == 7 and kept.stage_5_batch_size == config.Settings().stage_5_batch_size


def test_next_run_follows_the_frequency_in_site_time_across_dst(session, site):
    owner, st = site
    s = config.Settings(is_enabled=True, scheduled_time="02:30")
    # 2027-03-28 is the spring-forward day in Berlin: 02:30 does not exist, the run moves past the gap
    after = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    assert config.next_run(s, "Europe/Berlin", after=after).isoformat() == "2027-03-28T01:30:00+00:00"
    weekly = config.next_run(config.Settings(is_enabled=True, frequency="weekly", scheduled_time="09:00"),
                             "Europe/Berlin", after=datetime(2027, 3, 3, 12, 0, tzinfo=UTC))  # a Wednesday
    assert weekly.isoformat() == "2027-03-08T08:00:00+00:00"  # Monday 09:00 CET
    monthly = config.next_run(config.Settings(is_enabled=True, frequency="monthly", scheduled_time="00:15"),
                              "Asia/Kolkata", after=datetime(2027, 1, 31, 19, 0, tzinfo=UTC))
    assert monthly.isoformat() == "2027-02-28T18:45:00+00:00"  # 1 March 00:15 in Kolkata
    assert config.next_run(config.Settings(), "UTC", after=after) is None  # off: no next run


def test_only_admins_change_automation(session, site):
    owner, st = site
    editor = f.actor(session, f.user(session, session.get(Account, st.account_id), role=Role.editor))
    with pytest.raises(AccessDenied):
        config.update(session, editor, site_id=st.id, changes={"credit_budget": 10})
    assert config.get(session, owner, site_id=st.id).settings.credit_budget == config.Settings().credit_budget
