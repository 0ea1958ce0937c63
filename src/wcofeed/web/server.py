"""The HTTP server around the app: slow headers and connection hoarding cut short.

aiohttp closes a connection that has not sent a complete request's headers within its
keep-alive timeout, counted from the connection's start and from the end of each answer
(`RequestHandler._process_keepalive` closes only while it waits for a request): set to
`server.header_timeout`, it is the header timeout, and idle keep-alive connections
last as long. aiohttp has no cap on connections per client, so `LimitedServer` counts
them as they open and close: one beyond `server.max_connections_per_client` is answered
503 and closed before its request is read. Connections from `server.trusted_proxies`
are not counted (a proxy carries many clients; deploy/nginx.conf limits them there).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from wcofeed.config import Settings
from wcofeed.web.clients import TrustedProxies

log = logging.getLogger("wcofeed.web.server")

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\nRetry-After: 10\r\nContent-Length: 36\r\n\r\n"
    b"too many connections from your side\n"
)


class LimitedServer(web.Server):
    """aiohttp's connection manager, refusing a client's connections beyond a cap."""

    def __init__(self, *args: Any, per_client: int, proxies: TrustedProxies, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.per_client = per_client
        self.proxies = proxies
        self.open: Counter[str] = Counter()
        self._clients: dict[RequestHandler, str] = {}

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if peer else ""
        if not self.proxies.trusts(client):
            if self.open[client] >= self.per_client:
                log.warning("connection refused: %s has too many open", client)
                transport.write(_BUSY)
                # Closed once the handler has started: closing now would run its
                # connection_lost before its start(), which then fails.
                asyncio.get_running_loop().call_soon(handler.force_close)
                return
            self.open[client] += 1
            self._clients[handler] = client
        super().connection_made(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        client = self._clients.pop(handler, None)
        if client is not None:
            self.open[client] -= 1
            if not self.open[client]:
                del self.open[client]
        super().connection_lost(handler, exc)


class Runner(web.AppRunner):
    """An AppRunner whose server applies the header timeout and the per-client cap."""

    def __init__(self, app: web.Application, settings: Settings) -> None:
        self.limits = settings.server
        super().__init__(app, access_log=None, keepalive_timeout=self.limits.header_timeout)

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        return LimitedServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            access_log=None,
            keepalive_timeout=self.limits.header_timeout,
            per_client=self.limits.max_connections_per_client,
            proxies=TrustedProxies(self.limits.trusted_proxies),
        )
