"""A real dashboard on a database the test fills through core before the server starts (names carrying markup,
keywords to cluster), for browser checks that need rows the screens cannot make quickly."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core import config
from core import runtime as core_runtime
from core.runtime import Runtime
from dev import stop
from tests.e2e.conftest import CHROMIUM, OWNER_EMAIL, OWNER_PASSWORD, ROOT, _free_port, _wait_http


@contextmanager
def dashboard_on(url: str, tmp: Path, fill: Callable[[Runtime], None]) -> Iterator[str]:
    """Migrate `url`, create the e2e owner, `fill` it through core, then serve app.py on it; yields the address."""
    if CHROMIUM is None:
        if os.environ.get("IGNY8_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required for the browser tests (IGNY8_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (python3 dev.py test installs it when run as root)")
    env = {**os.environ, "DATABASE_URL": url, "IGNY8_OWNER_EMAIL": OWNER_EMAIL, "IGNY8_OWNER_PASSWORD": OWNER_PASSWORD,
           "IGNY8_DATA_DIR": str(tmp / "data")}
    with pytest.MonkeyPatch.context() as mp:
        for name in ("IGNY8_OWNER_EMAIL", "IGNY8_OWNER_PASSWORD", "IGNY8_DATA_DIR"):
            mp.setenv(name, env[name])
        rt = core_runtime.start(config.load(), url=url)
        try:
            fill(rt)
        finally:
            rt.engine.dispose()
    port = _free_port()
    log_path = tmp / "streamlit.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                 str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        address = f"http://127.0.0.1:{port}"
        try:
            _wait_http(address, proc)
            yield address
        finally:
            stop(proc)
    output = log_path.read_text()
    assert "Traceback" not in output, output[-3000:]


def log_in(page: Page, url: str) -> None:
    """Log in as the e2e owner once the form is drawn, and wait for the navigation (a logged-in screen)."""
    page.goto(url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=30_000)  # the first run migrates
    page.get_by_label("E-mail").fill(OWNER_EMAIL)
    page.get_by_role("textbox", name="Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Overview", exact=True)).to_be_visible()
