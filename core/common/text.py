"""Small text helpers shared by services: slugs, names, e-mail addresses, choices, and the NUL guard."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Engine, event

from core.errors import ValidationFailed

E = TypeVar("E", bound=StrEnum)
NUL_MESSAGE = "Text cannot contain the NUL character (\\0): remove it and try again."

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(value: str) -> str:
    """ASCII, lowercase, hyphen-separated; empty when nothing usable remains."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:200]


def clean_name(value: str | None, what: str, *, max_len: int = 255) -> str:
    """A required, trimmed, single-line name of bounded length."""
    name = " ".join((value or "").split())
    if "\0" in name:
        raise ValidationFailed(f"{what} cannot contain the NUL character (\\0).")
    if not name:
        raise ValidationFailed(f"{what} is required.")
    if len(name) > max_len:
        raise ValidationFailed(f"{what} is too long ({len(name)} characters; at most {max_len}).")
    return name


def clean_slug(value: str | None, fallback: str, what: str) -> str:
    """The slug given, or one made from the name; refused when nothing usable remains."""
    slug = slugify(value or "") or slugify(fallback)
    if not slug:
        raise ValidationFailed(f"{what} needs letters or digits to make a slug from.")
    return slug


def clean_email(value: str | None) -> str:
    """A trimmed, lowercased address that looks like one."""
    email = (value or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationFailed(f"“{value}” is not a valid e-mail address.")
    return email


def one_of(choices: type[E], value: object, what: str) -> E:
    """`value` as a member of the StrEnum `choices`; an unknown value is refused with the valid ones named."""
    try:
        return choices(str(value))
    except ValueError as exc:
        valid = ", ".join(c.value for c in choices)
        raise ValidationFailed(f"{what} must be one of {valid}, not “{value}”.") from exc


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return any(_holds_nul(v) for v in value)
    return False


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_nul(conn, cursor, statement, parameters, context, executemany) -> None:
    """PostgreSQL text cannot hold NUL (psycopg raises a raw DataError); SQLite would store it silently. Every
    statement of every engine is checked here, before it reaches the database, so a search or a name with a NUL in
    it gets one clear message on both backends and the transaction stays usable."""
    if _holds_nul(parameters):
        raise ValidationFailed(NUL_MESSAGE)
