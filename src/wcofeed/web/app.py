"""The aiohttp application: shared state and the route modules that make it up.

Each route module exposes `setup(app)` and reads what it needs through the typed app
keys below; handlers call the store and render templates, nothing more.
"""

from __future__ import annotations

import jinja2
from aiohttp import web

from wcofeed.config import Settings
from wcofeed.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def template_environment(settings: Settings) -> jinja2.Environment:
    """Jinja2 over the templates folder, HTML and XML autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.templates_dir),
        autoescape=jinja2.select_autoescape(["html", "xml", "opml"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def create_app(settings: Settings, store: Store) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[STORE] = store
    app[TEMPLATES] = template_environment(settings)
    from wcofeed.web import subscribe  # route modules import the keys above

    subscribe.setup(app)
    return app
