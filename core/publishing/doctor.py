"""The connection doctor: checks a WordPress connection step by step and names the fix for each failure.

Steps, each a `Check`: the REST API answers JSON (`/wp-json/`, else `?rest_route=` when pretty permalinks are off);
the login works (`/wp/v2/users/me?context=edit`); the Authorization header reaches WordPress (a 401 on
authenticated routes while public ones answer); the user may publish posts and upload media; the site's timezone
and GMT offset (compared with ours); the WordPress version; the SEO fields a post exposes for writing. `diagnose`
makes only HTTP calls; `connection.record_check` keeps the outcome on the integration.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from core.common.retry import RetryPolicy
from core.publishing import seo
from core.publishing.wordpress import Client, Login, WordPressError

OK, WARN, FAIL, SKIP = "ok", "warning", "failed", "skipped"
HEADER_FIX = ("the web server or a proxy in front of WordPress strips the Authorization header. On Apache add "
              "`SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1` to .htaccess; on nginx with PHP-FPM add "
              "`fastcgi_param HTTP_AUTHORIZATION $http_authorization;`; some hosts have a setting for it")
PASSWORD_FIX = ("check the user name (the login, not the display name) and create a new Application Password in "
                "WordPress under Users → Profile → Application Passwords")
LOGIN_FAILED = {"incorrect_password", "invalid_username", "invalid_email", "application_passwords_disabled",
                "application_passwords_disabled_for_user"}
QUICK = RetryPolicy(attempts=2, timeout_s=15.0, backoff_base_s=0.5, backoff_max_s=1.0)  # a person is waiting
GENERATOR = re.compile(r'<meta[^>]+name=["\']generator["\'][^>]+content=["\']WordPress ([0-9][0-9.]*)', re.I)


@dataclass(frozen=True)
class Check:
    """One step: its name, the outcome (ok, warning, failed, skipped), what was found, and the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Report:
    """Every step's check, and what the later steps and the publisher need to know."""

    checks: list[Check] = field(default_factory=list)
    api_mode: str = "pretty"
    timezone: str = ""
    gmt_offset: float | None = None
    version: str = ""
    user: dict = field(default_factory=dict)
    seo: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        """connected (all ok), warning (works, with something to look at) or error (cannot publish)."""
        states = {c.status for c in self.checks}
        return "error" if FAIL in states else "warning" if WARN in states else "connected"

    @property
    def error(self) -> str:
        failed = [c for c in self.checks if c.status == FAIL]
        return f"{failed[0].name}: {failed[0].detail}" if failed else ""

    def as_dict(self) -> dict:
        return {"checks": [asdict(c) for c in self.checks], "api_mode": self.api_mode, "timezone": self.timezone,
                "gmt_offset": self.gmt_offset, "version": self.version, "seo": self.seo,
                "user": {k: self.user.get(k) for k in ("id", "name", "slug", "roles")}}


def diagnose(login: Login, *, our_timezone: str = "UTC", http: httpx.Client | None = None) -> Report:
    """Run every step against the site; later steps are skipped when an earlier one makes them meaningless."""
    report = Report()
    if not login.url.startswith(("http://", "https://")):
        report.checks.append(Check("REST API", FAIL, f"“{login.url}” is not a web address.",
                                   "enter the site's address with http:// or https://, e.g. https://example.com"))
        return report
    index, login = _api(login, report, http)
    if index is None:
        _skip(report, "Login", "Authorization header", "Permissions", "SEO fields", "Timezone", "WordPress version")
        return report
    with Client(login, http=http, policy=QUICK) as client:
        public_ok = _public_route(client)
        if _credentials(client, report, public_ok):
            _permissions(report)
            report.seo = seo.fields(client)
            report.checks.append(_seo_check(report.seo))
        else:
            _skip(report, "Permissions", "SEO fields")
        _timezone(index, report, our_timezone)
        _version(client, report)
    return report


def _api(login: Login, report: Report, http: httpx.Client | None) -> tuple[dict | None, Login]:
    errors = []
    for mode in ("pretty", "query"):
        candidate = Login(login.url, login.username, login.app_password, mode)
        with Client(candidate, http=http, policy=QUICK) as client:
            try:
                index = client.index()
            except WordPressError as exc:
                errors.append(str(exc))
                continue
        report.api_mode = mode
        if mode == "query":
            report.checks.append(Check("REST API", WARN, f"{login.base}/wp-json/ does not answer ({errors[0]}); "
                                       "the API answers at ?rest_route= and is used that way.",
                                       "turn on pretty permalinks (Settings → Permalinks → Post name) for /wp-json/"))
        else:
            report.checks.append(Check("REST API", OK, f"{candidate.endpoint('/')} answers: “{index.get('name')}”, "
                                       f"namespaces {', '.join(index.get('namespaces', [])[:6])}."))
        if "wp/v2" not in index.get("namespaces", []):
            report.checks.append(Check("Posts API", FAIL, "The REST API has no wp/v2 namespace.",
                                       "a plugin disables the core REST routes; allow wp/v2 for this user"))
            return None, candidate
        return index, candidate
    report.checks.append(Check("REST API", FAIL, f"No WordPress REST API at {login.base}: {errors[0]}",
                               "enter the site's home address (not /wp-admin or a page); make sure the site is up "
                               "and that no security plugin blocks /wp-json/"))
    return None, login


def _public_route(client: Client) -> bool:
    try:
        client.json("GET", "/wp/v2/posts", params={"per_page": 1}, auth=False)
        return True
    except WordPressError:
        return False


def _credentials(client: Client, report: Report, public_ok: bool) -> bool:
    if not client.login.username or not client.login.app_password:
        report.checks.append(Check("Login", FAIL, "No user name or Application Password is set.",
                                   "enter both on the site's WordPress connection"))
        _skip(report, "Authorization header")
        return False
    try:
        report.user = client.me()
    except WordPressError as exc:
        if exc.status == 401 and exc.code in LOGIN_FAILED:
            report.checks.append(Check("Login", FAIL, f"WordPress refused the login: {exc}", PASSWORD_FIX))
            report.checks.append(Check("Authorization header", OK, "The header reaches WordPress (it judged the "
                                       "password)."))
        elif exc.status == 401 and public_ok:
            report.checks.append(Check("Login", FAIL, f"WordPress answered as if no login had been sent: {exc}",
                                       f"if the password is right, {HEADER_FIX}; otherwise {PASSWORD_FIX}"))
            report.checks.append(Check("Authorization header", FAIL, "Public routes answer, but authenticated ones "
                                       "say “not logged in”: the Authorization header does not reach WordPress, or "
                                       "the login is wrong.", HEADER_FIX))
        else:
            report.checks.append(Check("Login", FAIL, str(exc), PASSWORD_FIX if exc.status in (401, 403) else
                                       "make sure the site is up and answers /wp-json/wp/v2/users/me"))
            _skip(report, "Authorization header")
        return False
    report.checks.append(Check("Login", OK, f"Logged in as “{report.user.get('name')}” "
                               f"({', '.join(report.user.get('roles') or []) or 'no role'})."))
    report.checks.append(Check("Authorization header", OK, "The header reaches WordPress."))
    return True


def _permissions(report: Report) -> None:
    caps = report.user.get("capabilities") or {}
    missing = [c for c in ("publish_posts", "upload_files", "edit_posts") if not caps.get(c)]
    if missing:
        report.checks.append(Check("Permissions", FAIL, f"The user may not {', '.join(missing)}.",
                                   "give this WordPress user the Author, Editor or Administrator role"))
        return
    extra = "" if caps.get("manage_categories") else " It may not create categories: new ones must exist first."
    report.checks.append(Check("Permissions", OK, "The user may publish posts and upload media." + extra))


def _timezone(index: dict, report: Report, our_timezone: str) -> None:
    report.timezone = str(index.get("timezone_string") or "")
    try:
        report.gmt_offset = float(index.get("gmt_offset") or 0)
    except (TypeError, ValueError):
        report.gmt_offset = None
    shown = report.timezone or (f"UTC{report.gmt_offset:+g}" if report.gmt_offset is not None else "unknown")
    if report.timezone and report.timezone != our_timezone:
        report.checks.append(Check("Timezone", WARN, f"WordPress uses {shown}; this site is set to {our_timezone} "
                                   "here. Slots are planned in our setting and posts are sent in UTC (date_gmt), so "
                                   "they go out at the right moment, but WordPress shows them in its own time.",
                                   f"set the site's timezone here to {report.timezone}, or WordPress's to "
                                   f"{our_timezone} (Settings → General)"))
    elif not report.timezone and _offset_of(our_timezone) != report.gmt_offset:
        report.checks.append(Check("Timezone", WARN, f"WordPress uses a fixed offset ({shown}); this site is set to "
                                   f"{our_timezone} here.", "choose a city timezone in WordPress (Settings → General)"
                                   " so daylight-saving changes are followed"))
    else:
        report.checks.append(Check("Timezone", OK, f"WordPress uses {shown}, like this site."))


def _offset_of(name: str) -> float | None:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(name)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return offset.total_seconds() / 3600 if offset is not None else None


def _version(client: Client, report: Report) -> None:
    try:
        page = client.http.get(client.login.base + "/", timeout=10)
        found = GENERATOR.search(page.text[:200_000])
    except httpx.HTTPError:
        found = None
    report.version = found.group(1) if found else ""
    report.checks.append(Check("WordPress version", OK if found else WARN,
                               f"WordPress {report.version}." if found else "The site does not say its version "
                               "(a plugin hides it); publishing does not need it."))


def _seo_check(found: dict) -> Check:
    """The doctor's line for the SEO fields."""
    posts = found.get("posts") or {}
    if posts:
        return Check("SEO fields", OK, f"{posts['plugin']}'s meta title and description are writable on posts.")
    return Check("SEO fields", WARN, "The site exposes no writable SEO title/description field (Yoast, Rank Math, "
                 "All in One SEO or SEOPress meta registered for the REST API): meta titles and descriptions stay "
                 "here and are not sent.", "install an SEO plugin that registers its meta for the REST API, or "
                 "register the fields with register_post_meta(…, show_in_rest: true)")


def _skip(report: Report, *names: str) -> None:
    for name in names:
        report.checks.append(Check(name, SKIP, "Not checked: an earlier step failed."))
