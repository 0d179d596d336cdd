"""The layers hold: import-linter's contracts (pyproject.toml) pass, and the modules it cannot read import rightly.

pages/ → core/ → db/ and scheduler.py → core/ → db/; db/ knows nothing of core/. import-linter reads the packages
core, db and pages; the top-level modules (app, ui, ui_jobs, scheduler) and db/migrations/ (not a package) are
checked here by reading their imports with `ast`.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import config as core_config

ROOT = Path(__file__).resolve().parent.parent

# Who may not import what, for the files import-linter cannot see: (files, forbidden prefixes, allowed exceptions).
UI = ["app.py", "ui.py", "ui_jobs.py", "ui_session.py", "ui_text.py", "ui_runs.py"]
RULES: list[tuple[list[str], tuple[str, ...], tuple[str, ...]]] = [
    (UI, ("db", "sqlalchemy", "scheduler"), ("db.enums",)),  # the UI calls core
    (["scheduler.py"], ("db", "streamlit", "pages", "ui", "ui_jobs", "app"), ("db.enums",)),
    (["db/migrations/**/*.py"], ("core", "pages", "streamlit", "ui", "ui_jobs", "app", "scheduler"), ()),
]
# Violations present today, to be fixed (then delete the line: a stale entry fails too).
KNOWN: set[tuple[str, str]] = set()  # (file, module) allowed for now; it may only shrink

_LINT = ("import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the contracts in cwd/pyproject.toml, against the packages under cwd."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only cwd's core/db/pages on the path
    env.update(COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-c", _LINT], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:` (annotations only: never imported at run time)."""
    blocks = [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)]
    return {id(i) for b in blocks for stmt in b.body for i in ast.walk(stmt)}


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import run in the file; `from a import b` yields a.b (b may be a module)."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path, rules=RULES) -> list[tuple[str, int, str]]:
    """(file, line, module) for every import the rules forbid, files relative to root."""
    out = []
    for patterns, forbidden, allowed in rules:
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                for line, name in imported_names(path):
                    if any(_under(name, p) for p in forbidden) and not any(_under(name, a) for a in allowed):
                        out.append((path.relative_to(root).as_posix(), line, name))
    return out


def _known(file: str, module: str) -> bool:
    return any(file == f and _under(module, m) for f, m in KNOWN)


def test_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, f"import-linter found a wrong import:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout


def test_modules_outside_the_packages_import_only_downward():
    found = violations(ROOT)
    new = [f"{file}:{line} imports {module}" for file, line, module in found if not _known(file, module)]
    assert not new, "wrong imports:\n" + "\n".join(new)
    stale = [k for k in KNOWN if not any(f == k[0] and _under(m, k[1]) for f, _, m in found)]
    assert not stale, f"fixed, so delete from KNOWN: {stale}"


def test_a_wrong_import_breaks_every_contract(tmp_path):
    """A copy of the code with one wrong import per contract: the same contracts must fail, naming the chain."""
    for package in ("core", "db", "pages"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.csv"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    wrong = {
        "core/common/text.py": "from core.planner import keywords",  # a lower layer imports a higher one
        "db/enums.py": "from core import errors",  # db imports core
        "core/tenancy.py": "import streamlit",  # core imports the UI toolkit
        "pages/overview.py": "from db.models import User",  # a page reaches past core
    }
    for file, line in wrong.items():
        with open(tmp_path / file, "a") as fh:
            fh.write(f"\n{line}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 4 broken" in result.stdout, result.stdout
    for chain in ("core.common.text -> core.planner.keywords", "db.enums -> core.errors",
                  "core.tenancy -> streamlit", "pages.overview -> db.models"):
        assert chain in result.stdout, result.stdout


@pytest.mark.parametrize("source, caught", [
    ("from db.models import User", ["db.models.User"]),
    ("from db import models, enums", ["db.models"]),
    ("import sqlalchemy.orm as orm", ["sqlalchemy.orm"]),
    ("from db.enums import Tone\nfrom db import enums\nfrom core import tenancy", []),
    ("def f():\n    from db import transaction", ["db.transaction"]),  # imports inside functions count
])
def test_the_file_check_catches_a_forbidden_import(tmp_path, source, caught):
    (tmp_path / "ui.py").write_text(source + "\n")
    assert [m for _, _, m in violations(tmp_path)] == caught


def test_migrations_default_url_is_core_configs(tmp_path, monkeypatch):
    """db/migrations/env.py reads DATABASE_URL itself (db imports nothing of core), with the same default."""
    env_py = ROOT / "db/migrations/env.py"
    tree = ast.parse(env_py.read_text())
    keep = [n for n in tree.body if (isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ROOT")
            or (isinstance(n, ast.FunctionDef) and n.name == "_url")]  # the rest of env.py runs Alembic

    class NoUrl:
        def get_main_option(self, name):
            return None

    ns = {"__file__": str(env_py), "config": NoUrl(), "os": os, "Path": Path}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(env_py), "exec"), ns)
    for data_dir, url in [(None, None), (str(tmp_path), None), (str(tmp_path), "sqlite:///x.db"), (None, "")]:
        for name, value in (("IGNY8_DATA_DIR", data_dir), ("DATABASE_URL", url)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        assert ns["_url"]() == core_config.load().database_url
