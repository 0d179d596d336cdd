"""tests.requires: a test needing the shared data or the model skips on a developer's machine but fails under CI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
from tests.requires import require
def test_needs_it():
    require(False, "the probe's file")
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    clean = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(probe)], capture_output=True, text=True, env=clean, cwd=tmp_path)


def test_missing_data_skips_for_a_developer(tmp_path):
    out = _run(tmp_path)
    assert out.returncode == 0 and "1 skipped" in out.stdout


def test_missing_data_fails_under_ci(tmp_path):
    for env in ({"IGNY8_REQUIRE_DATA": "1"}, {"CI": "true"}):
        out = _run(tmp_path, **env)
        assert out.returncode == 1 and "1 failed" in out.stdout and "required under CI" in out.stdout
