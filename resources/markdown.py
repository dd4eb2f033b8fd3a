"""Markdown bodies to safe HTML (markdown-it-py, then the nh3 allow-list), and reading time."""

from __future__ import annotations

import math
import string

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

# CommonMark plus GitHub's tables, strikethrough and bare-URL autolinks. Raw HTML is on: the
# sanitizer below, not the parser, decides what survives, so harmless formatting an author
# writes by hand (<kbd>, <sup>, <details>, ...) is kept.
_markdown = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(
    ["table", "strikethrough", "linkify"]
)


def _table_alignment_as_attribute(state: StateCore) -> None:
    # markdown-it aligns table columns with style="text-align:..."; `style` is not allowed (it
    # can draw over the reader's page), so the alignment travels as the `align` attribute.
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            style = str(token.attrs.pop("style"))
            token.attrs["align"] = style.removeprefix("text-align:")


_markdown.core.ruler.push("table_alignment_as_attribute", _table_alignment_as_attribute)

_LINK_REL = "nofollow noopener noreferrer"

_LANGUAGE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_+#.-")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Called by nh3 for each attribute it already allows, URLs already checked against
    # `url_schemes` below; this narrows the two rules nh3 cannot express per tag.
    if tag == "img" and attribute == "src":
        # Images load without a click, so only the web's own schemes: no mailto: images. A
        # value that does not start with the scheme itself (leading blanks) is dropped too.
        return value if value[:8].lower().startswith(("http:", "https:")) else None
    if attribute == "class":
        # Only the fenced-code marker (`class="language-python"`), one word: an author's own
        # class names could borrow the styles of the page showing the article.
        language = value.removeprefix("language-")
        if language != value and language and set(language) <= _LANGUAGE_CHARACTERS:
            return value
        return None
    return value


# fmt: off
_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
# Dropped with everything inside: their content is code or markup, not prose.
_TAGS_DROPPED_WHOLE = {
    "script", "style", "template", "iframe", "frameset", "noscript", "noembed", "noframes",
    "object", "textarea", "title", "xmp", "select",
}
# fmt: on

_cleaner = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_TAGS_DROPPED_WHOLE,
    # No id or name (they would clobber the page's DOM globals), no style, no event handlers;
    # nh3 itself keeps `lang` and `title` on any element.
    attributes={
        "a": {"href", "title"},
        "abbr": {"title"},
        "bdo": {"dir"},
        "code": {"class"},
        "img": {"src", "alt", "title", "width", "height"},
        "ol": {"start"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
        "time": {"datetime"},
    },
    tag_attribute_values={
        "td": {"align": {"left", "center", "right"}},
        "th": {"align": {"left", "center", "right"}},
    },
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=_LINK_REL,
    url_schemes={"http", "https", "mailto"},
    # Relative URLs are dropped: the HTML is shown by frontends on origins this API does not
    # know, where `/settings` or `x.png` would point at (and `<img>` would request) whatever
    # that page's site has there, and a `#fragment` has no target, since ids are not allowed.
    url_relative="deny",
)


def markdown_render(text: str) -> str:
    """The HTML of a Markdown body: CommonMark, tables, strikethrough, autolinks and fenced code
    (`class="language-x"`), sanitized against the allow-list above. The same text always gives
    the same HTML."""
    html = _markdown.render(text)
    try:
        return _cleaner.clean(html)
    except UnicodeEncodeError:
        # Lone surrogates (which the API refuses, but a stored row might hold) cannot cross
        # into the sanitizer: each becomes U+FFFD, as an HTML parser would make of it.
        return _cleaner.clean(html.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


WORDS_PER_MINUTE = 265

# Deleted before splitting on white space, so that Markdown's own marks (`#`, `-`, `>`, `|---|`,
# code fences) count as nothing, a word wrapped in markup (`**bold**`, `[link](url)`) counts
# once and "don't" stays one word. Code counts like prose: readers read it too.
_PUNCTUATION = str.maketrans("", "", string.punctuation + "\u2013\u2014\u2026\u00b7\u2022")


def reading_time_minutes(text: str) -> int:
    """Minutes to read a Markdown body at 265 words a minute, rounded up, at least 1."""
    words = len(text.translate(_PUNCTUATION).split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))
