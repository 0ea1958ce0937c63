"""Whether a search text is rare, the choice both stores make before a query with `q`.

Text matching at most `RARE_TEXT` items is looked up first in the text index (the
matches then filtered and sorted); matching more, it is checked row by row along the
order's index instead, so a common word costs the page's rows, not the whole match set.
Each store counts matches its own way, stopping past `RARE_TEXT`; both plans give the
same rows, so a count is trusted for `RARITY_SECONDS`: a word asked again (a feed
polled, a page turned) skips the count. SQLite counts on its readers' threads
(`rare_text_now`), PostgreSQL in the event loop (`rare_text`), so the kept counts are
shared under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from time import monotonic

#: Text matching at most this many items is looked up first.
RARE_TEXT = 500
#: How long a word's count is trusted; how many words' counts are kept (oldest dropped).
RARITY_SECONDS = 60.0
_RARITY_KEPT = 4096
#: (database, text as searched) -> (matches up to `RARE_TEXT` + 1, when counted).
_COUNTS: dict[tuple[str, str], tuple[int, float]] = {}
_LOCK = threading.Lock()


def _known(key: tuple[str, str]) -> bool | None:
    """The kept answer for `key`, None when there is none or it is too old."""
    with _LOCK:
        known = _COUNTS.get(key)
    if known is None or monotonic() - known[1] >= RARITY_SECONDS:
        return None
    return known[0] <= RARE_TEXT


def _remember(key: tuple[str, str], matches: int) -> bool:
    with _LOCK:
        _COUNTS.pop(key, None)
        if len(_COUNTS) >= _RARITY_KEPT:
            del _COUNTS[next(iter(_COUNTS))]
        _COUNTS[key] = (matches, monotonic())
    return matches <= RARE_TEXT


def rare_text_now(database: str, text: str, count: Callable[[int], int]) -> bool:
    """Whether `text` (a store's own query form of `q`) matches at most `RARE_TEXT`
    items of `database`; `count(cap)` counts its matches, stopping at `cap`."""
    key = (database, text)
    known = _known(key)
    return _remember(key, count(RARE_TEXT + 1)) if known is None else known


async def rare_text(database: str, text: str, count: Callable[[int], Awaitable[int]]) -> bool:
    """`rare_text_now` for a store whose `count` is awaited."""
    key = (database, text)
    known = _known(key)
    return _remember(key, await count(RARE_TEXT + 1)) if known is None else known
