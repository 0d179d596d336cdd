"""Secrets at rest: Fernet encryption of API keys and passwords, and masking for display."""
from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.config import settings
from core.errors import ValidationFailed

PREFIX = "enc:v1:"


def _derive(raw: str) -> bytes:
    try:
        Fernet(raw.encode())
        return raw.encode()
    except ValueError:  # any passphrase works: derive a key from it
        return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


@lru_cache(maxsize=4)
def _fernet(secret_key: str | None, data_dir: str) -> Fernet:
    return Fernet(_derive(secret_key) if secret_key else _key_file(Path(data_dir)))


def fernet() -> Fernet:
    """The process's cipher: IGNY8_SECRET_KEY, else a key file generated once in the data directory."""
    s = settings()
    return _fernet(s.secret_key, str(s.data_dir))


def encrypt(plaintext: str) -> str:
    """Ciphertext for storage; the empty string stays empty (no secret set)."""
    if not plaintext:
        return ""
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    """Plaintext of a stored secret (only adapters that call out need this)."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValidationFailed("A stored secret is not encrypted; set it again.")
    try:
        return fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ValidationFailed("A stored secret cannot be decrypted: IGNY8_SECRET_KEY has changed.") from exc


def mask(plaintext: str) -> str:
    """What a screen may show of a secret: its last four characters at most."""
    if not plaintext:
        return ""
    tail = plaintext[-4:] if len(plaintext) >= 12 else ""
    return "••••••••" + tail
