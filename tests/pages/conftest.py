"""Page tests: the real app (app.py) in streamlit's AppTest, on a fresh database of each backend per test module."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import config, tenancy
from core import runtime as core_runtime
from core.billing import credits
from core.identity import accounts, auth, sites, users
from core.runtime import Runtime
from core.tenancy import Actor
from db.enums import Role
from db.models import User
from tests.ai.helpers import API_KEY
from tests.fakes.openai_server import FakeAI
from ui_text import shown

APP = Path(__file__).resolve().parents[2] / "app.py"
OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "owner-pass-123"
PASSWORD = "correct-horse-42"


@dataclass
class AppDB:
    """The database the app under test uses, with a runtime of its own to arrange and check through core."""

    url: str
    rt: Runtime

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with self.rt.transaction() as s:
            yield s

    def actor(self, s: Session, email: str = OWNER_EMAIL) -> Actor:
        """The actor of an existing user, as the app would build it."""
        return tenancy.actor_for(s, self.user(s, email))

    def balance(self) -> int:
        """The first owner's account balance."""
        with self.tx() as s:
            return credits.balance(s, self.actor(s))

    @staticmethod
    def user(s: Session, email: str) -> User:
        return s.scalars(select(User).where(User.email == email)).one()

    def add_user(self, email: str, role: Role, *, site_ids: tuple[int, ...] = (), password: str = PASSWORD) -> int:
        """A user of the first owner's account (developers: of no account), with the given sites granted."""
        with self.tx() as s:
            if role == Role.developer:
                user = User(account_id=None, email=email, password_hash=auth.hash_password(password), role=role)
                s.add(user)
                s.flush()
                return user.id
            owner = self.actor(s)
            user = users.create_user(s, owner, email=email, password=password, role=role.value)
            if site_ids:
                users.set_site_access(s, owner, user_id=user.id, site_ids=list(site_ids))
            return user.id

    def add_customer_user(self, account_name: str, email: str, role: Role, *, password: str = PASSWORD) -> int:
        """A user of a new customer account (not the system one: its owners and admins are no platform admins)."""
        dev = tenancy.operator_actor()
        with self.tx() as s:
            account = accounts.create_account(s, dev, name=account_name, status="active")
            return users.create_user(s, dev.in_account(account.id), email=email, password=password,
                                     role=role.value).id

    def add_site(self, name: str, *, sectors: tuple[str, ...] = (), timezone: str = "UTC") -> int:
        """A site of the first owner's account with active sectors."""
        with self.tx() as s:
            owner = self.actor(s)
            site = sites.create_site(s, owner, name=name, timezone=timezone)
            for sector in sectors:
                sites.create_sector(s, owner, site_id=site.id, name=sector)
            return site.id


@pytest.fixture(scope="module")
def app_db(backend, fresh_database) -> Iterator[AppDB]:
    """A fresh, prepared database for this module; DATABASE_URL and the first owner point the app at it."""
    import ui  # the app's cached runtime lives there

    url = fresh_database()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("IGNY8_OWNER_EMAIL", OWNER_EMAIL)
        mp.setenv("IGNY8_OWNER_PASSWORD", OWNER_PASSWORD)
        rt = core_runtime.start(config.load(), url=url)
        try:
            yield AppDB(url, rt)
        finally:
            ui.runtime.clear()  # disposes the app's engine (on_release) before the database is dropped
            rt.engine.dispose()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAI]:
    """The fake OpenAI server of this module (tests.ai.helpers.configure points the providers at it)."""
    with FakeAI(api_key=API_KEY) as server:
        yield server


# ---------------------------------------------------------------- driving the app


def open_app() -> AppTest:
    """The app as a new browser session would see it (the login form)."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def submit_login(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click().run()
    assert not at.exception, at.exception
    return at


def login(email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> AppTest:
    """A new session, logged in (fails the test when the login does not succeed)."""
    at = submit_login(open_app(), email, password)
    assert at.session_state["auth_ticket"] is not None, [e.value for e in at.error]
    return at


def go(at: AppTest, page: str) -> AppTest:
    """Open a page of the navigation and run it; the run must not raise."""
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    """Press a button or form submit button and run; the run must not raise."""
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def finish_job(at: AppTest, key: str) -> AppTest:
    """Wait for the page's background job (ui_jobs) and rerun; a fast job may have ended before the page's own
    rerun. The finished job's result must have been taken and shown."""
    if key in at.session_state:
        assert at.session_state[key].wait(120)
        at.run()
    assert not at.exception, at.exception
    assert key not in at.session_state
    return at


def texts(elements) -> list[str]:
    """The values of alerts or headings (st.error, st.success, st.title …) as a person reads them: names in them are
    escaped Markdown (ui.md), the escapes are taken off here."""
    return [shown(e.value) for e in elements]


def in_navigation(at: AppTest, page: str) -> bool:
    """Whether the logged-in role's navigation lists a page (AppTest refuses to switch to unlisted ones)."""
    try:
        at.switch_page(page)
    except ValueError:
        return False
    at.run()
    assert not at.exception, at.exception
    return True
