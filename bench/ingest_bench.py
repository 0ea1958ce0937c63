"""Parse-and-store throughput of a 5,000-item WCO newsroom page (Russian interface),
against feedparser reading an RSS 2.0 file of the same 5,000 items, in the same run.

    python bench/ingest_bench.py [--items 5000] [--rounds 5]

Ours: bytes -> `parse_and_store`, what `wcofeed ingest` runs on a fetched page: `parse_html`
(profile detection, mojibake check, dates, language, topics, nh3) on a worker thread,
each batch of 1,000 items stored (`SQLiteStore.upsert_items`) into a fresh SQLite file
while the next is parsed. Reference: `feedparser.parse` with its defaults, as a user would
call it. Parse alone and store alone are timed too, to show where the time goes.

Each round times feedparser and then ours back to back, so both see the same load on a
shared machine; the ratio reported is the median of the rounds' ratios (each round's is
printed too). CPU time (all threads of the process) is reported beside wall time: on a
machine other jobs keep busy, wall time measures the load as much as the code, CPU time
much less; on an idle machine ours uses a second core for the store, so its wall time is
below its CPU time. Peak Python memory from tracemalloc in a separate round so it does not
slow the timed ones.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser

from wcofeed.config import SourceSettings, load_settings
from wcofeed.ingest.build import PageContext
from wcofeed.ingest.fetch import FetchResult
from wcofeed.ingest.html import parse_html
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.run import Parsers, Sighting, parse_and_store
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.models import Item
from wcofeed.store import open_store

REPO = Path(__file__).resolve().parents[1]
RU_MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
WORDS = (
    "customs",
    "administration",
    "workshop",
    "origin",
    "valuation",
    "facilitation",
    "enforcement",
    "integrity",
    "capacity",
    "building",
    "members",
    "secretariat",
    "programme",
    "trade",
    "border",
    "risk",
    "management",
    "data",
    "model",
    "single",
    "window",
    "seizure",
    "operation",
    "regional",
    "office",
)
NOW = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)


def make_items(n: int) -> list[tuple[date, str, str]]:
    rng = random.Random(5000)
    items = []
    for i in range(n):
        day = date(2025, 2, 14) - timedelta(days=i // 4)
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        text = f"The WCO held item {i} on {words.capitalize()}. Second sentence about {words[:60]}."
        items.append((day, text, f"/en/media/newsroom/{day.year}/item-{i}.aspx"))
    return items


def newsroom_page(items: list[tuple[date, str, str]]) -> bytes:
    blocks = "\n".join(
        f'<div class="news-item"><span class="news-date">{d.day:02d} {RU_MONTHS[d.month - 1]} '
        f'{d.year}</span><div class="news-summary"><p>{html.escape(t)}</p></div>'
        f'<a class="read-more" href="{u}">read more</a></div>'
        for d, t, u in items
    )
    return (
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Пресс-центр</title>'
        '<link rel="canonical" href="https://www.wcoomd.org/ru/media/newsroom.aspx"></head>'
        f'<body><h1>Пресс-центр</h1><div class="newsroom-list">{blocks}</div></body></html>'
    ).encode()


def rss(items: list[tuple[date, str, str]]) -> bytes:
    entries = "\n".join(
        f"<item><title>{html.escape(t.split('.')[0])}</title>"
        f"<link>https://www.wcoomd.org{u}</link><guid>https://www.wcoomd.org{u}</guid>"
        f"<description>{html.escape('<p>' + html.escape(t) + '</p>')}</description>"
        f"<pubDate>{format_datetime(datetime(d.year, d.month, d.day, tzinfo=UTC))}</pubDate>"
        "</item>"
        for d, t, u in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>WCO newsroom</title><link>https://www.wcoomd.org/</link>"
        f"<language>en</language>{entries}</channel></rss>"
    ).encode()


SETTINGS = load_settings(REPO / "config.toml", env={})
SOURCE = SourceSettings(
    id="bench", url="https://www.wcoomd.org/ru/media/newsroom.aspx", ui_language="ru"
)


def parse_only(page: bytes) -> list[Item]:
    settings, source = SETTINGS, SOURCE
    ctx = PageContext(
        source=source,
        now=NOW,
        topics=TopicMatcher(settings.topics),
        kinds=KindGuesser(settings.ingest.call_cues),
        page_url=source.url,
    )
    return parse_html(page, ctx, "utf-8").items


def store_only(items: list[Item]) -> int:
    async def store_items() -> int:
        with tempfile.TemporaryDirectory() as folder:
            async with await open_store(Path(folder) / "bench.db") as store:
                return len(await store.upsert_items(items, NOW))

    return asyncio.run(store_items())


def ours(page: bytes) -> int:
    fetched = FetchResult(url=SOURCE.url, status=200, body=page, charset="utf-8")

    async def parse_and_store_page() -> int:
        with tempfile.TemporaryDirectory() as folder:
            async with await open_store(Path(folder) / "bench.db") as store:
                parsers = Parsers.from_settings(SETTINGS)
                first = Sighting(baseline=True, max_age=timedelta(days=7))
                _, results = await parse_and_store(store, SOURCE, fetched, parsers, NOW, first)
                return len(results)

    return asyncio.run(parse_and_store_page())


def reference(feed: bytes) -> int:
    return len(feedparser.parse(feed).entries)


def timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = run()
    return time.perf_counter() - start, count


def cpu_timed(run: Callable[[], int]) -> tuple[float, float, int]:
    """Wall and CPU seconds of `run`, and what it returned."""
    cpu = time.process_time()
    wall, count = timed(run)
    return wall, time.process_time() - cpu, count


def peak_mib(run: Callable[[], int]) -> float:
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = make_items(args.items)
    page, feed = newsroom_page(items), rss(items)
    parsed = parse_only(page)  # also loads the language profiles once, as a service would
    ratios, cpu_ratios, ref_times, our_times = [], [], [], []
    for _ in range(args.rounds):
        ref_time, ref_cpu, ref_count = cpu_timed(lambda: reference(feed))
        our_time, our_cpu, our_count = cpu_timed(lambda: ours(page))
        assert our_count == ref_count == args.items, (our_count, ref_count)
        ref_times.append(ref_time)
        our_times.append(our_time)
        ratios.append(ref_time / our_time)
        cpu_ratios.append(ref_cpu / our_cpu)
    parse_time = statistics.median(timed(lambda: len(parse_only(page)))[0] for _ in ratios)
    store_time = statistics.median(timed(lambda: store_only(parsed))[0] for _ in ratios)
    n = args.items
    our_time, ref_time = statistics.median(our_times), statistics.median(ref_times)
    print(
        f"python {platform.python_version()}, {len(page) / 2**20:.1f} MiB page, "
        f"{len(feed) / 2**20:.1f} MiB feed, median of {args.rounds} rounds"
    )
    print(
        f"wcofeed parse+store: {n / our_time:8.0f} items/s  ({our_time:.3f} s), "
        f"peak {peak_mib(lambda: ours(page)):.0f} MiB"
    )
    print(
        f"feedparser parse:    {n / ref_time:8.0f} items/s  ({ref_time:.3f} s), "
        f"peak {peak_mib(lambda: reference(feed)):.0f} MiB"
    )
    print(f"  of which parse:    {n / parse_time:8.0f} items/s  ({parse_time:.3f} s)")
    print(f"  of which store:    {n / store_time:8.0f} items/s  ({store_time:.3f} s)")
    print("ratio per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    print("CPU-time ratio per round: " + ", ".join(f"{r:.2f}" for r in cpu_ratios))
    print(f"CPU-time ratio (median): {statistics.median(cpu_ratios):.2f}")
    print(
        f"ratio parse+store / feedparser (median): {statistics.median(ratios):.2f}; "
        f"parse alone / feedparser: {ref_time / parse_time:.2f}"
    )


if __name__ == "__main__":
    main()
