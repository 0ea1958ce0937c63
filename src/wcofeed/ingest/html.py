"""HTML pages -> items: pick the profile, repair the text, decide the content language.

Pure: bytes in, `ParseResult` out. A body that is really a feed is handed to the feed
parser (with a warning), since sites do serve RSS as text/html.
"""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from wcofeed.ingest.build import PageContext, ParseError, ParseResult, build_items
from wcofeed.ingest.charset import decode_body
from wcofeed.ingest.depth import too_deep
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.identity import absolute_url
from wcofeed.ingest.language import declared_language, fallback_language
from wcofeed.ingest.profiles import Profile, extract
from wcofeed.ingest.profiles.css import from_selectors
from wcofeed.ingest.profiles.wco import PROFILES, detect
from wcofeed.ingest.text import PageRepair

log = logging.getLogger("wcofeed.ingest")

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)\b")
_SPACE = b" \t\r\n\x0b\x0c"
_REPAIR_SAMPLE = 200_000


def looks_like_feed(body: bytes) -> bool:
    """An RSS, Atom or RDF document, whatever the server called it."""
    head = body[:2048].removeprefix(b"\xef\xbb\xbf").lstrip(_SPACE)
    if head.startswith(b"<?xml"):
        head = head[head.find(b">") + 1 :].lstrip(_SPACE) if b">" in head else b""
    # Comments are skipped by hand, each up to its first "-->": a pattern that did this
    # backtracked exponentially on a run of empty comments.
    while head.startswith(b"<!--"):
        end = head.find(b"-->", 4)
        if end < 0:
            return False
        head = head[end + 3 :].lstrip(_SPACE)
    return _FEED_ROOT.match(head) is not None


def choose_profile(tree: HTMLParser, ctx: PageContext) -> Profile:
    source = ctx.source
    if source.profile == "css":
        assert source.selectors is not None  # the config loader insists
        return from_selectors(source.selectors)
    if source.profile != "auto":
        try:
            return PROFILES[source.profile]
        except KeyError:
            known = ", ".join(["auto", "css", *PROFILES])
            raise ParseError(
                f"source {source.id}: unknown profile {source.profile!r} (known: {known})"
            ) from None
    found = detect(tree)
    if found is None:
        raise ParseError(
            f"source {source.id}: no WCO page kind recognised at {ctx.page_url}; "
            'set profile = "css" with selectors'
        )
    return found


def _base_url(tree: HTMLParser, page_url: str) -> str:
    """Where relative links point: <base> (itself relative to the page), else the page;
    a local snapshot's canonical."""
    base = tree.css_first("base[href]")
    if base is not None and base.attributes.get("href"):
        return absolute_url(str(base.attributes["href"]), page_url) or page_url
    if not page_url.startswith(("http://", "https://")):
        canonical = tree.css_first('link[rel="canonical"][href]')
        if canonical is not None and canonical.attributes.get("href"):
            return str(canonical.attributes["href"])
    return page_url


def parse_html(body: bytes, ctx: PageContext, charset: str | None = None) -> ParseResult:
    """Items of one HTML page; `ctx.page_url` is where it came from."""
    if looks_like_feed(body):
        result = parse_feed(body, ctx)
        message = f"source {ctx.source.id}: served a feed, not an HTML page; read it as a feed"
        log.warning(message)
        result.warnings.insert(0, message)
        return result
    limit = ctx.limits.max_nesting_depth
    if (depth := too_deep(body, limit)) is not None:
        raise ParseError(
            f"source {ctx.source.id}: page nested deeper than {limit} elements "
            f"(ingest.max_nesting_depth; {depth} found before counting stopped); "
            "refused unparsed"
        )
    tree = HTMLParser(decode_body(body, charset))
    tree.strip_tags(["script", "style", "noscript", "template"])
    profile = choose_profile(tree, ctx)
    base = _base_url(tree, ctx.page_url)
    page_text = tree.body.text(separator=" ") if tree.body is not None else ""
    if not page_text.isascii():
        ctx.repair = PageRepair.for_page(page_text[:_REPAIR_SAMPLE])
    html_node = tree.css_first("html")
    lang_attr = html_node.attributes.get("lang") if html_node is not None else None
    ctx.language = fallback_language(page_text) or declared_language(lang_attr, base)
    ctx.page_url = ctx.page_url if ctx.page_url.startswith("http") else base
    return build_items(extract(tree, profile, base), ctx)
