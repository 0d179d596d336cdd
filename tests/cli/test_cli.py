"""`python -m core.cli`, run as a real subprocess against a fresh database of each backend."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cli import demo as cli
from core.demo import seed as demo
from core.identity import auth
from db.enums import AccountStatus, Role
from db.migrate import alembic_config
from db.models import Account, IndustrySector, Keywords, Plan, Sector, Site, SiteUserAccess, User
from tests import factories as f
from tests.demo.checks import assert_ledger, assert_sectors_consistent, rows_outside

ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def run(db, *args: str) -> subprocess.CompletedProcess:
    _, env, _ = db
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ok(db, *args: str) -> str:
    done = run(db, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(db, *args: str) -> str:
    done = run(db, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    return done.stderr


def look(db) -> Session:
    return Session(db[2], expire_on_commit=False)


def test_migrate_prints_the_first_owner_once(db):
    first = ok(db, "migrate")
    found = re.search(r"Created the first owner (\S+) with the one-time password: (\S+)", first)
    assert found and f"revision {HEAD}" in first
    again = ok(db, "migrate")
    assert "first owner" not in again and f"revision {HEAD}" in again
    with look(db) as s:  # the printed password really logs in
        assert auth.login(s, email=found[1], password=found[2]).ok


def test_create_account_site_sector_user_and_grant(db):
    out = ok(db, "create-account", "--name", "Acme Co", "--plan", "starter", "--status", "active",
             "--owner-email", "boss@acme.test", "--owner-password", "boss-pass-123")
    assert "slug acme-co" in out and "Created owner boss@acme.test." in out
    ok(db, "create-site", "--account", "acme-co", "--name", "Acme Blog", "--domain", "acme.test",
       "--industry", "Technology", "--timezone", "Europe/Paris")
    ok(db, "create-sector", "--account", "acme-co", "--site", "acme-blog", "--name", "Hosting",
       "--industry-sector", "Web Hosting")
    out = ok(db, "create-user", "--account", "acme-co", "--email", "ed@acme.test", "--role", "editor",
             "--generate-password", "--first-name", "Ed")
    password = re.search(r"Password \(shown once\): (\S+)", out)[1]
    assert "acme-blog" in ok(db, "grant-site", "--account", "acme-co", "--email", "ed@acme.test", "--site", "acme-blog")
    listed = json.loads(ok(db, "list-users", "--account", "acme-co", "--json"))
    assert {(u["email"], u["role"], u["sites"]) for u in listed} == {("boss@acme.test", "owner", "all"),
                                                                      ("ed@acme.test", "editor", "acme-blog")}
    assert "acme-co" in {a["slug"] for a in json.loads(ok(db, "list-accounts", "--json"))}
    with look(db) as s:
        acct = s.scalars(select(Account).where(Account.slug == "acme-co")).one()
        assert acct.status == AccountStatus.active and s.get(Plan, acct.plan_id).slug == "starter"
        assert s.get(User, acct.owner_id).email == "boss@acme.test"
        site = s.scalars(select(Site).where(Site.account_id == acct.id)).one()
        assert (site.domain, site.timezone) == ("acme.test", "Europe/Paris") and site.industry_id is not None
        sector = s.scalars(select(Sector).where(Sector.site_id == site.id)).one()
        assert s.get(IndustrySector, sector.industry_sector_id).name == "Web Hosting"
        editor = s.scalars(select(User).where(User.email == "ed@acme.test")).one()
        assert editor.role == Role.editor and editor.account_id == acct.id and editor.first_name == "Ed"
        assert s.scalar(select(SiteUserAccess.site_id).where(SiteUserAccess.user_id == editor.id)) == site.id
        assert auth.login(s, email="ed@acme.test", password=password).ok
        assert auth.login(s, email="boss@acme.test", password="boss-pass-123").ok
    out = ok(db, "create-user", "--email", "dev@igny8.test", "--role", "developer", "--password", "dev-pass-123")
    assert "Created developer dev@igny8.test" in out


def test_system_accounts_from_the_command_line(db):
    def system_flags() -> dict[str, bool]:
        return {a["slug"]: a["system"] for a in json.loads(ok(db, "list-accounts", "--json"))}

    ok(db, "migrate")
    assert system_flags() == {"my-agency": True}  # the first owner's account runs the platform
    assert "Created system account “Ops Team”" in ok(db, "create-account", "--name", "Ops Team", "--system")
    assert "Created account “Client Co”" in ok(db, "create-account", "--name", "Client Co")
    assert "is a customer account" in ok(db, "system-account", "--account", "my-agency", "--off")
    assert "is a system account" in ok(db, "system-account", "--account", "client-co")
    assert system_flags() == {"my-agency": False, "ops-team": True, "client-co": True}


def test_errors_exit_2_with_a_message_and_write_nothing(db):
    ok(db, "create-account", "--name", "Acme Co")
    with look(db) as s:
        before = f.row_counts(s)
    assert "exists already" in refused(db, "create-account", "--name", "Acme Co")
    # The account is flushed before its owner fails the password policy: the one transaction undoes both.
    assert "at least 10 characters" in refused(db, "create-account", "--name", "Beta", "--owner-email",
                                               "b@beta.test", "--owner-password", "short")
    assert "There is no account “nope”" in refused(db, "create-site", "--account", "nope", "--name", "Blog")
    assert "not a known time zone" in refused(db, "create-site", "--account", "acme-co", "--name", "Blog",
                                              "--timezone", "Mars/Base")
    assert "give --account" in refused(db, "create-user", "--email", "a@b.test", "--role", "admin",
                                       "--password", "good-pass-123")
    usage = refused(db, "create-user", "--email", "a@b.test", "--role", "admin")  # argparse's own message
    assert "usage:" in usage and "--password" in usage
    with look(db) as s:
        assert f.row_counts(s) == before
        assert s.scalar(select(func.count()).select_from(Account).where(Account.slug == "beta")) == 0


def test_seed_demo_loads_the_whole_keyword_file_once(db):
    ok(db, "migrate")
    with look(db) as s:
        before = rows_outside(s, None)
    out = ok(db, "seed-demo")  # the default file: ../shared/data when present, else the committed sample
    path = cli.default_keywords_file()
    with open(path, encoding="utf-8", newline="") as fh:
        in_file = sum(1 for _ in csv.DictReader(fh))
    stored, read, skipped = (int(x.replace(",", "")) for x in
                             re.search(r"Keywords: ([\d,]+) of ([\d,]+) rows \((\d+) skipped", out).groups())
    assert read == in_file and stored == read - skipped and f"from {path}" in out
    for role, password in demo.DEMO_PASSWORDS.items():
        assert f"{role.value}@demo-agency.example" in out and password in out
    with look(db) as s:
        acct = s.scalars(select(Account).where(Account.slug == "demo-agency")).one()
        assert s.scalar(select(func.count()).select_from(Keywords).where(Keywords.account_id == acct.id)) == stored
        assert_ledger(s, acct.id)
        assert rows_outside(s, acct.id) == before  # every new tenant row is the demo account's
        assert_sectors_consistent(s)
        assert auth.login(s, email="viewer@demo-agency.example", password=demo.DEMO_PASSWORDS[Role.viewer]).ok
        after = f.row_counts(s)
    assert "exists already" in refused(db, "seed-demo", "--keywords-file", str(demo.SAMPLE_KEYWORDS))
    with look(db) as s:
        assert f.row_counts(s) == after
