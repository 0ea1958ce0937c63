"""What every route module reads from the application: typed app keys, the `Actions` the
wiring layer provides, and the body size limit.

Kept apart from `app.py` so that the route modules and the app factory that imports
them depend on this module, and not on each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import jinja2
from aiohttp import web

from wcofeed.config import Settings
from wcofeed.metrics import Metrics
from wcofeed.models import Item
from wcofeed.store import Store


class Actions(Protocol):
    """Work the web side can ask the running service for."""

    async def ingest_source(self, source_id: str) -> dict[str, Any]:
        """Fetch and store one source now; a JSON-ready summary of what happened."""

    async def republish(self, items: Sequence[Item]) -> None:
        """Rewrite the feeds these (added, edited or deleted) items appear in."""


SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
METRICS = web.AppKey("metrics", Metrics)
ACTIONS = web.AppKey("actions", Actions)
#: Feed answers by status since `/metrics` last read them (a plain increment per answer;
#: `/metrics` adds them to its counter).
STATUS_COUNTS = web.AppKey("feed_status_counts", Counter[int])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Largest request body accepted (forms and admin API items).
MAX_BODY = 64 * 1024
