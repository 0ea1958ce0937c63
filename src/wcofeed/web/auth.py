"""The admin token: who may use `/api/` and see `/healthz` in detail.

The token is compared in constant time. Each failed attempt is logged with the
client's address and counted in `/metrics`; a client with `ADMIN_FAILURES` failures
in `ADMIN_FAILURE_WINDOW` is answered 429 until the window has moved on, even with the
right token, so guessing costs hours, not seconds.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from wcofeed.web.clients import client_address
from wcofeed.web.errors import json_error
from wcofeed.web.ratelimit import RateLimiter, retry_after
from wcofeed.web.state import METRICS, SETTINGS

log = logging.getLogger("wcofeed.web.auth")

ADMIN_FAILURES = 10
ADMIN_FAILURE_WINDOW = 600.0

ADMIN_LIMITER = web.AppKey("admin_limiter", RateLimiter)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="wcofeed admin"'}


def setup(app: web.Application) -> None:
    app[ADMIN_LIMITER] = RateLimiter(ADMIN_FAILURES, ADMIN_FAILURE_WINDOW)


def check_admin(request: web.Request, *, required: bool) -> bool:
    """Whether the request bears the admin token.

    A wrong token (or none, when `required`) is a 401, counted and logged; a client
    that failed too often gets 429. Without an Authorization header and not `required`
    (the public `/healthz`), the answer is just False. With no token configured the
    API is off: 404 when `required`, else False.
    """
    token = request.config_dict[SETTINGS].security.admin_token
    if not token:
        if required:
            raise json_error(404, "the admin API is off: no admin token is configured")
        return False
    header = request.headers.get("Authorization")
    if header is None and not required:
        return False
    client = client_address(request)
    limiter = request.config_dict[ADMIN_LIMITER]
    wait = limiter.wait(client)
    if wait:
        message = "too many failed admin logins; try again later"
        raise json_error(429, message, {"Retry-After": retry_after(wait)})
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.encode(errors="surrogateescape"), token.encode()
    ):
        return True
    limiter.hit(client)
    request.config_dict[METRICS].admin_auth_failures.inc()
    log.warning(
        "admin login failed from %s on %s",
        client,
        request.path,
        extra={"fields": {"client": client, "path": request.path}},
    )
    raise json_error(401, "a valid bearer token is required", headers=_CHALLENGE)
