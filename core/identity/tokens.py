"""Signed session tokens: what the login cookie carries so that a reload or a new tab keeps the login.

A token is ``v1.<payload>.<signature>``: the payload is URL-safe base64 of compact JSON (user id, session version,
issued, last seen and expiry, whole UTC seconds), the signature HMAC-SHA256 of ``v1.<payload>`` with a key derived
from the app secret (IGNY8_SECRET_KEY, else the data directory's key file: `core.common.vault.keyring`). Every
character is URL-safe base64 or a dot, so it is a valid cookie value as it is.

A token is only a claim: `read` proves it was made here and has not expired, and gives back a `SessionTicket`;
`auth.resume` then checks it against the server side on every run (session version, user active, account open,
lifetime and idle limits). A new secret key refuses every older token (everyone logs in again).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from core.common import vault
from core.config import settings
from core.errors import AuthenticationFailed
from core.identity.auth import SessionTicket
from db.base import utcnow

VERSION = "v1"
MAX_LENGTH = 512  # a real token is about 150 characters; anything longer is refused before decoding
_PURPOSE = b"igny8 session token v1"  # the signing key is for this use only, never the vault's cipher key
INVALID = "Your saved login is not valid. Please log in again."
EXPIRED = "Your session has expired. Please log in again."
_FIELDS = ("u", "v", "iat", "seen", "exp")


@lru_cache(maxsize=8)
def _derive(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def signing_key(ring: vault.KeyRing | None = None) -> bytes:
    """The HMAC key of session tokens, derived from the current app secret."""
    return _derive((ring or vault.keyring()).current)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def expires_at(ticket: SessionTicket) -> datetime:
    """When a session ends at the latest (its lifetime from login), idle or not."""
    return ticket.issued_at + timedelta(minutes=settings().session_ttl_minutes)


def sign(ticket: SessionTicket, *, key: bytes | None = None) -> str:
    """The token of a session ticket (its expiry is the session lifetime from login)."""
    claims = {"u": ticket.user_id, "v": ticket.session_version, "iat": _seconds(ticket.issued_at),
              "seen": _seconds(ticket.last_seen_at), "exp": _seconds(expires_at(ticket))}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_mac(key or signing_key(), signed)}"


def _claims(token: str, key: bytes) -> dict[str, int]:
    """The verified claims of a token; anything not made with this key, or malformed, raises."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or token.count(".") != 2:
        raise AuthenticationFailed(INVALID)
    version, payload, signature = token.split(".")
    if version != VERSION or not hmac.compare_digest(_mac(key, f"{version}.{payload}"), signature):
        raise AuthenticationFailed(INVALID)
    try:
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise AuthenticationFailed(INVALID) from exc
    if (not isinstance(claims, dict) or set(claims) != set(_FIELDS)
            or not all(type(claims[name]) is int and claims[name] >= 0 for name in _FIELDS)):
        raise AuthenticationFailed(INVALID)
    return claims


def read(token: str, *, now: datetime | None = None, key: bytes | None = None) -> SessionTicket:
    """The session ticket a token carries; tampered, foreign, malformed or expired tokens raise."""
    claims = _claims(token, key or signing_key())
    if claims["exp"] <= _seconds(now or utcnow()):
        raise AuthenticationFailed(EXPIRED)
    try:
        issued, seen = (datetime.fromtimestamp(claims[name], UTC) for name in ("iat", "seen"))
    except (OverflowError, OSError, ValueError) as exc:  # only a token signed with a leaked key gets here
        raise AuthenticationFailed(INVALID) from exc
    return SessionTicket(claims["u"], claims["v"], issued, seen)
