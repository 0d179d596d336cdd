"""Text from users, the AI and the database shown inside Streamlit's Markdown as the plain text it is (ui.md).

Streamlit renders Markdown in st.markdown, captions, alerts, toasts, titles and headers, every widget label and
help text, tab and expander titles, radio and segmented-control options, button labels and metric values:
GitHub-flavoured Markdown (links, images, emphasis, tables, autolinks), its own directives (`:red[…]`,
`:material/…:`, `:small[…]`, badges), `$…$` LaTeX and typographic arrows. Selectbox and multiselect options,
st.text and table cells are plain text already.

Backslash-escaping every ASCII punctuation character stops all syntax, HTML and entities included. Two rewrites
work on the text after the escapes are read, so an invisible word joiner (U+2060) breaks their patterns instead:
the bare-URL and e-mail autolinks (“https://…”, “www.…”, “a@b.example”) and the arrows (“->”, “--”, “>=” …).
Line breaks become spaces: a name is one line, and a new line could start a heading or a list.
It lives beside ui.py (ui.md is this function) so that ui_jobs.py, which ui.py imports, can use it too.
"""
from __future__ import annotations

import re
import string

WORD_JOINER = "\u2060"
_SPECIAL = re.compile(f"([{re.escape(string.punctuation)}])")
_REWRITTEN = re.compile(
    r"(?i)(?<=www)(?=\.)"  # www.evil.example
    r"|(?<=:)(?=//)"  # https://evil.example
    r"|(?<=@)"  # someone@evil.example
    r"|(?<=(?<!\S)[<>~-])(?=[>=-](?!\S))"  # -> <- -- >= <= ~= as words of their own
    r"|(?<=(?<!\S)<)(?=->(?!\S))")  # <->
_ESCAPED = re.compile(r"\\([" + re.escape(string.punctuation) + "])")


def md(value: object) -> str:
    """`value` as Markdown that shows exactly its text, on one line, and never becomes a link, an image, emphasis,
    a colour, an icon or LaTeX."""
    text = re.sub(r"\s", " ", str(value))
    return _SPECIAL.sub(r"\\\1", _REWRITTEN.sub(WORD_JOINER, text))


def shown(markdown: str) -> str:
    """What a person reads of text made by md() (for tests and logs): the escapes and word joiners removed."""
    return _ESCAPED.sub(r"\1", markdown.replace(WORD_JOINER, ""))
