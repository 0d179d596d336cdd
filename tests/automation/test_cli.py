"""The automation commands as processes: settings, forecast, a run worked with --wait, the runs list, control and
its refusals (exit status 2 with a message)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from db.models import AutomationRun
from tests.automation.conftest import add_tasks, make_world, set_config

ROOT = Path(__file__).resolve().parents[2]


def _env(rt, **extra: str) -> dict:
    return {**os.environ, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False), **extra}


def cli(rt, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=_env(rt), capture_output=True,
                          text=True, timeout=300)


def test_settings_forecast_run_and_control_from_the_command_line(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 2)
    a, s = str(w.account_id), str(w.site_id)
    out = cli(rt, "automation", "--account", a, "--site", s)
    assert out.returncode == 0 and "— defaults" in out.stdout and "next run: — (automation is off)" in out.stdout
    out = cli(rt, "automation", "--account", a, "--site", s, "--set", "stage_4_batch_size=0")
    assert out.returncode == 2 and "between 1 and 1,000" in out.stderr
    out = cli(rt, "automation", "--account", a, "--site", s, "--set", "scheduled_time=25:00")
    assert out.returncode == 2 and "HH:MM" in out.stderr
    out = cli(rt, "automation", "--account", a, "--site", s, "--set", "stage_4_batch_size=2", "is_enabled=true",
              "within_stage_delay=0", "between_stage_delay=0", "auto_approve=on", "auto_publish=off")
    assert out.returncode == 0 and "stage_4_batch_size = 2" in out.stdout and "next run: 20" in out.stdout
    out = cli(rt, "run-automation", "--account", a, "--site", s, "--forecast")
    assert out.returncode == 0 and "4 Tasks → articles: 2 item(s)" in out.stdout and "Forecast:" in out.stdout
    out = cli(rt, "run-automation", "--account", a, "--site", s, "--wait")  # no scheduler: worked right here
    assert out.returncode == 0, out.stderr
    assert "working the run in this process" in out.stdout and "stage 4 Tasks → articles: 2 done" in out.stdout
    assert " completed: " in out.stdout
    out = cli(rt, "runs", "--account", a, "--json")
    (run,) = json.loads(out.stdout)
    assert run["status"] == "completed" and run["stage_results"]["4"]["done"] == 2
    out = cli(rt, "run", "--run", str(run["id"]))
    assert out.returncode == 0 and "stage 7 Review: 2 done" in out.stdout
    out = cli(rt, "pause-run", "--run", str(run["id"]))
    assert out.returncode == 2 and "only a pending or running run can be paused" in out.stderr
    out = cli(rt, "retry-run", "--run", str(run["id"]))
    assert out.returncode == 2 and "no failed items" in out.stderr
    out = cli(rt, "cancel-run", "--run", "999999")
    assert out.returncode == 2 and "was not found" in out.stderr


def test_pause_resume_and_cancel_from_the_command_line(rt, pipeline):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 1)
    set_config(rt, w, stage_4_batch_size=1)
    out = cli(rt, "run-automation", "--account", str(w.account_id), "--site", str(w.site_id), "--json")
    run = json.loads(out.stdout)
    assert run["status"] == "pending"
    assert "paused now" in cli(rt, "pause-run", "--run", str(run["id"])).stdout
    assert "pending now" in cli(rt, "resume-run", "--run", str(run["id"])).stdout
    out = cli(rt, "cancel-run", "--run", str(run["id"]))
    assert out.returncode == 0 and "cancelled now" in out.stdout


def test_sigterm_finishes_the_item_in_hand_and_releases_the_run(rt, pipeline, tmp_path):
    w = make_world(rt, keywords=0)
    add_tasks(rt, w, 12)
    set_config(rt, w, stage_4_batch_size=12, auto_approve="off", auto_publish="off")
    pipeline.delay = 1.0
    out = cli(rt, "run-automation", "--account", str(w.account_id), "--site", str(w.site_id), "--json")
    run_id = json.loads(out.stdout)["id"]
    log = tmp_path / "scheduler.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py")], cwd=ROOT, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env=_env(rt, IGNY8_AUTOMATION_POLL_SECONDS="1",
                                                              IGNY8_PUBLISH_POLL_SECONDS="3600"))
    try:
        deadline = time.monotonic() + 120
        while True:
            with rt.transaction() as s:
                run = s.get(AutomationRun, run_id)
                working = run.claimed_by is not None and run.current_stage == 4
            if working:
                break
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    with rt.transaction() as s:
        run = s.scalar(select(AutomationRun).where(AutomationRun.id == run_id))
        assert run.status.value == "running" and run.claimed_by is None  # released for the next scheduler
    done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once"], cwd=ROOT, env=_env(rt),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout
    out = cli(rt, "run", "--run", str(run_id), "--json")
    result = json.loads(out.stdout)
    assert result["status"] == "completed" and result["stage_results"]["4"]["done"] == 12
