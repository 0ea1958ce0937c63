"""Stable item ids: the canonical link, so a page fetched twice yields the same guid.

Fragments and tracking parameters are dropped and the host is lower-cased; without a
link, a hash of source, title and date stands in (the `urn:wcofeed:` form).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# What browsers strip from an href before reading it (WHATWG URL: C0 controls and space
# at either end, tabs and newlines anywhere); controls left inside get percent-encoded.
# str.strip, not a pattern: `[\x00-\x20]+$` is quadratic on a long run of inner spaces.
_EDGE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A relative result ("") stays: a local snapshot's links resolve against a file path.
_LINK_SCHEMES = ("http", "https", "")

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "igshid",
        "ref_src",
        "mkt_tok",
    }
)


def absolute_url(href: str, base: str) -> str:
    """`href` resolved against the page it appeared on; "" when it is no web link.

    Browsers drop tabs and newlines inside an href (so "java<newline>script:" is javascript:),
    and a malformed one ("http://[::1") must cost only its item's link, not the page.
    Controls left in the path are percent-encoded so the link still leads somewhere.
    """
    href = _TAB_OR_NEWLINE.sub("", href).strip(_EDGE)
    origin = _origin(base) if _root_relative(href) else None
    if origin is not None:  # what urljoin gives, for the common case at a tenth its cost
        return _encode_controls(origin + href)
    try:
        url = urljoin(base, href)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    if scheme not in _LINK_SCHEMES:
        return ""
    return _encode_controls(url)


def _encode_controls(url: str) -> str:
    return _URL_CONTROL.sub(lambda m: quote(m[0], safe="", errors="replace"), url)


def _root_relative(href: str) -> bool:
    """A link from the site's root ("/en/news.aspx") that urljoin would only prefix
    with the base's scheme and host: no dot segments to resolve, no backslash."""
    return href[:1] == "/" and href[1:2] != "/" and "/." not in href and "\\" not in href


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """`scheme://host` of an http(s) base (the scheme lower-cased, as urljoin does)."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _plain_canonical(url: str) -> str | None:
    """`canonical_url` of a link with nothing to take out (no query, no fragment, ASCII,
    no spaces at the ends, no IPv6 brackets), computed without urllib; else None."""
    if not url.isascii() or url.strip() != url or any(c in url for c in "?#[]\t\r\n"):
        return None
    scheme = "https" if url.startswith("https://") else "http"
    rest = url[len(scheme) + 3 :]
    slash = rest.find("/")
    host, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    host = host.lower()
    if host.endswith(":443" if scheme == "https" else ":80"):
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}{path or '/'}"


def canonical_url(url: str) -> str:
    """The link without fragment or tracking parameters, scheme and host lower-cased."""
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    host = parts.netloc.lower()
    if (parts.scheme == "http" and host.endswith(":80")) or (
        parts.scheme == "https" and host.endswith(":443")
    ):
        host = host.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", urlencode(query), ""))


def make_guid(url: str | None, source: str, title: str, published: date | None) -> str:
    """The canonical link when there is one, else a hash of what identifies the item
    (also for a link that does not parse, such as `http://[::1`)."""
    if url and url.startswith(("http://", "https://")):
        plain = _plain_canonical(url)
        if plain is not None:
            return plain
    try:
        if url and urlsplit(url).scheme in ("http", "https"):
            return canonical_url(url)
    except ValueError:
        pass
    key = "\x1f".join((source, title.casefold(), published.isoformat() if published else ""))
    return "urn:wcofeed:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
