"""Fetching a generated image that a provider answered with as a link. Links expire (OpenAI's after an hour), so
the bytes are fetched at once, within bounds: http(s) only, a few redirects, a size cap, a total time limit, and
raster image types only. The request never carries our API key: the link's host is not the provider's API."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
MAX_BYTES = 25 * 1024 * 1024  # a 4096x4096 PNG is well under this
MAX_REDIRECTS = 3


class DownloadFailed(Exception):
    """An image link that could not be fetched; the message says why, for a person."""


def host_of(url: str) -> str:
    """The host of a link, for messages (a signed link's query string is a secret of sorts)."""
    return urlsplit(url).hostname or "an unknown host"


def _read(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadFailed(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise DownloadFailed(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
        if time.monotonic() > deadline:  # httpx's timeout is per read: a trickling server would never end
            raise httpx.ReadTimeout("total time limit")
        chunks.append(chunk)
    if not size:
        raise DownloadFailed("the file is empty")
    return b"".join(chunks)


def fetch_image(url: str, *, timeout_s: float, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes behind an image link, or DownloadFailed."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise DownloadFailed("the link is not an http(s) URL")
    deadline = time.monotonic() + timeout_s
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=True, max_redirects=MAX_REDIRECTS) as http, \
                http.stream("GET", url, headers={"Accept": ", ".join(sorted(IMAGE_TYPES))}) as response:
            if response.status_code != 200:
                raise DownloadFailed(f"HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if kind not in IMAGE_TYPES:
                raise DownloadFailed(f"the answer is {kind or 'untyped'}, not a PNG, JPEG, WebP or GIF image")
            return _read(response, max_bytes, deadline)
    except httpx.TimeoutException as exc:
        raise DownloadFailed(f"no complete answer within {timeout_s:g} s") from exc
    except httpx.TooManyRedirects as exc:
        raise DownloadFailed(f"more than {MAX_REDIRECTS} redirects") from exc
    except httpx.HTTPError as exc:
        raise DownloadFailed(" ".join(str(exc).split())[:200] or type(exc).__name__) from exc
