"""Secrets at rest: Fernet encryption of API keys and passwords, key rotation, and masking for display.

Stored form: ``enc:v2:<salt>:<token>``. The Fernet key is scrypt(secret, salt) (n=2**14, r=8, p=1), where the secret
is IGNY8_SECRET_KEY (a passphrase or a Fernet key, used as text) or, when that is unset, the key file generated once
in the data directory. The salt (16 random bytes, URL-safe base64) sits in the stored value itself, not in a file or
in the database: the app and several scheduler processes on several machines share one database but not a data
directory, and encrypt/decrypt are called without a session. Each process draws one salt and reuses it for what it
writes, and derived keys are cached by (secret, salt), so scrypt's cost is paid once per salt and process.

Rotation: IGNY8_PREVIOUS_SECRET_KEYS (comma-separated) lists older secrets; MultiFernet([current, *previous])
decrypts with any of them, and new values are written with the current one. `rotate` (the CLI's `rotate-secrets`)
re-encrypts every secret listed in SECRET_COLUMNS with the current key in the caller's transaction, all or nothing.

Values of the first format, ``enc:v1:<token>`` (key: the secret itself when it is a Fernet key, else
base64(sha256(passphrase))), still decrypt with any key of the ring; `rotate` rewrites them as v2.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import JSON, inspect, select
from sqlalchemy.orm import Session

from core import tenancy
from core.config import Settings, settings
from core.errors import ValidationFailed
from core.tenancy import Actor
from db.models import IntegrationProvider, SiteIntegration

PREFIX = "enc:"  # every stored secret starts with it, whatever its version
V1 = "enc:v1:"
V2 = "enc:v2:"
PREVIOUS_ENV = "IGNY8_PREVIOUS_SECRET_KEYS"
KEY_FILE = "secret.key"
SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES = 2**14, 8, 1, 16
UNDECRYPTABLE = ("A stored secret cannot be decrypted: IGNY8_SECRET_KEY has changed (put the old key in "
                 f"{PREVIOUS_ENV}) or the value is damaged; set the secret again.")

# Every column that holds vault values; a JSON column holds documents whose string values starting with PREFIX are
# secrets. rotate-secrets visits exactly these (a test checks that no secret-looking column is missing).
SECRET_COLUMNS: dict[type, tuple[str, ...]] = {
    IntegrationProvider: ("api_key", "api_secret", "webhook_secret"),
    SiteIntegration: ("credentials_json",),
}


# --- Keys -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyRing:
    """The current secret (encrypts) and the previous ones (still decrypt); each a passphrase or a Fernet key."""

    current: str = field(repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not self.current.strip():
            raise ValidationFailed("The secret key is empty: set IGNY8_SECRET_KEY to a passphrase or a Fernet key.")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Newest first, as MultiFernet wants them."""
        return (self.current, *self.previous)


def _key_file(data_dir: Path) -> str:
    """The generated key of a deployment without IGNY8_SECRET_KEY: made once (0600), complete or not at all."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret-key-")  # private to the owner
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
            os.link(tmp, path)  # atomic, and it fails when another process of this machine made it first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _ring(secret_key: str | None, data_dir: str, previous: tuple[str, ...]) -> KeyRing:
    folder = Path(data_dir)
    current = secret_key or _key_file(folder)
    old = list(previous)
    if secret_key and (folder / KEY_FILE).is_file():  # the generated key used before IGNY8_SECRET_KEY was set
        old.append((folder / KEY_FILE).read_text().strip())
    return KeyRing(current, tuple(dict.fromkeys(k for k in old if k and k != current)))


def keyring(s: Settings | None = None) -> KeyRing:
    """The process's keys: IGNY8_SECRET_KEY (else the data directory's key file) and IGNY8_PREVIOUS_SECRET_KEYS."""
    s = s or settings()
    return _ring(s.secret_key, str(s.data_dir), s.previous_secret_keys)


@lru_cache(maxsize=64)
def _v1_fernet(secret: str) -> Fernet:
    """The first format's key: a Fernet key as given, else one SHA-256 of the passphrase."""
    try:
        return Fernet(secret.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


@lru_cache(maxsize=256)
def _v2_fernet(secret: str, salt: bytes) -> Fernet:
    """scrypt is slow on purpose: cached, so it runs once per (secret, salt) and process."""
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


@lru_cache(maxsize=256)
def _v2_cipher(secrets: tuple[str, ...], salt: bytes) -> MultiFernet:
    return MultiFernet([_v2_fernet(s, salt) for s in secrets])


@lru_cache(maxsize=1)
def _write_salt() -> bytes:
    """This process's salt for what it encrypts (a fresh Fernet IV still makes every value differ)."""
    return os.urandom(SALT_BYTES)


# --- Encrypt, decrypt, mask -------------------------------------------------------------------------------------

def encrypt(plaintext: str, *, ring: KeyRing | None = None) -> str:
    """Ciphertext for storage, with the current key; the empty string stays empty (no secret set)."""
    if not plaintext:
        return ""
    ring = ring or keyring()
    salt = _write_salt()
    token = _v2_fernet(ring.current, salt).encrypt(plaintext.encode()).decode()  # what MultiFernet.encrypt does
    return f"{V2}{base64.urlsafe_b64encode(salt).decode().rstrip('=')}:{token}"


def _split_v2(stored: str) -> tuple[bytes, bytes]:
    salt, sep, token = stored[len(V2):].partition(":")
    try:
        raw = base64.urlsafe_b64decode(salt + "=" * (-len(salt) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed(UNDECRYPTABLE) from exc
    if not sep or len(raw) != SALT_BYTES:
        raise ValidationFailed(UNDECRYPTABLE)
    return raw, token.encode()


def decrypt(stored: str, *, ring: KeyRing | None = None) -> str:
    """Plaintext of a stored secret, with any key of the ring (only adapters that call out need this)."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ValidationFailed("A stored secret is not encrypted; set it again.")
    ring = ring or keyring()
    try:
        if stored.startswith(V2):
            salt, token = _split_v2(stored)
            return _v2_cipher(ring.secrets, salt).decrypt(token).decode()
        if stored.startswith(V1):
            return MultiFernet([_v1_fernet(s) for s in ring.secrets]).decrypt(stored[len(V1):].encode()).decode()
    except InvalidToken as exc:
        raise ValidationFailed(UNDECRYPTABLE) from exc
    raise ValidationFailed(UNDECRYPTABLE)


def is_current(stored: str, *, ring: KeyRing | None = None) -> bool:
    """Whether a stored secret is of the newest format and decrypts with the current key alone."""
    if not stored.startswith(V2):
        return False
    ring = ring or keyring()
    salt, token = _split_v2(stored)
    try:
        _v2_fernet(ring.current, salt).decrypt(token)
    except InvalidToken:
        return False
    return True


def reencrypt(stored: str, *, ring: KeyRing | None = None) -> str | None:
    """The secret encrypted anew with the current key, or None when it already is (or is empty)."""
    ring = ring or keyring()
    if not stored or is_current(stored, ring=ring):
        return None
    return encrypt(decrypt(stored, ring=ring), ring=ring)


def mask(plaintext: str) -> str:
    """What a screen may show of a secret: its last four characters at most."""
    if not plaintext:
        return ""
    tail = plaintext[-4:] if len(plaintext) >= 12 else ""
    return "••••••••" + tail


# --- Rotation ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RotationCount:
    """What rotation found in one table: stored secrets, and how many of them it rewrote."""

    table: str
    secrets: int
    rewritten: int


@dataclass
class _Pass:
    """One walk over the stored secrets: the counts, and where no key decrypts."""

    ring: KeyRing
    found: int = 0
    rewritten: int = 0
    failures: list[str] = field(default_factory=list)

    def secret(self, stored: str, where: str) -> str:
        """The value to store instead (itself when it is current or cannot be read)."""
        if not stored:
            return stored
        self.found += 1
        try:
            new = reencrypt(stored, ring=self.ring)
        except ValidationFailed as exc:
            self.failures.append(f"{where} ({'not encrypted' if 'not encrypted' in str(exc) else 'no key fits'})")
            return stored
        self.rewritten += new is not None
        return stored if new is None else new

    def document(self, doc: object, where: str) -> object:
        """A JSON document with its secrets (string values carrying PREFIX) rewritten; the rest kept as it is."""
        if isinstance(doc, dict):
            return {k: self.document(v, f"{where}.{k}") for k, v in doc.items()}
        if isinstance(doc, list):
            return [self.document(v, f"{where}[{i}]") for i, v in enumerate(doc)]
        return self.secret(doc, where) if isinstance(doc, str) and doc.startswith(PREFIX) else doc


Change = tuple[object, str, object]  # (row, attribute, new value)


def _rotate_model(session: Session, model: type, columns: tuple[str, ...], walk: _Pass) -> list[Change]:
    """The changes one table needs; its rows are locked (and reloaded) against concurrent edits."""
    mapper = inspect(model)
    stmt = select(model).order_by(*mapper.primary_key).with_for_update(of=model)
    changes: list[Change] = []
    for row in session.scalars(stmt.execution_options(populate_existing=True)):
        ident = ",".join(str(v) for v in mapper.primary_key_from_instance(row))
        for name in columns:
            old, where = getattr(row, name), f"{model.__tablename__} {ident} {name}"
            is_json = isinstance(mapper.attrs[name].columns[0].type, JSON)
            new = walk.document(old, where) if is_json else walk.secret(old or "", where)
            if new != old:
                changes.append((row, name, new))
    return changes


def rotate(session: Session, actor: Actor, *, ring: KeyRing | None = None,
           dry_run: bool = False) -> list[RotationCount]:
    """Re-encrypt every stored secret with the current key in the caller's transaction; all or nothing."""
    tenancy.require_developer(actor)
    ring = ring or keyring()
    counts: list[RotationCount] = []
    changes: list[Change] = []
    failures: list[str] = []
    for model, columns in SECRET_COLUMNS.items():
        walk = _Pass(ring)
        changes += _rotate_model(session, model, columns, walk)
        counts.append(RotationCount(model.__tablename__, walk.found, walk.rewritten))
        failures += walk.failures
    if failures:
        shown = "; ".join(failures[:20]) + (f"; and {len(failures) - 20} more" if len(failures) > 20 else "")
        raise ValidationFailed(
            f"{len(failures)} stored secret(s) cannot be decrypted with IGNY8_SECRET_KEY or {PREVIOUS_ENV}, so "
            f"nothing was re-encrypted: {shown}. Put the key they were written with in {PREVIOUS_ENV}, or set "
            "those secrets again.")
    if not dry_run:
        for row, name, new in changes:
            setattr(row, name, new)
        session.flush()
    return counts
