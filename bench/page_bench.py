"""The credit usage screen in a real browser: the time from clicking “Credit usage” until its plotly charts are
drawn and Streamlit's script has finished, on the demo account (the small sample keywords, six weeks of usage).

    python3 dev.py bench page   [--runs 7] [--postgres] [--url postgresql+psycopg://…] [--keywords-file PATH]
                                [--compare DIR …]

It seeds a scratch database (a temporary SQLite file; with --postgres a scratch PostgreSQL database) with
`python -m core.cli seed-demo`, starts `streamlit run app.py` on a free loopback port and drives headless Chromium
(playwright) as the demo owner. Each run goes to “My account” first, then clicks “Credit usage”:
  first visit   the first time in the server process (nothing cached, plotly's script loaded by the browser)
  cold          a site filter the report cache has not seen (each run picks another combination of sites)
  warm          the default filter again (the report comes from st.cache_data)
--compare DIR … measures other checkouts' apps too (say `git archive HEAD | tar -x -C DIR`), their runs taken in turn
with this one's, so all see the same machine load. Figures are printed (median and max, ms); nothing is asserted.
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.credits_bench import DEFAULT, drop_db, scratch_db  # noqa: E402
from core.demo.seed import SAMPLE_KEYWORDS  # noqa: E402

DEMO_OWNER, DEMO_PASSWORD = "owner@demo-agency.example", "demo-owner-2026"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
CHARTS = 3  # per day by operation, the breakdown (by site, model or user), the balance
KINDS = ("first visit", "cold", "warm")
# Done: the page's title is there, the script has finished and every chart has drawn its SVG with bars or lines.
DRAWN = """n => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (![...document.querySelectorAll('h1')].some(h => h.textContent.trim() === 'Credit usage')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.length === n && charts.every(c => c.querySelector('.main-svg .trace'));
}"""
IDLE = "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
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


@contextmanager
def database(args) -> Iterator[str]:
    """A scratch database URL: a temporary SQLite file, or with --postgres a database made and dropped."""
    if args.postgres:
        url = scratch_db(args.url)
        try:
            yield url
        finally:
            drop_db(args.url, url)
        return
    with tempfile.TemporaryDirectory(prefix="igny8-page-bench-db-") as tmp:
        yield f"sqlite:///{tmp}/bench.sqlite3"


@contextmanager
def dashboard(root: Path, url: str, keywords: Path) -> Iterator[str]:
    """Seed the demo into `url` with root's code, run root's dashboard on it; yields the dashboard's address."""
    data = tempfile.mkdtemp(prefix="igny8-page-bench-")
    env = {**os.environ, "DATABASE_URL": url, "IGNY8_DATA_DIR": data,
           "IGNY8_SECRET_KEY": "bench-secret-key-not-for-production",
           "IGNY8_OWNER_EMAIL": "owner@bench.example", "IGNY8_OWNER_PASSWORD": "bench-owner-pass-1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core.cli", "seed-demo", "--keywords-file", str(keywords)], cwd=root,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"{root}: seed-demo {time.perf_counter() - t0:.1f} s", flush=True)
    port = free_port()
    log = open(Path(data) / "streamlit.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.port",
                             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.seek(0)
        output = log.read()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        if "Traceback" in output:
            print(output[-3000:])


class Visitor:
    """One logged-in browser tab on one dashboard."""

    def __init__(self, browser, url: str, charts: int = CHARTS) -> None:
        self.charts = charts
        self.page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(url)
        for attempt in range(3):  # a first run still settling (the login cookie) may redraw the empty form
            self.page.wait_for_function(IDLE)
            self.page.get_by_label("E-mail").fill(DEMO_OWNER)
            self.page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            self.page.get_by_role("button", name="Log in").click()
            try:
                self.page.get_by_role("button", name="Log out").wait_for(timeout=40_000)
                break
            except Exception:
                shot = Path(tempfile.gettempdir()) / "page_bench_login.png"
                self.page.screenshot(path=shot)
                print(f"{url}: login attempt {attempt + 1} did not finish (screen: {shot})", flush=True)
        else:
            raise RuntimeError(f"{url}: could not log in as {DEMO_OWNER}")
        self.combos: list[tuple[str, ...]] = []  # site filters to pick, one per cold run

    def open_usage(self) -> float:
        """Go to “My account”, then click “Credit usage”; ms until the charts are drawn."""
        page = self.page
        page.get_by_role("link", name="My account").click()
        page.get_by_role("heading", name="My account").wait_for()
        page.wait_for_function(IDLE)
        t0 = time.perf_counter()
        page.get_by_role("link", name="Credit usage").click()
        page.wait_for_function(DRAWN, arg=self.charts, polling="raf")
        return (time.perf_counter() - t0) * 1000

    def site_names(self) -> list[str]:
        box = self.page.get_by_test_id("stMultiSelect").first
        box.click()
        names = [o.inner_text().strip() for o in self.page.get_by_role("option").all()]
        self.page.keyboard.press("Escape")
        return [n for n in names if n != "Select all"]

    def pick_sites(self, names: tuple[str, ...]) -> None:
        """Set the page's site filter to `names` (empty: all sites) and wait until the charts are drawn again."""
        page = self.page
        box = page.get_by_test_id("stMultiSelect").first
        while box.get_by_role("button", name="Clear all").count():
            box.get_by_role("button", name="Clear all").first.click()
            page.wait_for_function(DRAWN, arg=self.charts, polling="raf")
        for name in names:
            box.click()
            page.get_by_role("option", name=name, exact=True).click()
            page.keyboard.press("Escape")
            page.wait_for_function(DRAWN, arg=self.charts, polling="raf")


def drive(urls: list[str], runs: int, charts: list[int]) -> list[dict[str, list[float]]]:
    """Per dashboard: the figures of each kind; the dashboards' runs are taken in turn. A dashboard that fails is
    reported (with a screenshot) and left out of the later runs."""
    from playwright.sync_api import sync_playwright

    out: list[dict[str, list[float]]] = [{k: [] for k in KINDS} for _ in urls]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        visitors = [Visitor(browser, url, n) for url, n in zip(urls, charts, strict=True)]
        alive = list(range(len(urls)))
        for i in [-1, *range(runs)]:
            for n in list(alive):
                try:
                    visit(visitors[n], out[n], i)
                except Exception as exc:  # noqa: BLE001 - reported, the other dashboards go on
                    shot = Path(tempfile.gettempdir()) / f"page_bench_failed_{n}.png"
                    visitors[n].page.screenshot(path=shot)
                    print(f"{urls[n]} failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); screen: {shot}")
                    alive.remove(n)
        browser.close()
    return out


def visit(v: Visitor, figures: dict[str, list[float]], run: int) -> None:
    """Run -1: the first visit (and the site names); then a warm visit and a cold one under a new site filter."""
    if run < 0:
        figures["first visit"].append(v.open_usage())
        names = v.site_names()
        v.combos = [c for k in (1, 2) for c in itertools.combinations(names, k)]
        return
    figures["warm"].append(v.open_usage())
    v.pick_sites(v.combos[run % len(v.combos)])  # remembered: the next visit asks for a new scope
    figures["cold"].append(v.open_usage())
    v.pick_sites(())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database instead of SQLite")
    ap.add_argument("--url", default=DEFAULT, help="the PostgreSQL server for --postgres")
    ap.add_argument("--keywords-file", type=Path, default=SAMPLE_KEYWORDS)
    ap.add_argument("--compare", type=Path, nargs="+", default=[], metavar="DIR",
                    help="other checkouts whose apps are measured in turn with this one")
    ap.add_argument("--charts", type=int, nargs="+", default=[CHARTS], metavar="N",
                    help="charts each app's page draws (this one's, then the compared ones'; the last repeats)")
    args = ap.parse_args(argv)
    if CHROMIUM is None:
        print("Chromium is not installed (python3 dev.py test installs it when run as root).")
        return
    roots = [ROOT, *(d.resolve() for d in args.compare)]
    with ExitStack() as stack:
        urls = [stack.enter_context(dashboard(root, stack.enter_context(database(args)), args.keywords_file))
                for root in roots]
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the runs", flush=True)
        charts = [args.charts[min(i, len(args.charts) - 1)] for i in range(len(roots))]
        results = drive(urls, args.runs, charts)
        print(f"load average {os.getloadavg()[0]:.1f} after the runs")
    print(f"{'click “Credit usage” → charts drawn':<40}{'runs':>6}{'median':>9}{'max':>9}   (ms, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'})")
    for root, figures in zip(roots, results, strict=True):
        print(f"{root}:")
        for name, ms in figures.items():
            if ms:
                print(f"  {name:<38}{len(ms):>6}{statistics.median(ms):>9.0f}{max(ms):>9.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
