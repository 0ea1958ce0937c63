"""Topic tagging: the source's defaults plus the keyword map of `[topics.<slug>]`.

Keywords match whole words, case-insensitively, in the title and summary; all topics'
keywords are compiled into one regex so tagging costs one scan per item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from wcofeed.config import TopicSettings


class TopicMatcher:
    """Which configured topics a text is about."""

    def __init__(self, topics: Mapping[str, TopicSettings]) -> None:
        self._by_group: list[str] = []
        parts: list[str] = []
        for slug, topic in topics.items():
            words = [w.strip() for w in topic.keywords if w.strip()]
            if not words:
                continue
            alternatives = "|".join(
                re.escape(w) for w in sorted(words, key=len, reverse=True)
            )
            parts.append(f"(?P<g{len(self._by_group)}>{alternatives})")
            self._by_group.append(slug)
        self._pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)
            if parts
            else None
        )

    def match(self, text: str, defaults: Iterable[str] = ()) -> tuple[str, ...]:
        found = set(defaults)
        if self._pattern is not None:
            for match in self._pattern.finditer(text):
                group = match.lastgroup
                if group is not None:
                    found.add(self._by_group[int(group[1:])])
        return tuple(sorted(found))
