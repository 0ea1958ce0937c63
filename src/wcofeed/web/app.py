"""The aiohttp application: shared state and the route modules that make it up.

Each route module exposes `setup(app)` and reads what it needs through the typed app
keys of `state.py`; handlers call the store and render templates, nothing more. What a
handler may set off beyond the store (an ingest, a republish) comes in as `Actions`,
provided by the wiring layer, so `web` never imports ingest.
"""

from __future__ import annotations

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.metrics import Metrics
from wcofeed.store import Store
from wcofeed.templates import template_environment, templates_dir
from wcofeed.web import admin, auth, feeds, guards, ops, pages, subscribe
from wcofeed.web.cache import CACHE, ResponseCache
from wcofeed.web.clients import PROXIES, TrustedProxies
from wcofeed.web.state import ACTIONS, MAX_BODY, METRICS, SETTINGS, STORE, TEMPLATES, Actions


def create_app(
    settings: Settings,
    store: Store,
    actions: Actions,
    metrics: Metrics | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app.on_response_prepare.append(guards.security_headers)
    app[SETTINGS] = settings
    app[PROXIES] = TrustedProxies(settings.server.trusted_proxies)
    app[STORE] = store
    app[TEMPLATES] = template_environment(templates_dir(settings))
    app[METRICS] = metrics or Metrics()
    app[ACTIONS] = actions
    app[CACHE] = ResponseCache(store, settings.server.change_check_seconds)
    app.on_cleanup.append(_stop_cache_work)
    auth.setup(app)
    ops.setup(app)
    admin.setup(app)
    feeds.setup(app)
    pages.setup(app)
    subscribe.setup(app)
    return app


async def _stop_cache_work(app: web.Application) -> None:
    await app[CACHE].close()
