"""Topic tagging: the source's defaults plus the keyword map of `[topics.<slug>]`.

Keywords match whole words, case-insensitively, in the title and summary. The text is
split into words once and its word n-grams are looked up in one table, which is much
cheaper than a regex alternation over every keyword on long lists; keywords in scripts
written without spaces (Chinese) are matched as substrings instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from wcofeed.config import TopicSettings

_WORD = re.compile(r"\w+")
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class TopicMatcher:
    """Which configured topics a text is about."""

    def __init__(self, topics: Mapping[str, TopicSettings]) -> None:
        # first word -> (the phrase's words, its topics), so each word of a text costs
        # one dict lookup and only phrases that start there are compared
        self._by_first: dict[str, list[tuple[tuple[str, ...], frozenset[str]]]] = {}
        self._substrings: list[tuple[str, str]] = []
        phrases: dict[tuple[str, ...], set[str]] = {}
        for slug, topic in topics.items():
            for keyword in topic.keywords:
                folded = keyword.strip().casefold()
                if not folded:
                    continue
                if _UNSPACED.search(folded):
                    self._substrings.append((folded, slug))
                elif words := tuple(_WORD.findall(folded)):
                    phrases.setdefault(words, set()).add(slug)
        for words, slugs in phrases.items():
            self._by_first.setdefault(words[0], []).append((words, frozenset(slugs)))

    def match(self, text: str, defaults: Iterable[str] = ()) -> tuple[str, ...]:
        found = set(defaults)
        folded = text.casefold()
        if self._by_first:
            words = _WORD.findall(folded)
            by_first = self._by_first
            for start, word in enumerate(words):
                candidates = by_first.get(word)
                if candidates is None:
                    continue
                for phrase, slugs in candidates:
                    if len(phrase) == 1 or tuple(words[start : start + len(phrase)]) == phrase:
                        found |= slugs
        for keyword, slug in self._substrings:
            if keyword in folded:
                found.add(slug)
        return tuple(sorted(found))
