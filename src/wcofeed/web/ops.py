"""`/healthz` and `/metrics`: what an operator's monitoring polls.

`/healthz` is public, so it shows each source's status and ages only; a source's last
error (which may name a file path or a URL with credentials in its query) and the
database's error are shown only with the admin token. `/metrics` counts what was
skipped or failed; deploy/nginx.conf keeps it to the local machine.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from wcofeed.config import SourceSettings
from wcofeed.models import SourceState
from wcofeed.web.auth import check_admin
from wcofeed.web.guards import add_routes
from wcofeed.web.state import METRICS, SETTINGS, STATUS_COUNTS, STORE

log = logging.getLogger("wcofeed.web.ops")

#: A source with no success for this many of its intervals is stale.
STALE_AFTER_INTERVALS = 3
_DB_TIMEOUT = 5.0


def source_health(
    source: SourceSettings, state: SourceState, now: datetime, *, detailed: bool
) -> dict[str, Any]:
    """ok, pending (never fetched), failing (last fetch failed) or stale (no recent
    success), with ages; `detailed` adds the failure count and the last error."""
    age = (now - state.last_success).total_seconds() if state.last_success else None
    if state.consecutive_failures:
        status = "failing"
    elif state.last_attempt is None:
        status = "pending"
    elif age is None or age > STALE_AFTER_INTERVALS * source.every:
        status = "stale"
    else:
        status = "ok"
    health: dict[str, Any] = {
        "id": source.id,
        "status": status,
        "last_success": state.last_success.isoformat() if state.last_success else None,
        "last_success_age_seconds": round(age) if age is not None else None,
    }
    if detailed:
        health["consecutive_failures"] = state.consecutive_failures
        health["last_error"] = state.last_error
    return health


async def healthz(request: web.Request) -> web.Response:
    """200 while the database answers and some source is fresh (or none has run yet);
    errors in detail with the admin token only."""
    settings, store = request.app[SETTINGS], request.app[STORE]
    detailed = check_admin(request, required=False)
    now = datetime.now(UTC)
    try:
        async with asyncio.timeout(_DB_TIMEOUT):
            await store.schema_version()
            states = {s.id: s for s in await store.source_states()}
    except Exception as exc:  # any database failure makes the service unhealthy
        log.error("health check: the database failed: %s", exc)
        database: dict[str, Any] = {"ok": False}
        if detailed:
            database["error"] = str(exc)
        return web.json_response({"status": "unhealthy", "database": database}, status=503)
    sources = [
        source_health(src, states.get(src.id, SourceState(id=src.id)), now, detailed=detailed)
        for src in settings.sources
        if src.enabled
    ]
    statuses = {s["status"] for s in sources}
    unhealthy = bool(sources) and statuses <= {"failing", "stale"}
    body: dict[str, Any] = {
        "status": "unhealthy" if unhealthy else "ok",
        "database": {"ok": True},
        "sources": sources,
        "checked_at": now.isoformat(),
    }
    return web.json_response(body, status=503 if unhealthy else 200)


async def metrics(request: web.Request) -> web.Response:
    store, m = request.app[STORE], request.app[METRICS]
    counts = await store.counts()
    m.items.clear()
    for (language, kind), n in counts.by_language_kind.items():
        m.items.labels(kind=kind, language=language).set(n)
    for state in await store.source_states():
        m.source_failures.labels(source=state.id).set(state.consecutive_failures)
    outbox = await store.delivery_states()
    m.emails_pending.set(outbox.get("claimed", 0))
    m.reads_skipped(store.unreadable_items)
    answered = request.app[STATUS_COUNTS]
    for status, count in sorted(answered.items()):
        m.feed_requests.labels(status=str(status)).inc(count)
    answered.clear()
    return web.Response(body=m.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app[STATUS_COUNTS] = Counter()
    add_routes(app.router, [web.get("/healthz", healthz), web.get("/metrics", metrics)])
