"""Fetching an image link within bounds, against the loopback server's /files/ route."""
from __future__ import annotations

import re

import pytest

from core.ai import download
from tests.fakes.openai_server import PNG_1X1, FakeAI, File


@pytest.fixture
def server(fake: FakeAI) -> FakeAI:
    fake.reset()
    return fake


def test_an_image_is_fetched(server):
    server.files["pic.webp"] = File(data=b"RIFF\x00\x00\x00\x00WEBPVP8 ", content_type="image/webp; charset=binary")
    assert download.fetch_image(server.file_url("pic.webp"), timeout_s=2) == b"RIFF\x00\x00\x00\x00WEBPVP8 "
    assert download.fetch_image(server.file_url("any.png"), timeout_s=2) == PNG_1X1


@pytest.mark.parametrize(("file", "reason"), [
    (File(status=404, data=b"", content_type="text/plain"), "HTTP 404"),
    (File(data=b"<html>login</html>", content_type="text/html"), "the answer is text/html, not a PNG, JPEG"),
    (File(data=b"<svg/>", content_type="image/svg+xml"), "the answer is image/svg+xml, not a PNG"),
    (File(data=b""), "the file is empty"),
    (File(data=b"x" * (2 * 1024 * 1024 + 1)), "the file is larger than 2 MB"),
])
def test_what_is_not_a_bounded_image_is_refused(server, file, reason):
    server.files["bad"] = file
    with pytest.raises(download.DownloadFailed, match=re.escape(reason)):
        download.fetch_image(server.file_url("bad"), timeout_s=2, max_bytes=2 * 1024 * 1024)


def test_only_http_links_few_redirects_and_no_endless_waits(server):
    for url in ("file:///etc/passwd", "ftp://example.test/a.png", "data:image/png;base64,AAAA"):
        with pytest.raises(download.DownloadFailed, match="not an http"):
            download.fetch_image(url, timeout_s=1)
    server.files["moved.png"] = File(status=302, data=b"", headers={"Location": server.file_url("real.png")})
    assert download.fetch_image(server.file_url("moved.png"), timeout_s=2) == PNG_1X1
    server.files["to-disk.png"] = File(status=302, data=b"", headers={"Location": "file:///etc/passwd"})
    with pytest.raises(download.DownloadFailed, match="unsupported protocol"):
        download.fetch_image(server.file_url("to-disk.png"), timeout_s=2)
    server.files["loop.png"] = File(status=302, data=b"", headers={"Location": server.file_url("loop.png")})
    with pytest.raises(download.DownloadFailed, match="more than 3 redirects"):
        download.fetch_image(server.file_url("loop.png"), timeout_s=2)
    server.files["slow.png"] = File(delay=1.0)
    with pytest.raises(download.DownloadFailed, match="no complete answer within 0.3 s"):
        download.fetch_image(server.file_url("slow.png"), timeout_s=0.3)
