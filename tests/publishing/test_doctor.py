"""The connection doctor against the real loopback WordPress, directly and through a fault proxy: each failure is
named with its fix, and the verdict is kept on the site's integration."""
from __future__ import annotations

import socket

import pytest

from core.errors import AccessDenied
from core.publishing import connection, doctor, events
from core.publishing.wordpress import Login
from db.enums import Role
from db.models import Account
from tests import factories as f
from tests.publishing.conftest import make_world


def checks(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_good_connection_passes_every_step_and_is_kept_on_the_integration(rt, wp):
    w = make_world(rt, wp)
    report = connection.check(rt, w.actor, site_id=w.site_id)
    got = checks(report)
    assert [got[n].status for n in ("REST API", "Login", "Authorization header", "Permissions")] == ["ok"] * 4
    assert got["WordPress version"].detail.startswith("WordPress 6.")
    assert got["SEO fields"].status == "warning"  # no SEO plugin on the loopback site
    assert report.status == "warning" and report.error == ""
    assert report.user["roles"] == ["administrator"]
    with rt.transaction() as s:
        shown = connection.wordpress_login(s, w.actor, site_id=w.site_id)
        assert shown.status == "warning" and shown.checked_at is not None
        assert [c.name for c in shown.checks] == [c.name for c in report.checks]
        log = events.list_events(s, w.actor, site_id=w.site_id, filters=events.Filter(action="doctor"))
        assert len(log.rows) == 1 and log.rows[0].success


def test_timezone_differences_are_named(wp):
    report = doctor.diagnose(Login(wp.url, wp.user, wp.password), our_timezone="Europe/Berlin")
    tz = checks(report)["Timezone"]
    assert tz.status == "warning" and "Europe/Berlin" in tz.detail


def test_an_html_page_instead_of_json(wp, proxy):
    proxy.html_instead = True
    report = doctor.diagnose(Login(proxy.url, wp.user, wp.password))
    api = checks(report)["REST API"]
    assert api.status == "failed" and "text/html" in api.detail and "not JSON" in api.detail
    assert "home address" in api.fix
    assert checks(report)["Login"].status == "skipped" and report.status == "error"


def test_nothing_listening_and_not_a_web_address(wp):
    report = doctor.diagnose(Login(f"http://127.0.0.1:{free_port()}", wp.user, wp.password))
    assert checks(report)["REST API"].status == "failed"
    assert "Could not reach WordPress" in checks(report)["REST API"].detail
    report = doctor.diagnose(Login("wp.example.com", wp.user, wp.password))
    assert "not a web address" in checks(report)["REST API"].detail


def test_pretty_permalinks_off_falls_back_to_rest_route(wp, proxy):
    proxy.missing = [r" /wp-json/"]
    report = doctor.diagnose(Login(proxy.url, wp.user, wp.password))
    api = checks(report)["REST API"]
    assert report.api_mode == "query" and api.status == "warning" and "rest_route" in api.detail
    assert checks(report)["Login"].status == "ok"
    assert any("rest_route=" in line for line in proxy.seen)


def test_a_stripped_authorization_header_is_told_apart(wp, proxy):
    proxy.strip_auth = True
    report = doctor.diagnose(Login(proxy.url, wp.user, wp.password))
    header = checks(report)["Authorization header"]
    assert header.status == "failed" and "HTTP_AUTHORIZATION" in header.fix
    assert "Public routes answer" in header.detail
    assert checks(report)["Permissions"].status == "skipped"


def test_wrong_and_revoked_passwords(wp, admin):
    report = doctor.diagnose(Login(wp.url, wp.user, "abcd efgh ijkl mnop qrst uvwx"))
    login = checks(report)["Login"]
    assert login.status == "failed" and "Application Password" in login.fix
    password, app_uuid = admin.new_app_password()
    assert checks(doctor.diagnose(Login(wp.url, wp.user, password)))["Login"].status == "ok"
    admin.revoke(app_uuid)
    assert checks(doctor.diagnose(Login(wp.url, wp.user, password)))["Login"].status == "failed"


def test_a_user_who_may_not_publish(wp, admin):
    name, password = admin.user("contributor")
    report = doctor.diagnose(Login(wp.url, name, password))
    perms = checks(report)["Permissions"]
    assert perms.status == "failed" and "publish_posts" in perms.detail and "Author" in perms.fix
    assert report.status == "error"


def test_viewers_cannot_run_it_and_a_changed_login_needs_a_new_check(rt, wp):
    w = make_world(rt, wp)
    connection.check(rt, w.actor, site_id=w.site_id)
    with rt.transaction() as s:
        viewer = f.actor(s, f.user(s, s.get(Account, w.acct_id), role=Role.viewer))
    with pytest.raises(AccessDenied):
        connection.check(rt, viewer, site_id=w.site_id)
    with rt.transaction() as s:
        connection.set_wordpress(s, w.actor, site_id=w.site_id, app_password="new one")
        assert connection.wordpress_login(s, w.actor, site_id=w.site_id).status == "unknown"
