"""Text that goes into HTML and XML: the characters XML cannot carry, sanitised item
HTML and its plain-text twin.

Ingest cleans what it stores with these, and publishing applies them again to whatever
the store holds (items typed in through the admin API were never ingested): one policy
on both sides, except that links in feeds also get rel=nofollow.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote

import nh3
from selectolax.lexbor import LexborHTMLParser as HTMLParser

# XML 1.0 forbids C0 controls (but tab, LF, CR), surrogates and U+FFFE/U+FFFF; C1
# controls are allowed but are always mojibake in our sources and validators flag them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "ul",
}


def xml_safe(text: str) -> str:
    """`text` without the characters XML cannot carry."""
    return _NOT_XML.sub("", text)


#: What stays as it is in a link made ASCII: RFC 3986's reserved characters and `%`, so
#: escapes already there are kept and nothing that delimits the URL is touched.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
#: An `&` starting what reads as a character reference (`&lt;`, `&#60;`, `&#x3C;`).
_REFERENCE_AMP = re.compile(r"&(?=[A-Za-z][A-Za-z0-9]*;|#[0-9]+;|#[xX][0-9A-Fa-f]+;)")


def ascii_url(url: str) -> str:
    """`url` with every other character percent-encoded as UTF-8 (an IRI as a URI), and
    an `&` that starts something like a character reference too.

    Feed links are read by other people's software: RSS wants a URL, and a reader seeing
    non-ASCII text there may "repair" it (feedparser turns `/Â¡` into `/¡`), or decode
    a reference in it once more (feedparser reads `/&lt;0` in an RSS `<link>` as
    `/&lt0`), so a link leaves in the one form that cannot be misread. Such a link comes
    from a malformed feed its loose parser half-decoded; an `&` between query
    parameters is never followed by `name;` and is kept."""
    return _REFERENCE_AMP.sub("%26", quote(url, safe=_URL_SAFE))


def squash(text: str) -> str:
    """One line: runs of whitespace (incl. no-break spaces) become one space."""
    # str.split() splits on exactly what the regex \s matches, five times faster
    return " ".join(text.split())


#: C0 and C1 controls (line breaks among them) and the Unicode line and paragraph
#: separators, as spaces.
_BREAKS = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


def one_line(text: str) -> str:
    """One line for a header or a property (an email subject, a calendar's name): line
    breaks and other controls become spaces and runs of spaces collapse, so no value can
    start a line of its own; no-break spaces are kept (French puts one before a colon)."""
    return " ".join(part for part in text.translate(_BREAKS).split(" ") if part)


def sanitise_html(html: str, *, nofollow: bool = False) -> str:
    """Only harmless markup survives; links get rel=noopener noreferrer (and nofollow)."""
    return nh3.clean(
        xml_safe(html),
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "abbr": {"title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow" if nofollow else "noopener noreferrer",
    ).strip()


#: An item's full text keeps its structure and pictures too: headings, tables, figures.
_CONTENT_TAGS = _ALLOWED_TAGS | {
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "dl",
    "dt",
    "dd",
    "hr",
}
#: Where one block of text ends, for the plain-text twin of a full text.
_BLOCK_END = re.compile(
    r"</(?:p|li|h[2-6]|tr|pre|blockquote|figcaption|dt|dd)>|<br\s*/?>|<hr\s*/?>"
)
_PARAGRAPH = "\ue000"


def sanitise_content(html: str, *, nofollow: bool = False) -> str:
    """An item's full text: `sanitise_html`'s policy, plus headings, tables and images
    (http(s) sources only, as every link)."""
    return nh3.clean(
        xml_safe(html),
        tags=_CONTENT_TAGS,
        attributes={
            "a": {"href", "title"},
            "abbr": {"title"},
            "img": {"src", "alt", "title", "width", "height"},
            "td": {"colspan", "rowspan"},
            "th": {"colspan", "rowspan"},
        },
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow" if nofollow else "noopener noreferrer",
    ).strip()


def content_to_text(html: str) -> str:
    """The plain-text twin of a sanitised full text: one line per paragraph, list item
    or heading, paragraphs apart by a blank line."""
    if not html:
        return ""
    marked = _BLOCK_END.sub(lambda m: m[0] + _PARAGRAPH, html)
    text = HTMLParser(marked).text(separator=" ")
    return "\n\n".join(line for line in map(squash, text.split(_PARAGRAPH)) if line)


def sanitise_summaries(values: MutableMapping[str, Any]) -> None:
    """An item typed in by hand (`wcofeed add`, a JSON source, the admin API), given in
    its JSON form: `summary_html` and `content_html` sanitised, and `summary` and
    `content_text` derived from them when not given."""
    html = values.get("summary_html")
    if isinstance(html, str) and html:
        values["summary_html"] = sanitise_html(html)
        values.setdefault("summary", html_to_text(values["summary_html"]))
    content = values.get("content_html")
    if isinstance(content, str) and content:
        values["content_html"] = sanitise_content(content)
        values.setdefault("content_text", content_to_text(values["content_html"]))


def html_to_text(html: str) -> str:
    """The plain-text twin of sanitised HTML."""
    return squash(HTMLParser(html).text(separator=" ")) if html else ""
