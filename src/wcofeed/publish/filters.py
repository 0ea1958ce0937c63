"""The content filters of a list of items (`lang`, `topic`, `kind`, `q`), parsed once for
the feed query form and the HTML pages alike, so "the feed of this page" is the page's
own query string.

Each parameter may repeat and may hold a comma-separated list. Parsing is strict so a
typo is a clear error naming the parameter instead of a quietly unfiltered list: a
malformed value is a 400, a well-formed language or topic the site does not have a 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wcofeed.config import Settings
from wcofeed.models import KINDS, is_language_code, is_slug

FILTERS = ("lang", "topic", "kind", "q")
MAX_Q = 200
#: Plural spellings people type for kinds; the model's names are singular.
_KIND_ALIASES = {"calls": "call", "publications": "publication", "events": "event"}


class FilterError(ValueError):
    """A bad parameter: `status` is 400 (malformed) or 404 (unknown language or topic)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Filters:
    """Which items a list shows; empty means "any"."""

    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str = ""

    def filter_params(self) -> list[tuple[str, str]]:
        """Canonical query-string pairs, in `FILTERS` order, empty ones left out."""
        pairs = [
            ("lang", ",".join(self.languages)),
            ("topic", ",".join(self.topics)),
            ("kind", ",".join(self.kinds)),
            ("q", self.q),
        ]
        return [(name, value) for name, value in pairs if value]


def values(params: Mapping[str, Iterable[str]], name: str) -> list[str]:
    """Every value of `name`, repeated or comma-separated, blanks dropped."""
    return [v.strip() for raw in params.get(name, ()) for v in raw.split(",") if v.strip()]


def one(params: Mapping[str, Iterable[str]], name: str) -> str | None:
    """The single value of `name`, or None; given twice is an error."""
    found = list(params.get(name, ()))
    if len(found) > 1:
        raise FilterError(400, f"{name}: give it once")
    return found[0].strip() if found else None


def parse_filters(settings: Settings, params: Mapping[str, Iterable[str]]) -> Filters:
    """The filters among `params` (each name mapped to all its values), checked."""
    languages = values(params, "lang")
    for lang in languages:
        if not is_language_code(lang):
            raise FilterError(400, f"lang: not a language code: {lang!r}")
        if lang not in settings.site.languages:
            raise FilterError(404, f"lang: unknown language {lang!r}")
    topics = values(params, "topic")
    for topic in topics:
        if not is_slug(topic):
            raise FilterError(400, f"topic: not a topic slug: {topic!r}")
        if topic not in settings.topics:
            raise FilterError(404, f"topic: unknown topic {topic!r}")
    kinds = [_KIND_ALIASES.get(k, k) for k in values(params, "kind")]
    for kind in kinds:
        if kind not in KINDS:
            raise FilterError(400, f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    q = one(params, "q") or ""
    if len(q) > MAX_Q:
        raise FilterError(400, f"q: longer than {MAX_Q} characters")
    return Filters(
        languages=tuple(dict.fromkeys(languages)),
        topics=tuple(dict.fromkeys(topics)),
        kinds=tuple(dict.fromkeys(kinds)),
        q=q,
    )
