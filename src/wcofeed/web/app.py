"""The aiohttp application: shared state and the route modules that make it up.

Each route module exposes `setup(app)` and reads what it needs through the typed app
keys below; handlers call the store and render templates, nothing more. What a handler
may set off beyond the store (an ingest, a republish) comes in as `Actions`, provided by
the wiring layer, so `web` never imports ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
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

MAX_BODY = 64 * 1024


def template_environment(settings: Settings) -> jinja2.Environment:
    """Jinja2 over the templates folder, HTML and XML autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.templates_dir),
        autoescape=jinja2.select_autoescape(["html", "xml", "opml"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def create_app(
    settings: Settings,
    store: Store,
    actions: Actions,
    metrics: Metrics | None = None,
) -> web.Application:
    # Route modules import the app keys above, so they are imported here, not at the top.
    from wcofeed.web import admin, feeds, ops, pages, subscribe

    app = web.Application(client_max_size=MAX_BODY, middlewares=[ops.count_feed_requests])
    app[SETTINGS] = settings
    app[STORE] = store
    app[TEMPLATES] = template_environment(settings)
    app[METRICS] = metrics or Metrics()
    app[ACTIONS] = actions
    ops.setup(app)
    admin.setup(app)
    feeds.setup(app)
    pages.setup(app)
    subscribe.setup(app)
    return app
