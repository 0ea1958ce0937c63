"""Text repair shared by every parser: mojibake, forbidden characters, whitespace, HTML.

Mojibake is fixed per page, not per string: ftfy needs context to recognise a short
"üìÖ" as a mis-decoded "📅", so the plan it finds on the whole page is replayed on
each extracted string (`PageRepair`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import lru_cache

import ftfy
import nh3
from selectolax.lexbor import LexborHTMLParser as HTMLParser

_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_latin_ligatures=False, explain=False)
# Characters XML 1.0 forbids (C0 controls but tab/newline/return, surrogates, U+FFFE/FFFF)
# plus C1 controls, which are legal but never meant in a title, and U+FFFD, which only
# says that something was already lost.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd-\uffff]")
_MAX_PROBES = 50
_SHORT = 80
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+(?:[ \t][^\x00-\x7f]+)*")
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


def strip_forbidden(text: str) -> str:
    """Remove characters an XML feed cannot carry."""
    return _FORBIDDEN.sub("", text)


def squash(text: str) -> str:
    """One line: runs of whitespace (incl. no-break spaces) become one space."""
    # str.split() splits on exactly what the regex \s matches, five times faster
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class PageRepair:
    """How one page's text is repaired: the encoding plan ftfy found for the whole page."""

    plan: tuple[tuple[str, str], ...] = ()

    @classmethod
    def for_page(cls, sample: str) -> PageRepair:
        """The re-decoding plan ftfy finds on the page, or on its first line that has one."""
        # dict: a one-line sample (most pages' text) is probed once, not twice
        lines = (line for line in sample.splitlines() if not line.isascii())
        candidates = list(dict.fromkeys([sample, *lines]))
        for text in candidates[:_MAX_PROBES]:
            steps = tuple(ftfy.fix_encoding_and_explain(text).explanation or ())
            if any(step == "encode" for step, _ in steps):
                return cls(steps)
        return cls()

    def _fix_run(self, match: re.Match[str]) -> str:
        """One run of non-ASCII text re-decoded by the page's plan, if it fits.

        Mis-decoded emoji often lose their lead byte on the way ("üìÖ" is 📅 without
        its 0xF0), so a run whose bytes start mid-sequence gets that byte back.
        """
        run = match[0]
        plan = list(self.plan)
        for lead in ("", "\uf8ff"):
            with contextlib.suppress(UnicodeError, ValueError):
                return ftfy.apply_plan(lead + run, plan)
        return run

    def fix(self, text: str) -> str:
        """Repaired, cleaned and squashed to one line."""
        if len(text) <= _SHORT:
            return _fix_short(self, text)
        return squash(self.fix_block(text))

    def fix_block(self, text: str) -> str:
        if self.plan:
            text = _NON_ASCII_RUN.sub(self._fix_run, text)
        if not text.isascii():
            text = ftfy.fix_text(text, _CONFIG)
        return strip_forbidden(text)


@lru_cache(maxsize=8192)
def _fix_short(repair: PageRepair, text: str) -> str:
    """Dates, labels and short titles repeat down a list page: repair each once."""
    return squash(repair.fix_block(text))


def clean(text: str) -> str:
    """A string repaired on its own (no page context)."""
    return PageRepair().fix(text)


def sanitise_html(html: str, base_url: str | None = None) -> str:
    """Only harmless markup survives; links get rel=noopener noreferrer."""
    return nh3.clean(
        strip_forbidden(html),
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "abbr": {"title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def html_to_text(html: str) -> str:
    """The plain-text twin of sanitised HTML."""
    return squash(HTMLParser(html).text(separator=" ")) if html else ""
