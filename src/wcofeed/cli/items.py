"""`items` and `add`: the items in the store, listed and typed in."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from wcofeed.cli.base import EXIT_OK, CommandError, command, positive
from wcofeed.config import Settings
from wcofeed.ingest.manual import item_from_entry
from wcofeed.ingest.run import Parsers
from wcofeed.models import KINDS, Item, ItemError, UpsertOutcome, item_to_dict, parse_json
from wcofeed.publish import publish_all
from wcofeed.publish.filters import Filters
from wcofeed.store import ItemQuery, open_store

# --- items ----------------------------------------------------------------------------


def _items_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=KINDS, action="append", help="only this kind (repeatable)")
    p.add_argument(
        "--lang",
        metavar="L",
        help="edition: items in L, and for those with no version in L their version in "
        "L's fallback languages",
    )
    p.add_argument(
        "--content-lang",
        action="append",
        metavar="L",
        help="only items whose content is in L, whatever the edition (repeatable, best first)",
    )
    p.add_argument("--topic", action="append", metavar="T", help="topic slug (repeatable)")
    p.add_argument("--q", default="", metavar="TEXT", help="full-text search in title and summary")
    p.add_argument("--limit", type=positive, default=20, metavar="N", help="at most N (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, every field")


@command("items", "list stored items, newest first", _items_arguments)
async def cmd_items(settings: Settings, args: argparse.Namespace) -> int:
    filters = Filters(lang=args.lang or "", content_languages=tuple(args.content_lang or ()))
    query = ItemQuery(
        edition=filters.edition(settings),
        topics=tuple(args.topic or ()),
        kinds=tuple(args.kind or ()),
        q=args.q,
        limit=args.limit,
    )
    async with await open_store(settings.database.location) as store:
        items = await store.query_items(query)
    if args.json:
        for item in items:
            print(json.dumps(item_to_dict(item), ensure_ascii=False))
    else:
        print_item_table(items, sys.stdout)
    return EXIT_OK


def print_item_table(items: Sequence[Item], out: TextIO) -> None:
    """A fixed-width table a person can scan in a terminal."""
    if not items:
        print("no items", file=out)
        return
    print(f"{'published':<10}  {'kind':<11}  {'lang':<4}  {'deadline':<10}  title", file=out)
    for item in items:
        deadline = item.deadline.day.isoformat() if item.deadline else ""
        published = item.published_at.date().isoformat() if item.published_at else ""
        title = item.title if len(item.title) <= 70 else item.title[:69] + "…"
        print(
            f"{published:<10}  {item.kind:<11}  {item.language:<4}  {deadline:<10}  {title}",
            file=out,
        )


# --- add ------------------------------------------------------------------------------


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="the item as a JSON object ('-' for stdin)")
    p.add_argument("--title", help="title of the item")
    p.add_argument("--url", help="link to the item's page")
    p.add_argument("--summary", help="plain-text summary")
    p.add_argument("--summary-html", dest="summary_html", help="HTML summary (sanitised)")
    p.add_argument(
        "--published", help="the source's date or datetime, ISO 8601 (default: none, undated)"
    )
    p.add_argument("--deadline", help="deadline date or datetime, ISO 8601")
    p.add_argument("--kind", choices=KINDS, help="default: call with a deadline, else guessed")
    p.add_argument("--language", help="content language code (default: site default)")
    p.add_argument(
        "--topic", action="append", dest="topics", metavar="SLUG", help="topic slug (repeatable)"
    )
    p.add_argument("--source", default="manual", help="source id recorded (default: manual)")
    p.add_argument("--guid", help="stable id (default: the canonical link)")


def _add_payload(args: argparse.Namespace) -> dict[str, object]:
    if args.json:
        try:
            text = sys.stdin.read() if args.json == "-" else Path(args.json).read_text("utf-8")
            data = parse_json(text)
        except (OSError, ValueError) as exc:
            raise CommandError(f"--json {args.json}: {exc}") from None
        if not isinstance(data, dict):
            raise CommandError(f"--json {args.json}: expected one JSON object")
        return data
    fields = (
        "title",
        "url",
        "summary",
        "summary_html",
        "published",
        "deadline",
        "kind",
        "topics",
        "guid",
    )
    return {k: getattr(args, k) for k in fields if getattr(args, k) is not None}


@command("add", "store one hand-entered item", _add_arguments)
async def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    parsers = Parsers.from_settings(settings)
    payload = _add_payload(args)
    try:
        item = item_from_entry(
            payload,
            source=args.source,
            language=args.language or settings.site.default_language,
            topics=parsers.topics,
            kinds=parsers.kinds,
        )
    except ItemError as exc:
        raise CommandError(f"item not stored: {exc}") from None
    async with await open_store(settings.database.location) as store:
        existing = await store.get_item(item.guid)
        if existing is not None and not payload.get("published"):
            # adding the same item again without a date must not drop the one it has
            item = dataclasses.replace(item, published=existing.published)
        result = await store.upsert_item(item, now)
        print(f"{result.outcome.value}: {item.guid}")
        if result.outcome is not UpsertOutcome.UNCHANGED:
            published = await publish_all(settings, store, [result])
            print(f"feeds in {settings.publish.feeds_dir}: {published.summary()}")
    return EXIT_OK
