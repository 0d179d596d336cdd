"""UI plumbing shared by app.py and pages/: the cached runtime, the login gate, the scope picker, actions, formats.

It lives beside app.py, not in pages/: Streamlit registers every file of pages/ as a page of its own when it falls
back to directory discovery (see the note on url paths in app.py).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
import streamlit as st

import ui_jobs
import ui_session
from core import config, tenancy
from core import runtime as core_runtime
from core.ai import prompts
from core.errors import AuthenticationFailed, DomainError
from core.identity import accounts, auth, sites
from core.identity.auth import SessionTicket
from core.runtime import Runtime
from core.tenancy import Actor
from ui_text import md as md  # the one escaping helper of the pages: ui.md

if TYPE_CHECKING:  # annotations only: the UI calls core and never touches the database itself
    from sqlalchemy.orm import Session
    from streamlit.navigation.page import StreamlitPage

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
    ui_session.spend()
    if notice:
        st.session_state[_AUTH_NOTICE] = notice


def _session_ticket() -> SessionTicket | None:
    """This session's ticket, else the one the login cookie carries (a reload, a new tab); None when logged out."""
    held = st.session_state.get(TICKET)
    if held is not None:
        return held
    try:
        return ui_session.ticket_from_cookie()
    except AuthenticationFailed as e:  # tampered, foreign or expired: the login form says so
        _forget(str(e))
        return None


def _resumed(rt: Runtime) -> Context | None:
    """The logged-in user's context (checked against the database on every run), the ticket refreshed in the
    session; None when nobody is logged in or the session has ended (the reason is kept for the login form)."""
    ticket = _session_ticket()
    if ticket is None:
        return None
    try:
        ctx, fresh = _load(rt, ticket)
    except AuthenticationFailed as e:
        _forget(str(e))
        return None
    st.session_state[TICKET] = fresh
    return ctx


def flash(message: str) -> None:
    """A success message shown at the top of the next run (survives st.rerun); plain text, names and all."""
    st.session_state[_FLASH] = message


def _show_flash() -> None:
    # Always one container, message or not: the elements below keep their positions, so an open expander
    # (a form someone is filling in) stays open across the rerun.
    slot = st.container()
    message = st.session_state.pop(_FLASH, None)
    if message:
        slot.success(md(message))


# ---------------------------------------------------------------- the gate (app.py) and the pages' entry


def gate(pages: Sequence[StreamlitPage]) -> Context:
    """For app.py: the logged-in user's context; otherwise the login form under a hidden navigation of `pages`
    (every page of the app), and the run stops."""
    rt = get_runtime()
    ctx = _resumed(rt)
    if ctx is not None:
        return ctx
    # Not run: it registers the pages (no list of page files beside the form: directory discovery ends) and keeps
    # the page the address names as the run's page, so the login's rerun lands there. Before the form: widgets
    # drawn after st.navigation get the same ids whether or not Streamlit still discovers pages/ in this run.
    st.navigation(list(pages), position="hidden")
    _login_form(rt)  # a login reruns from here
    ui_session.clear()  # what the browser still holds was refused or logged out
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def sidebar(ctx: Context) -> None:
    """For app.py, after st.navigation (for the widget ids, see gate): who is logged in, the scope picker, the
    logout button, and the login cookie kept in step with the session."""
    _sidebar(ctx)
    ui_session.write(st.session_state[TICKET])


def current(title: str, *, admin: bool = False, developer: bool = False) -> Context:
    """For a page: the context of the logged-in user (checked again here, not trusted from app.py), after the
    page's title and the last action's message; stops the page for anyone not logged in or not allowed."""
    ctx = _resumed(get_runtime())
    if ctx is None:
        st.warning(md(st.session_state.get(_AUTH_NOTICE) or "Please log in first."))  # kept for the login form too
        st.markdown("[Go to the login](./)")
        st.stop()
    try:
        if admin:
            tenancy.require_admin(ctx.actor)
        if developer:
            tenancy.require_developer(ctx.actor)
    except DomainError as e:
        st.error(md(e))
        st.stop()
    for key in st.session_state.pop(_EMPTY_NEXT, ()):
        st.session_state[key] = ""
    st.title(md(title))
    _show_flash()
    return ctx


PICK_SECTOR = "Pick a site and a sector in the sidebar first."


def missing_scope(ctx: Context, hint: str = PICK_SECTOR, *, sector: bool = True) -> str | None:
    """Why no site (and, with `sector`, no sector) is picked, as the real next step for this user; None when they
    are. `hint` is for when the sidebar offers a choice: it shows no picker while there is nothing to pick."""
    scope, admin = ctx.scope, ctx.actor.is_admin
    if scope.account_id is None:
        return "There is no account yet. Create one under Admin → Accounts."
    if not scope.sites:
        return ("This account has no active site yet. Create one under Admin → Sites & sectors." if admin else
                "No site is shared with you yet. Ask an owner or admin of your account for access to one.")
    if sector and not scope.sectors:
        return (f"Site “{scope.site_name}” has no active sector yet. "
                + ("Add one under Admin → Sites & sectors." if admin
                   else "Ask an owner or admin of your account to add one."))
    return hint if scope.site_id is None or (sector and scope.sector_id is None) else None


def picked_site(ctx: Context, hint: str = "Pick a site in the sidebar.") -> int:
    """The site picked in the sidebar; without one the page stops with the next step."""
    problem = missing_scope(ctx, hint, sector=False)
    if problem is not None:
        st.info(md(problem))
        st.stop()
    return ctx.scope.site_id


def picked_sector(ctx: Context, hint: str = PICK_SECTOR) -> tuple[int, int]:
    """The site and sector picked in the sidebar, as (site_id, sector_id); without them the page stops with the
    next step (`hint` when the sidebar offers them)."""
    problem = missing_scope(ctx, hint)
    if problem is not None:
        st.info(md(problem))
        st.stop()
    return ctx.scope.site_id, ctx.scope.sector_id


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
        if empty:
            st.sidebar.caption(md(empty))
        return
    st.session_state[key] = chosen  # set before the widget exists: the normalised pick becomes its value
    st.sidebar.selectbox(label, options=list(options), format_func=options.__getitem__, key=key)


def _sidebar(ctx: Context) -> None:
    scope = ctx.scope
    st.sidebar.markdown(f"**{md(ctx.name)}**")
    st.sidebar.text(f"{ctx.email} · {ctx.actor.role.value}")  # text, not markdown: no mailto link
    if ctx.platform.is_developer:
        _select_scope("Account", SCOPE_ACCOUNT, scope.accounts, scope.account_id, missing_scope(ctx) or "")
    _select_scope("Site", SCOPE_SITE, scope.sites, scope.site_id,
                  missing_scope(ctx) or "" if scope.account_id is not None else "")
    _select_scope("Sector", SCOPE_SECTOR, scope.sectors, scope.sector_id,
                  missing_scope(ctx) or "" if scope.site_id is not None else "")
    if st.sidebar.button("Log out", key="logout", icon=":material/logout:"):
        logout()


def logout(message: str = "You are logged out.") -> None:
    """End the login (its ticket and cookie are refused from now on, in every browser of the user: the session
    version goes up) and go back to the login form, which clears the cookie."""
    held = st.session_state.get(TICKET)
    if held is not None:
        with get_runtime().transaction() as s:
            auth.end_session(s, held)
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
# The helpers below take plain text (names and all) and escape it; pages escape what they put into st.* themselves.

VIEW_ONLY = "Viewers can look but not change anything. Ask an owner or admin of your account for editor access."


def view_only(actor: Actor) -> str | None:
    """Why this user's write buttons are disabled (their `help`, as on the settings screens); None when they may
    write. Core refuses a viewer's write anyway."""
    return None if actor.can_write else VIEW_ONLY


def within(*fields: tuple[str, float | None, float | None, float | None]) -> bool:
    """Numbers typed into a form, each (label, value, lowest, highest), inside their ranges; an error for each one
    outside, and False: the caller then applies nothing. The inputs carry no min/max of their own, because the
    browser then blocks the form's submit button without a word and the page keeps the previous values."""
    ok = True
    for label, value, low, high in fields:
        if value is None or ((low is None or value >= low) and (high is None or value <= high)):
            continue
        ok = False
        limits = (f"between {low:,} and {high:,}" if low is not None and high is not None
                  else f"at least {low:,}" if low is not None else f"at most {high:,}")
        st.error(md(f"{label} must be {limits} ({value:,} typed); nothing was applied."))
    return ok


def run_action(fn: Callable[[Session], T], *, success: str | None = None, clear: Iterable[str] = (),
               warn: bool = False) -> T | None:
    """One unit of work in one transaction. A domain error rolls it back and shows its message (never a
    traceback; with `warn` as a warning: a read the screen can do without) and gives None; the form keeps what was
    typed. With `success` (plain text), the text inputs keyed in `clear` are emptied, the page reruns so lists show
    the change, and the message shows on top."""
    try:
        with get_runtime().transaction() as s:
            result = fn(s)
    except DomainError as e:
        (st.warning if warn else st.error)(md(e))
        return None
    if success is not None:  # after the commit: a rerun inside the transaction would roll it back
        # Emptied on the next run, before the widgets exist: only then does the browser take the new value.
        st.session_state[_EMPTY_NEXT] = list(clear)
        flash(success)
        st.rerun()
    return result


def run_work(fn: Callable[[Runtime], T], *, spinner: str) -> T | None:
    """Work that opens its own transactions (publishing, the connection doctor, a sync): given the runtime as its
    unit of work, under a spinner; a domain error shows its message and gives None."""
    try:
        with st.spinner(spinner):
            return fn(get_runtime())
    except DomainError as e:
        st.error(md(e))
        return None


def site_moment(day: date, at: time, tz: str) -> datetime:
    """A day and clock time picked in a site's timezone, as an aware datetime."""
    return datetime.combine(day, at).replace(tzinfo=ZoneInfo(tz or "UTC"))


def local_time(value: datetime | None, tz: str = "UTC") -> str:
    """A stored UTC time shown in a site's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@functools.cache
def timezones() -> list[str]:
    """Every IANA time zone name, sorted (for pickers)."""
    return sorted(available_timezones() | {"UTC"})


def table(rows: Iterable[Mapping[str, Any]], *, empty: str, key: str | None = None,
          column_config: Mapping[str, Any] | None = None) -> None:
    """Show rows (already shaped from what core returned) as a read-only table, or a note when there are none;
    `key` names the table's container (tests and styling find it by that); `column_config` as st.dataframe's."""
    frame = pd.DataFrame(list(rows))
    with st.container(key=key):
        if frame.empty:
            st.info(md(empty))
        else:
            st.dataframe(frame, hide_index=True, column_config=column_config)


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
        st.info(md(empty))
        return None
    return st.selectbox(md(label), list(rows), format_func=lambda k: name(rows[k]), key=key)


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
                      run_button: str, key: str, disabled: bool = False, help: str | None = None) -> None:
    """An AI action: “Estimate” shows the most it can cost (held for these `inputs`), then “Run (up to N credits)”
    starts `work` in the background (progress on the page); nothing runs unless the balance covers the estimate.
    `disabled` with a `help` (why) greys the Estimate button out."""
    if st.button(md(estimate_button), key=f"{key}_estimate", disabled=disabled, help=md(help) if help else None):
        est = run_action(estimate)
        st.session_state[state_key] = (inputs, est) if est is not None else None
    held = st.session_state.get(state_key)
    if disabled or held is None or held[0] != inputs:
        return
    est = held[1]
    (st.info if est.affordable else st.error)(md(est.message))
    if st.button(f"{md(run_button)} (up to {est.credits:,} credits)", key=f"{key}_run",
                 disabled=not est.affordable or ui_jobs.get(job_key) is not None):
        if ui_jobs.start(job_key, kind=kind, label=label, work=work):
            st.session_state.pop(state_key, None)
            st.rerun()
