from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import threading
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, break_row, make_item
from wcofeed.models import Deadline, Item, UpsertOutcome
from wcofeed.store import ItemQuery, PostgresStore, Store, Version, open_store, rarity
from wcofeed.store.sqlite import SQLiteStore
from wcofeed.store.sqlite import items as sqlite_items


async def test_upsert_reports_new_unchanged_changed(store: Store) -> None:
    item = make_item(title="Call for experts", topics=("research",))
    first = await store.upsert_item(item, now=NOW)
    assert first.outcome is UpsertOutcome.NEW
    assert first.item.first_seen == NOW and first.item.last_changed == NOW

    later = NOW + timedelta(hours=1)
    again = await store.upsert_item(item, now=later)
    assert again.outcome is UpsertOutcome.UNCHANGED
    stored = await store.get_item(item.guid)
    assert stored is not None and stored.last_changed == NOW

    edited = dataclasses.replace(item, title="Call for experts (extended)")
    changed = await store.upsert_item(edited, now=later)
    assert changed.outcome is UpsertOutcome.CHANGED
    assert changed.previous is not None and changed.previous.title == "Call for experts"
    stored = await store.get_item(item.guid)
    assert stored is not None
    assert stored.title == "Call for experts (extended)"
    assert stored.first_seen == NOW
    assert stored.last_changed == later


async def test_item_round_trips_every_field(store: Store) -> None:
    item = make_item(
        kind="call",
        title="📅 Bourse d’études — appel à candidatures 中文",
        summary="Texte",
        summary_html="<p>Texte</p>",
        language="fr",
        topics=("capacity-building", "research"),
        published=datetime(2025, 2, 3, 9, 30, tzinfo=UTC),
        deadline=Deadline(date(2025, 2, 14), time(17, 0), "Europe/Paris"),
    )
    await store.upsert_item(item, now=NOW)
    stored = await store.get_item(item.guid)
    assert stored is not None
    assert stored.content_hash == item.content_hash
    for f in dataclasses.fields(item):
        if f.name not in ("first_seen", "last_changed", "announce_from"):
            assert getattr(stored, f.name) == getattr(item, f.name), f.name
    assert stored.announce_from == NOW  # the store's: a hand-entered item is news at once


async def test_changed_topics_replace_old_ones(store: Store) -> None:
    item = make_item(topics=("origin",))
    await store.upsert_item(item, now=NOW)
    await store.upsert_item(dataclasses.replace(item, topics=("valuation",)), now=NOW)
    assert await store.query_items(ItemQuery(topics=("origin",))) == []
    found = await store.query_items(ItemQuery(topics=("valuation",)))
    assert [i.guid for i in found] == [item.guid]


async def test_get_items_finds_many_in_one_call(store: Store) -> None:
    a, b = make_item(topics=("origin",)), make_item()
    await store.upsert_items([a, b], now=NOW)
    found = await store.get_items([a.guid, "https://example.org/none", b.guid])
    assert sorted(found) == sorted([a.guid, b.guid])
    assert found[a.guid].topics == ("origin",) and found[b.guid].title == b.title
    assert await store.get_items([]) == {}


async def test_one_batch_mixes_new_changed_and_unchanged(store: Store) -> None:
    kept = make_item(guid="kept", topics=("origin",))
    moved = make_item(guid="moved", topics=("origin",))
    await store.upsert_items([kept, moved], now=NOW)
    later = NOW + timedelta(days=1)
    moved_fr = dataclasses.replace(moved, language="fr", topics=("origin", "valuation"))
    fresh = make_item(guid="fresh", topics=("valuation",))

    results = await store.upsert_items([fresh, kept, moved_fr], now=later)

    assert [(r.item.guid, r.outcome) for r in results] == [
        ("fresh", UpsertOutcome.NEW),
        ("kept", UpsertOutcome.UNCHANGED),
        ("moved", UpsertOutcome.CHANGED),
    ]
    assert results[1].item.last_changed == NOW
    assert (results[2].item.first_seen, results[2].item.last_changed) == (NOW, later)
    previous = results[2].previous
    assert previous is not None and (previous.language, previous.topics) == ("en", ("origin",))
    # topic rows carry the item's language: the moved item's rows followed it
    assert [
        i.guid for i in await store.query_items(ItemQuery(topics=("origin",), languages=("fr",)))
    ] == ["moved"]
    assert [
        i.guid for i in await store.query_items(ItemQuery(topics=("origin",), languages=("en",)))
    ] == ["kept"]
    valuation = await store.query_items(ItemQuery(topics=("valuation",)))
    assert sorted(i.guid for i in valuation) == ["fresh", "moved"]


async def test_a_cancelled_upsert_writes_all_or_nothing(store: Store) -> None:
    items = [make_item(guid=f"bulk-{n}", topics=("origin",)) for n in range(2000)]
    task = asyncio.create_task(store.upsert_items(items, now=NOW))
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # the store takes the next write (no transaction left open) ...
    await store.upsert_item(make_item(guid="after"), now=NOW)
    # ... and holds the whole batch or none of it
    assert await store.count_items(ItemQuery()) in (1, 2001)
    assert await store.count_items(ItemQuery(topics=("origin",))) in (0, 2000)


async def test_batch_with_repeated_guid_keeps_last(store: Store) -> None:
    a = make_item(guid="same", title="first")
    b = dataclasses.replace(a, title="second")
    results = await store.upsert_items([a, b], now=NOW)
    assert len(results) == 1 and results[0].outcome is UpsertOutcome.NEW
    stored = await store.get_item("same")
    assert stored is not None and stored.title == "second"


async def test_filters_and_order(store: Store) -> None:
    items = [
        make_item(language="en", kind="news", topics=("origin",), published=date(2025, 1, 1)),
        make_item(language="en", kind="call", topics=("origin",), published=date(2025, 1, 3)),
        make_item(language="fr", kind="news", topics=("valuation",), published=date(2025, 1, 2)),
        make_item(language="en", kind="news", topics=("valuation",), published=date(2025, 1, 4)),
    ]
    await store.upsert_items(items, now=NOW)

    async def guids(**kw: object) -> list[str]:
        return [i.guid for i in await store.query_items(ItemQuery(**kw))]  # type: ignore[arg-type]

    assert await guids() == [items[3].guid, items[1].guid, items[2].guid, items[0].guid]
    assert await guids(languages=("fr",)) == [items[2].guid]
    assert await guids(kinds=("call",)) == [items[1].guid]
    assert await guids(topics=("origin",), languages=("en",)) == [items[1].guid, items[0].guid]
    assert await guids(topics=("origin",), kinds=("news",)) == [items[0].guid]
    assert await guids(topics=("origin", "valuation"), languages=("en",)) == [
        items[3].guid,
        items[1].guid,
        items[0].guid,
    ]
    assert await guids(since=datetime(2025, 1, 3, tzinfo=UTC)) == [items[3].guid, items[1].guid]
    assert await guids(limit=2, offset=1) == [items[1].guid, items[2].guid]
    assert await store.count_items(ItemQuery(languages=("en",))) == 3


def _version(folder: str, path: str = "media/x", **fields: object) -> Item:
    """The item at `path` in the WCO's `folder` language (its content language too,
    unless given)."""
    link = f"https://www.wcoomd.org/{folder}/{path}.aspx"
    return make_item(**{"guid": link, "url": link, "language": folder, **fields})


async def test_an_edition_lists_one_version_of_each_item(store: Store) -> None:
    en = _version("en", published=date(2025, 1, 5), topics=("origin",))
    fr = _version("fr", published=date(2025, 1, 6))
    es = _version("es", published=date(2025, 1, 4))
    only_en = _version("en", "media/y", published=date(2025, 1, 3), topics=("origin",))
    only_ar = _version("ar", "media/z", published=date(2025, 1, 2))
    # the French interface's copy of an English-only item: English content, /fr/ link
    copy = _version("fr", "media/y", language="en", published=date(2025, 1, 3))
    await store.upsert_items([en, fr, es, only_en, only_ar, copy], now=NOW)

    async def guids(**kw: object) -> list[str]:
        return [i.guid for i in await store.query_items(ItemQuery(**kw))]  # type: ignore[arg-type]

    assert await guids(edition=("fr", "en")) == [fr.guid, only_en.guid]
    assert await guids(edition=("es", "en")) == [es.guid, only_en.guid]
    assert await guids(edition=("es", "fr", "en")) == [es.guid, only_en.guid]
    assert await guids(edition=("en",)) == [en.guid, only_en.guid]
    assert await guids(edition=("ar", "en")) == [en.guid, only_en.guid, only_ar.guid]
    assert await guids(edition=("ru",)) == []
    # a better version without the topic still stands for the item: one edition, then filters
    assert await guids(edition=("fr", "en"), topics=("origin",)) == [only_en.guid]
    assert await guids(edition=("en",), topics=("origin",)) == [en.guid, only_en.guid]
    # content_lang on top of an edition
    assert await guids(edition=("fr", "en"), languages=("en",)) == [only_en.guid]
    assert await store.count_items(ItemQuery(edition=("fr", "en"))) == 2
    assert len(await guids()) == 6  # no edition: every version


async def test_an_edition_of_open_calls_prefers_its_language(store: Store) -> None:
    en = _version("en", "call", kind="call", deadline=Deadline(date(2025, 2, 14)))
    fr = _version("fr", "call", kind="call", deadline=Deadline(date(2025, 2, 14)))
    other = make_item(kind="call", deadline=Deadline(date(2025, 2, 10)))
    await store.upsert_items([en, fr, other], now=NOW)
    query = ItemQuery(edition=("fr", "en"), kinds=("call",), open_at=NOW, order="deadline")
    assert [i.guid for i in await store.query_items(query)] == [other.guid, fr.guid]


async def test_versions_are_found_by_translation_key(store: Store) -> None:
    en, fr = _version("en"), _version("fr", title="Version française")
    alone = make_item()
    await store.upsert_items([fr, en, alone], now=NOW)
    found = await store.versions([en.translation_key, alone.translation_key, "none"])
    assert found == {
        en.translation_key: [
            Version(en.guid, "en", en.url),
            Version(fr.guid, "fr", fr.url),
        ],
        alone.translation_key: [Version(alone.guid, "en", alone.url)],
    }
    assert await store.versions([]) == {}


async def test_a_page_comes_with_the_versions_of_its_items(store: Store) -> None:
    en, fr = _version("en", published=date(2025, 1, 5)), _version("fr", title="Version")
    other = _version("en", "media/y", published=date(2025, 1, 4))
    unlisted = _version("es", "media/z", published=date(2025, 1, 6))
    await store.upsert_items([en, fr, other, unlisted], now=NOW)
    query = ItemQuery(languages=("en",), limit=5)
    items, versions = await store.query_page(query)
    assert items == await store.query_items(query)
    assert [i.guid for i in items] == [en.guid, other.guid]
    assert versions[en.translation_key] == [
        Version(en.guid, "en", en.url),
        Version(fr.guid, "fr", fr.url),
    ]
    alone = [Version(other.guid, "en", other.url)]  # may be left out: it links to no other
    assert versions.get(other.translation_key, alone) == alone
    assert unlisted.translation_key not in versions
    translated = dataclasses.replace(other, guid=f"{other.guid}-fr", language="fr")
    await store.upsert_items([translated], now=NOW)
    _, versions = await store.query_page(query)
    assert [v.language for v in versions[other.translation_key]] == ["en", "fr"]
    assert await store.query_page(ItemQuery(q="nowhere")) == ([], {})


async def test_a_given_translation_key_groups_other_links(store: Store) -> None:
    en = make_item(guid="https://example.org/news/1", translation_key="news-1")
    fr = make_item(guid="https://example.org/actu/1", translation_key="news-1", language="fr")
    await store.upsert_items([en, fr], now=NOW)
    stored = await store.get_item(fr.guid)
    assert stored is not None and stored.translation_key == "news-1"
    found = await store.query_items(ItemQuery(edition=("fr", "en")))
    assert [i.guid for i in found] == [fr.guid]


async def test_open_calls_by_deadline(store: Store) -> None:
    soon = make_item(kind="call", deadline=Deadline(date(2025, 2, 10)))
    later = make_item(kind="call", deadline=Deadline(date(2025, 3, 1)))
    closed = make_item(kind="call", deadline=Deadline(date(2025, 1, 15)))
    news = make_item(kind="news")
    await store.upsert_items([later, closed, soon, news], now=NOW)
    found = await store.query_items(ItemQuery(open_at=NOW, order="deadline"))
    assert [i.guid for i in found] == [soon.guid, later.guid]


async def test_deadline_day_stays_open_until_its_end_in_brussels(store: Store) -> None:
    call = make_item(kind="call", deadline=Deadline(date(2025, 2, 14)))
    await store.upsert_item(call, now=NOW)
    # 22:59 UTC is 23:59 in Brussels: still open; one minute past midnight there, closed.
    still_open = datetime(2025, 2, 14, 22, 59, tzinfo=UTC)
    closed = datetime(2025, 2, 14, 23, 1, tzinfo=UTC)
    assert await store.query_items(ItemQuery(open_at=still_open)) != []
    assert await store.query_items(ItemQuery(open_at=closed)) == []


async def test_full_text_search_follows_edits_and_deletes(store: Store) -> None:
    item = make_item(title="Harmonized System committee", summary="Classification of goods")
    other = make_item(title="Integrity week", summary="Anti-corruption")
    await store.upsert_items([item, other], now=NOW)

    async def hits(q: str) -> list[str]:
        return [i.guid for i in await store.query_items(ItemQuery(q=q))]

    assert await hits("harmonized") == [item.guid]
    assert await hits("classification goods") == [item.guid]
    assert await hits("corruption") == [other.guid]
    await store.upsert_item(dataclasses.replace(item, title="Valuation committee"), now=NOW)
    assert await hits("harmonized") == []
    assert await hits("valuation") == [item.guid]
    assert await store.delete_item(item.guid) is True
    assert await store.delete_item(item.guid) is False
    assert await hits("valuation") == []


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('"unbalanced', False),
        ("AND OR NOT", True),
        ("title:x*", True),
        ("(", False),
        ("-", False),
        ("NEAR(", True),
        ("NOT words", True),
        ("words NOT unbalanced", False),
    ],
)
async def test_search_syntax_is_taken_literally(store: Store, text: str, matches: bool) -> None:
    """FTS5 operators are searched as the words they are: every word required, no
    syntax error, no operator meaning ("NOT words" finds the item that has both)."""
    item = make_item(title="AND OR NOT words near the title x")
    await store.upsert_item(item, now=NOW)
    found = await store.query_items(ItemQuery(q=text))
    assert [i.guid for i in found] == ([item.guid] if matches else [])


async def test_search_ignores_accents(store: Store) -> None:
    item = make_item(title="Appel à candidatures: bourse d'études", language="fr")
    await store.upsert_item(item, now=NOW)
    found = await store.query_items(ItemQuery(q="etudes"))
    assert [i.guid for i in found] == [item.guid]


def _full_scan(plan: list[str]) -> bool:
    return any(step.startswith("SCAN") and "USING" not in step for step in plan)


#: The queries the feeds and pages make on every request.
HOT_QUERIES = [
    ItemQuery(languages=("en",), topics=("origin",)),
    ItemQuery(languages=("en",), topics=("origin",), kinds=("call",)),
    ItemQuery(languages=("en",)),
    ItemQuery(languages=("en",), kinds=("news",)),
    ItemQuery(kinds=("news",)),
    ItemQuery(),
    ItemQuery(open_at=NOW, order="deadline"),
    ItemQuery(closed_at=NOW, order="deadline-desc"),
    ItemQuery(edition=("fr", "en")),
    ItemQuery(edition=("fr", "en"), topics=("origin",)),
    ItemQuery(edition=("fr", "en"), topics=("origin",), kinds=("call",)),
    ItemQuery(edition=("fr", "en"), kinds=("news",)),
    ItemQuery(edition=("fr", "en"), kinds=("call",), open_at=NOW, order="deadline"),
    ItemQuery(edition=("fr", "en"), closed_at=NOW, order="deadline-desc"),
    ItemQuery(edition=("ar",)),
    ItemQuery(edition=("ar",), topics=("origin",)),
]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "query",
    HOT_QUERIES,
    ids=[
        "lang-topic",
        "lang-topic-kind",
        "lang",
        "lang-kind",
        "kind",
        "all",
        "open-calls",
        "closed-calls",
        "edition",
        "edition-topic",
        "edition-topic-kind",
        "edition-kind",
        "edition-open-calls",
        "edition-closed-calls",
        "strict-edition",
        "strict-edition-topic",
    ],
)
async def test_common_queries_walk_an_index(store: Store, query: ItemQuery) -> None:
    plan = list(await store.explain(query))
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert not _full_scan(plan), plan


def _plan_items() -> list[Item]:
    """Some thousands of items over six languages, three kinds and four topics, enough
    (statistics up to date) for the planner to weigh its options as on a real database.
    "zebrafish" is in 62 of them (rare), "tariff" in 857 (common: more than
    `rarity.RARE_TEXT`), "item" in all; each word in items of every language, kind
    and topic."""
    languages = ("en", "fr", "es", "ru", "zh", "ar")
    kinds = ("news", "call", "publication")
    return [
        make_item(
            guid=f"https://www.wcoomd.org/{languages[n % 6]}/plan/{n // 6}.aspx",
            language=languages[n % 6],
            kind=kinds[n % 3],
            topics=(("origin", "valuation", "security", "integrity")[n % 4],),
            published=date(2020, 1, 1) + timedelta(days=n % 1500),
            deadline=Deadline(date(2020, 1, 1) + timedelta(days=n % 3650)) if n % 3 == 1 else None,
            title=f"Item {n} zebrafish" if n % 97 == 0 else f"Item {n}",
            summary=f"Tariff {n}" if n % 7 == 3 else f"Summary {n}",
        )
        for n in range(6000)
    ]


async def _analyzed(store: Store, items: list[Item]) -> None:
    """`items` stored, and the planner's statistics of them gathered."""
    for start in range(0, len(items), 1000):
        await store.upsert_items(items[start : start + 1000], now=NOW)
    assert isinstance(store, PostgresStore)
    async with store.pool().acquire() as db:
        await db.execute("ANALYZE items; ANALYZE item_topics")


@pytest.mark.parametrize("backend", ["postgres"])
async def test_common_queries_walk_an_index_in_postgres(store: Store, database: str) -> None:
    """Each hot query starts from an index, never a sequential scan, and a newest-first
    one (every feed) walks an index in its order: no sort of every match. Calls by
    deadline may be sorted: PostgreSQL sorts the open (or closed) calls of a language
    when it expects few, and they are few. Sequential scans are priced out, as
    PostgreSQL rightly prefers them on a table this small.
    A search by a rare word starts from the text search index."""
    await _analyzed(store, _plan_items())
    async with await open_store(f"{database}&enable_seqscan=off") as planner:
        for query in HOT_QUERIES:
            plan = "\n".join(await planner.explain(query))
            assert "Seq Scan" not in plan, (query, plan)
            assert "Index" in plan, (query, plan)
            if query.order == "published":
                assert "Sort" not in plan, (query, plan)
        plan = "\n".join(await planner.explain(ItemQuery(q="zebrafish")))
    assert "items_search" in plan and "Seq Scan" not in plan, plan


def _walks_the_order(plan: str) -> bool:
    """Whether a PostgreSQL plan scans an index of the items' order (newest first)."""
    return bool(
        re.search(r"Scan Backward using (items|item_topics)_(sort|language|kind|topic)", plan)
    )


#: Searches as the front page makes them: an edition or a language, topics, a kind.
TEXT_QUERIES = [
    ItemQuery(edition=("fr", "en"), topics=("origin", "valuation"), kinds=("call",), limit=5),
    ItemQuery(edition=("fr", "en"), topics=("valuation",), limit=5),
    ItemQuery(languages=("en",), topics=("origin",), limit=5),
    ItemQuery(languages=("en",), limit=5, offset=1),
    ItemQuery(limit=5),
]


@pytest.mark.parametrize("backend", ["postgres"])
async def test_rare_text_is_searched_first_in_postgres(store: Store, database: str) -> None:
    """A word in few items is looked up in the text search index first, and only its
    items are filtered and sorted: no walk down the order's index testing each row's
    text, which for a rare or absent word is nearly every row."""
    await _analyzed(store, _plan_items())
    async with await open_store(f"{database}&enable_seqscan=off") as planner:
        for query in TEXT_QUERIES:
            for word in ("zebrafish", "nowhere"):
                plan = "\n".join(await planner.explain(dataclasses.replace(query, q=word)))
                assert "items_search" in plan, (query, word, plan)
                assert not _walks_the_order(plan), (query, word, plan)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_common_text_walks_the_order_in_postgres(
    store: Store, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in many items (more than `rarity.RARE_TEXT`) is checked row by row down
    the order's index, newest first, until the page is full: the text search index is
    not read, nor its whole match set sorted. A word the planner would look up in the
    text search index is checked row by row too, once common by that threshold."""
    await _analyzed(store, _plan_items())
    async with await open_store(f"{database}&enable_seqscan=off") as planner:
        for query in TEXT_QUERIES:
            for word in ("tariff", "item"):
                plan = "\n".join(await planner.explain(dataclasses.replace(query, q=word)))
                assert _walks_the_order(plan), (query, word, plan)
                assert "items_search" not in plan and "Sort" not in plan, (query, word, plan)
        monkeypatch.setattr(rarity, "RARE_TEXT", 10)
        for query in TEXT_QUERIES:
            plan = "\n".join(await planner.explain(dataclasses.replace(query, q="zebrafish")))
            assert "items_search" not in plan, (query, plan)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_text_paths_give_the_same_rows_in_postgres(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever way a word is searched, first (as rare) or along the order (as
    common), the rows and counts are the same, and they are SQLite's over the same
    items. Thresholds go down, so that the counts kept (capped by the threshold they
    were counted for) stay exact."""
    items = _plan_items()
    await _analyzed(store, items)
    async with await open_store(tmp_path / "same.db") as lite:
        await lite.upsert_items(items, now=NOW)
        for query in TEXT_QUERIES:
            for word in ("zebrafish", "tariff", "nowhere"):
                asked = dataclasses.replace(query, q=word)
                expected = [i.guid for i in await lite.query_items(asked)]
                count = await lite.count_items(asked)
                assert word == "nowhere" or expected, asked
                searched_first = set()
                for threshold in (10**6, 500, 0):
                    monkeypatch.setattr(rarity, "RARE_TEXT", threshold)
                    searched_first.add("id = ANY" in "\n".join(await store.explain(asked)))
                    found = [i.guid for i in await store.query_items(asked)]
                    assert found == expected, (asked, threshold)
                    assert await store.count_items(asked) == count, (asked, threshold)
                assert searched_first == {True, False} or word == "nowhere", asked


#: Text queries as feeds and pages make them, with a page further on, calls by deadline
#: and a `since`: every way `_where` orders and filters.
WINDOW_QUERIES = [
    *TEXT_QUERIES,
    ItemQuery(languages=("en",), topics=("origin", "valuation"), kinds=("news",), limit=50),
    ItemQuery(edition=("fr", "en"), limit=20, offset=30),
    ItemQuery(languages=("fr",), since=datetime(2022, 6, 1, tzinfo=UTC), limit=40),
    ItemQuery(open_at=NOW, order="deadline", limit=30),
    ItemQuery(closed_at=NOW, order="deadline-desc", limit=30),
]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_common_text_pages_are_the_rows_of_every_plan(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common word's page, taken from windows of the order checked in one read of
    the text index each, is the page the look-up-first plan and the row-by-row plan
    give: for a word in every item, in one in seven, in one in 97 (windows grow till
    they hold the page) and for a page past the matches. Items are stored in date
    order, as a source's are over time, so the newest-first windows' ids are close
    together and the window's way answers them without the one-statement plan (whose
    SQL is refused for them here); calls by deadline may take either way."""
    await store.upsert_items(sorted(_plan_items(), key=lambda i: str(i.published)), now=NOW)
    for query in [*WINDOW_QUERIES, ItemQuery(languages=("en",), limit=10, offset=5000)]:
        for word in ("item", "tariff", "zebrafish"):
            asked = dataclasses.replace(query, q=word)
            monkeypatch.setattr(rarity, "RARE_TEXT", 10**6)
            expected = [i.guid for i in await store.query_items(asked)]
            monkeypatch.setattr(rarity, "RARE_TEXT", 0)
            if query.order == "published":
                monkeypatch.setattr(sqlite_items, "_select_sql", _refused)
            windowed = [i.guid for i in await store.query_items(asked)]
            monkeypatch.undo()
            monkeypatch.setattr(rarity, "RARE_TEXT", 0)
            monkeypatch.setattr(sqlite_items, "_SPAN_PER_ROW", 0)
            row_by_row = [i.guid for i in await store.query_items(asked)]
            monkeypatch.undo()
            assert windowed == expected == row_by_row, (asked, windowed, expected)
            assert expected or query.offset, asked


def _refused(*args: object) -> None:
    raise AssertionError("the one-statement plan was used")


async def test_concurrent_readers_while_one_writer_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "shared.db"
    writer = await open_store(path)
    reader = await open_store(path, readers=3)
    try:
        stop = asyncio.Event()
        batches = 40

        async def write() -> None:
            for n in range(batches):
                batch = [make_item(guid=f"w-{n}-{k}", topics=("origin",)) for k in range(25)]
                await writer.upsert_items(batch, now=NOW)
                await asyncio.sleep(0)
            stop.set()

        async def read() -> list[int]:
            seen: list[int] = []
            while not stop.is_set():
                seen.append(await reader.count_items(ItemQuery(topics=("origin",))))
                await reader.query_items(ItemQuery(languages=("en",), limit=10))
            return seen

        _, *observations = await asyncio.gather(write(), read(), read(), read())
        for seen in observations:
            assert seen == sorted(seen)  # readers never see a batch undone
            assert all(n % 25 == 0 for n in seen)  # nor half a batch
        assert await reader.count_items(ItemQuery()) == batches * 25
    finally:
        await reader.close()
        await writer.close()


async def test_reads_of_several_statements_share_one_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every read, however many statements it runs (a common word's windows, its
    count, a page's versions), is one job on one reader: with a single reader, 24
    concurrent reads of every kind all finish, each run off the event loop's thread."""
    monkeypatch.setattr(rarity, "RARE_TEXT", 0)  # every word is common: windows are read
    store = await open_store(tmp_path / "one.db", readers=1)
    try:
        items = [make_item(guid=f"i-{n}", title=f"Customs note {n}") for n in range(40)]
        await store.upsert_items(items, now=NOW)
        common = ItemQuery(q="customs", limit=10)

        def reads() -> list[Awaitable[Any]]:
            return [
                store.query_page(common),
                store.query_items(dataclasses.replace(common, offset=30)),
                store.count_items(common),
                store.text_matches([i.guid for i in items[:5]], "note"),
                store.explain(common),
                store.versions([i.translation_key for i in items]),
            ]

        async with asyncio.timeout(30):
            results: list[Any] = await asyncio.gather(*(r for _ in range(4) for r in reads()))
        assert len(results) == 24
        assert [i.guid for i in results[0][0]] == [i.guid for i in await store.query_items(common)]
        assert len(results[1]) == 10 and results[2] == 40
        assert results[3] == {i.guid for i in items[:5]}
        assert "items_fts" in " ".join(results[4])
        assert isinstance(store, SQLiteStore)
        assert await store._read_job(lambda db: threading.get_ident()) != threading.get_ident()
    finally:
        await store.close()


async def test_a_page_read_again_reuses_its_items_till_the_store_rewrites_them(
    tmp_path: Path,
) -> None:
    """A page read again gives the items made the first time and reads only its rows'
    stamps, not their text; an item rewritten through the store is read afresh, and a
    row edited by hand is read as it is by the next store opened on the file."""
    path = tmp_path / "kept.db"
    calls = [make_item(guid=f"call-{n}", kind="call", title=f"Call {n}") for n in range(6)]
    query = ItemQuery(kinds=("call",), limit=4)
    async with await open_store(path, readers=1) as store:
        assert isinstance(store, SQLiteStore)
        await store.upsert_items(calls, now=NOW)
        first = await store.query_items(query)
        statements: list[str] = []
        await store._read_job(lambda db: db.set_trace_callback(statements.append))
        again, _ = await store.query_page(query)
        assert [i.guid for i in again] == [i.guid for i in first] and len(first) == 4
        assert all(a is b for a, b in zip(again, first, strict=True))
        assert statements and not [sql for sql in statements if "summary_html" in sql]
        edited = dataclasses.replace(first[1], title="Call, moved")
        await store.upsert_items([edited], now=NOW + timedelta(hours=1))
        after = await store.query_items(query)
        titles = [first[0].title, "Call, moved", *(i.title for i in first[2:])]
        assert [i.title for i in after] == titles
        assert after[0] is first[0] and after[1] is not first[1]
        assert [sql for sql in statements if "summary_html" in sql]
    await break_row(path, first[0].guid, title="Edited by hand")
    async with await open_store(path) as store:
        assert (await store.query_items(query))[0].title == "Edited by hand"


async def test_a_row_rewritten_or_deleted_after_its_stamp_is_given_as_it_is_now(
    tmp_path: Path,
) -> None:
    """Each statement of a read sees the latest commit, so a row may change between
    its stamp and its text: the page gives the row as it is when its text is read,
    and leaves out one deleted by then."""
    path = tmp_path / "moving.db"
    items = [make_item(guid=f"moving-{n}", title=f"Item {n}") for n in range(3)]
    async with await open_store(path) as store:
        await store.upsert_items(items, now=NOW)
        assert isinstance(store, SQLiteStore)
        stamps = await store._read_job(
            lambda db: db.execute(f"SELECT {sqlite_items._STAMP} FROM items ORDER BY id").fetchall()
        )
        await store.upsert_items([dataclasses.replace(items[0], title="Item 0, again")], now=NOW)
        await store.delete_item(items[1].guid)
        made = sqlite_items._MadeItems()
        page = await store._read_job(partial(sqlite_items._kept_or_read, stamps=stamps, made=made))
        assert [made(entry).title for entry in page] == ["Item 0, again", "Item 2"]


async def test_last_change_moves_on_upserts_and_deletes(store: Store) -> None:
    assert await store.last_change() is None
    item = make_item()
    await store.upsert_item(item, now=NOW)
    assert await store.last_change() == NOW
    await store.delete_item(item.guid)
    after_delete = await store.last_change()
    assert after_delete is not None and after_delete > NOW
    assert await store.delete_item(item.guid) is False
    assert await store.last_change() == after_delete


async def test_approximate_deadline_is_stored_and_stays_open_to_its_latest_day(
    store: Store,
) -> None:
    deadline = Deadline(date(2025, 7, 20), precision="approximate", wording="mid-July")
    call = make_item(kind="call", deadline=deadline)
    await store.upsert_item(call, now=NOW)
    stored = await store.get_item(call.guid)
    assert stored is not None and stored.deadline == deadline
    assert stored.content_hash == call.content_hash
    open_then = await store.query_items(
        ItemQuery(open_at=datetime(2025, 7, 20, 20, 0, tzinfo=UTC), order="deadline")
    )
    assert [i.guid for i in open_then] == [call.guid]
    after = await store.query_items(
        ItemQuery(open_at=datetime(2025, 7, 20, 22, 0, tzinfo=UTC), order="deadline")
    )
    assert after == []


async def test_undated_items_rank_by_first_sight_and_back_catalogue_last(store: Store) -> None:
    """The source's date when known, else when the item became news; a source's undated
    back catalogue after every dated item, however old. The same through a topic."""
    first_fetch = [
        make_item(title="tool", published=None, topics=("origin",)),
        make_item(title="news of 2020", published=date(2020, 10, 30), topics=("origin",)),
    ]
    await store.upsert_items(first_fetch, now=NOW, baseline=True, max_age=timedelta(days=7))
    later = NOW + timedelta(days=2)
    next_fetch = [
        make_item(title="listed later", published=None, topics=("origin",)),
        make_item(title="dated yesterday", published=later - timedelta(days=1), topics=("origin",)),
        make_item(title="found late, of 1990", published=date(1990, 1, 1), topics=("origin",)),
    ]
    await store.upsert_items(next_fetch, now=later, max_age=timedelta(days=7))
    found = await store.query_items(ItemQuery())
    assert [i.title for i in found] == [
        "listed later",
        "dated yesterday",
        "news of 2020",
        "found late, of 1990",
        "tool",
    ]
    via_topic = await store.query_items(ItemQuery(languages=("en",), topics=("origin",)))
    assert via_topic == found
    undated = found[0]
    assert undated.published is None and undated.first_seen == later
    # `since` reads the same rank: the undated back catalogue is never "since" anything
    recent = await store.query_items(ItemQuery(since=NOW))
    assert [i.title for i in recent] == ["listed later", "dated yesterday"]


async def test_news_is_decided_at_first_sight_and_kept(store: Store) -> None:
    back = make_item(title="back catalogue", published=None, topics=("origin",))
    await store.upsert_items([back], now=NOW, baseline=True, max_age=timedelta(days=7))
    later = NOW + timedelta(days=1)
    fresh = make_item(title="fresh", published=None, topics=("origin",))
    edited = dataclasses.replace(back, title="back catalogue, edited")
    results = await store.upsert_items([fresh, edited], now=later, max_age=timedelta(days=7))
    assert results[0].item.announce_from == later
    # an edit keeps the first sight's verdict, and the rank that goes with it
    assert results[1].outcome is UpsertOutcome.CHANGED and results[1].item.announce_from is None
    stored = await store.get_items([fresh.guid, back.guid])
    assert stored[fresh.guid].announce_from == later and stored[back.guid].announce_from is None
    found = await store.query_items(ItemQuery(topics=("origin",)))
    assert [i.guid for i in found] == [fresh.guid, back.guid]
    news = await store.query_items(ItemQuery(seen_since=NOW, news_since=NOW))
    assert [i.guid for i in news] == [fresh.guid]


async def test_a_date_found_later_moves_an_undated_item(store: Store) -> None:
    item = make_item(published=None, topics=("origin",))
    other = make_item(published=date(2025, 1, 10), topics=("origin",))
    await store.upsert_items([item, other], now=NOW, baseline=True)
    assert [i.guid for i in await store.query_items(ItemQuery(topics=("origin",)))] == [
        other.guid,
        item.guid,
    ]
    dated = dataclasses.replace(item, published=date(2025, 1, 20))
    await store.upsert_item(dated, now=NOW + timedelta(hours=1))
    for query in (ItemQuery(), ItemQuery(topics=("origin",))):
        assert [i.guid for i in await store.query_items(query)] == [item.guid, other.guid]


async def test_closed_calls_latest_first(store: Store) -> None:
    calls = [
        make_item(kind="call", title=f"closed {day}", deadline=Deadline(date(2025, 1, day)))
        for day in (5, 25, 15)
    ]
    still_open = make_item(kind="call", deadline=Deadline(date(2025, 3, 1)))
    await store.upsert_items([*calls, still_open, make_item()], now=NOW)
    found = await store.query_items(ItemQuery(closed_at=NOW, order="deadline-desc"))
    assert [i.title for i in found] == ["closed 25", "closed 15", "closed 5"]


#: What the attack review stored through doors that no longer let it in.
BAD_COLUMNS = {
    "a CR/LF in the link": {"url": "https://example.org/x\r\nBEGIN:VEVENT"},
    "a javascript: link": {"url": "javascript:alert(1)"},
    "a deadline past what clocks reach": {
        "deadline_date": "9999-12-31",
        "deadline_time": "23:59:00",
        "deadline_tz": "Pacific/Kiritimati",
    },
    "a date that is not one": {"published": "yesterday"},
}


@pytest.mark.parametrize("why", BAD_COLUMNS)
async def test_a_stored_row_that_breaks_the_model_is_skipped_logged_and_counted(
    database: Path | str, caplog: pytest.LogCaptureFixture, why: str
) -> None:
    good = make_item(kind="call", deadline=Deadline(date(2030, 1, 1)))
    bad = make_item(kind="call", deadline=Deadline(date(2030, 1, 2)))
    async with await open_store(database) as store:
        await store.upsert_items([good, bad], now=NOW)
    await break_row(database, bad.guid, **BAD_COLUMNS[why])
    async with await open_store(database) as store:
        listed = await store.query_items(ItemQuery(kinds=("call",), order="deadline"))
        assert [i.guid for i in listed] == [good.guid]
        assert await store.get_item(bad.guid) is None
        assert list(await store.get_items([good.guid, bad.guid])) == [good.guid]
        assert store.unreadable_items == 3
        # a new version replaces the bad row; the unreadable one is no `previous`
        result = await store.upsert_item(dataclasses.replace(bad, title="Fixed"), now=NOW)
        assert result.outcome is UpsertOutcome.CHANGED and result.previous is None
        fixed = await store.get_item(bad.guid)
        assert fixed is not None and fixed.title == "Fixed"
    assert f"stored item {bad.guid} skipped" in caplog.text


async def test_the_database_and_its_wal_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        loose = tmp_path / "loose.db"
        loose.touch(mode=0o644)
        for path in (tmp_path / "new.db", loose):
            async with await open_store(path) as store:
                await store.upsert_item(make_item())
                files = [
                    path,
                    path.with_name(path.name + "-wal"),
                    path.with_name(path.name + "-shm"),
                ]
                assert all(f.exists() for f in files)
                assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}, path
    finally:
        os.umask(old)


async def test_common_text_is_checked_along_the_order_with_the_same_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text matching many items is checked row by row down the order's index (no sort
    of the match set); the answer is the one the look-up-first plan gives."""
    items = [
        make_item(
            title=f"Customs item {n}" if n % 3 else f"Other item {n}",
            topics=("origin",) if n % 2 else ("data",),
            published=date(2024, 1, 1) + timedelta(days=n),
        )
        for n in range(30)
    ]
    await store.upsert_items(items, now=NOW)
    query = ItemQuery(q="customs", topics=("origin", "data"), languages=("en",), limit=7)
    looked_up = await store.query_items(query)
    monkeypatch.setattr(rarity, "RARE_TEXT", 3)
    walked = await store.query_items(query)
    assert [i.guid for i in walked] == [i.guid for i in looked_up] and len(walked) == 7
    plan = await store.explain(query)
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert await store.count_items(query) == 20
