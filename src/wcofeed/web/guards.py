"""What every route gets: refusal of control characters in the query, security headers
on every answer, and a count of 5xx answers in `/metrics` (taken in the headers hook,
which sees every answer).

The app has no middleware, on purpose: one middleware, in the app or in a sub-app,
makes aiohttp build a chain for every request, with a wrapper per app that sets
`current_app` around the handler: 2% of the instructions of a cached feed's answer
(`bench/serve_bench.py --instructions`), for nothing a wrapper cannot do. So the query
check wraps each route's handler where the route is added (`add_routes`), and the admin
API's token check wraps its handlers the same way.

Headers: `X-Content-Type-Options: nosniff` everywhere; on HTML, a Content-Security-
Policy that allows scripts, styles and images from this site only (never inline script
or style attributes: the templates have none), forbids framing (`frame-ancestors
'none'`) and forms posting elsewhere, and a Referrer-Policy that keeps addresses (and
the tokens in some of them) from other sites.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from aiohttp import web

from wcofeed.web.errors import text_error
from wcofeed.web.state import METRICS, Handler

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` hook: it sees every answer, errors and files included
    (aiohttp's own 500 for an unhandled error too), so it also counts the 5xx ones."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    # The header's text, not `response.content_type`, which parses it on every answer.
    if headers.get("Content-Type", "").startswith("text/html"):
        headers.update(HTML_HEADERS)
    if response.status >= 500:
        request.config_dict[METRICS].server_errors.labels(status=str(response.status)).inc()


def refuse_control_characters(request: web.Request) -> None:
    """No query parameter may hold a control character: none has a use, and a CR or LF
    reaching a calendar name or a header would start a line of its own. A query with
    no escape and no control character in its raw form has none decoded either, so it
    is let through without parsing (the common case: a feed reader's poll)."""
    raw = request.query_string
    if raw and ("%" in raw or _CONTROL.search(raw)):
        for name, value in request.query.items():
            if _CONTROL.search(name) or _CONTROL.search(value):
                raise text_error(400, f"{name[:40]!r}: control characters are not allowed")


def check_first(check: Callable[[web.Request], object], handler: Handler) -> Handler:
    """`handler`, after `check(request)`, which refuses a request by raising."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        check(request)
        return await handler(request)

    return checked


def guarded(handler: Handler) -> Handler:
    """`handler`, after `refuse_control_characters`."""
    return check_first(refuse_control_characters, handler)


def add_routes(router: web.UrlDispatcher, routes: Iterable[web.RouteDef]) -> None:
    """Add `routes` (made by `web.get`, `web.post`...) with their handlers `guarded`.
    Every route but the static files' is added through here (a test walks the routes
    to hold that); static files read no query."""
    for route in routes:
        if isinstance(route.handler, type):
            raise TypeError(f"{route.path}: a route's handler must be a function, not a view")
        web.RouteDef(route.method, route.path, guarded(route.handler), route.kwargs).register(
            router
        )
