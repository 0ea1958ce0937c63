"""The admin API under `/api/`: bearer token required, off when no token is configured.

Items are edited in their JSON form (`models.item_to_dict`); a body that breaks the
model gets 422 with an error per field, one that is not JSON (or too deep, or holds a
number too long to read) 400. `summary_html` is sanitised as `wcofeed add` does it.
Every change asks the service to republish the feeds the item was and is in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from wcofeed.markup import sanitise_summaries
from wcofeed.models import (
    Item,
    ItemError,
    SourceState,
    item_from_dict,
    item_to_dict,
    parse_json,
)
from wcofeed.web.auth import check_admin
from wcofeed.web.errors import json_error
from wcofeed.web.guards import add_routes, check_first
from wcofeed.web.ops import source_health
from wcofeed.web.state import ACTIONS, MAX_BODY, SETTINGS, STORE, Handler

#: Items added through the API name this as their source unless they give one.
ADMIN_SOURCE = "admin"


def _token_required(handler: Handler) -> Handler:
    """`handler`, answered only with the admin token (a wrapper, not the sub-app's
    middleware: see `guards`)."""
    return check_first(partial(check_admin, required=True), handler)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = parse_json(await request.read())
    except ValueError as exc:
        raise json_error(400, f"the body is {exc}") from None
    if not isinstance(data, dict):
        raise json_error(400, "the body must be a JSON object")
    return data


def _parse_item(data: dict[str, Any]) -> Item:
    sanitise_summaries(data)
    try:
        return item_from_dict(data, defaults={"source": ADMIN_SOURCE})
    except ItemError as exc:
        raise json_error(422, "the item is not valid", errors=exc.errors) from None


async def list_sources(request: web.Request) -> web.Response:
    settings, store = request.config_dict[SETTINGS], request.config_dict[STORE]
    now = datetime.now(UTC)
    states = {s.id: s for s in await store.source_states()}
    body = []
    for src in settings.sources:
        state = states.get(src.id, SourceState(id=src.id))
        body.append(
            {
                **source_health(src, state, now, detailed=True),
                "url": src.url,
                "type": src.type,
                "every": src.every,
                "enabled": src.enabled,
                "last_attempt": state.last_attempt.isoformat() if state.last_attempt else None,
            }
        )
    return web.json_response(body)


async def ingest_source(request: web.Request) -> web.Response:
    source_id = request.match_info["source"]
    settings = request.config_dict[SETTINGS]
    if all(src.id != source_id for src in settings.sources):
        raise json_error(404, f"no source {source_id!r} in the config")
    summary = await request.config_dict[ACTIONS].ingest_source(source_id)
    return web.json_response(summary)


async def get_item(request: web.Request) -> web.Response:
    item = await request.config_dict[STORE].get_item(request.match_info["guid"])
    if item is None:
        raise json_error(404, "no such item")
    return web.json_response(item_to_dict(item))


async def create_item(request: web.Request) -> web.Response:
    parsed = _parse_item(await _json_body(request))
    store = request.config_dict[STORE]
    if await store.get_item(parsed.guid) is not None:
        raise json_error(409, "an item with this guid exists: use PUT /api/items/{guid}")
    result = await store.upsert_item(parsed)
    await request.config_dict[ACTIONS].republish([result.item])
    return web.json_response(item_to_dict(result.item), status=201)


async def replace_item(request: web.Request) -> web.Response:
    guid = request.match_info["guid"]
    data = await _json_body(request)
    if data.setdefault("guid", guid) != guid:
        raise json_error(422, "the item is not valid", errors={"guid": "differs from the URL"})
    parsed = _parse_item(data)
    store = request.config_dict[STORE]
    if await store.get_item(guid) is None:
        raise json_error(404, "no such item: create it with POST /api/items")
    result = await store.upsert_item(parsed)
    touched = [result.item, *([result.previous] if result.previous else [])]
    await request.config_dict[ACTIONS].republish(touched)
    return web.json_response({"outcome": result.outcome.value, **item_to_dict(result.item)})


async def delete_item(request: web.Request) -> web.Response:
    """Deletes a stored row even when it cannot be read as an item (then it was in no
    feed, so there is nothing to republish): the way to remove a bad row by hand."""
    store = request.config_dict[STORE]
    guid = request.match_info["guid"]
    item = await store.get_item(guid)
    if not await store.delete_item(guid):
        raise json_error(404, "no such item")
    if item is not None:
        await request.config_dict[ACTIONS].republish([item])
    return web.Response(status=204)


async def no_such_endpoint(request: web.Request) -> web.Response:
    """Any other path or method under `/api/` (a known path with another method too:
    404, not 405): after the token check, so that a client without the token learns
    nothing of which exist (and its tries count as failures)."""
    raise json_error(404, f"no {request.method} {request.path} in the admin API")


def setup(app: web.Application) -> None:
    api = web.Application(client_max_size=MAX_BODY)
    routes = [
        web.get("/sources", _token_required(list_sources)),
        web.post("/sources/{source}/ingest", _token_required(ingest_source)),
        web.post("/items", _token_required(create_item)),
        web.get("/items/{guid:.+}", _token_required(get_item)),
        web.put("/items/{guid:.+}", _token_required(replace_item)),
        web.delete("/items/{guid:.+}", _token_required(delete_item)),
        web.route("*", "/{tail:.*}", _token_required(no_such_endpoint)),
    ]
    add_routes(api.router, routes)
    app.add_subapp("/api/", api)
