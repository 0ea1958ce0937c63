"""A per-client limit on form posts, so `/subscribe` cannot be scripted into a mailer.

The per-address interval (`digest.confirm.CONFIRM_INTERVAL`) stops one inbox being
flooded; this stops one client sending confirmations to many addresses. It is kept
in memory: the web server is one process, and a restart forgetting counts is harmless.
Clients are told by their socket address; behind a reverse proxy every client shares
the proxy's address, so the limit then applies to all of them together.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Clients remembered at most; the least recently seen are forgotten first, so a flood
#: of distinct addresses cannot exhaust memory.
MAX_CLIENTS = 10_000


class RateLimiter:
    """At most `limit` events per client in any `window` seconds (a sliding window)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, client: str) -> float:
        """Count one event; 0 when allowed, else the seconds until the next is allowed."""
        now = self._clock()
        times = self._seen.pop(client, None) or deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        self._seen[client] = times
        if len(times) >= self.limit:
            return max(times[0] + self.window - now, 0.001)
        times.append(now)
        while len(self._seen) > MAX_CLIENTS:
            self._seen.popitem(last=False)
        return 0.0


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
