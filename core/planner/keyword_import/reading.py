"""Bytes → records: size limit, encoding, delimiter, header row; file-level errors name the line or byte.

The file is read as a stream (a text wrapper over the binary file, fed to the csv module line by line): only a
64 KB sample is held for sniffing, never the whole file.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.planner.keyword_import import columns as cols
from core.planner.keyword_import.report import ImportRejected

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
ONE_COLUMN = "\x1f"  # the delimiter of a one-column list: a control character no export contains
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", ONE_COLUMN: "none (one column)"}
AUTO = "auto"


@dataclass
class Source:
    """An open binary stream of the file, its size and the name to show."""

    stream: BinaryIO
    size: int
    name: str
    owned: bool  # opened here (a path), so closed here
    nul_cells: int = 0  # data cells that held NUL characters, removed (counted by records())

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size:,} bytes"


def open_source(data: Path | str | bytes | BinaryIO, *, name: str | None, max_bytes: int) -> Source:
    """The file as a stream; refused up front (nothing read) when it is empty, missing or larger than max_bytes."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        name = name or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportRejected(f"The file {path} was not found or cannot be read.") from exc
        _check_size(size, name, max_bytes)
        return Source(open(path, "rb"), size, name, True)
    stream: BinaryIO = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
    name = name or getattr(stream, "name", None) or "The file"
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    _check_size(size, str(name), max_bytes)
    return Source(stream, size, str(name), False)


def _check_size(size: int, name: str, max_bytes: int) -> None:
    if size == 0:
        raise ImportRejected(f"{name} is empty (0 bytes): there is nothing to import.")
    if size > max_bytes:
        raise ImportRejected(f"{name} has {_mb(size)}; at most {_mb(max_bytes)} can be imported at once. "
                             "Split it into smaller files. Nothing was read or imported.")


def detect_encoding(head: bytes) -> str:
    """By byte-order mark, else UTF-16 when the sample is full of NUL bytes, else UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if sample.count(0) > len(sample) // 4:  # ASCII text in UTF-16 without a BOM: every other byte is 0
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    return "utf-8"


def _refuse_binary(head: bytes, name: str) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise ImportRejected(f"{name} is an Excel workbook or another zip file, not CSV. Save it as “CSV UTF-8” "
                             "and import that.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRejected(f"{name} is an old Excel (.xls) workbook, not CSV. Save it as “CSV UTF-8” and "
                             "import that.")


def decode_error(source: Source, encoding: str) -> ImportRejected:
    """Where the file stops being text in `encoding`: line and byte, found by decoding again from the start."""
    source.stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset, lines = 0, 1
    while chunk := source.stream.read(1 << 16):
        pending = decoder.getstate()[0]
        try:
            lines += decoder.decode(chunk).count("\n")
        except UnicodeDecodeError as exc:
            data = pending + chunk
            at = offset - len(pending) + len(data) - len(exc.object) + exc.start
            valid = exc.object[:exc.start].decode(exc.encoding, errors="ignore")
            byte = exc.object[exc.start]
            return ImportRejected(
                f"{source.name} is not valid {encoding.upper()} text: byte 0x{byte:02X} on line "
                f"{lines + valid.count(chr(10)):,} (byte {at + 1:,} of the file) cannot be decoded. Save the file "
                "as UTF-8, or choose its encoding (for example cp1252 for a file saved by Excel on Windows). "
                "Nothing was imported.")
        offset += len(chunk)
    return ImportRejected(f"{source.name} ends in the middle of a {encoding.upper()} character: the file is "
                          "truncated. Nothing was imported.")


def sample_text(source: Source, encoding: str) -> str:
    """The first 64 KB as text, cut after its last complete line."""
    source.stream.seek(0)
    raw = source.stream.read(SAMPLE_BYTES)
    source.stream.seek(0)
    _refuse_binary(raw, source.name)
    whole = len(raw) < SAMPLE_BYTES
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(raw, final=whole)
    except UnicodeDecodeError:
        raise decode_error(source, encoding) from None
    except LookupError as exc:
        raise ImportRejected(f"Unknown encoding “{encoding}” (known: {', '.join(ENCODINGS)}).") from exc
    if not whole and "\n" in text:
        text = text[:text.rfind("\n") + 1]
    return text


def _records(lines: list[str], delimiter: str) -> list[tuple[int, list[str]]]:
    """(start line, cells) of the non-blank records of a sample."""
    reader = csv.reader(lines, delimiter=delimiter)
    out, end = [], 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(c.strip() for c in cells):
                out.append((start, cells))
    except csv.Error:
        pass  # the sample may end inside a quoted field; what was read suffices for sniffing
    return out


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the rows into the same number (> 1) of fields most often;
    title lines before the table (Google Keyword Planner) do not count. No such delimiter: a one-column list."""
    lines = text.splitlines(keepends=True)[:500]
    best, best_score = ONE_COLUMN, (0.5, 1)
    for delimiter in DELIMITERS:
        counts = [len(cells) for _, cells in _records(lines, delimiter)]
        if not counts:
            continue
        width, _ = Counter(counts).most_common(1)[0]
        first = counts.index(width)
        share = counts[first:].count(width) / len(counts[first:])
        if width > 1 and (share, width) > best_score:
            best, best_score = delimiter, (share, width)
    return best


def _numeric(cell: str) -> bool:
    return any(ch.isdigit() for ch in cell) and not any(ch.isalpha() for ch in cell.replace("K", ""))


def find_header(records: list[tuple[int, list[str]]]) -> int | None:
    """Index of the header record: the first naming a keyword column among the first 10 records, else the first
    record of the table's width that is all text above a row with a number in it; None when there is none."""
    for i, (_, cells) in enumerate(records[:10]):
        if any(cols.is_keyword_header(c) for c in cells):
            return i
    widths = Counter(len(c) for _, c in records)
    if not widths:
        return None
    width = widths.most_common(1)[0][0]
    first = next(i for i, (_, c) in enumerate(records) if len(c) == width)
    if width == 1:
        return None
    cells = records[first][1]
    following = records[first + 1][1] if first + 1 < len(records) else []
    if not any(_numeric(c) for c in cells) and any(_numeric(c) for c in following):
        return first
    return None


@dataclass(frozen=True)
class Layout:
    """How to read the file: encoding, delimiter, which record is the header, the columns."""

    encoding: str
    delimiter: str
    header_line: int | None  # 1-based line of the header; None: no header (columns are "Column 1", …)
    skip_records: int  # non-blank records before the first data row (title lines and the header)
    columns: list[str]


def detect_layout(source: Source, *, encoding: str = AUTO, delimiter: str = AUTO,
                  header_line: int | None | str = AUTO) -> Layout:
    """The layout detected from the first 64 KB; each part may be given instead (the user's corrections)."""
    source.stream.seek(0)
    head = source.stream.read(4096)
    enc = detect_encoding(head) if encoding in (AUTO, "", None) else encoding
    text = _sample_without_nul(sample_text(source, enc), source.name)
    delim = sniff_delimiter(text) if delimiter in (AUTO, "", None) else {"tab": "\t"}.get(delimiter, delimiter)
    if len(delim) != 1:
        raise ImportRejected(f"The delimiter must be one character, not “{delimiter}”.")
    records = _records(text.splitlines(keepends=True), delim)
    if not records:
        raise ImportRejected(f"{source.name} holds no text lines: there is nothing to import.")
    if header_line == AUTO:
        index = find_header(records)
    elif header_line is None or header_line == 0:
        index = None
    else:
        index = next((i for i, (line, _) in enumerate(records) if line == int(header_line)), None)
        if index is None:
            raise ImportRejected(f"Line {header_line} is not a record within the first "
                                 f"{records[-1][0]:,} lines of the file; choose another header line.")
    width = Counter(len(c) for _, c in records[(index or 0):]).most_common(1)[0][0]
    header = records[index][1] if index is not None else []
    if index is not None:
        width = max(width, len(header))
    return Layout(enc, delim, records[index][0] if index is not None else None,
                  index + 1 if index is not None else 0, cols.unique_names(header, width))


def records(source: Source, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(start line, cells) of every data record, NUL characters removed from its cells (counted in
    source.nul_cells); a broken file (quotes, encoding, lines full of NUL) raises ImportRejected."""
    source.stream.seek(0)
    source.nul_cells = 0
    text = io.TextIOWrapper(source.stream, encoding=layout.encoding, newline="", errors="strict")
    nul_lines = [0]  # lines read so far that held a NUL (the csv reader pulls a record's lines, no more)
    reader = csv.reader(_text_lines(text, nul_lines), delimiter=layout.delimiter, strict=True)
    skip, end, cleaned = layout.skip_records, 0, 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            held = 0
            if nul_lines[0] != cleaned:  # a line of this record held NUL
                cleaned = nul_lines[0]
                held = sum("\x00" in c for c in cells)
                cells = [c.replace("\x00", "") for c in cells]
            if skip:
                if any(c.strip() for c in cells):
                    skip -= 1
                continue
            if cells:
                source.nul_cells += held
                yield start, cells
    except csv.Error as exc:
        raise _csv_problem(str(exc), end + 1, reader.line_num, source.name) from None  # the record being read
    except UnicodeDecodeError:
        raise decode_error(source, layout.encoding) from None
    except _NulLine as exc:
        raise _nul_refused(source.name, exc.line) from None
    finally:
        try:
            text.detach()  # leave the caller's stream open
        except ValueError:
            pass  # the caller closed the file first: nothing to leave open


class _NulLine(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _full_of_nul(line: str) -> bool:
    """A line whose every other character or so is NUL: UTF-16 read as something else, or not text at all (a stray
    NUL in a text line is only removed)."""
    nuls = line.count("\x00")
    return nuls >= 4 and nuls * 4 >= len(line)


def _nul_refused(name: str, line: int) -> ImportRejected:
    return ImportRejected(f"{name}, line {line:,} holds NUL bytes between its characters: this is a binary file, "
                          "or UTF-16 text without a byte-order mark. Choose its encoding or save it as UTF-8. "
                          "Nothing was imported.")


def _sample_without_nul(text: str, name: str) -> str:
    """The sample without NUL characters, as records() reads the lines; refused where a line is full of them."""
    if "\x00" not in text:
        return text
    for number, line in enumerate(text.split("\n"), 1):
        if _full_of_nul(line):
            raise _nul_refused(name, number)
    return text.replace("\x00", "")


def _text_lines(text: io.TextIOWrapper, nul_lines: list[int]) -> Iterator[str]:
    # No database text column takes NUL (PostgreSQL refuses it, COPY included): records() removes it from the
    # cells of a line that holds one; a line full of NUL means the file is not text in this encoding.
    for number, line in enumerate(text, 1):
        if "\x00" in line:
            if _full_of_nul(line):
                raise _NulLine(number)
            nul_lines[0] += 1
        yield line


def _csv_problem(reason: str, start: int, line: int, name: str) -> ImportRejected:
    tail = " The file may be truncated or mis-quoted; nothing was imported."
    if "unexpected end of data" in reason:
        return ImportRejected(f"{name}, line {start:,}: a quoted field that starts on this line is never closed "
                              f"(the file ends inside quotes).{tail}")
    if "field larger than field limit" in reason:
        return ImportRejected(f"{name}, line {start:,}: a field runs on for more than {csv.field_size_limit():,} "
                              f"characters — most likely a quote (\") opened on line {start:,} is never closed.{tail}")
    if "expected after" in reason:
        return ImportRejected(f"{name}, line {line:,}: text follows a closing quote inside a field (a quote "
                              f"inside a quoted field must be doubled: \"\").{tail}")
    return ImportRejected(f"{name}, line {line:,}: the file is not valid CSV ({reason}).{tail}")
