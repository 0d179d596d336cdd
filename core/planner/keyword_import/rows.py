"""One record → one keyword row (display, key, metrics, attributes as JSON) or the reason it cannot be used.

This runs once per row of files with a million rows, so it is written for speed: plain tuples, no ORM objects,
the common case of each value first (plain digits, "1.25"), cells that repeat across rows (intents, SERP features)
parsed once, and the attributes' JSON text put together from pieces instead of encoding a dict per row.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring as _json_str  # the C function: a str as JSON text, quotes included
from typing import Self

from core.errors import ValidationFailed
from core.planner import keyword_edits
from core.planner.keyword_import import columns as cols
from core.planner.keyword_import import values
from core.planner.keyword_import.values import BadValue

MAX_CELL = 1000  # characters in any cell; keywords have their own limit (keyword_edits.MAX_KEYWORD)
FORMULA_ESCAPED = ("'=", "'+", "'-", "'@", "'\t", "'\r")
_CACHE_LIMIT = 20_000  # distinct cell texts remembered per column (intents, SERP features repeat)
_NUM = r"-?(?:0|[1-9]\d*)(?:\.\d+)?"
_JSON_NUMBERS = re.compile(rf"\s*{_NUM}(?:\s*,\s*{_NUM})*\s*")  # Semrush's Trend is already a JSON array body
_PLAIN_CPC = re.compile(r"\d{1,8}(?:\.\d{1,2})?")

# (keyword, keyword_norm, volume, difficulty, cpc text, intent, attributes JSON text)
Row = tuple[str, str, int | None, int | None, str | None, str | None, str]


@dataclass(frozen=True)
class ParsedRow:
    """A Row with its values decoded (CPC as a Decimal, the attributes as a dict), for callers that keep rows."""

    keyword: str
    norm: str
    volume: int | None
    difficulty: int | None
    cpc: Decimal | None
    intent: str | None
    attributes: dict

    @classmethod
    def from_row(cls, row: Row, **extra: object) -> Self:
        """The row decoded; `extra` fills a subclass's own fields."""
        keyword, norm, volume, difficulty, cpc, intent, attributes = row
        return cls(keyword, norm, volume, difficulty, None if cpc is None else Decimal(cpc), intent,
                   json.loads(attributes), **extra)

    def as_row(self) -> Row:
        """The row as the writers take it."""
        return (self.keyword, self.norm, self.volume, self.difficulty, None if self.cpc is None else str(self.cpc),
                self.intent, json.dumps(self.attributes, ensure_ascii=False))


class RowProblem(Exception):
    """Why a record is skipped: a report code and a message naming the column and value."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Blank(Exception):
    """A record with nothing in any cell: not a row at all."""


def _index(columns: list[str], mapping: dict[str, str], field: str) -> int | None:
    name = mapping.get(field)
    return columns.index(name) if name else None


def _trend_json(cell: str) -> str:
    if _JSON_NUMBERS.fullmatch(cell):
        return "[" + cell.strip() + "]"
    return json.dumps(values.trend(cell), ensure_ascii=False)


def _list_json(cell: str) -> str:
    return json.dumps(values.listing(cell), ensure_ascii=False)


def _text_json(cell: str) -> str:
    return _json_str(cell.strip())


_EXTRA_JSON = {"trend": _trend_json, "list": _list_json, "text": _text_json}


class RowParser:
    """Turns the cells of a record into a Row, by the column mapping."""

    def __init__(self, columns: list[str], mapping: dict[str, str]):
        self.columns = columns
        self.width = len(columns)
        self.keyword = columns.index(mapping["keyword"])
        self.volume = _index(columns, mapping, "volume")
        self.difficulty = _index(columns, mapping, "difficulty")
        self.cpc = _index(columns, mapping, "cpc")
        self.intent = _index(columns, mapping, "intent")
        self.extras, self.intent_flags = cols.extras(columns, mapping)
        # (index, '"key":' as JSON, encoder, cache) for every kept column; our export's JSON column apart.
        self._pieces = [(i, _json_str(key) + ":", _EXTRA_JSON[kind], {} if kind != "text" else None)
                        for i, key, kind in self.extras if kind != "json"]
        self._json_column = next((i for i, _, kind in self.extras if kind == "json"), None)
        self._intents: dict[str, str | None] = {}

    def keyword_of(self, cells: list[str]) -> str:
        """The raw keyword cell (for the report), or the first cell when the row is short."""
        return cells[self.keyword] if self.keyword < len(cells) else (cells[0] if cells else "")

    def parse(self, cells: list[str]) -> Row:
        """The row, or RowProblem / Blank."""
        if len(cells) != self.width:
            cells = self._fit(cells)
        if max(map(len, cells)) > MAX_CELL:
            self._long_cell(cells)
        display, norm = self._keyword(cells)
        volume = difficulty = cpc = intent = spread = None
        if (i := self.volume) is not None:
            v = cells[i]
            if v.isdigit() and len(v) < 10:
                volume = int(v)
            else:
                volume, spread = self._read(values.volume, i, cells)
        if (i := self.difficulty) is not None:
            d = cells[i]
            difficulty = int(d) if d.isdigit() and len(d) < 3 else self._read(values.difficulty, i, cells)
        if (i := self.cpc) is not None:
            c = cells[i]
            cpc = c if _PLAIN_CPC.fullmatch(c) else self._read(values.cpc, i, cells)
        if (i := self.intent) is not None:
            raw = cells[i]
            intent = self._intents.get(raw, "")
            if intent == "":
                intent = self._read(values.intent, i, cells)
                if len(self._intents) < _CACHE_LIMIT:
                    self._intents[raw] = intent
        elif self.intent_flags:
            intent = ", ".join(name for i, name in self.intent_flags if values.flag(cells[i])) or None
        return display, norm, volume, difficulty, cpc, intent, self._attributes(cells, spread)

    def _attributes(self, cells: list[str], spread: str | None) -> str:
        """The kept columns as a JSON object text; empty cells are left out."""
        parts = ['"volume_range":' + _json_str(spread)] if spread else []
        for i, key, encode, cache in self._pieces:
            cell = cells[i]
            if not cell or cell.isspace():
                continue
            if cache is None:
                parts.append(key + encode(cell))
                continue
            piece = cache.get(cell)
            if piece is None:
                piece = key + encode(cell)
                if len(cache) < _CACHE_LIMIT:
                    cache[cell] = piece
            parts.append(piece)
        text = "{" + ",".join(parts) + "}"
        if self._json_column is not None and cells[self._json_column].strip():
            text = self._merge_own_export(text, cells[self._json_column])
        return text

    @staticmethod
    def _merge_own_export(text: str, cell: str) -> str:
        # Our export writes the attributes as one JSON object; other columns' keys win over it.
        try:
            loaded = json.loads(cell)
        except ValueError:
            loaded = {"attributes": cell.strip()}
        if not isinstance(loaded, dict):
            loaded = {"attributes": cell.strip()}
        return json.dumps({**loaded, **json.loads(text)}, ensure_ascii=False, separators=(",", ":"))

    def _fit(self, cells: list[str]) -> list[str]:
        if not any(c.strip() for c in cells):
            raise Blank()
        if len(cells) > self.width and not any(c.strip() for c in cells[self.width:]):
            return cells[:self.width]  # a trailing delimiter: empty extra fields are harmless
        raise RowProblem("fields", f"The row has {len(cells)} fields; the header has {self.width}.")

    def _long_cell(self, cells: list[str]) -> None:
        i = next(i for i, c in enumerate(cells) if len(c) > MAX_CELL)
        if i != self.keyword:
            raise RowProblem("cell_too_long", f"Column “{self.columns[i]}” holds {len(cells[i]):,} characters "
                                              f"(at most {MAX_CELL:,}).")
        raise RowProblem("too_long", f"The keyword has {len(cells[i]):,} characters (at most "
                                     f"{keyword_edits.MAX_KEYWORD}).")

    def _keyword(self, cells: list[str]) -> tuple[str, str]:
        raw = cells[self.keyword]
        if raw.startswith(FORMULA_ESCAPED):
            raw = raw[1:]  # our own export's guard against spreadsheet formulas, undone
        try:
            return keyword_edits.normalize_keyword(raw)
        except ValidationFailed as exc:
            if raw.strip():
                raise RowProblem("too_long", str(exc)) from None
            if not any(c.strip() for c in cells):
                raise Blank() from None
            raise RowProblem("empty", "The keyword cell is empty.") from None

    def _read(self, parse, index: int, cells: list[str]):
        try:
            return parse(cells[index])
        except BadValue as exc:
            raise RowProblem("bad_value", f"{exc} (column “{self.columns[index]}”).") from None
