"""The list of every static feed, grouped by language: what index.html and OPML show.

Each group is written in its own language (its heading, its feed titles), whatever the
language of the page or list it sits in, and says so with `lang` and `dir`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wcofeed.config import Settings
from wcofeed.i18n import language_name, texts
from wcofeed.publish.build import file_name, file_url, spec_title
from wcofeed.publish.specs import FeedSpec, Format

FORMAT_NAMES: dict[Format, str] = {
    "atom": "Atom",
    "rss": "RSS",
    "json": "JSON Feed",
    "ics": "iCalendar",
}
MEDIA_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
    "ics": "text/calendar",
}


@dataclass(frozen=True, slots=True)
class Link:
    format: Format
    name: str
    media_type: str
    url: str
    path: str


@dataclass(frozen=True, slots=True)
class Listed:
    title: str
    is_topic: bool
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class LanguageGroup:
    language: str
    heading: str
    feeds: tuple[Listed, ...]
    #: The subheadings of its general and its per-topic feeds.
    general_heading: str
    topics_heading: str


def listing(settings: Settings, specs: Sequence[FeedSpec]) -> list[LanguageGroup]:
    groups: list[LanguageGroup] = []
    for language in settings.site.languages:
        feeds = tuple(
            Listed(
                title=spec_title(settings, spec),
                is_topic=spec.section == "topic",
                links=tuple(
                    Link(
                        f,
                        FORMAT_NAMES[f],
                        MEDIA_TYPES[f],
                        file_url(settings, spec, f),
                        file_name(spec, f),
                    )
                    for f in spec.formats
                ),
            )
            for spec in specs
            if spec.language == language
        )
        words = texts(language)
        heading = words.gettext("Feeds in %(language)s", language=language_name(language))
        groups.append(
            LanguageGroup(
                language,
                heading,
                feeds,
                general_heading=words.gettext("General feeds"),
                topics_heading=words.gettext("By topic"),
            )
        )
    return groups


def first(groups: Sequence[LanguageGroup], language: str) -> list[LanguageGroup]:
    """The groups with `language`'s own first: what a reader of that language wants."""
    return sorted(groups, key=lambda group: group.language != language)
