"""Which feeds exist, what each one lists, and which feeds an item touches.

A `FeedSpec` is one filter (an edition, optional topic, optional kind, or "calls closing
soon"); it is written in three formats (RSS, Atom, JSON Feed) and, for calls, as an
iCalendar file too. The edition of language L lists the items in L and, for those with
no version in L, their version in L's fallback languages (`Settings.edition`).
Incremental publishing asks `touches` for each new item and for the version it
replaced, so a call that moves out of a topic leaves that topic's feed too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from wcofeed.config import Settings
from wcofeed.isolate import Skipped, each_or_skip
from wcofeed.models import Item
from wcofeed.store import Counts, ItemQuery

Format = Literal["rss", "atom", "json", "ics"]
FEED_FORMATS: tuple[Format, ...] = ("atom", "rss", "json")

Section = Literal["all", "news", "calls", "closing-soon", "topic"]
FIXED_SECTIONS: tuple[Section, ...] = ("all", "news", "calls", "closing-soon")


@dataclass(frozen=True, slots=True, order=True)
class FeedSpec:
    """One static feed: `section` says which slice of a language's edition it lists;
    `edition` is that edition's content languages, best first (empty: `language`
    alone)."""

    language: str
    section: Section
    topic: str = ""
    edition: tuple[str, ...] = ()

    @property
    def languages(self) -> tuple[str, ...]:
        return self.edition or (self.language,)

    @property
    def stem(self) -> str:
        """Path under the feeds folder, without extension: `fr/topics/origin`."""
        if self.section == "topic":
            return f"{self.language}/topics/{self.topic}"
        return f"{self.language}/{self.section}"

    @property
    def formats(self) -> tuple[Format, ...]:
        if self.section == "calls":
            return (*FEED_FORMATS, "ics")
        return FEED_FORMATS

    @property
    def time_dependent(self) -> bool:
        """Feeds whose content changes with the clock alone (a call closes)."""
        return self.section in ("calls", "closing-soon")

    def query(self, limit: int, now: datetime) -> ItemQuery:
        edition = self.languages
        if self.section == "topic":
            return ItemQuery(edition=edition, topics=(self.topic,), limit=limit)
        if self.section == "news":
            return ItemQuery(edition=edition, kinds=("news",), limit=limit)
        if self.section == "calls":
            return ItemQuery(edition=edition, kinds=("call",), limit=limit)
        if self.section == "closing-soon":
            return self.calendar_query(now, limit)
        return ItemQuery(edition=edition, limit=limit)

    def calendar_query(self, now: datetime, limit: int) -> ItemQuery:
        """Open calls of this edition, soonest deadline first."""
        return ItemQuery(
            edition=self.languages,
            kinds=("call",),
            open_at=now,
            order="deadline",
            limit=limit,
        )

    def touches(self, item: Item) -> bool:
        """Whether `item` belongs in this feed (ignoring the clock, the size limit and
        whether a better version replaces it: a new version changes the feed too)."""
        if item.language not in self.languages:
            return False
        if self.section == "topic":
            return self.topic in item.topics
        if self.section == "news":
            return item.kind == "news"
        if self.section in ("calls", "closing-soon"):
            return item.kind == "call"
        return True


def closing_window(
    items: Iterable[Item], now: datetime, days: int, skipped: list[Skipped]
) -> list[Item]:
    """Calls (already soonest first) whose deadline falls within `days` of `now`; one
    whose closing instant cannot be computed is left out and recorded in `skipped`."""
    end = now + timedelta(days=days)
    closing = each_or_skip(items, _with_close, lambda i: i.guid, "feed", skipped)
    return [item for item, closes in closing if closes is not None and closes <= end]


def _with_close(item: Item) -> tuple[Item, datetime | None]:
    return item, item.deadline.closes_at() if item.deadline else None


def all_specs(
    settings: Settings, counts: Counts, published: Callable[[FeedSpec], bool] = lambda s: False
) -> list[FeedSpec]:
    """Every static feed: per edition, per kind, closing soon, and per edition x topic.

    An edition x topic feed exists when the topic is configured and has at least one item
    in the edition's languages, so hundreds of empty files are not written; once
    `published`, it stays (empty if need be), so subscribers never meet a stale file.
    """
    specs: list[FeedSpec] = []
    for language in settings.site.languages:
        edition = settings.edition(language)
        for section in FIXED_SECTIONS:
            specs.append(FeedSpec(language, section, edition=edition))
        for topic in sorted(settings.topics):
            spec = FeedSpec(language, "topic", topic, edition)
            found = sum(counts.by_language_topic.get((code, topic), 0) for code in edition)
            if found > 0 or published(spec):
                specs.append(spec)
    return specs
