"""Configuration, loaded once from the environment and shared by the app, the scheduler and the CLI."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    secret_key: str | None  # a Fernet key or passphrase for secrets at rest; generated into data_dir when unset
    session_ttl_minutes: int
    session_idle_minutes: int
    lockout_threshold: int
    lockout_base_seconds: int
    lockout_max_seconds: int
    owner_email: str | None
    owner_password: str | None
    scheduler_interval_seconds: int
    import_max_mb: int  # keyword files larger than this are refused before reading
    publish_poll_seconds: int = 5  # how often the scheduler looks for newly scheduled articles
    publish_lease_seconds: int = 600  # how long a scheduler holds an article it publishes before another may take over
    automation_poll_seconds: int = 5  # how often a scheduler looks for due and pending automation runs
    automation_lease_seconds: int = 120  # a run's lease, renewed every few seconds by the scheduler working it
    scheduler_stale_seconds: int = 180  # the scheduler status screen warns when no scheduler beat for this long
    previous_secret_keys: tuple[str, ...] = ()  # older secret keys that still decrypt (rotate-secrets)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"Environment variable {name} must be a whole number, not {raw!r}.") from exc


def load() -> Settings:
    """Read the environment (no caching: tests call it after changing variables)."""
    data_dir = Path(os.environ.get("IGNY8_DATA_DIR", ROOT / ".data"))
    default_url = f"sqlite:///{data_dir / 'igny8.sqlite3'}"
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or default_url,
        data_dir=data_dir,
        secret_key=os.environ.get("IGNY8_SECRET_KEY") or None,
        previous_secret_keys=tuple(k.strip() for k in os.environ.get("IGNY8_PREVIOUS_SECRET_KEYS", "").split(",")
                                   if k.strip()),
        session_ttl_minutes=_int("IGNY8_SESSION_TTL_MINUTES", 12 * 60),
        session_idle_minutes=_int("IGNY8_SESSION_IDLE_MINUTES", 60),
        lockout_threshold=_int("IGNY8_LOCKOUT_THRESHOLD", 3),
        lockout_base_seconds=_int("IGNY8_LOCKOUT_BASE_SECONDS", 30),
        lockout_max_seconds=_int("IGNY8_LOCKOUT_MAX_SECONDS", 15 * 60),
        owner_email=os.environ.get("IGNY8_OWNER_EMAIL") or None,
        owner_password=os.environ.get("IGNY8_OWNER_PASSWORD") or None,
        scheduler_interval_seconds=_int("IGNY8_SCHEDULER_INTERVAL_SECONDS", 60),
        import_max_mb=_int("IGNY8_IMPORT_MAX_MB", 200),
        publish_lease_seconds=_int("IGNY8_PUBLISH_LEASE_SECONDS", 600),
        publish_poll_seconds=_int("IGNY8_PUBLISH_POLL_SECONDS", 5),
        automation_poll_seconds=_int("IGNY8_AUTOMATION_POLL_SECONDS", 5),
        automation_lease_seconds=_int("IGNY8_AUTOMATION_LEASE_SECONDS", 120),
        scheduler_stale_seconds=_int("IGNY8_SCHEDULER_STALE_SECONDS", 180),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings, read once."""
    return load()
