"""WebSub publisher side: tell the hub which feed URLs changed, so it pushes them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp

log = logging.getLogger("wcofeed.publish")

_TIMEOUT = aiohttp.ClientTimeout(total=10)


async def ping_hub(hub: str, urls: Sequence[str]) -> list[str]:
    """POST `hub.mode=publish` with every changed URL as a `hub.url`; return error lines.

    One request names all URLs (hubs accept `hub.url` repeated). A hub that is down must
    not fail a publish: the files are written already and readers still poll, so a
    failure is logged and reported, not raised.
    """
    form = [("hub.mode", "publish"), *(("hub.url", url) for url in urls)]
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.post(hub, data=form) as resp,
        ):
            if resp.status < 300:
                return []
            error = f"WebSub hub {hub}: HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"WebSub hub {hub}: {type(exc).__name__} {exc}".strip()
    log.warning("websub ping failed", extra={"fields": {"error": error, "urls": len(urls)}})
    return [error]
