"""Topic tagging: the source's defaults plus the keyword map of `[topics.<slug>]`.

Keywords match whole words, case-insensitively, in the title and summary. The text is
split into words once: one-word keywords are found by intersecting its set of words with
a set of keywords (C speed, whatever the list's length), and a phrase is looked for, as
" words of it ", in the words joined by spaces, only when its first word is there.
Keywords in scripts written without spaces (Chinese) are matched as substrings.
ASCII text (most items) is split as bytes, by a translation table and `bytes.split`,
which gives what the word pattern finds at a third of its cost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from wcofeed.config import TopicSettings

_WORD = re.compile(r"\w+")
# Every ASCII character that `\w` does not match, as a space.
_NOT_WORD = bytes(c for c in range(128) if not re.fullmatch(rb"\w", bytes([c])))
_NOT_WORD_TO_SPACE = bytes.maketrans(_NOT_WORD, b" " * len(_NOT_WORD))
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class TopicMatcher:
    """Which configured topics a text is about."""

    def __init__(self, topics: Mapping[str, TopicSettings]) -> None:
        self._words: dict[str, frozenset[str]] = {}
        self._phrases: dict[str, dict[str, frozenset[str]]] = {}
        self._substrings: list[tuple[str, str]] = []
        words_to: dict[str, set[str]] = {}
        phrases_to: dict[str, dict[str, set[str]]] = {}
        for slug, topic in topics.items():
            for keyword in topic.keywords:
                folded = keyword.strip().casefold()
                if not folded:
                    continue
                if _UNSPACED.search(folded):
                    self._substrings.append((folded, slug))
                elif words := _WORD.findall(folded):
                    if len(words) == 1:
                        words_to.setdefault(words[0], set()).add(slug)
                    else:
                        spaced = f" {' '.join(words)} "
                        phrases_to.setdefault(words[0], {}).setdefault(spaced, set()).add(slug)
        self._words = {word: frozenset(slugs) for word, slugs in words_to.items()}
        self._phrases = {
            first: {spaced: frozenset(slugs) for spaced, slugs in by_phrase.items()}
            for first, by_phrase in phrases_to.items()
        }
        self._word_keys = frozenset(self._words)
        self._phrase_keys = frozenset(self._phrases)
        # The same maps for ASCII text read as bytes (a non-ASCII keyword cannot match it).
        self._ascii_words = {w.encode(): s for w, s in self._words.items() if w.isascii()}
        self._ascii_phrases = {
            first.encode(): {p.encode(): s for p, s in by_phrase.items() if p.isascii()}
            for first, by_phrase in self._phrases.items()
            if first.isascii()
        }

    def match(self, text: str, defaults: Iterable[str] = ()) -> tuple[str, ...]:
        if text.isascii():
            return self._match_ascii(text.lower().encode("ascii"), set(defaults))
        return self._match_text(text, set(defaults))

    def _match_text(self, text: str, found: set[str]) -> tuple[str, ...]:
        folded = text.casefold()
        words = _WORD.findall(folded)
        present = set(words)
        for word in present & self._word_keys:
            found |= self._words[word]
        starts = present & self._phrase_keys
        if starts:
            joined = f" {' '.join(words)} "
            for start in starts:
                for spaced, slugs in self._phrases[start].items():
                    if spaced in joined:
                        found |= slugs
        if self._substrings and not folded.isascii() and _UNSPACED.search(folded):
            found.update(slug for keyword, slug in self._substrings if keyword in folded)
        return tuple(sorted(found))

    def _match_ascii(self, folded: bytes, found: set[str]) -> tuple[str, ...]:
        """`match` for ASCII text, lower-cased (what casefold does to ASCII) and encoded."""
        words = folded.translate(_NOT_WORD_TO_SPACE).split()
        present = set(words)
        for word in present.intersection(self._ascii_words):
            found |= self._ascii_words[word]
        starts = present.intersection(self._ascii_phrases)
        if starts:
            joined = b" " + b" ".join(words) + b" "
            for start in starts:
                for spaced, slugs in self._ascii_phrases[start].items():
                    if spaced in joined:
                        found |= slugs
        return tuple(sorted(found))
