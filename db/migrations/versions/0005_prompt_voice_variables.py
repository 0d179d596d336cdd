"""prompt voice variables

The default "ideas" and "content_generation" prompts gain the author profile's description and the strategy's
name, description and section logic ({author_description}, {strategy}, {section_logic}). Global prompt rows are
seeded only when missing, so existing databases get the new texts here: a row still holding the old default text
gets the new one; its variable list is brought up to date either way. Accounts' own prompts are left as they are
(the new variables are optional in them).

The texts are written out here so this migration stays what it was when later code changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

IDEAS_JSON = (
    "Return JSON: {{\"ideas\": [{{\"title\": str, \"description\": str, \"content_type\": str, "
    "\"content_structure\": str, \"target_keywords\": [str], \"estimated_word_count\": int}}]}}.\n\n"
    "Cluster keywords:\n{keywords}"
)
ARTICLE_JSON = (
    "Return JSON: "
    "{{\"content_html\": str, \"meta_title\": str, \"meta_description\": str, \"primary_keyword\": str, "
    "\"secondary_keywords\": [str]}}. Use only <h2>, <h3>, <p>, <ul>, <ol>, <li>, <strong>, <em>, <a>."
)
ARTICLE_HEAD = ("Write an SEO article in {language}, tone {tone}, about “{title}”. Brief: {description}. "
                "Target about {word_count} words and use these keywords naturally: {keywords}.")
# prompt type → (old text, old variables, new text, new variables)
CHANGES = {
    'ideas': (
        "Propose {count} content ideas for the keyword cluster “{cluster_name}” ({cluster_description}). "
        + IDEAS_JSON,
        ["cluster_name", "cluster_description", "keywords", "count"],
        "Propose {count} content ideas for the keyword cluster “{cluster_name}” ({cluster_description}).\n"
        "Content strategy: {strategy}\nSection logic:\n{section_logic}\n\n" + IDEAS_JSON,
        ["cluster_name", "cluster_description", "keywords", "count", "strategy", "section_logic"],
    ),
    'content_generation': (
        ARTICLE_HEAD + " " + ARTICLE_JSON,
        ["title", "description", "keywords", "word_count", "tone", "language"],
        ARTICLE_HEAD + "\nAuthor voice: {author_description}\nContent strategy: {strategy}\nSection logic:\n"
        "{section_logic}\n\n" + ARTICLE_JSON,
        ["title", "description", "keywords", "word_count", "tone", "language", "author_description", "strategy",
         "section_logic"],
    ),
}

prompt = sa.table('global_ai_prompt', sa.column('prompt_type', sa.String), sa.column('prompt_value', sa.Text),
                  sa.column('variables', sa.JSON))


def _move(prompt_type: str, from_text: str, to_text: str, to_variables: list[str]) -> None:
    op.execute(prompt.update().where(prompt.c.prompt_type == prompt_type, prompt.c.prompt_value == from_text)
               .values(prompt_value=to_text))
    op.execute(prompt.update().where(prompt.c.prompt_type == prompt_type).values(variables=to_variables))


def upgrade() -> None:
    for prompt_type, (old, _, new, new_variables) in CHANGES.items():
        _move(prompt_type, old, new, new_variables)


def downgrade() -> None:
    for prompt_type, (old, old_variables, new, _) in CHANGES.items():
        _move(prompt_type, new, old, old_variables)
