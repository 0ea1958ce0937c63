"""What every route gets, whoever wrote it: a query holding a control character is
refused before the handler runs, and no middleware stands in front of requests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from wcofeed.web.guards import add_routes

#: What a placeholder whose pattern "x" does not match is filled with.
FILLED = {"fmt": "atom"}


def _routes(app: web.Application) -> list[tuple[str, str]]:
    """Each route's method (PATCH for any) and a path it answers (placeholders filled),
    sub-apps' too."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        path = re.sub(r"\{([^}]*)\}", lambda m: FILLED.get(m[1], "x"), resource.canonical)
        found.append((route.method.replace("*", "PATCH"), path))
    return found


async def test_every_route_refuses_a_control_character_in_its_query(
    client: TestClient[Any, Any],
) -> None:
    routes = _routes(client.app)
    assert ("GET", "/feed.atom") in routes and ("GET", "/feeds/x") in routes
    assert ("DELETE", "/api/items/x") in routes and ("POST", "/subscribe") in routes
    for method, path in routes:
        answer = await client.request(method, f"{path}?a=1&b%0A=2")
        assert answer.status == 400, (method, path, answer.status)
        if method != "HEAD":
            assert "control characters are not allowed" in await answer.text(), (method, path)


async def test_no_middleware_runs_in_front_of_requests(client: TestClient[Any, Any]) -> None:
    """One would set off aiohttp's middleware chain on every request (2% of a cached
    feed's instructions): the checks wrap each route's handler instead."""
    apps = [
        client.app,
        *(
            r.get_info()["app"]
            for r in client.app.router.resources()
            if isinstance(r, web.PrefixedSubAppResource)
        ),
    ]
    assert len(apps) == 2
    assert all(not app.middlewares for app in apps)


def test_a_class_based_view_cannot_be_added_unguarded() -> None:
    class View(web.View):
        pass

    with pytest.raises(TypeError, match="/view: a route's handler must be a function"):
        add_routes(web.Application().router, [web.view("/view", View)])
