"""Hand-entered items: a JSON list of items in the model's field names.

A file names its source once (the source's id); each item may leave out `guid`
(the canonical link stands in), `source`, `language` (the source's `ui_language`),
`kind` (guessed like any page's) and `published` (the item is undated: no date is made
up for it). One bad item is reported by its index and skipped;
the others are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcofeed.ingest.build import ParseError, ParseResult
from wcofeed.ingest.identity import make_guid
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.text import clean
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.markup import sanitise_summaries
from wcofeed.models import Item, ItemError, item_from_dict, parse_json


def item_from_entry(
    data: Mapping[str, Any],
    *,
    source: str,
    language: str,
    topics: TopicMatcher,
    kinds: KindGuesser,
    default_topics: tuple[str, ...] | list[str] = (),
) -> Item:
    """One hand-entered item, cleaned and completed like a parsed one; ItemError if bad."""
    values = dict(data)
    values.setdefault("source", source)
    values.setdefault("language", language)
    title = clean(str(values.get("title") or ""))
    values["title"] = title
    sanitise_summaries(values)
    values["summary"] = clean(str(values.get("summary") or ""))
    if not values.get("guid") and values.get("url"):
        values["guid"] = make_guid(str(values["url"]), source, title, None)
    if not values.get("kind"):
        is_call = values.get("deadline") or kinds.is_call(title, [str(values["language"])])
        values["kind"] = "call" if is_call else "news"
    listed = values.get("topics") or []
    if isinstance(listed, list):
        values["topics"] = list(
            topics.match(f"{title} {values['summary']}", [*default_topics, *listed])
        )
    return item_from_dict(values)


def parse_manual(
    body: bytes,
    *,
    source: str,
    language: str,
    topics: TopicMatcher,
    kinds: KindGuesser,
    default_topics: list[str],
) -> ParseResult:
    try:
        data = parse_json(body.decode("utf-8-sig"))
    except ValueError as exc:
        raise ParseError(f"source {source}: not a JSON file ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise ParseError(f"source {source}: expected a JSON list of items")
    result = ParseResult()
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            result.warnings.append(f"source {source}: item {index}: not a JSON object")
            continue
        try:
            result.items.append(
                item_from_entry(
                    entry,
                    source=source,
                    language=language,
                    topics=topics,
                    kinds=kinds,
                    default_topics=default_topics,
                )
            )
        except ItemError as exc:
            result.warnings.append(f"source {source}: item {index}: {exc}")
    return result
