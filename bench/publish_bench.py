"""Publish timings over a store of 100,000 items: full (cold and warm) and incremental.

    python bench/publish_bench.py [--items 100000] [--keep DIR]

Fills a fresh SQLite store (not timed), then times `publish_all` writing every feed
into an empty folder, again with nothing changed, and after one new item (the
`touched` path an ingest takes). The reference, measured in the same run, is the
store queries alone that a full publish makes: what is left is rendering and writing.
Goals: full < 20 s, incremental < 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from wcofeed.config import load_settings
from wcofeed.models import Deadline, Item
from wcofeed.publish import publish_all
from wcofeed.publish.specs import all_specs
from wcofeed.store import ItemQuery, Store, open_store

LANGUAGES = ["en", "fr", "es", "ru", "zh", "ar"]
TOPICS = [
    "origin",
    "valuation",
    "security",
    "enforcement",
    "facilitation",
    "capacity",
    "tariff",
    "data",
    "environment",
    "health",
    "ecommerce",
    "integrity",
]
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def config_text() -> str:
    topics = "\n".join(
        f'[topics.{t}]\nlabels = {{ en = "{t.title()}", fr = "{t.title()} (fr)" }}' for t in TOPICS
    )
    return f'[database]\npath = "bench.db"\n[publish]\nfeeds_dir = "feeds"\n{topics}\n'


def make_items(count: int) -> list[Item]:
    rng = random.Random(5005)
    items = []
    for n in range(count):
        call = n % 7 == 0
        published = date(2020, 1, 1) + timedelta(days=n * 2000 // count)
        items.append(
            Item(
                guid=f"https://www.wcoomd.org/bench/{n}",
                url=f"https://www.wcoomd.org/bench/{n}",
                kind="call" if call else "news",
                title=f"Item {n}: customs news & calls",
                language=rng.choice(LANGUAGES),
                published=published,
                source="bench",
                summary=f"Summary of item {n} " * 8,
                summary_html=f"<p>Summary of <b>item {n}</b></p>" * 4,
                topics=tuple(rng.sample(TOPICS, rng.randint(1, 3))),
                deadline=Deadline(date(2025, 5, 1) + timedelta(days=n % 90)) if call else None,
            )
        )
    return items


async def fill(
    store: Store,
    count: int,
    make: Callable[[int], list[Item]] = make_items,
    now: datetime = NOW,
) -> None:
    """Fill `store` with `count` items of `make`, unless a kept store has them already."""
    if await store.count_items(ItemQuery()) < count:
        started = time.perf_counter()
        items = make(count)
        for start in range(0, count, 5000):
            await store.upsert_items(items[start : start + 5000], now=now)
        print(f"filled {count:,} items in {time.perf_counter() - started:.1f} s (not timed)")


async def main(count: int, keep: Path | None, profile: bool) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="wcofeed-bench-"))
    config = folder / "config.toml"
    config.write_text(config_text(), encoding="utf-8")
    settings = load_settings(config, env={})
    async with await open_store(settings.database.path) as store:
        await fill(store, count)

        started = time.perf_counter()
        specs = all_specs(settings, await store.counts())
        for spec in specs:
            await store.query_items(spec.query(settings.publish.items_per_feed, NOW))
            if "ics" in spec.formats:
                await store.query_items(spec.calendar_query(NOW, settings.publish.calendar_events))
        reference = time.perf_counter() - started

        shutil.rmtree(settings.publish.feeds_dir, ignore_errors=True)
        started = time.perf_counter()
        full = await publish_all(settings, store, now=NOW)
        full_s = time.perf_counter() - started

        started = time.perf_counter()
        warm = await publish_all(settings, store, now=NOW)
        warm_s = time.perf_counter() - started

        new = Item(
            guid="https://www.wcoomd.org/bench/new",
            url="https://www.wcoomd.org/bench/new",
            kind="news",
            title="One new item",
            language="fr",
            published=date(2026, 1, 1),
            source="bench",
            topics=("origin",),
        )
        results = await store.upsert_items([new], now=NOW)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        incremental = await publish_all(settings, store, results, now=NOW)
        if profiler:
            profiler.disable()
        incr_s = time.perf_counter() - started
        await store.delete_item(new.guid)

    print(f"feeds: {len(specs)} specs, {len(full.written)} files")
    print(f"reference (store queries of a full publish): {reference:.3f} s")
    print(
        f"full publish, empty folder:  {full_s:.3f} s  ({full_s / reference:.1f}x reference)"
        f"  goal < 20 s"
    )
    print(f"full publish, nothing new:   {warm_s:.3f} s  ({len(warm.written)} written)")
    print(
        f"incremental, one new item:   {incr_s:.3f} s  ({len(incremental.written)} written)"
        f"  goal < 0.5 s"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="folder to reuse (keeps the filled store)")
    parser.add_argument("--profile", action="store_true", help="cProfile the incremental publish")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.keep, args.profile))
