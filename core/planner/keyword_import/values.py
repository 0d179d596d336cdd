"""Cell values of keyword-tool exports: counts, ranges, percentages, money, intents — the rules, in one place.

Rules (also in the README of the import):
- Empty cells and the placeholders "n/a", "na", "-", "--", "—", "null", "none" mean "no value".
- Grouping: spaces (also no-break and narrow spaces) and apostrophes are always thousands separators.
  A comma or a dot is a thousands separator when it repeats ("1,234,567", "1.234.567") or, once, when exactly
  three digits follow it and what precedes it is not "0" ("1,300" and, in a count, "1.300" are 1300). Where both
  a comma and a dot occur, the last of them is the decimal point ("1.234,56", "1,234.56"). In money (CPC) a
  single dot is always the decimal point ("1.300" is 1.30), a single comma is one unless three digits follow.
- Suffixes K, M, B multiply ("1.5K" = 1500; here the dot is always a decimal point).
- Ranges "1K – 10K", "100-1,000", "1K to 10K" (Google Keyword Planner, Moz) store their LOWER bound as the volume
  (conservative, keeps the order of the buckets); "<10" stores 0 and ">1M" stores 1,000,000. The range text is
  kept in the keyword's attributes as `volume_range`, so nothing is lost.
- Difficulty is 0–100; "45%" and "45.6" are accepted (rounded half up to a whole number).
- Intents: several per cell, separated by , ; | or /, lower-cased; Semrush's codes (0–3) and letters (I, N, C, T)
  are spelled out. Ahrefs' "Intents" cell also holds two yes/no flags, "Branded"/"Non-branded" and
  "Local"/"Non-local": they are not search intents, so they leave the intent and become the keyword's attributes
  `branded` and `local` (true/false), which the keyword list filters on.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import ValidationFailed

NULLS = frozenset({"", "n/a", "na", "-", "--", "—", "–", "null", "none", "nan", "#n/a"})
MAX_VOLUME = 2_000_000_000
MAX_CPC = Decimal("99999999.99")
MAX_INTENT = 100
_GROUPING = str.maketrans("", "", " \u00a0\u202f\u2009'’")
_SUFFIX = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_NUMBER = re.compile(r"(\d[\d.,]*)\s*([kmb]?)\+?", re.IGNORECASE)
_RANGE = re.compile(r"(.+?)\s*(?:[–—-]|\bto\b)\s*(.+)", re.IGNORECASE)
_MONEY_JUNK = re.compile(r"[^\d.,]")
_SIMPLE_CPC = re.compile(r"\d{1,8}(?:\.\d{1,2})?")
INTENT_CODES = {"0": "commercial", "1": "informational", "2": "navigational", "3": "transactional",
                "i": "informational", "n": "navigational", "c": "commercial", "t": "transactional"}
_INTENT_SPLIT = re.compile(r"\s*[,;|/]\s*")
SEARCH_INTENTS = ("informational", "navigational", "commercial", "transactional")
FLAG_NAMES = ("branded", "local")  # yes/no attributes of a keyword that tools list among its intents
_FLAG_FOLD = re.compile(r"[\s_-]+")


class BadValue(ValueError):
    """A cell that cannot be read as its field; the message names the value and why."""


def _decimal_text(digits: str, *, count: bool) -> str:
    """Digits with separators → plain "1234.5" text, by the grouping rules of the module docstring."""
    s = digits.translate(_GROUPING)
    has_comma, has_dot = "," in s, "." in s
    if has_comma and has_dot:
        point = "," if s.rfind(",") > s.rfind(".") else "."
        group = "." if point == "," else ","
        whole, _, frac = s.rpartition(point)
        return _ungroup(whole, group) + "." + frac
    for sep in (",", "."):
        if sep not in s:
            continue
        parts = s.split(sep)
        if len(parts) > 2:
            return _ungroup(s, sep)
        head, tail = parts
        grouping = len(tail) == 3 and head not in ("", "0") and (count or sep == ",")
        return head + tail if grouping else head + "." + tail
    return s


def _ungroup(text: str, sep: str) -> str:
    parts = text.split(sep)
    if not parts[0] or any(len(p) != 3 for p in parts[1:]):
        raise BadValue(f"“{text}” mixes separators")
    return "".join(parts)


def _magnitude(token: str, what: str) -> Decimal:
    m = _NUMBER.fullmatch(token.strip().translate(_GROUPING))
    if m is None:
        raise BadValue(f"{what} “{token.strip()}” is not a number")
    digits, suffix = m.groups()
    text = _decimal_text(digits, count=not suffix) if not suffix else digits.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise BadValue(f"{what} “{token.strip()}” is not a number") from exc
    return value * _SUFFIX[suffix.lower()] if suffix else value


def volume(text: str) -> tuple[int | None, str | None]:
    """(search volume, the range text when the cell held a range) — see the module rules."""
    if text.isdigit():  # the common case first: plain digits
        value = int(text)
        if value > MAX_VOLUME:
            raise BadValue(f"Volume {value:,} is larger than {MAX_VOLUME:,}")
        return value, None
    raw = text.strip()
    if raw.lower() in NULLS:
        return None, None
    if raw[0] in "<≤>≥~":
        low = Decimal(0) if raw[0] in "<≤" else _magnitude(raw.lstrip(">≥~="), "Volume")
        return _whole(low, "Volume", MAX_VOLUME), raw
    ranged = _RANGE.fullmatch(raw)
    if ranged and all(_NUMBER.fullmatch(part.strip().translate(_GROUPING)) for part in ranged.groups()):
        low, high = _magnitude(ranged.group(1), "Volume"), _magnitude(ranged.group(2), "Volume")
        if low > high:
            raise BadValue(f"Volume range “{raw}” runs backwards")
        return _whole(low, "Volume", MAX_VOLUME), raw
    return _whole(_magnitude(raw, "Volume"), "Volume", MAX_VOLUME), None


def _whole(value: Decimal, what: str, high: int) -> int:
    number = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if not 0 <= number <= high:
        raise BadValue(f"{what} {number:,} is outside 0–{high:,}")
    return number


def difficulty(text: str) -> int | None:
    """Keyword difficulty 0–100 ("45", "45%", "45.6")."""
    if text.isdigit() and len(text) <= 3:
        value = int(text)
        if value > 100:
            raise BadValue(f"Difficulty {value} is outside 0–100")
        return value
    raw = text.strip().rstrip("%").strip()
    if raw.lower() in NULLS:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation as exc:
        raise BadValue(f"Difficulty “{text.strip()}” is not a number") from exc
    if not value.is_finite():
        raise BadValue(f"Difficulty “{text.strip()}” is not a number")
    return _whole(value, "Difficulty", 100)


def cpc(text: str) -> str | None:
    """Cost per click as plain decimal text with 2 places ("1.25"); currency signs and codes are dropped."""
    if _SIMPLE_CPC.fullmatch(text):
        return text
    raw = text.strip()
    if raw.lower() in NULLS:
        return None
    digits = _MONEY_JUNK.sub("", raw)
    if not digits or "-" in raw or "–" in raw:  # negative, or a range: neither is one amount
        raise BadValue(f"CPC “{raw}” is not an amount")
    try:
        value = Decimal(_decimal_text(digits, count=False)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, BadValue) as exc:
        raise BadValue(f"CPC “{raw}” is not an amount") from exc
    if value > MAX_CPC:
        raise BadValue(f"CPC {value:,} is larger than {MAX_CPC:,}")
    return str(value)


def _flag_word(word: str) -> tuple[str, bool] | None:
    """("branded", True) for "Branded", ("local", False) for "Non-local" / "non local" / "nonlocal"; else None."""
    folded = _FLAG_FOLD.sub("", word)
    for prefix in ("non", "un"):
        if folded.startswith(prefix) and folded[len(prefix):] in FLAG_NAMES:
            return folded[len(prefix):], False
    return (folded, True) if folded in FLAG_NAMES else None


def intent_and_flags(text: str) -> tuple[str | None, dict[str, bool]]:
    """Our form of an intent cell — lower-case, comma+space separated, each intent once, in the given order — and
    the flags it held ({"branded": True, "local": False}; the first mention of a flag wins)."""
    raw = text.strip()
    if raw.lower() in NULLS:
        return None, {}
    seen: dict[str, None] = {}
    flags: dict[str, bool] = {}
    for part in _INTENT_SPLIT.split(raw):
        word = part.strip().lower()
        if not word:
            continue
        marked = _flag_word(word)
        if marked is not None:
            flags.setdefault(*marked)
        else:
            seen.setdefault(INTENT_CODES.get(word, word), None)
    joined = ", ".join(seen)
    if len(joined) > MAX_INTENT:
        raise BadValue(f"Intent “{raw[:40]}…” is longer than {MAX_INTENT} characters")
    return joined or None, flags


def intent(text: str) -> str | None:
    """The search intents of an intent cell (its flags left out: see intent_and_flags)."""
    return intent_and_flags(text)[0]


def typed_intent(value: object) -> str | None:
    """An intent a person types (an inline edit, a library keyword): kept as typed, trimmed, several allowed as in a
    file's cell; the branded/local flags, which an import keeps as attributes, are refused as intents."""
    text = str(value).strip() if value is not None else ""
    if len(text) > MAX_INTENT:
        raise ValidationFailed(f"Intent may have at most {MAX_INTENT} characters ({len(text)} given).")
    flag_part = next((p for p in _INTENT_SPLIT.split(text) if _flag_word(p.strip().lower())), None)
    if flag_part is not None:
        raise ValidationFailed(
            f"“{flag_part.strip()}” is not a search intent: branded and local are marks of their own (an import keeps "
            "them as the keyword's attributes). Intents are " + ", ".join(SEARCH_INTENTS[:-1]) + " and "
            + SEARCH_INTENTS[-1] + "; several may be given, separated by commas.")
    return text or None


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "x", "✓", "✔"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "✗", "✘"})


def flag(text: str) -> bool:
    """A yes/no cell (Ahrefs marks each intent in a column of its own)."""
    return text.strip().lower() in TRUE_WORDS


def yes_no(text: str) -> bool | None:
    """A yes/no cell as True/False; None when it says neither (empty, "n/a")."""
    word = text.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def trend(text: str) -> list[float] | str:
    """Semrush's Trend "0.10,0.20,…" as numbers; anything else is kept as the text it was."""
    try:
        points = [float(x) for x in text.split(",")]
    except ValueError:
        return text.strip()
    return points if all(math.isfinite(p) for p in points) else text.strip()  # JSON has no NaN


def listing(text: str) -> list[str]:
    """A comma-separated list cell ("Sitelinks, Video") as a list."""
    return [part.strip() for part in text.split(",") if part.strip()]
