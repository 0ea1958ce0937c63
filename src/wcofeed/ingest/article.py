"""What an item's own page says beyond its list: the article, its date, the deadline,
the documents it links and its versions in other languages.

The main text is trafilatura's (navigation, headers, footers and share bars gone),
then sanitised with the policy of everything wcofeed publishes (`markup`), with links
and images made absolute. The date is the page's own, most explicit first: the
`article:published_time` meta, a `<time datetime>`, then its date line read in the
page's language (the WCO prints "30 октября 2020" on a Russian page). The deadline is
the deadline reader's (`deadlines`) over the article's text. Documents are the links
to PDF, Word, Excel... files in the page's body, outside its navigation. The versions
are the `hreflang` alternates, else the language switcher's links: every version lists
the same set, so the English one (else the first) names the translation key they share.
"""

from __future__ import annotations

import mimetypes
import re
from datetime import date, datetime
from urllib.parse import unquote, urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from wcofeed.ingest.charset import decode_body
from wcofeed.ingest.dates import parse_date
from wcofeed.ingest.deadlines import find_deadline_text, parse_deadline
from wcofeed.ingest.identity import absolute_url, canonical_url
from wcofeed.markup import content_to_text, sanitise_content, squash
from wcofeed.models import (
    DOCUMENT_TYPES,
    Attachment,
    Deadline,
    PageFindings,
    default_translation_key,
    in_year_range,
    is_web_url,
    parse_iso_date_or_datetime,
)

#: Where a page keeps its navigation, never its documents or its date.
_CHROME = "nav, header, footer, .header, .footer, .navigation, .breadcrumb, .language-switcher"
_SWITCHER = ".language-switcher a[href], .languages a[href], #language a[href]"
_DATE_META = (
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="date"]',
    'meta[name="dcterms.date"]',
)
_DATE_LINE = ".date, .news-date, .article-date, .publication-date, .page-date, [class*=date]"
#: "(PDF, 245 KB)", "1,2 Mo", "3.4 MB": a size the page states beside a document.
#: Bounded runs, and no start inside a number: linear on long runs of digits or spaces.
_SIZE = re.compile(
    r"(?<![\d.,])(\d{1,9}(?:[.,]\d{1,3})?)\s{0,3}(bytes|octets|[kmg]i?b|[kmg]o|кб|мб|гб)\b",
    re.IGNORECASE,
)
_UNITS = {"b": 1, "o": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "к": 1024, "м": 1024**2}
_FOLDER = re.compile(r"^/(en|fr|es|ru|zh|ar)(?:/|\.aspx$)")


def read_page(
    body: bytes,
    page_url: str,
    *,
    charset: str | None = None,
    language: str = "en",
    today: date,
) -> PageFindings:
    """What the page at `page_url` (where its relative links point) gives; `language`
    is how its date lines read when it declares none; `today` dates deadlines that
    give no year."""
    html = decode_body(body, charset)
    tree = HTMLParser(html)
    tree.strip_tags(["script", "style", "noscript", "template"])
    node = tree.css_first("html")
    declared = node.attributes.get("lang") if node is not None else None
    language = (declared or language).split("-")[0].lower() or language
    _absolute_links(tree, page_url)
    content_html = _main_text(tree.html or "", language, today)
    content_text = content_to_text(content_html)
    translation_key = _translation_key(tree, page_url)
    for chrome in tree.css(_CHROME):
        chrome.decompose()
    published = _published(tree, language, today)
    page_date = published or today
    page_text = squash(tree.body.text(separator=" ")) if tree.body is not None else ""
    return PageFindings(
        content_html=content_html,
        content_text=content_text,
        attachments=_attachments(tree, page_url),
        published=published,
        deadline=_deadline(content_text, language, page_date)
        or _deadline(page_text, language, page_date),
        translation_key=translation_key,
    )


def _absolute_links(tree: HTMLParser, page_url: str) -> None:
    """Links and images made absolute before extraction: trafilatura resolves relative
    links against the site's root, not the page (`../x` would lose its folders)."""
    for attribute, selector in (("href", "a[href]"), ("src", "img[src]")):
        for node in tree.css(selector):
            node.attrs[attribute] = absolute_url(str(node.attributes[attribute]), page_url)


def _main_text(html: str, language: str, today: date) -> str:
    extracted = trafilatura.extract(
        html,
        output_format="html",
        include_links=True,
        include_images=True,
        include_tables=True,
        include_comments=False,
    )
    if not extracted:
        return ""
    tree = HTMLParser(extracted)
    for heading in tree.css("h1"):
        heading.decompose()  # the title, which the item has already
    first = tree.css_first("p")
    if first is not None and _is_date_line(squash(first.text()), language, today):
        first.decompose()  # the date line, which the item shows as its date
    inner = "".join(child.html or "" for child in tree.body.iter()) if tree.body else ""
    return sanitise_content(inner)


def _is_date_line(text: str, language: str, today: date) -> bool:
    return 0 < len(text) <= 40 and parse_date(text, language, today) is not None


def _published(tree: HTMLParser, language: str, today: date) -> date | datetime | None:
    for selector in _DATE_META:
        node = tree.css_first(selector)
        if node is not None and (found := _iso(node.attributes.get("content"))):
            return found
    for node in tree.css("time[datetime]"):
        if found := _iso(node.attributes.get("datetime")):
            return found
    for node in tree.css(_DATE_LINE):
        text = squash(node.text())
        if _is_date_line(text, language, today) and (found := parse_date(text, language, today)):
            return found
    return None


def _iso(value: str | None) -> date | datetime | None:
    try:
        found = parse_iso_date_or_datetime((value or "").strip())
    except ValueError:
        return None
    return found if in_year_range(found) else None


def _deadline(text: str, language: str, page_date: date | datetime) -> Deadline | None:
    found = find_deadline_text(text, (language,))
    if found is None:
        return None
    day = page_date.date() if isinstance(page_date, datetime) else page_date
    return parse_deadline(found, language, day)


def _attachments(tree: HTMLParser, page_url: str) -> tuple[Attachment, ...]:
    found: dict[str, Attachment] = {}
    root = tree.body or tree.root
    for link in root.css("a[href]") if root is not None else ():
        url = absolute_url(str(link.attributes.get("href") or ""), page_url)
        kind = _document_type(url)
        if kind is None or url in found or not is_web_url(url):
            continue
        title = squash(link.text()) or squash(str(link.attributes.get("title") or ""))
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        found[url] = Attachment(url, kind, title or name, _stated_size(link))
    return tuple(found.values())


def _document_type(url: str) -> str | None:
    if not url:
        return None
    path = urlsplit(url).path.lower()
    extension = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return DOCUMENT_TYPES.get(extension) or (
        None if not extension else _known_document(mimetypes.guess_type(path)[0])
    )


def _known_document(kind: str | None) -> str | None:
    return kind if kind in DOCUMENT_TYPES.values() else None


def _stated_size(link: LexborNode) -> int | None:
    """The size the page prints in or right after the link, in bytes, if any."""
    nearby = link.text()
    following = link.next
    if following is not None and following.tag == "-text":
        nearby += " " + (following.text() or "")
    match = _SIZE.search(nearby)
    if match is None:
        return None
    number = float(match[1].replace(",", "."))
    return int(number * _UNITS.get(match[2][0].lower(), 1))


def _translation_key(tree: HTMLParser, page_url: str) -> str:
    versions: dict[str, str] = {}
    for node in tree.css("link[rel~=alternate][hreflang][href]"):
        lang = str(node.attributes.get("hreflang") or "").lower()
        url = absolute_url(str(node.attributes.get("href") or ""), page_url)
        if lang and url:
            versions.setdefault(lang, url)
    if not versions:
        for node in tree.css(_SWITCHER):
            url = absolute_url(str(node.attributes.get("href") or ""), page_url)
            folder = _FOLDER.match(urlsplit(url).path) if url else None
            if folder is not None:
                versions.setdefault(folder[1], url)
    if len(versions) < 2:
        return ""
    chosen = versions.get("en") or versions.get("x-default") or min(versions.values())
    if not is_web_url(chosen):
        return ""
    return default_translation_key(canonical_url(chosen))
