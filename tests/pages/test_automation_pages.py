"""Automation screens in AppTest: settings saved (a bad batch size or time refused with the core's message and
nothing saved) with the next run shown, the forecast, Run now leaving a pending run, pause / resume / cancel from the
run's page, a worked run's stage results and failed items (on the loopback AI server), the scheduler status warning,
the overview's notice of a run that found nothing to do, and a viewer's disabled buttons."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from core.automation import config, runs, schedulers, worker
from core.billing import credits
from core.planner import keyword_edits
from db.enums import Role
from db.models import Sector
from tests.ai.helpers import configure
from tests.fakes.pipeline_ai import Pipeline
from tests.pages.conftest import PASSWORD, click, go, login, texts
from ui_text import shown

QUICK = {"within_stage_delay": 0, "between_stage_delay": 0}


@pytest.fixture(scope="module")
def funded(app_db, fake):
    """Credits for the first owner's account, and the AI providers on the loopback server (the forecast asks them
    for their prices)."""
    configure(app_db.rt, fake)
    with app_db.tx() as s:
        credits.grant(s, app_db.actor(s), amount=100_000, kind="purchase", reason="automation page tests")


def _site(app_db, *, keywords: int = 20, **changes) -> int:
    """A new site (Berlin time) with a sector, `keywords` new keywords, and the settings `changes` saved."""
    name = f"Auto {uuid.uuid4().hex[:6]}"
    site_id = app_db.add_site(name, sectors=("Coffee",), timezone="Europe/Berlin")
    with app_db.tx() as s:
        owner = app_db.actor(s)
        sector_id = s.scalar(select(Sector.id).where(Sector.site_id == site_id))
        for i in range(keywords):
            keyword_edits.create_keyword(s, owner, site_id=site_id, sector_id=sector_id,
                                         keyword=f"best coffee grinder {name} {i}", volume=1000 - i)
        if changes:
            config.update(s, owner, site_id=site_id, changes={**QUICK, **changes})
    return site_id


def _start(app_db, site_id: int) -> int:
    with app_db.tx() as s:
        return runs.start(s, app_db.actor(s), site_id=site_id).id


def _run(app_db, run_id: int) -> runs.RunView:
    with app_db.tx() as s:
        return runs.get(s, app_db.actor(s), run_id=run_id)


def _open(at, page: str, site_id: int):
    at = go(at, page)
    if at.session_state["scope_site_id"] != site_id:
        at.sidebar.selectbox(key="scope_site_id").set_value(site_id).run()
    assert not at.exception, at.exception
    return at


def _run_page(at, run_id: int):
    at.query_params["run"] = str(run_id)
    at = go(at, "pages/automation_runs.py")
    assert at.session_state["runs_pick"] == run_id
    return at


def _saved(app_db, site_id: int) -> config.ConfigView:
    with app_db.tx() as s:
        return config.get(s, app_db.actor(s), site_id=site_id)


def test_settings_refuse_bad_values_with_nothing_saved_then_save_and_show_the_next_run(app_db, funded):
    site_id = _site(app_db)
    at = _open(login(), "pages/automation.py", site_id)
    assert texts(at.info)[0].startswith("Automation is off")
    at.number_input(key="auto_credit_budget").set_value(900)
    for bad, message in ((0, "must be between 1 and 1,000, not 0."), (10000, "must be between 1 and 1,000, not 10000.")):
        at.number_input(key="auto_stage_1_batch_size").set_value(bad)
        click(at, "auto_save")
        assert texts(at.error) == [f"Batch size of stage 1 (Keywords → clusters) {message}"]
        assert _saved(app_db, site_id).settings == config.Settings()  # nor the budget typed beside it
    at.number_input(key="auto_stage_1_batch_size").set_value(5)
    at.text_input(key="auto_scheduled_time").input("25:00")
    click(at, "auto_save")
    assert texts(at.error) == ["The time of day is HH:MM between 00:00 and 23:59, not “25:00”."]
    assert _saved(app_db, site_id).settings == config.Settings()

    at.text_input(key="auto_scheduled_time").input("6:30")
    at.toggle(key="auto_is_enabled").set_value(True)
    at.selectbox(key="auto_frequency").set_value("weekly")
    at.selectbox(key="auto_auto_publish").set_value("off")
    click(at, "auto_save")
    assert not at.error, texts(at.error)
    view = _saved(app_db, site_id)
    s = view.settings
    assert (s.is_enabled, s.frequency, s.scheduled_time, s.stage_1_batch_size, s.credit_budget, s.auto_publish) == \
        (True, "weekly", "06:30", 5, 900, "off")
    local = view.next_run_local
    assert (local.weekday(), f"{local:%H:%M}", str(local.tzinfo)) == (0, "06:30", "Europe/Berlin")
    next_run = f"Next run: {local:%a %Y-%m-%d %H:%M} Europe/Berlin"
    assert texts(at.success) == [f"Automation settings saved. {next_run}"]
    assert texts(at.info)[0] == next_run
    assert at.text_input(key="auto_scheduled_time").value == "06:30"  # the saved, cleaned value


def test_the_forecast_is_shown_and_run_now_leaves_a_pending_run(app_db, funded):
    site_id = _site(app_db, credit_budget=5000)
    at = _open(login(), "pages/automation.py", site_id)
    table = at.container(key="auto_forecast").dataframe[0].value
    assert table["Stage"].tolist() == list(range(1, 9)) and table["Items"].tolist()[0] == 20
    assert table["What"].tolist() == list(config.STAGES.values())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Forecast"] == f"{table['Credits'].sum():,} credits" and metrics["Budget per run"] == \
        "5,000 credits"
    assert metrics["Available"] == f"{app_db.balance():,} credits"
    click(at, "auto_run_now")
    assert not at.error, texts(at.error)
    with app_db.tx() as s:
        made = runs.list_runs(s, app_db.actor(s), site_id=site_id)
    assert [r.status for r in made] == ["pending"]
    assert texts(at.success) == [f"Started {made[0].run_id}: it waits for a scheduler to pick it up."]
    assert at.button(key="auto_run_now").disabled  # one active run per site
    assert at.button(key="auto_pause") and at.button(key="auto_cancel")
    assert at.get("progress")
    click(at, "auto_cancel")
    assert _run(app_db, made[0].id).status == "cancelled"
    assert not at.button(key="auto_run_now").disabled


def test_pause_resume_and_cancel_from_the_run_page(app_db, funded):
    site_id = _site(app_db, credit_budget=5000)
    run_id = _start(app_db, site_id)
    at = _run_page(_open(login(), "pages/automation.py", site_id), run_id)
    listed = at.container(key="runs_table").dataframe[0].value
    assert listed["Run"].tolist() == [_run(app_db, run_id).run_id]  # the picked site's runs
    at.toggle(key="runs_all_sites").set_value(True).run()
    assert set(at.container(key="runs_table").dataframe[0].value["Site"]) >= {_run(app_db, run_id).site_name}
    assert at.session_state["runs_pick"] == run_id  # the run the address names stays picked
    assert [b.key for b in at.main.button if b.key.startswith("run_")] == ["run_pause", "run_cancel"]
    click(at, "run_pause")
    assert _run(app_db, run_id).status == "paused"
    assert texts(at.success)[0].startswith("Paused run-")
    assert [b.key for b in at.main.button if b.key.startswith("run_")] == ["run_resume", "run_cancel"]
    click(at, "run_resume")
    assert _run(app_db, run_id).status == "pending"
    click(at, "run_cancel")
    view = _run(app_db, run_id)
    assert view.status == "cancelled" and view.reason == "cancelled"
    assert not [b for b in at.main.button if b.key.startswith("run_")]  # a finished run without failures


def test_the_run_page_shows_stage_results_and_failed_items_and_retries_them(app_db, funded, fake):
    fake.reset()
    configure(app_db.rt, fake)
    fake.chat_responder = Pipeline(fail={"article"})
    site_id = _site(app_db, keywords=10, stage_2_batch_size=1, ideas_per_cluster=2, stage_4_batch_size=2,
                    auto_approve="off", auto_publish="off", credit_budget=5000)
    run_id = _start(app_db, site_id)
    assert worker.claim_next(app_db.rt, owner="page-test", run_id=run_id) == run_id
    assert worker.Worker(app_db.rt, run_id, owner="page-test").run() == "completed"
    at = _run_page(login(), run_id)
    stages = at.container(key="run_stages").dataframe[0].value
    assert stages["State"].tolist() == ["done"] * 8
    assert stages["Done"].tolist()[:3] == [1, 1, 2] and stages["Failed"].tolist()[3] == 2
    failed = at.container(key="run_failed").dataframe[0].value
    assert failed["Stage"].tolist() == [4, 4] and all(m for m in failed["Message"])
    assert {m.label: m.value for m in at.metric}["Credits used"] == f"{_run(app_db, run_id).credits_used:,}"
    assert any("2 failed item(s)" in t for t in texts(at.caption))
    click(at, "run_retry")
    assert texts(at.success) == [f"Retrying 2 failed item(s) of {_run(app_db, run_id).run_id}: the run waits for a "
                                 "scheduler."]
    assert _run(app_db, run_id).status == "pending"
    click(at, "run_cancel")


def test_scheduler_status_warns_when_no_scheduler_beats(app_db):
    at = go(login(), "pages/schedulers.py")
    assert any(w.startswith("No scheduler has been seen in the last 3 minute(s)") for w in texts(at.warning))
    schedulers.beat(app_db.rt, owner="page-test-scheduler", working_on="automation run-x (site #1)")
    at.run()
    assert not at.warning and texts(at.success) == ["1 scheduler process(es) running."]
    rows = at.container(key="sched_table").dataframe[0].value
    mine = rows[rows["Working on"] == "automation run-x (site #1)"]
    assert mine["Alive"].tolist() == ["yes"] and set(rows.columns) >= {"Host", "PID", "Started", "Last heartbeat"}
    schedulers.stopped(app_db.rt, owner="page-test-scheduler")
    at.run()
    assert at.warning
    rows = at.container(key="sched_table").dataframe[0].value
    assert "stopped" in rows["Alive"].tolist()


def test_the_overview_tells_of_a_run_that_found_nothing_to_do(app_db, funded):
    site_id = _site(app_db, keywords=0)
    at = _open(login(), "pages/automation.py", site_id)
    click(at, "auto_run_now")
    with app_db.tx() as s:
        run = runs.list_runs(s, app_db.actor(s), site_id=site_id)[0]
    assert run.status == "completed" and run.stop_reason == "nothing_to_do"
    assert texts(at.success) == [f"{run.run_id}: {run.message}"]
    at = go(at, "pages/overview.py")
    notice = [t for t in texts(at.warning) if run.run_id in t]
    assert notice == [f"**{run.site_name}** · {run.run_id} — found nothing to do: {run.message}"]
    links = [p.proto for p in at.get("page_link") if p.proto.query_string == f"run={run.id}"]
    assert [(link.page, shown(link.label)) for link in links] == [("automation-runs", "Open the run's page")]


def test_a_viewer_sees_the_buttons_disabled(app_db, funded):
    site_id = _site(app_db, credit_budget=5000)
    run_id = _start(app_db, site_id)
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    app_db.add_user(email, Role.viewer, site_ids=(site_id,))
    at = go(login(email, PASSWORD), "pages/automation.py")
    assert at.session_state["scope_site_id"] == site_id
    assert not at.error, texts(at.error)
    for key in ("auto_save", "auto_run_now", "auto_pause", "auto_cancel"):
        assert at.button(key=key).disabled, key
    assert at.button(key="auto_run_now").help.startswith("Viewers can look")
    at = _run_page(at, run_id)
    assert [b.key for b in at.main.button] == ["run_pause", "run_cancel"]
    assert all(b.disabled for b in at.main.button)
    with app_db.tx() as s:
        runs.cancel(s, app_db.actor(s), run_id=run_id)
