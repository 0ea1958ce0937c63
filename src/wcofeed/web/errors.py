"""Error answers, one helper per format: plain text for pages and feeds, JSON for the
admin API. (Subscription pages answer errors as a page in the reader's language.)

Each returns an exception to raise, so a helper deep in a handler can end the request
and the headers hook still sees the status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

_STATUS: dict[int, type[web.HTTPException]] = {
    cls.status_code: cls
    for cls in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPConflict,
        web.HTTPUnprocessableEntity,
        web.HTTPTooManyRequests,
        web.HTTPServiceUnavailable,
    )
}


def text_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.HTTPException:
    """`message` as one line of plain text."""
    return _STATUS[status](text=message + "\n", headers=headers)


def json_error(
    status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> web.HTTPException:
    """`{"error": message, ...extra}`, as the admin API answers every failure."""
    body = json.dumps({"error": message, **extra})
    return _STATUS[status](text=body, content_type="application/json", headers=headers)
