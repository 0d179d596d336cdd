"""A real dashboard (streamlit run app.py + scheduler-free) on a free loopback port, driven by headless Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dev import stop

# A loaded machine (the suite runs in parallel) can take longer than Playwright's 5 s default to render a
# page's tables; every assertion of these tests waits up to 30 s instead.
expect.set_options(timeout=30_000)

ROOT = Path(__file__).resolve().parents[2]
OWNER_EMAIL, OWNER_PASSWORD = "e2e-owner@example.com", "e2e-password-123"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not answer in time")


@pytest.fixture(scope="module")
def dashboard(backend, fresh_database, tmp_path_factory):
    """The URL of a running dashboard on a fresh database of the current backend."""
    if CHROMIUM is None:
        if os.environ.get("IGNY8_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required for the browser tests (IGNY8_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (python3 dev.py test installs it when run as root)")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": fresh_database(), "IGNY8_OWNER_EMAIL": OWNER_EMAIL,
           "IGNY8_OWNER_PASSWORD": OWNER_PASSWORD, "IGNY8_DATA_DIR": str(tmp_path_factory.mktemp("e2e-data"))}
    log = open(tmp_path_factory.mktemp("e2e-log") / "streamlit.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc)
        yield url
    finally:
        stop(proc)
        log.seek(0)
        output = log.read()
        log.close()
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, dashboard):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()
