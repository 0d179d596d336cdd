"""Article HTML: the one sanitizer (nh3) every stored or shown article passes, its plain text and our word count;
the search-result snippet and meta counters of the editor; the blocks a revision diff compares."""
from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

# div, span and h1 stay (without attributes): dropping them joined the text of neighbours ("<div>a</div><div>b</div>"
# read "ab"), which changed the words we count and show.
ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em", "b", "i", "u",
                "s", "del", "ins", "mark", "sub", "sup", "span", "div", "figure", "figcaption", "a", "blockquote",
                "code", "pre", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"colspan", "rowspan", "scope"}, "td": {"colspan", "rowspan"}}
# Elements whose content a browser never shows in the page: dropped with it. nh3's default drops only script and
# style, and keeps the text of the others, so an iframe's fallback or a <noscript> block came out as visible
# (escaped) markup in the article.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "noscript", "noembed", "noframes", "template", "title"}


def sanitize_html(value: str) -> str:
    """Only safe article markup: no scripts, styles, event handlers or javascript: links; links get
    rel="noopener noreferrer"."""
    return nh3.clean(value, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, link_rel="noopener noreferrer",
                     url_schemes={"http", "https", "mailto"}, strip_comments=True,
                     clean_content_tags=DROPPED_WITH_CONTENT).strip()


def _text_only(value: str) -> str:
    return nh3.clean(value, tags=set(), clean_content_tags=DROPPED_WITH_CONTENT)


_BLOCK_END = re.compile(r"(</(?:p|h[1-6]|li|td|th|tr|blockquote|pre|div|ul|ol|table|caption|figure|figcaption)\s*>"
                        r"|<br\s*/?>|<hr\s*/?>)",
                        re.I)


def plain_text(value: str) -> str:
    """Text of an HTML fragment, whitespace folded (block ends separate words: "</h2><p>" is a break)."""
    return " ".join(html.unescape(_text_only(_BLOCK_END.sub(r"\1 ", value))).split())


def word_count(value: str) -> int:
    """Words of an HTML fragment's text (what we store, not what the AI claims)."""
    return len(re.findall(r"\w+(?:['’-]\w+)*", plain_text(value)))


# --- The search result and the meta counters ------------------------------------------------------------------------

SEARCH_TITLE = 60  # characters of a title a search result shows
SEARCH_DESCRIPTION = 160  # characters of a description a search result shows


@dataclass(frozen=True)
class Snippet:
    """How an article may look in a search result: the texts as shown, cut where search engines cut them."""

    title: str
    url: str
    description: str


def meta_counts(meta_title: str, meta_description: str) -> tuple[int, int, int, int]:
    """(meta title length, 60, meta description length, 160): what the editor's counters show."""
    return len(meta_title or ""), SEARCH_TITLE, len(meta_description or ""), SEARCH_DESCRIPTION


def cut(value: str, limit: int) -> str:
    """Plain text folded to one line and cut to at most `limit` characters, at a word where one is near, with "…"."""
    text = " ".join((value or "").split())
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-–—") + "…"


def snippet(title: str, meta_title: str, meta_description: str, url: str = "") -> Snippet:
    """The search-result preview: the meta title (else the title) cut at 60, the description cut at 160."""
    return Snippet(cut(meta_title if (meta_title or "").strip() else title, SEARCH_TITLE), " ".join(url.split()),
                   cut(meta_description, SEARCH_DESCRIPTION))


# --- Blocks (the lines of a diff) and what sanitizing removed -------------------------------------------------------

_BLOCK_TAG = re.compile(r"</?(?:p|h[1-6]|li|ul|ol|td|th|tr|thead|tbody|tfoot|table|caption|blockquote|pre|div|figure"
                        r"|figcaption)\b[^>]*>|<br\s*/?>|<hr\b[^>]*>", re.I)
_MARK = "\x1e"  # the record separator: never in sanitized article text


def blocks(value: str) -> list[str]:
    """The text of each block of an HTML fragment (heading, paragraph, list item, cell …), empty blocks left out."""
    text = html.unescape(_text_only(_BLOCK_TAG.sub(_MARK, value or "")))
    return [line for line in (" ".join(part.split()) for part in text.split(_MARK)) if line]


class _Markup(HTMLParser):
    """The start tags (with attributes) and the text of a fragment, for comparing before and after sanitizing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter = Counter()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = tuple(sorted((k, v or "") for k, v in attrs if not (tag == "a" and k == "rel")))  # rel is ours
        self.tags[(tag, kept)] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.tags[("!--", ())] += 1


def _markup(value: str) -> tuple[Counter, str]:
    parser = _Markup()
    parser.feed(value)
    parser.close()
    return parser.tags, " ".join("".join(parser.text).split())


def removed_markup(before: str, after: str) -> bool:
    """Whether sanitizing `before` into `after` dropped anything (a tag, an attribute, a comment, a script's text),
    not only re-wrote it (upper-case tags, quoting, closing tags, our rel on links)."""
    tags_before, text_before = _markup(before or "")
    tags_after, text_after = _markup(after or "")
    return bool(tags_before - tags_after) or text_before != text_after
