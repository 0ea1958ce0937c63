"""Bytes -> text: the header's charset, else the page's meta tag, else detection.

A header that contradicts the bytes is common (servers default to ISO-8859-1): when
the body is valid UTF-8 with multi-byte sequences, UTF-8 wins over a single-byte
header charset, since Latin-1 text is almost never valid UTF-8 by chance.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# `[^<>]`, not `[^>]`: each "<meta" of a run would otherwise scan to the end (quadratic).
_META = re.compile(rb"""<meta[^<>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""<\?xml[^<>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}


def _codec(name: str | None) -> str | None:
    """The text encoding a label names; None for an unknown label and for codecs that
    are not text encodings (`hex`, `base64`, `rot13`: bytes.decode refuses them)."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip())
        b"a".decode(codec.name)  # a codec that is no text encoding raises LookupError
    except LookupError:
        return None
    except UnicodeDecodeError:  # a text encoding, just not of one byte (utf-16)
        pass
    return codec.name


def _plausible(encoding: str, body: bytes) -> bool:
    """UTF-16 and UTF-32 text has NUL bytes wherever it has ASCII: a label naming them on
    a body with no NUL near its start is wrong (often a UTF-8 page)."""
    return not encoding.startswith(("utf-16", "utf-32")) or b"\x00" in body[:4096]


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_body(body: bytes, header_charset: str | None = None) -> str:
    """The document's text, never raising: undecodable bytes become U+FFFD at worst."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace")
    head = body[:4096]
    declared = _codec(header_charset)
    if declared is None:
        match = _META.search(head) or _XML_DECL.search(head)
        declared = _codec(match[1].decode("ascii")) if match else None
    if declared is not None and not _plausible(declared, body):
        declared = None
    if declared is not None:
        if declared in _SINGLE_BYTE and not body.isascii():
            as_utf8 = _utf8(body)
            if as_utf8 is not None:
                return as_utf8
        try:
            return body.decode(declared)
        except UnicodeDecodeError:
            pass
    as_utf8 = _utf8(body)
    if as_utf8 is not None:
        return as_utf8
    best = from_bytes(body[:200_000]).best()
    encoding = best.encoding if best is not None else "cp1252"
    return body.decode(encoding, errors="replace")
