"""Cache misses of the feed query form: the filtered query, store and rendering, in process.

    python bench/miss_bench.py [--items 100000] [--seconds 3] [--rounds 3] [--keep DIR]
                               [--profile]

Fills a fresh SQLite store (not timed) with `publish_bench`'s items, then answers the
benchmark's filtered Atom query (`lang=en`, two topics, kind `news`, `q=customs`, a
`since` that changes on every request, so no two requests are alike) through
`render_query`, the code the web handler runs on a cache miss, and times each answer.
The reference, in the same rounds, is the store query of the latest 50 English items
alone (no filter, no rendering): the floor of any feed answer. Each round gives both
`--seconds`, in ten slices taken in turn so the machine's noise falls on both alike;
the figures are medians over `--rounds`. `--profile` prints a pyinstrument profile of
the filtered query instead (pyinstrument is not a dependency: `pip install
pyinstrument`). Goal (issue 16): >= 1,000 answers/s at 100,000 items; p99 at 1,000,000
items <= 1.5x p99 at 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from publish_bench import NOW, config_text, fill

from wcofeed.config import Settings, load_settings
from wcofeed.publish.query import FeedQuery, render_query
from wcofeed.store import ItemQuery, Store, open_store

Timed = Callable[[], Awaitable[object]]


def filtered(settings: Settings, store: Store, rng: random.Random) -> Timed:
    async def once() -> object:
        since = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(500_000))
        query = FeedQuery(
            lang="en",
            topics=("origin", "valuation"),
            kinds=("news",),
            q="customs",
            since=since,
        )
        return await render_query(settings, store, "atom", query, NOW, [])

    return once


def reference(store: Store) -> Timed:
    async def once() -> object:
        return await store.query_items(ItemQuery(languages=("en",), limit=51))

    return once


async def timed(run: Timed, seconds: float, into: list[float]) -> None:
    end = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        await run()
        done = time.perf_counter()
        into.append(done - started)
        if done > end:
            return


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(count: int, seconds: float, rounds: int, keep: Path | None, profile: bool) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="wcofeed-miss-"))
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text(config_text(), encoding="utf-8")
    settings = load_settings(config, env={})
    async with await open_store(settings.database.path) as store:
        await fill(store, count)
        query = filtered(settings, store, random.Random(16))
        if profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="enabled") as profiler:
                await timed(query, seconds, [])
            print(profiler.output_text(unicode=True, show_all=False))
            return
        await timed(query, 0.5, [])
        rates: dict[str, list[float]] = {"reference": [], "filtered": []}
        p99s: dict[str, list[float]] = {"reference": [], "filtered": []}
        for _ in range(rounds):
            times: dict[str, list[float]] = {"reference": [], "filtered": []}
            for _ in range(10):
                await timed(reference(store), seconds / 10, times["reference"])
                await timed(query, seconds / 10, times["filtered"])
            for name, values in times.items():
                rates[name].append(len(values) / sum(values))
                p99s[name].append(p(values, 0.99))
            ratio = rates["filtered"][-1] / rates["reference"][-1]
            print(
                f"round: reference {rates['reference'][-1]:,.0f}/s, filtered "
                f"{rates['filtered'][-1]:,.0f}/s ({ratio:.2f}x), filtered p50 "
                f"{p(times['filtered'], 0.5) * 1000:.2f} ms, "
                f"p99 {p99s['filtered'][-1] * 1000:.2f} ms"
            )
        ratios = [f / r for f, r in zip(rates["filtered"], rates["reference"], strict=True)]
        print(
            f"{count:,} items, median of {rounds}: reference "
            f"{statistics.median(rates['reference']):,.0f}/s; filtered query (cache miss) "
            f"{statistics.median(rates['filtered']):,.0f}/s = "
            f"{statistics.median(ratios):.2f}x reference; filtered p99 "
            f"{statistics.median(p99s['filtered']) * 1000:.2f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.seconds, args.rounds, args.keep, args.profile))
