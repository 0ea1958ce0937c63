"""One item that cannot be shown costs only itself: publishing and reminding go on.

Publish (each feed format) and digest (each email) turn many items into one document.
An item the renderer chokes on (a row an older wcofeed stored under looser rules, a
bug) must not stop the feed or the email for everyone else, so both prepare items one
at a time (`each_or_skip`) and render whole documents with `render_or_skip`: the whole
list first, and only when that fails each item alone, to find the culprits, log them
and render the rest. The normal path costs nothing extra.

What was skipped is returned as `Skipped` records in the callers' reports, so the
wiring layer can count them (`wcofeed_items_skipped_total{stage=...}`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("wcofeed.isolate")

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item left out of one output: where (`stage`: a feed format, `email`), which
    item, and why."""

    stage: str
    guid: str
    error: str


def skip(stage: str, guid: str, exc: Exception, skipped: list[Skipped]) -> None:
    """Record and log one skipped item."""
    record = Skipped(stage, guid, f"{type(exc).__name__}: {exc}"[:500])
    skipped.append(record)
    log.error(
        "item %s left out of %s: %s",
        guid,
        stage,
        record.error,
        extra={"fields": {"stage": stage, "guid": guid}},
    )


def each_or_skip(
    items: Iterable[T],
    prepare: Callable[[T], U],
    guid: Callable[[T], str],
    stage: str,
    skipped: list[Skipped],
) -> list[U]:
    """`prepare(item)` for each item, leaving out (and recording) those that raise."""
    prepared = []
    for item in items:
        try:
            prepared.append(prepare(item))
        except Exception as exc:
            skip(stage, guid(item), exc, skipped)
    return prepared


def render_or_skip(
    render: Callable[[Sequence[T]], R],
    items: Sequence[T],
    guid: Callable[[T], str],
    stage: str,
    skipped: list[Skipped],
) -> R:
    """`render(items)`; if that raises, render without the items that fail alone.

    A failure that is no item's (every item fails alone, or the rest still fails) is
    the document's own and is raised.
    """
    try:
        return render(items)
    except Exception:
        if not items:
            raise
    good = [item for item in items if _renders_alone(render, item, guid, stage, skipped)]
    return render(good)


def _renders_alone(
    render: Callable[[Sequence[T]], R],
    item: T,
    guid: Callable[[T], str],
    stage: str,
    skipped: list[Skipped],
) -> bool:
    try:
        render([item])
    except Exception as exc:
        skip(stage, guid(item), exc, skipped)
        return False
    return True
