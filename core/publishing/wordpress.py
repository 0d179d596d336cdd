"""The WordPress adapter: the REST API of one site over HTTP (httpx), with the shared retry policy.

Everything the product does on WordPress goes through `Client`: discovery of the API root (`/wp-json/`, or
`?rest_route=` when pretty permalinks are off), Application Password logins (HTTP Basic), paged lists (all pages,
not just the first), media uploads, posts and terms. Timeouts, connection failures, 429 and 5xx are retried with
backoff; any other 4xx fails at once with WordPress's own message. Nothing here touches the database.
"""
from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from core.common import retry
from core.errors import DomainError

USER_AGENT = "IGNY8-Dashboard/1.0 (+WordPress REST)"
PER_PAGE = 100  # WordPress's maximum page size
MAX_PAGES = 1000  # 100,000 terms or authors: a guard against a server that never stops paging
DEFAULT_POLICY = retry.RetryPolicy(attempts=4, timeout_s=30.0, backoff_base_s=1.0, backoff_max_s=10.0)


class WordPressError(DomainError):
    """A WordPress call failed; the message says what WordPress said, or what went wrong on the way."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", kind: str = "http"):
        super().__init__(message)
        self.status, self.code, self.kind = status, code, kind


@dataclass(frozen=True)
class Login:
    """Where a site is and who we are there: the URL as given and an Application Password login."""

    url: str
    username: str
    app_password: str = field(repr=False)
    api_mode: str = "pretty"  # "pretty": {url}/wp-json/…; "query": {url}/?rest_route=/…

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def endpoint(self, route: str) -> str:
        """The full URL of a REST route such as /wp/v2/posts."""
        route = "/" + route.lstrip("/")
        if self.api_mode == "query":
            return f"{self.base}/?rest_route={quote(route, safe='/')}"
        return f"{self.base}/wp-json{route}"


def error_message(response: httpx.Response) -> tuple[str, str]:
    """WordPress's own (code, message) from an error response, or a short description of what came back."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body.get("code") or ""), html.unescape(str(body["message"]))
    return "", f"HTTP {response.status_code} with {_content_type(response)} instead of a WordPress REST answer"


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0] or "no content type"


_HTTP: httpx.Client | None = None
_HTTP_LOCK = threading.Lock()


def shared_http() -> httpx.Client:
    """The process's one HTTP client (connection pool, keep-alive), made on first use; httpx's client is safe to
    share between threads."""
    global _HTTP
    with _HTTP_LOCK:
        if _HTTP is None:
            _HTTP = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True,
                                 limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))
        return _HTTP


class Client:
    """One site's REST API. `http` is shared by the calls of one job; `sleep` is injectable for tests."""

    def __init__(self, login: Login, *, policy: retry.RetryPolicy = DEFAULT_POLICY, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] | None = None):
        self.login, self.policy, self.sleep = login, policy, sleep
        self.http = http or shared_http()
        self.calls = 0  # HTTP requests made, retries included

    def close(self) -> None:
        """Nothing to free: the HTTP client is the process's, kept alive for the next call."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request loop --------------------------------------------------------------------------------------
    def send(self, method: str, route: str, *, params: dict | None = None, json_body: Any = None,
             content: bytes | None = None, headers: dict | None = None, auth: bool = True,
             url: str | None = None) -> httpx.Response:
        """One REST call with retries; returns the successful response or raises WordPressError."""
        target = url or self.login.endpoint(route)
        if params:  # merged, not replacing: a ?rest_route=… endpoint keeps its route
            target = str(httpx.URL(target).copy_merge_params({k: str(v) for k, v in params.items()}))
        basic = (self.login.username, self.login.app_password) if auth else None

        def attempt() -> httpx.Response:
            self.calls += 1
            response = self.http.request(method, target, json=json_body, content=content,
                                         headers=headers, auth=basic, timeout=self.policy.timeout_s)
            if response.status_code >= 400:
                raise _HTTPFault(response)
            return response

        def give_up(fault: retry.Fault, attempts: int, elapsed: float, reason: retry.Reason) -> Exception:
            tries = f" (after {attempts} attempts over {elapsed:.0f} s)" if attempts > 1 else ""
            return WordPressError(f"{fault.detail}{tries}", status=fault.status, code=fault.kind,
                                  kind="http" if fault.status else "network")

        response, _ = retry.run(attempt, policy=self.policy, classify=_classify, give_up=give_up, sleep=self.sleep)
        return response

    def json(self, method: str, route: str, **kw: Any) -> Any:
        """A call whose answer must be JSON (an HTML page is a clear error, not a crash)."""
        response = self.send(method, route, **kw)
        return parse_json(response)

    # -- reads -----------------------------------------------------------------------------------------------------
    def index(self, *, auth: bool = False) -> dict:
        """The API index (site name, timezone, namespaces)."""
        body = self.json("GET", "/", auth=auth)
        if not isinstance(body, dict) or "namespaces" not in body:
            raise WordPressError("The address answered JSON, but not a WordPress REST API index.", kind="not_wp")
        return body

    def me(self) -> dict:
        """The logged-in user with roles and capabilities (context=edit)."""
        return self.json("GET", "/wp/v2/users/me", params={"context": "edit"})

    def pages(self, route: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Every page of a collection (per_page=100, following X-WP-TotalPages)."""
        page = 1
        while page <= MAX_PAGES:
            response = self.send("GET", route, params={**(params or {}), "per_page": PER_PAGE, "page": page})
            items = parse_json(response)
            if not isinstance(items, list):
                raise WordPressError(f"{route} did not answer a list.", kind="not_wp")
            yield items
            total = int(response.headers.get("x-wp-totalpages") or 1)
            if page >= total or not items:
                return
            page += 1

    def all(self, route: str, params: dict | None = None) -> list[dict]:
        return [item for chunk in self.pages(route, params) for item in chunk]

    # -- writes ----------------------------------------------------------------------------------------------------
    def upload_media(self, data: bytes, *, filename: str, mime: str, alt_text: str = "", caption: str = "",
                     title: str = "") -> dict:
        """Upload one file to the media library with its alt text, caption and title."""
        safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in filename) or "image"
        disposition = f'attachment; filename="{safe}"'  # WordPress 6.1 refuses the RFC 5987 filename*= form
        fields = {k: v for k, v in (("alt_text", alt_text), ("caption", caption), ("title", title)) if v}
        # one request: WordPress reads the fields from the query string of the upload itself
        return self.json("POST", "/wp/v2/media", content=data, params=fields or None,
                         headers={"Content-Type": mime, "Content-Disposition": disposition})

    def find_by_slug(self, kind: str, slug: str) -> dict | None:
        """A post (or page) with this slug in any status, trash included (context=edit)."""
        try:
            found = self.json("GET", f"/wp/v2/{kind}", params={
                "slug": slug, "status": "publish,future,draft,pending,private,trash", "context": "edit",
                "per_page": 10})
        except WordPressError as exc:
            if exc.status in (400, 401, 403) and exc.code in ("rest_invalid_param", "rest_forbidden_context"):
                # only a logged-in editor may list drafts and trash: WordPress did not take our login
                raise WordPressError(f"WordPress did not accept the login (a wrong or revoked Application Password, "
                                     f"or a stripped Authorization header; run the connection doctor): {exc}",
                                     status=401, code="not_logged_in") from exc
            raise
        return found[0] if isinstance(found, list) and found else None


class _HTTPFault(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(response.status_code)
        self.response = response


def parse_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        raise WordPressError(f"{response.request.url} answered {_content_type(response)} (HTTP {response.status_code}), not JSON: it "
                             "is not a WordPress REST API (a login page, a security plugin or a wrong address?).",
                             status=response.status_code, kind="not_json") from None


def _classify(exc: Exception) -> retry.Fault:
    if isinstance(exc, _HTTPFault):
        r = exc.response
        code, message = error_message(r)
        detail = f"WordPress answered {r.status_code}: {message}" + (f" ({code})" if code else "")
        return retry.Fault(retryable=retry.is_retryable_status(r.status_code),
                           retry_after=retry.retry_after_seconds(r.headers), kind=code, status=r.status_code,
                           detail=detail)
    if isinstance(exc, httpx.TimeoutException):
        return retry.Fault(kind="timeout", detail=f"WordPress did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return retry.Fault(kind="network", detail=f"Could not reach WordPress: {exc or type(exc).__name__}")
    raise exc


def timed() -> Callable[[], int]:
    """A stopwatch: call the result for the milliseconds since it started."""
    started = time.monotonic()
    return lambda: int((time.monotonic() - started) * 1000)
