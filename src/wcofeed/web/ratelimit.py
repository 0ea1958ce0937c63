"""Sliding-window limits kept in memory: per client on `/subscribe` posts and failed
admin logins, per mailbox and per mail domain on confirmation emails.

The per-address interval (`digest.confirm.CONFIRM_INTERVAL`) stops one exact address
being flooded, the mailbox and domain limits its variants (`target+1@…`); the
per-client limit stops one client sending confirmations to many addresses. Limits live
in memory: the web server is one process, and a restart forgetting counts is harmless.
Clients are told apart by `clients.client_address` (behind a trusted reverse proxy,
by its X-Forwarded-For).
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
        wait = self.wait(client)
        if not wait:
            times = self._seen.pop(client, None) or deque()
            times.append(self._clock())
            self._seen[client] = times
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
        return wait

    def wait(self, client: str) -> float:
        """Seconds until `client` may have its next event (0: now), counting nothing."""
        times = self._seen.get(client)
        if not times:
            return 0.0
        now = self._clock()
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(times[0] + self.window - now, 0.001)
        return 0.0


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
