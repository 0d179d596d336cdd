"""Small text helpers shared by services: slugs, names, e-mail addresses."""
from __future__ import annotations

import re
import unicodedata

from core.errors import ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(value: str) -> str:
    """ASCII, lowercase, hyphen-separated; empty when nothing usable remains."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:200]


def clean_name(value: str | None, what: str, *, max_len: int = 255) -> str:
    """A required, trimmed, single-line name of bounded length."""
    name = " ".join((value or "").split())
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
