"""The filters of a list of items (`lang`, `content_lang`, `topic`, `kind`, `q`), parsed
once for the feed query form and the HTML pages alike, so "the feed of this page" is the
page's own query string.

`lang` names an edition: the items in that language and, for those with no version in
it, their version in its fallback languages (`Settings.edition`). `content_lang` is the
strict filter: only items whose content is in those languages (one version of each,
the first language given preferred), whatever the edition. Every parameter but `lang`
and `q` may repeat and may hold a comma-separated list. Parsing is strict so a typo is
a clear error naming the parameter instead of a quietly unfiltered list: a malformed
value is a 400, a well-formed language or topic the site does not have a 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wcofeed.config import Settings
from wcofeed.models import KINDS, is_language_code, is_slug

FILTERS = ("lang", "content_lang", "topic", "kind", "q")
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
    """Which items a list shows; empty means "any" (no edition: every version)."""

    lang: str = ""
    content_languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str = ""

    def edition(self, settings: Settings, default: str = "") -> tuple[str, ...]:
        """The content languages listed, best first: `content_lang` as given, else those
        of the edition of `lang` (or `default`); none (every version) without either."""
        if self.content_languages:
            return self.content_languages
        lang = self.lang or default
        return settings.edition(lang) if lang else ()

    def filter_params(self) -> list[tuple[str, str]]:
        """Canonical query-string pairs, in `FILTERS` order, empty ones left out."""
        pairs = [
            ("lang", self.lang),
            ("content_lang", ",".join(self.content_languages)),
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


def _check_language(settings: Settings, name: str, code: str) -> None:
    if not is_language_code(code):
        raise FilterError(400, f"{name}: not a language code: {code!r}")
    if code not in settings.site.languages:
        raise FilterError(404, f"{name}: unknown language {code!r}")


def parse_filters(settings: Settings, params: Mapping[str, Iterable[str]]) -> Filters:
    """The filters among `params` (each name mapped to all its values), checked."""
    lang = one(params, "lang") or ""
    if "," in lang:
        raise FilterError(400, "lang: one edition; content_lang takes several content languages")
    if lang:
        _check_language(settings, "lang", lang)
    content_languages = values(params, "content_lang")
    for code in content_languages:
        _check_language(settings, "content_lang", code)
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
        lang=lang,
        content_languages=tuple(dict.fromkeys(content_languages)),
        topics=tuple(dict.fromkeys(topics)),
        kinds=tuple(dict.fromkeys(kinds)),
        q=q,
    )
