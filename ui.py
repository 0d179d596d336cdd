"""UI plumbing shared by app.py and pages/: the cached runtime, the login gate, the scope picker, actions, formats.

It lives beside app.py, not in pages/: Streamlit registers every file of pages/ as a page of its own when it falls
back to directory discovery (see the note on url paths in app.py).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
import streamlit as st

import ui_jobs
from core import config, tenancy
from core import runtime as core_runtime
from core.ai import prompts
from core.errors import AuthenticationFailed, DomainError
from core.identity import accounts, auth, sites
from core.identity.auth import SessionTicket
from core.runtime import Runtime
from core.tenancy import Actor

if TYPE_CHECKING:  # annotations only: the UI calls core and never touches the database itself
    from sqlalchemy.orm import Session

    from db.models import User

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")

# Keys in st.session_state (per browser session). Never a Session or an ORM object here.
TICKET = "auth_ticket"
SCOPE_ACCOUNT = "scope_account_id"
SCOPE_SITE = "scope_site_id"
SCOPE_SECTOR = "scope_sector_id"
_SCOPE_KEYS = (SCOPE_ACCOUNT, SCOPE_SITE, SCOPE_SECTOR)
_FLASH = "_flash"
_EMPTY_NEXT = "_empty_next_run"  # text inputs to empty before the next run draws them
_AUTH_NOTICE = "_auth_notice"


def _dispose(rt: Runtime) -> None:
    rt.engine.dispose()


@st.cache_resource(show_spinner="Preparing the database …", on_release=_dispose)
def runtime(url: str) -> Runtime:
    """One engine per process and database; the first start migrates, seeds and creates the first owner."""
    rt = core_runtime.start(config.load(), url=url)
    notice = core_runtime.first_owner_notice(rt.first_owner)
    if notice:
        print(notice, flush=True)  # to the terminal only: a password never goes to a browser
    return rt


def get_runtime() -> Runtime:
    """The runtime of the configured database (read on every run, so tests can point DATABASE_URL elsewhere)."""
    return runtime(config.load().database_url)


@dataclass(frozen=True)
class Scope:
    """What the sidebar picked: account (developers), site and sector, with the choices offered."""

    account_id: int | None
    site_id: int | None
    sector_id: int | None
    accounts: dict[int, str] = field(default_factory=dict)
    sites: dict[int, str] = field(default_factory=dict)
    sectors: dict[int, str] = field(default_factory=dict)
    timezone: str = "UTC"  # the picked site's, for showing times

    @property
    def site_name(self) -> str:
        return self.sites.get(self.site_id, "") if self.site_id is not None else ""

    @property
    def sector_name(self) -> str:
        return self.sectors.get(self.sector_id, "") if self.sector_id is not None else ""


@dataclass(frozen=True)
class Context:
    """Who is logged in and what they work on, rebuilt on every run from the ticket and the scope ids."""

    rt: Runtime
    user_id: int
    email: str
    name: str
    actor: Actor  # in the scope's account (a developer's picked one)
    platform: Actor  # a developer across all accounts; everyone else: the same as `actor`
    scope: Scope


def _pick(value: object, options: Mapping[int, str]) -> int | None:
    """Keep a remembered id while it is still offered, else the first option."""
    return value if value in options else next(iter(options), None)  # type: ignore[return-value]


def _resolve_scope(s: Session, user: User, platform: Actor) -> tuple[Scope, Actor]:
    state = st.session_state
    account_id, account_opts = platform.account_id, {}
    if platform.is_developer:
        account_opts = {a.id: a.name for a in accounts.list_accounts(s, platform)}
        account_id = _pick(state.get(SCOPE_ACCOUNT), account_opts)
    actor = tenancy.actor_for(s, user, account_id=account_id)
    site_rows = sites.list_sites(s, actor, active_only=True) if account_id is not None else []
    site_opts = {x.id: x.name for x in site_rows}
    site_id = _pick(state.get(SCOPE_SITE), site_opts)
    sector_opts = ({x.id: x.name for x in sites.list_sectors(s, actor, site_id=site_id, active_only=True)}
                   if site_id is not None else {})
    sector_id = _pick(state.get(SCOPE_SECTOR), sector_opts)
    tz = next((x.timezone for x in site_rows if x.id == site_id), "UTC")
    return Scope(account_id, site_id, sector_id, account_opts, site_opts, sector_opts, tz), actor


def _load(rt: Runtime, ticket: SessionTicket) -> tuple[Context, SessionTicket]:
    with rt.transaction() as s:
        user, fresh = auth.resume(s, ticket)
        platform = tenancy.actor_for(s, user)
        scope, actor = _resolve_scope(s, user, platform)
        name = f"{user.first_name} {user.last_name}".strip() or user.email
        return Context(rt, user.id, user.email, name, actor, platform, scope), fresh


def _forget(notice: str | None = None) -> None:
    for key in (TICKET, *_SCOPE_KEYS):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[_AUTH_NOTICE] = notice


def flash(message: str) -> None:
    """A success message shown at the top of the next run (survives st.rerun)."""
    st.session_state[_FLASH] = message


def _show_flash() -> None:
    # Always one container, message or not: the elements below keep their positions, so an open expander
    # (a form someone is filling in) stays open across the rerun.
    slot = st.container()
    message = st.session_state.pop(_FLASH, None)
    if message:
        slot.success(message)


# ---------------------------------------------------------------- the gate (app.py) and the pages' entry


def gate() -> Context:
    """For app.py: the logged-in user's context and the sidebar; otherwise the login form, and the run stops."""
    rt = get_runtime()
    ticket = st.session_state.get(TICKET)
    if ticket is not None:
        try:
            ctx, fresh = _load(rt, ticket)
        except AuthenticationFailed as e:
            _forget(str(e))
        else:
            st.session_state[TICKET] = fresh
            _sidebar(ctx)
            return ctx
    _login_form(rt)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def current(title: str, *, admin: bool = False, developer: bool = False) -> Context:
    """For a page: the context of the logged-in user (checked again here, not trusted from app.py), after the
    page's title and the last action's message; stops the page for anyone not logged in or not allowed."""
    ticket = st.session_state.get(TICKET)
    if ticket is None:
        st.warning("Please log in first.")
        st.markdown("[Go to the login](./)")
        st.stop()
    try:
        ctx, fresh = _load(get_runtime(), ticket)
    except AuthenticationFailed as e:
        _forget(str(e))
        st.warning(str(e))
        st.stop()
    st.session_state[TICKET] = fresh
    try:
        if admin:
            tenancy.require_admin(ctx.actor)
        if developer:
            tenancy.require_developer(ctx.actor)
    except DomainError as e:
        st.error(str(e))
        st.stop()
    for key in st.session_state.pop(_EMPTY_NEXT, ()):
        st.session_state[key] = ""
    st.title(title)
    _show_flash()
    return ctx


def picked_sector(scope: Scope, hint: str = "Pick a site and a sector in the sidebar first.") -> tuple[int, int]:
    """The site and sector picked in the sidebar, as (site_id, sector_id); the page stops with `hint` without them."""
    if scope.site_id is None or scope.sector_id is None:
        st.info(hint)
        st.stop()
    return scope.site_id, scope.sector_id


def _login_form(rt: Runtime) -> None:
    st.title("IGNY8 Dashboard")
    notice = st.session_state.pop(_AUTH_NOTICE, None)
    if notice:
        st.warning(notice)
    _show_flash()
    with st.form("login"):
        email = st.text_input("E-mail", key="login_email", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Log in", key="login_submit", type="primary")
    if not submitted:
        return
    try:
        # The failure counter is written even when the login fails: login() returns, it does not raise.
        with rt.transaction() as s:
            result = auth.login(s, email=email, password=password)
            ticket = auth.issue_ticket(result.user) if result.user is not None else None
    except DomainError as e:
        st.error(str(e))
        return
    if ticket is None:
        st.error(result.message)
        return
    st.session_state[TICKET] = ticket
    st.rerun()


def _select_scope(label: str, key: str, options: Mapping[int, str], chosen: int | None, empty: str) -> None:
    if not options:
        st.session_state.pop(key, None)
        st.sidebar.caption(empty)
        return
    st.session_state[key] = chosen  # set before the widget exists: the normalised pick becomes its value
    st.sidebar.selectbox(label, options=list(options), format_func=options.__getitem__, key=key)


def _sidebar(ctx: Context) -> None:
    scope = ctx.scope
    st.sidebar.markdown(f"**{ctx.name}**")
    st.sidebar.text(f"{ctx.email} · {ctx.actor.role.value}")  # text, not markdown: no mailto link
    if ctx.platform.is_developer:
        _select_scope("Account", SCOPE_ACCOUNT, scope.accounts, scope.account_id, "No accounts yet.")
    _select_scope("Site", SCOPE_SITE, scope.sites, scope.site_id,
                  "No active site." if scope.account_id is not None else "Pick an account first.")
    _select_scope("Sector", SCOPE_SECTOR, scope.sectors, scope.sector_id,
                  "No active sector." if scope.site_id is not None else "")
    if st.sidebar.button("Log out", key="logout", icon=":material/logout:"):
        logout()


def logout(message: str = "You are logged out.") -> None:
    """End this browser session's login and go back to the login form."""
    _forget()
    flash(message)
    st.rerun()


def ticket() -> SessionTicket:
    """This browser session's ticket (for actions on the user's own login, like a password change)."""
    return st.session_state[TICKET]


def replace_ticket(new: SessionTicket) -> None:
    """Keep the ticket issued after the user's session version changed (their own password change)."""
    st.session_state[TICKET] = new


# ---------------------------------------------------------------- actions and display


def run_action(fn: Callable[[Session], T], *, success: str | None = None, clear: Iterable[str] = ()) -> T | None:
    """One unit of work in one transaction. A domain error rolls it back and shows its message (never a
    traceback) and gives None; the form keeps what was typed. With `success`, the text inputs keyed in `clear`
    are emptied, the page reruns so lists show the change, and the message shows on top."""
    try:
        with get_runtime().transaction() as s:
            result = fn(s)
    except DomainError as e:
        st.error(str(e))
        return None
    if success is not None:  # after the commit: a rerun inside the transaction would roll it back
        # Emptied on the next run, before the widgets exist: only then does the browser take the new value.
        st.session_state[_EMPTY_NEXT] = list(clear)
        flash(success)
        st.rerun()
    return result


def local_time(value: datetime | None, tz: str = "UTC") -> str:
    """A stored UTC time shown in a site's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@functools.cache
def timezones() -> list[str]:
    """Every IANA time zone name, sorted (for pickers)."""
    return sorted(available_timezones() | {"UTC"})


def table(rows: Iterable[Mapping[str, Any]], *, empty: str, key: str | None = None) -> None:
    """Show rows (already shaped from what core returned) as a read-only table, or a note when there are none;
    `key` names the table's container (tests and styling find it by that)."""
    frame = pd.DataFrame(list(rows))
    with st.container(key=key):
        if frame.empty:
            st.info(empty)
        else:
            st.dataframe(frame, hide_index=True)


def options_with_none(options: Mapping[int, str], none_label: str = "—") -> tuple[list[int | None], Callable]:
    """Options for an optional pick: None first, then the ids; and the function that names them."""
    return [None, *options], lambda v: none_label if v is None else options[v]


def strategy_picker(actor: Actor, *, prompt_type: str, sector_id: int, key: str) -> int | None:
    """A “Content strategy” select of the strategies that fit this prompt and sector (None: the defaults)."""
    choices = run_action(lambda s: prompts.strategy_choices(s, actor, prompt_type=prompt_type, sector_id=sector_id))
    ids, name = options_with_none(choices or {}, "No strategy (the defaults)")
    return st.selectbox("Content strategy", ids, format_func=name, key=key,
                        help="Strategies are set up under Prompts & voices.")


def pick(label: str, rows: Mapping[K, R], *, name: Callable[[R], str], empty: str, key: str) -> K | None:
    """A select of one of the rows (each shown by `name`), or the `empty` note and None when there are none."""
    if not rows:
        st.info(empty)
        return None
    return st.selectbox(label, list(rows), format_func=lambda k: name(rows[k]), key=key)


def index_of(options: list, value: object) -> int:
    """Position of the current value among a picker's options (the first when it is no longer offered)."""
    return options.index(value) if value in options else 0


def pager(cursors: list, next_after: object, *, state_key: str, key: str) -> None:
    """“First page” / “Next page” buttons over a keyset cursor stack kept in st.session_state[state_key]."""
    first, nxt, _ = st.columns([1, 1, 4])
    if first.button("First page", key=f"{key}_first", disabled=len(cursors) == 1):
        st.session_state[state_key] = [None]
        st.rerun()
    if nxt.button("Next page", key=f"{key}_next", disabled=next_after is None):
        cursors.append(next_after)
        st.rerun()


def estimate_then_run(*, state_key: str, inputs: object, estimate: Callable[[Session], Any], job_key: str,
                      kind: str, label: str, work: Callable[[ui_jobs.Report], Any], estimate_button: str,
                      run_button: str, key: str, disabled: bool = False) -> None:
    """An AI action: “Estimate” shows the most it can cost (held for these `inputs`), then “Run (up to N credits)”
    starts `work` in the background (progress on the page); nothing runs unless the balance covers the estimate."""
    if st.button(estimate_button, key=f"{key}_estimate", disabled=disabled):
        est = run_action(estimate)
        st.session_state[state_key] = (inputs, est) if est is not None else None
    held = st.session_state.get(state_key)
    if disabled or held is None or held[0] != inputs:
        return
    est = held[1]
    (st.info if est.affordable else st.error)(est.message)
    if st.button(f"{run_button} (up to {est.credits:,} credits)", key=f"{key}_run",
                 disabled=not est.affordable or ui_jobs.get(job_key) is not None):
        if ui_jobs.start(job_key, kind=kind, label=label, work=work):
            st.session_state.pop(state_key, None)
            st.rerun()
