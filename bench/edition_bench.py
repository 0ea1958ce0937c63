"""Edition queries over a store of 100,000 items, against the plain language query.

    python bench/edition_bench.py [--items 100000] [--seconds 2] [--keep DIR]

Fills a fresh SQLite store (not timed) the way the WCO publishes: most items in English
only, some with French, Spanish, Russian, Chinese or Arabic versions at the same path
under another language folder, a few in one other language only. Then runs each query
of a French edition page or feed (the latest 50; of a topic; of a kind; open calls by
deadline), an Arabic strict edition and the versions look-up of a page, through the
store as the service calls it, each for `--seconds` in all, in slices taken in turn. The reference,
in the same run, is "the latest 50 in English" as a content filter, the query a
language's feed made before editions. Goal: every edition query within 2x of it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from publish_bench import fill

from wcofeed.models import Deadline, Item
from wcofeed.store import ItemQuery, Store, open_store

OTHERS = ["fr", "es", "ru", "zh", "ar"]
TOPICS = ["origin", "valuation", "security", "enforcement", "facilitation", "capacity"]
NOW = datetime(2025, 6, 1, tzinfo=UTC)
FRENCH = ("fr", "en")


def make_items(count: int) -> list[Item]:
    """`count` items: each path in English (80%), with a version in another language
    for one in five of those; one in five paths in one other language only."""
    rng = random.Random(12)
    items: list[Item] = []
    n = 0
    while len(items) < count:
        n += 1
        call = n % 7 == 0
        base = {
            "kind": "call" if call else "news",
            "published": date(2020, 1, 1) + timedelta(days=n * 2000 // count),
            "source": "bench",
            "summary": f"Summary of item {n}",
            "topics": tuple(rng.sample(TOPICS, rng.randint(1, 2))),
            "deadline": Deadline(date(2025, 5, 1) + timedelta(days=n % 90)) if call else None,
        }
        if rng.random() < 0.8:
            languages = ["en"] + ([rng.choice(OTHERS)] if rng.random() < 0.2 else [])
        else:
            languages = [rng.choice(OTHERS)]
        for language in languages:
            link = f"https://www.wcoomd.org/{language}/media/bench/{n}.aspx"
            items.append(
                Item(guid=link, url=link, title=f"Item {n}", language=language, **base)  # type: ignore[arg-type]
            )
    return items[:count]


async def rates(
    seconds: float, calls: dict[str, Callable[[], Awaitable[object]]], rounds: int = 10
) -> dict[str, float]:
    """Calls per second of each, one call after the other. Each gets `seconds` in all,
    in `rounds` slices taken in turn, so a busy moment of the machine costs each alike."""
    done = dict.fromkeys(calls, 0)
    spent = dict.fromkeys(calls, 0.0)
    for call in calls.values():
        await call()
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds / rounds:
                await call()
                done[name] += 1
            spent[name] += elapsed
    return {name: done[name] / spent[name] for name in calls}


async def main(count: int, seconds: float, keep: Path | None) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="wcofeed-bench-"))
    async with await open_store(folder / "bench.db") as store:
        await fill(store, count, make_items, NOW)
        page = await store.query_items(ItemQuery(edition=FRENCH, limit=50))
        keys = [item.translation_key for item in page]
        shown = sum(item.language == "fr" for item in page)
        print(f"French edition, latest 50: {shown} in French, {50 - shown} in English")

        queries = [
            ("reference: latest 50, content in en", ItemQuery(languages=("en",), limit=50)),
            ("fr edition: latest 50", ItemQuery(edition=FRENCH, limit=50)),
            (
                "fr edition: topic, latest 50",
                ItemQuery(edition=FRENCH, topics=("origin",), limit=50),
            ),
            ("fr edition: news, latest 50", ItemQuery(edition=FRENCH, kinds=("news",), limit=50)),
            (
                "fr edition: open calls by deadline",
                ItemQuery(edition=FRENCH, kinds=("call",), open_at=NOW, order="deadline", limit=50),
            ),
            ("ar strict edition: latest 50", ItemQuery(edition=("ar",), limit=50)),
        ]
        calls: dict[str, Callable[[], Awaitable[object]]] = {}
        for name, query in queries:
            plan = await store.explain(query)
            assert not any("TEMP B-TREE" in step for step in plan), (name, plan)
            calls[name] = _querying(store, query)
        calls["versions of a page of 50 items"] = lambda: store.versions(keys)
        measured = await rates(seconds, calls)
        reference = measured[queries[0][0]]
        for name, per_second in measured.items():
            print(f"{name:<40} {per_second:8.0f} /s  ({per_second / reference:.2f}x reference)")


def _querying(store: Store, query: ItemQuery) -> Callable[[], Awaitable[object]]:
    return lambda: store.query_items(query)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--keep", type=Path, help="folder to reuse (keeps the filled store)")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.seconds, args.keep))
