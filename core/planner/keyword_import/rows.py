"""One record → one keyword row (display, key, metrics, attributes as JSON) or the reason it cannot be used.

This runs once per row of files with a million rows, so it is written for speed: plain tuples, no ORM objects,
the common case of each value first (plain digits, "1.25"), cells that repeat across rows (intents, SERP features)
parsed once, and the attributes' JSON text put together from pieces instead of encoding a dict per row.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring as _json_str  # the C function: a str as JSON text, quotes included
from typing import Self

from core.errors import ValidationFailed
from core.planner import keyword_edits
from core.planner.keyword_import import columns as cols
from core.planner.keyword_import import values
from core.planner.keyword_import.values import BadValue

MAX_CELL = 1000  # characters of a cell: longer in a mapped column, the row is refused; in an extra one, it is cut
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


def _flags_json(flags: dict[str, bool]) -> str:
    return ",".join(f'"{name}":{"true" if on else "false"}' for name, on in flags.items())


def _without_nul(value: object) -> object:
    """A JSON value with NUL characters removed from its texts (keys too)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


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
        self.extras, yes_no = cols.extras(columns, mapping)
        # Yes/no columns (no intent column mapped): search intents join the intent; "Branded", "Local" are flags.
        self.intent_flags = [(i, name) for i, name in yes_no if name in values.SEARCH_INTENTS]
        self.flag_columns = [(i, name) for i, name in yes_no if name not in values.SEARCH_INTENTS]
        self._mapped = {i for i in (self.keyword, self.volume, self.difficulty, self.cpc, self.intent) if i is not None}
        self._cuttable = {i for i, _, kind in self.extras if kind != "json"}
        self.cut: Counter[str] = Counter()  # extra cells cut to MAX_CELL, per column
        self.nul_cells = 0  # cells of our export's JSON column that held a NUL as \u0000 (removed)
        # (index, '"key":' as JSON, encoder, cache) for every kept column; our export's JSON column apart.
        self._pieces = [(i, _json_str(key) + ":", _EXTRA_JSON[kind], {} if kind != "text" else None)
                        for i, key, kind in self.extras if kind != "json"]
        self._json_column = next((i for i, _, kind in self.extras if kind == "json"), None)
        self._intents: dict[str, tuple[str | None, dict[str, bool]]] = {}

    def keyword_of(self, cells: list[str]) -> str:
        """The raw keyword cell (for the report), or the first cell when the row is short."""
        return cells[self.keyword] if self.keyword < len(cells) else (cells[0] if cells else "")

    def parse(self, cells: list[str]) -> Row:
        """The row, or RowProblem / Blank."""
        if len(cells) != self.width:
            cells = self._fit(cells)
        cut: list[int] = []
        if max(map(len, cells)) > MAX_CELL:
            cells, cut = self._cut_long(cells)
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
        intent, flags = self._intent(cells)
        attributes = self._attributes(cells, spread, flags)
        for i in cut:  # counted once the row is known to be usable
            self.cut[self.columns[i]] += 1
        return display, norm, volume, difficulty, cpc, intent, attributes

    def _intent(self, cells: list[str]) -> tuple[str | None, dict[str, bool]]:
        """The search intents and the flags (branded, local) of a row."""
        if (i := self.intent) is not None:
            raw = cells[i]
            known = self._intents.get(raw)
            if known is None:
                known = self._read(values.intent_and_flags, i, cells)
                if len(self._intents) < _CACHE_LIMIT:
                    self._intents[raw] = known
            return known
        if not (self.intent_flags or self.flag_columns):
            return None, {}
        intent = ", ".join(name for i, name in self.intent_flags if values.flag(cells[i])) or None
        return intent, {name: on for i, name in self.flag_columns if (on := values.yes_no(cells[i])) is not None}

    def _attributes(self, cells: list[str], spread: str | None, flags: dict[str, bool]) -> str:
        """The kept columns and the flags as a JSON object text; empty cells are left out."""
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
        if flags:
            parts.append(_flags_json(flags))
        text = "{" + ",".join(parts) + "}"
        if self._json_column is not None and cells[self._json_column].strip():
            text = self._merge_own_export(text, cells[self._json_column])
        return text

    def _merge_own_export(self, text: str, cell: str) -> str:
        # Our export writes the attributes as one JSON object; other columns' keys win over it. Its text values
        # are bounded like any extra cell.
        try:
            loaded = json.loads(cell)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            loaded = {"attributes": cell.strip()}
        if "\\u0000" in cell and (clean := _without_nul(loaded)) != loaded:  # a NUL written as a JSON escape
            loaded = clean
            self.nul_cells += 1
        for key, value in loaded.items():
            if isinstance(value, str) and len(value) > MAX_CELL:
                loaded[key] = value[:MAX_CELL]
                self.cut[self.columns[self._json_column]] += 1  # type: ignore[index]
        return json.dumps({**loaded, **json.loads(text)}, ensure_ascii=False, separators=(",", ":"))

    def _fit(self, cells: list[str]) -> list[str]:
        if not any(c.strip() for c in cells):
            raise Blank()
        if len(cells) > self.width and not any(c.strip() for c in cells[self.width:]):
            return cells[:self.width]  # a trailing delimiter: empty extra fields are harmless
        raise RowProblem("fields", f"The row has {len(cells)} fields; the header has {self.width}.")

    def _cut_long(self, cells: list[str]) -> tuple[list[str], list[int]]:
        """Cells over MAX_CELL: in the keyword or another mapped column they refuse the row; in a kept extra column
        they are cut to MAX_CELL (the indexes returned); columns the import does not store are left as they are."""
        long = [i for i, c in enumerate(cells) if len(c) > MAX_CELL]
        for i in long:
            if i == self.keyword:
                raise RowProblem("too_long", f"The keyword has {len(cells[i]):,} characters (at most "
                                             f"{keyword_edits.MAX_KEYWORD}).")
            if i in self._mapped:
                raise RowProblem("cell_too_long", f"Column “{self.columns[i]}” holds {len(cells[i]):,} characters "
                                                  f"(at most {MAX_CELL:,}).")
        cut = [i for i in long if i in self._cuttable]
        if cut:
            cells = list(cells)
            for i in cut:
                cells[i] = cells[i][:MAX_CELL]
        return cells, cut

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
