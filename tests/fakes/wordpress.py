"""The real loopback WordPress of the publishing tests (../shared/tools/wordpress-up.sh, started by dev.py test and
.ci/run), an admin client to arrange cases on it, and a fault proxy in front of it.

The proxy is a real HTTP server on loopback forwarding to WordPress; a test sets what it does to the next requests:
strip the Authorization header, answer an HTML page, answer 500, hang, drop the connection, or hold a response until
the test lets it go (so a publisher can be killed after WordPress made the post but before it heard back).
"""
from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

REQUIRED = os.environ.get("IGNY8_REQUIRE_WORDPRESS") == "1"
STATUSES = "publish,future,draft,pending,private,trash"


@dataclass(frozen=True)
class WP:
    url: str
    user: str
    password: str


def wordpress() -> WP:
    """The loopback WordPress from WP_URL / WP_USER / WP_APP_PASSWORD; skips (fails under CI) when not set."""
    url, user, password = (os.environ.get(k, "") for k in ("WP_URL", "WP_USER", "WP_APP_PASSWORD"))
    if not (url and user and password):
        why = "WP_URL, WP_USER and WP_APP_PASSWORD are not set (python3 dev.py test starts the loopback WordPress)"
        if REQUIRED:
            pytest.fail(f"WordPress is required (IGNY8_REQUIRE_WORDPRESS=1): {why}")
        pytest.skip(why)
    return WP(url.rstrip("/"), user, password)


SEO_PLUGIN = """<?php
/* Written by the IGNY8 tests: Yoast-style SEO fields on pages, writable through the REST API (posts have none). */
add_action('init', function () {
    foreach (array('_yoast_wpseo_title', '_yoast_wpseo_metadesc') as $key) {
        register_post_meta('page', $key, array('show_in_rest' => true, 'single' => true, 'type' => 'string',
            'auth_callback' => function () { return current_user_can('edit_pages'); }));
    }
});
"""


def install_seo_fields(wp: WP) -> None:
    """Give the loopback WordPress Yoast-style SEO fields on pages (a must-use plugin in its state folder)."""
    port = wp.url.rsplit(":", 1)[-1]
    plugins = os.path.join(os.environ.get("WP_STATE_DIR") or f"/tmp/wp-loopback-{port}", "wp-content", "mu-plugins")
    if not os.path.isdir(plugins):
        why = f"the loopback WordPress's must-use plugin folder {plugins} is not here"
        if REQUIRED:
            pytest.fail(why)
        pytest.skip(why)
    path = os.path.join(plugins, "igny8-test-seo-fields.php")
    if not os.path.exists(path):
        with open(path + ".tmp", "w") as out:
            out.write(SEO_PLUGIN)
        os.replace(path + ".tmp", path)  # whole, at once: parallel workers may read it any moment


class Admin:
    """The site's administrator, to arrange and inspect cases through the REST API."""

    def __init__(self, wp: WP):
        self.wp = wp
        self.http = httpx.Client(base_url=wp.url + "/wp-json", auth=(wp.user, wp.password), timeout=60)

    def call(self, method: str, path: str, **kw) -> httpx.Response:
        r = self.http.request(method, path, **kw)
        assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r

    def user(self, role: str) -> tuple[str, str]:
        """A new WordPress user with this role and an Application Password: (login, password)."""
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        made = self.call("POST", "/wp/v2/users", json={"username": name, "email": f"{name}@example.com",
                                                       "password": uuid.uuid4().hex, "roles": [role]}).json()
        app = self.call("POST", f"/wp/v2/users/{made['id']}/application-passwords",
                        json={"name": f"igny8-{uuid.uuid4().hex[:6]}"}).json()
        return name, app["password"]

    def new_app_password(self) -> tuple[str, str]:
        """Another Application Password of the admin: (password, uuid) — to revoke later."""
        app = self.call("POST", "/wp/v2/users/me/application-passwords",
                        json={"name": f"igny8-{uuid.uuid4().hex[:6]}"}).json()
        return app["password"], app["uuid"]

    def revoke(self, app_uuid: str) -> None:
        self.call("DELETE", f"/wp/v2/users/me/application-passwords/{app_uuid}")

    def posts(self, marker: str, kind: str = "posts") -> list[dict]:
        """Every post (any status, trash included) whose title and slug carry `marker`."""
        found, page = [], 1
        while True:
            r = self.call("GET", f"/wp/v2/{kind}", params={"search": marker, "status": STATUSES, "context": "edit",
                                                          "per_page": 100, "page": page})
            found += [p for p in r.json() if marker in p["slug"]]
            if page >= int(r.headers.get("x-wp-totalpages") or 1):
                return found
            page += 1

    def post(self, post_id: int, kind: str = "posts") -> dict:
        return self.call("GET", f"/wp/v2/{kind}/{post_id}", params={"context": "edit"}).json()

    def media(self, media_id: int) -> dict:
        return self.call("GET", f"/wp/v2/media/{media_id}", params={"context": "edit"}).json()

    def term(self, taxonomy: str, name: str) -> dict:
        return self.call("POST", f"/wp/v2/{taxonomy}", json={"name": name}).json()


@dataclass
class Proxy:
    """A loopback HTTP server forwarding to WordPress, with faults on demand (see the module docstring)."""

    target: str
    strip_auth: bool = False
    html_instead: bool = False
    fail: dict = field(default_factory=dict)  # regex of "METHOD path" → number of 500s still to give
    missing: list = field(default_factory=list)  # regexes answered 404 with an HTML page (pretty permalinks off)
    hang: dict = field(default_factory=dict)  # regex → seconds to wait before forwarding
    hold: dict = field(default_factory=dict)  # regex → threading.Event: forward, then wait for it before answering
    seen: list = field(default_factory=list)  # "METHOD path?query" of every request
    on_held: Callable[[str], None] | None = None  # told when a held request has been forwarded
    down: bool = False

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=120)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def _match(self, table: dict, line: str):
        return next((key for key in table if re.search(key, line)), None)


def _handler(proxy: Proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _any(self) -> None:
            line = f"{self.command} {self.path}"
            proxy.seen.append(line)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if proxy.down:
                self.close_connection = True
                self.connection.close()
                return
            if proxy.html_instead:
                return self._send(200, {"Content-Type": "text/html"}, b"<html><body>Log in</body></html>")
            if any(re.search(rx, line) for rx in proxy.missing):
                return self._send(404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>")
            key = proxy._match(proxy.fail, line)
            if key and proxy.fail[key] > 0:
                proxy.fail[key] -= 1
                return self._send(500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>")
            key = proxy._match(proxy.hang, line)
            if key:
                threading.Event().wait(proxy.hang[key])
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length",
                                                                                   "connection"}}
            if proxy.strip_auth:
                headers.pop("Authorization", None)
                headers.pop("authorization", None)
            r = proxy.http.request(self.command, proxy.target + self.path, content=body, headers=headers)
            key = proxy._match(proxy.hold, line)
            if key:
                if proxy.on_held:
                    proxy.on_held(line)
                proxy.hold[key].wait()
            out = {k: v for k, v in r.headers.items() if k.lower() not in {"content-length", "transfer-encoding",
                                                                            "connection", "content-encoding"}}
            self._send(r.status_code, out, r.content)

        def _send(self, status: int, headers: dict, body: bytes) -> None:
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client went away (a killed publisher)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _any

    return Handler
