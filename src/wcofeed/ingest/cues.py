"""Where cue words occur in a text, found with plain substring search.

The patterns that read invitations and deadline labels are costly to run over a whole
summary, and most summaries hold none of their words. So each pattern comes with the
literal words it cannot match without (lower-cased); a text none of them occurs in is
ruled out by substring search alone, and otherwise the pattern runs only in a window
around each occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence

# The ASCII words of each word list callers pass, by identity: the lists are the callers'
# cached tuples, the same few objects on every call (the stored list keeps its id taken).
_ASCII_WORDS: dict[int, tuple[Sequence[str], list[str]]] = {}


def _ascii_words(words: Sequence[str]) -> list[str]:
    found = _ASCII_WORDS.get(id(words))
    if found is None or found[0] is not words:
        if len(_ASCII_WORDS) > 256:
            _ASCII_WORDS.clear()
        found = _ASCII_WORDS[id(words)] = (words, [w for w in words if w.isascii()])
    return found[1]


def windows(text: str, words: Sequence[str], before: int, after: int) -> list[tuple[int, int]]:
    """`(start, end)` spans of `text` around each occurrence of any of `words`, from
    `before` characters ahead of it to `after` past it, merged where they overlap."""
    lowered = text.lower()
    if lowered.isascii():  # cheap, and spares the Cyrillic, Chinese and Arabic words
        words = _ascii_words(words)
    if not any(map(lowered.__contains__, words)):
        return []  # most texts: one substring search per word, nothing more
    if len(lowered) != len(text):  # a letter that lower-cases to two: positions drift
        lowered = text
    spans: list[tuple[int, int]] = []
    for word in words:
        at = lowered.find(word)
        while at != -1:
            spans.append((max(0, at - before), min(len(text), at + len(word) + after)))
            at = lowered.find(word, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
