"""Which column is which: header names of Semrush, Ahrefs, Google Keyword Planner, Moz and our own export."""
from __future__ import annotations

from core.errors import ValidationFailed

FIELDS = ("keyword", "volume", "difficulty", "cpc", "intent")
FIELD_LABELS = {"keyword": "Keyword", "volume": "Volume", "difficulty": "Difficulty", "cpc": "CPC",
                "intent": "Intent"}

# Header names (compared case-insensitively, spaces folded) that mean one of our fields.
ALIASES: dict[str, frozenset[str]] = {
    "keyword": frozenset({"keyword", "keywords", "keyword phrase", "search term", "search terms", "search query",
                          "query", "queries", "top queries", "kw"}),
    "volume": frozenset({"volume", "search volume", "avg. monthly searches", "avg monthly searches",
                         "average monthly searches", "monthly volume", "monthly searches", "msv", "sv",
                         "search vol", "searches", "monthly search volume"}),
    "difficulty": frozenset({"keyword difficulty", "kd", "kd %", "kd%", "difficulty", "seo difficulty",
                             "keyword difficulty index"}),
    "cpc": frozenset({"cpc", "cpc (usd)", "cpc usd", "avg. cpc", "avg cpc", "cost per click", "suggested bid"}),
    "intent": frozenset({"intent", "intents", "search intent", "keyword intent", "intent type"}),
}
# Without an intent column, Ahrefs may mark each intent in a yes/no column of its own, and whether the keyword is
# branded or local: those two are flags, kept as the attributes `branded` and `local` (true/false).
INTENT_FLAG_COLUMNS = ("informational", "navigational", "commercial", "transactional", "branded", "local")
# Extra columns with a structure worth keeping: header → (attribute key, kind).
STRUCTURED = {"trend": ("trend", "trend"), "serp features": ("serp_features", "list"),
              "attributes": ("", "json")}
# Columns of our own export that describe the keyword's state here, not research data: not re-imported.
OWN_EXPORT_ONLY = frozenset({"status", "cluster", "disabled", "created (utc)", "updated (utc)", "deleted (utc)"})


def fold(name: str) -> str:
    """A header name compared loosely: BOM and outer spaces removed, inner spaces folded, case-folded."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _field_of(name: str) -> str | None:
    folded = fold(name)
    for target, names in ALIASES.items():
        if folded in names:
            return target
    if folded.startswith("cpc (") or folded.startswith("cpc in "):  # "CPC (EUR)", "CPC in GBP"
        return "cpc"
    return None


def is_keyword_header(cell: str) -> bool:
    """Whether a cell names the keyword column (that is how a header row is recognised)."""
    return _field_of(cell) == "keyword"


def unique_names(header: list[str], width: int) -> list[str]:
    """Display names of the columns: trimmed, "Column N" when blank or missing, repeats numbered."""
    names: list[str] = []
    for i in range(width):
        base = " ".join((header[i] if i < len(header) else "").replace("\ufeff", "").split()) or f"Column {i + 1}"
        name, n = base, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """Field → column, by header name; the first column of a file without a known keyword column is the keyword."""
    mapping: dict[str, str] = {}
    for name in columns:
        target = _field_of(name)
        if target and target not in mapping:
            mapping[target] = name
    if "keyword" not in mapping and len(columns) == 1:
        mapping["keyword"] = columns[0]
    return mapping


def check_mapping(mapping: dict[str, str | None], columns: list[str]) -> dict[str, str]:
    """The user's mapping, validated: known fields, existing columns, a keyword column, no column used twice."""
    clean = {field: col for field, col in mapping.items() if col}
    unknown = sorted(set(clean) - set(FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown field(s) in the column mapping: {', '.join(unknown)} "
                               f"(fields are {', '.join(FIELDS)}).")
    missing = [col for col in clean.values() if col not in columns]
    if missing:
        raise ValidationFailed(f"The file has no column “{missing[0]}” (it has: {', '.join(columns)}).")
    if "keyword" not in clean:
        raise ValidationFailed("Choose the column that holds the keywords (none of the headers was recognised: "
                               f"{', '.join(columns)}).")
    used = list(clean.values())
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        raise ValidationFailed(f"Column “{twice[0]}” is mapped to two fields; map each column once.")
    return clean


def guess_source(columns: list[str]) -> str:
    """The tool the export probably came from (shown in the preview; the mapping never depends on it)."""
    names = {fold(c) for c in columns}
    if "attributes" in names and "status" in names:
        return "IGNY8 export"
    if names & {"avg. monthly searches", "avg monthly searches", "top of page bid (low range)"}:
        return "Google Keyword Planner"
    if names & {"keyword difficulty", "cpc (usd)", "competitive density", "number of results"}:
        return "Semrush"
    if names & {"kd", "parent keyword", "traffic potential", "global volume"}:
        return "Ahrefs"
    if names & {"monthly volume", "organic ctr", "priority"}:
        return "Moz"
    if len(columns) == 1:
        return "one-column list"
    return "unknown tool"


def extras(columns: list[str], mapping: dict[str, str]) -> tuple[list[tuple[int, str, str]], list[tuple[int, str]]]:
    """Columns kept in the keyword's attributes [(index, key, kind)] and, when no intent column is mapped,
    Ahrefs-style yes/no columns [(index, intent or flag)]."""
    mapped = set(mapping.values())
    own_export = "attributes" in {fold(c) for c in columns}
    flags = ([(i, fold(c)) for i, c in enumerate(columns) if fold(c) in INTENT_FLAG_COLUMNS and c not in mapped]
             if "intent" not in mapping else [])
    flagged = {i for i, _ in flags}
    kept = []
    for i, name in enumerate(columns):
        folded = fold(name)
        if name in mapped or i in flagged or (own_export and folded in OWN_EXPORT_ONLY):
            continue
        key, kind = STRUCTURED.get(folded, (name, "text"))
        kept.append((i, key, kind))
    return kept, flags
