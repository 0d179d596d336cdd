"""core.writer.html: the sanitizer every stored article passes, our word count, the search-result snippet and the
meta counters, the blocks a diff compares, and whether sanitizing removed anything. Pure functions: no database."""
from __future__ import annotations

import pytest

from core.writer import html

# --- sanitize_html --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dirty", "clean"), [
    ("<p>Hi</p><script>alert(1)</script>", "<p>Hi</p>"),
    ("<p>Hi</p><SCRIPT SRC=https://evil.example/x.js></SCRIPT>", "<p>Hi</p>"),
    ('<p onclick="steal()" onmouseover="x()">Hi</p>', "<p>Hi</p>"),
    ('<p>Hi <img src="x" onerror="alert(1)"></p>', "<p>Hi </p>"),
    ('<svg onload="alert(1)"><circle r="1"/></svg><p>Hi</p>', "<p>Hi</p>"),
    ("<style>p { color: red }</style><p>Hi</p>", "<p>Hi</p>"),
    ('<p style="position:fixed;top:0">Hi</p>', "<p>Hi</p>"),
    ('<iframe src="https://evil.example">fallback <b>text</b></iframe><p>Hi</p>', "<p>Hi</p>"),
    ("<noscript><p>Enable scripts</p></noscript><p>Hi</p>", "<p>Hi</p>"),
    ("<p>Hi</p><!-- a note for the editor -->", "<p>Hi</p>"),
    ('<form action="https://evil.example"><input name="card"><p>Hi</p></form>', "<p>Hi</p>"),
])
def test_scripts_handlers_styles_and_frames_are_dropped(dirty, clean):
    assert html.sanitize_html(dirty) == clean


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)",
                                  "java&#x09;script:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
                                  "vbscript:msgbox(1)"])
def test_links_other_than_http_https_and_mailto_lose_their_href(href):
    out = html.sanitize_html(f'<p><a href="{href}">click</a></p>')
    assert out == '<p><a rel="noopener noreferrer">click</a></p>'


def test_safe_markup_is_kept_and_links_get_rel():
    body = ('<h2>Grinders</h2><p>Read <a href="https://example.com/a?x=1&amp;y=2" title="Guide">the guide</a> or '
            '<a href="mailto:team@example.com">write</a>.</p><ul><li><strong>Flat</strong> burrs</li></ul>'
            '<table><tbody><tr><td colspan="2">cell</td></tr></tbody></table>')
    out = html.sanitize_html(body)
    assert '<a href="https://example.com/a?x=1&amp;y=2" title="Guide" rel="noopener noreferrer">the guide</a>' in out
    assert '<a href="mailto:team@example.com" rel="noopener noreferrer">write</a>' in out
    assert "<h2>Grinders</h2>" in out and "<li><strong>Flat</strong> burrs</li>" in out
    assert '<td colspan="2">cell</td>' in out


def test_sanitizing_twice_changes_nothing_more():
    once = html.sanitize_html('<p onclick="x()">A <a href="https://x.org">link</a></p><script>y()</script>')
    assert html.sanitize_html(once) == once


# --- plain_text and word_count -----------------------------------------------------------------------------------------

def test_word_count_counts_the_words_of_the_sanitized_text_not_the_markup():
    body = ("<h2>Pour-over</h2><p>Don’t rush it: 3 minutes &amp; a steady pour.</p>"
            "<script>var hidden = 'one two three four';</script><ul><li>Kettle</li><li>Filter</li></ul>")
    # Pour-over | Don’t | rush | it | 3 | minutes | a | steady | pour | Kettle | Filter
    assert html.word_count(body) == 11
    assert html.word_count(html.sanitize_html(body)) == 11
    assert html.plain_text(body) == "Pour-over Don’t rush it: 3 minutes & a steady pour. Kettle Filter"


def test_block_ends_separate_words():
    assert html.word_count("<h2>Title</h2><p>Body</p><p>one<br>two</p>") == 4
    assert html.plain_text("<td>a</td><td>b</td>") == "a b"


def test_words_the_ai_claims_do_not_count_only_what_is_there():
    claimed = '<p data-words="1500">Five words are here only.</p>'
    assert html.word_count(claimed) == 5
    assert html.word_count("") == 0 and html.word_count("<p> </p>") == 0


# --- the search-result snippet and the meta counters ---------------------------------------------------------------

def test_a_short_title_and_description_are_shown_whole():
    s = html.snippet("Best grinders", "Best grinders 2026", "How to choose a grinder.", " https://x.org/best ")
    assert (s.title, s.description, s.url) == ("Best grinders 2026", "How to choose a grinder.", "https://x.org/best")


def test_the_title_is_cut_near_60_and_the_description_near_160_at_a_word_with_an_ellipsis():
    title = "The complete guide to choosing a burr coffee grinder for espresso at home"  # 74 characters
    description = ("Flat or conical burrs, stepped or stepless adjustment, retention, noise and price: " * 3).strip()
    s = html.snippet("ignored", title, description)
    assert s.title == "The complete guide to choosing a burr coffee grinder for…"
    assert len(s.title) <= 60 and title.startswith(s.title[:-1])
    assert s.description.endswith("…") and len(s.description) <= 160 and len(s.description) > 140
    assert description.startswith(s.description[:-1].rstrip(",:"))
    assert not s.description[:-1].endswith((" ", ",", ":"))


def test_the_title_is_used_when_there_is_no_meta_title_and_text_without_spaces_is_cut_hard():
    s = html.snippet("x" * 100, "   ", "")
    assert s.title == "x" * 59 + "…" and len(s.title) == 60 and s.description == ""


def test_cut_folds_whitespace_and_leaves_text_at_the_limit_alone():
    assert html.cut("a  b\n c", 60) == "a b c"
    assert html.cut("y" * 60, 60) == "y" * 60
    assert html.cut("y" * 61, 60) == "y" * 59 + "…"


def test_meta_counts_are_the_lengths_and_the_search_limits():
    assert html.meta_counts("Title", "d" * 170) == (5, 60, 170, 160)
    assert html.meta_counts("", "") == (0, 60, 0, 160)


# --- blocks ---------------------------------------------------------------------------------------------------------

def test_blocks_split_on_block_tags_and_drop_empty_ones():
    body = ("<h2>Grinders</h2><p>One <strong>bold</strong> word &amp; more.</p><p> </p><ul><li>Flat</li>"
            "<li>Conical</li></ul><blockquote>Quote</blockquote><p>line<br>break</p><hr><table><tr><th>H</th>"
            "<td>cell</td></tr></table><pre>code</pre>")
    assert html.blocks(body) == ["Grinders", "One bold word & more.", "Flat", "Conical", "Quote", "line", "break",
                                 "H", "cell", "code"]


def test_blocks_of_nothing_and_of_text_without_blocks():
    assert html.blocks("") == [] and html.blocks("<p></p>") == []
    assert html.blocks("just text") == ["just text"]


# --- removed_markup ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dirty", [
    "<p>Hi</p><script>x()</script>",
    '<p onclick="x()">Hi</p>',
    '<p><a href="javascript:x()">Hi</a></p>',
    "<p>Hi</p><!-- note -->",
    '<p class="lead">Hi</p>',
    '<div style="color: red">Hi</div>',
    '<iframe src="https://x.org"></iframe><p>Hi</p>',
])
def test_removed_markup_is_true_when_sanitizing_dropped_something(dirty):
    assert html.removed_markup(dirty, html.sanitize_html(dirty))


@pytest.mark.parametrize("fine", [
    "<p>Hi</p>",
    '<P>Upper <A HREF="https://x.org">case</A></P>',
    "<p>Unclosed paragraph",
    '<p><a href="https://x.org" rel="nofollow">ours replaces rel</a></p>',
    "<p>a &lt; b &amp; c</p>",
    "<p>line<br/>break</p>",
])
def test_removed_markup_is_false_when_sanitizing_only_rewrote(fine):
    assert not html.removed_markup(fine, html.sanitize_html(fine))


def test_div_and_span_are_kept_so_neighbouring_words_stay_apart():
    clean = html.sanitize_html('<div class="x">Trail</div><div>shoes</div><span onclick="x()">grip</span>')
    assert clean == "<div>Trail</div><div>shoes</div><span>grip</span>"
    assert html.word_count(clean) == 3
    assert html.plain_text(clean) == "Trail shoes grip"
