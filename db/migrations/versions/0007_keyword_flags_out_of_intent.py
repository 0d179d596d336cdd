"""keyword flags out of intent

Ahrefs' "Intents" column mixes search intents with the flags Branded/Non-branded and Local/Non-local. Imports before
this revision stored those flags in `intent` (so filtering by intent "local" also found "non-local" keywords); now
they are the attributes `branded` and `local` (true/false). This moves them for keywords and seed keywords: one
UPDATE per distinct intent text that holds a flag (there are few), set-based, so a million rows cost a few scans.
An attribute the row already has under that name wins. Data only, no schema change: downgrade leaves the rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 12:00:00.000000
"""
import json
import re

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

FLAGS = ("branded", "local")
SPLIT = re.compile(r"\s*[,;|/]\s*")
FOLD = re.compile(r"[\s_-]+")


def _flag(word: str) -> tuple[str, bool] | None:
    folded = FOLD.sub("", word.lower())
    for prefix in ("non", "un"):
        if folded.startswith(prefix) and folded[len(prefix):] in FLAGS:
            return folded[len(prefix):], False
    return (folded, True) if folded in FLAGS else None


def split(intent: str) -> tuple[str | None, dict[str, bool]]:
    """(the intent without its flags, the flags), as the importer now reads an intent cell (first mention wins)."""
    kept, flags = [], {}
    for word in filter(None, (w.strip() for w in SPLIT.split(intent))):
        marked = _flag(word)
        if marked is None:
            kept.append(word)
        else:
            flags.setdefault(*marked)
    return ", ".join(kept) or None, flags


def _fix(conn, table: str) -> None:
    t = sa.table(table, sa.column("intent", sa.String), sa.column("attributes", sa.JSON))
    low = sa.func.lower(t.c.intent)
    values = conn.scalars(sa.select(t.c.intent).distinct().where(sa.or_(low.like("%brand%"), low.like("%local%"))))
    if conn.dialect.name == "postgresql":
        merged = "(CAST(:flags AS jsonb) || COALESCE(attributes, '{}')::jsonb)::json"
    else:
        merged = "json_patch(:flags, COALESCE(attributes, '{}'))"
    update = sa.text(f"UPDATE {table} SET intent = :new, attributes = {merged} WHERE intent = :old")
    for old in list(values):
        new, flags = split(old)
        if flags:
            conn.execute(update, {"new": new, "flags": json.dumps(flags), "old": old})


def upgrade() -> None:
    conn = op.get_bind()
    for table in ("keywords", "seed_keyword"):
        _fix(conn, table)


def downgrade() -> None:
    pass  # the flags stay attributes: the intents they were mixed into are not worth rebuilding
