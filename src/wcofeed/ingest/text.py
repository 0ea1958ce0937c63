"""Text repair shared by every parser: mojibake, forbidden characters, whitespace.

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

from wcofeed.markup import squash, xml_safe

_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_latin_ligatures=False, explain=False)
_MAX_PROBES = 50
_SHORT = 80
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+(?:[ \t][^\x00-\x7f]+)*")


def strip_forbidden(text: str) -> str:
    """Remove characters an XML feed cannot carry, and U+FFFD, which only says that
    something was already lost."""
    return xml_safe(text).replace("\ufffd", "")


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
