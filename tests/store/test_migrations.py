from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW, V6_ITEM, make_item
from wcofeed.models import default_translation_key
from wcofeed.store import ItemQuery, SchemaTooNewError, open_store, rarity
from wcofeed.store.sqlite.migrations import MIGRATIONS


async def test_empty_database_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"items", "item_topics", "sources", "items_fts"} <= tables


async def test_foreign_keys_are_enforced(store) -> None:  # type: ignore[no-untyped-def]
    item = make_item(topics=("origin",))
    await store.upsert_item(item, now=NOW)
    await store.delete_item(item.guid)
    # the topic rows went with the item (ON DELETE CASCADE needs foreign_keys = ON)
    counts = await store.counts()
    assert counts.by_language_topic == {}


async def test_previous_schema_is_migrated_forward_keeping_data(tmp_path: Path) -> None:
    """A database at schema 1 (before full-text search) gains FTS over its old rows."""
    path = tmp_path / "old.db"
    first_seen = datetime(2020, 10, 6, tzinfo=UTC)
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
        db.execute(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                published, published_ts, source, first_seen, first_seen_ts, last_changed,
                content_hash)
               VALUES ('old-1', 'news', 'Revised Kyoto Convention accession', 'Myanmar joins',
                '', 'https://example.org/old', 'en', '2020-10-06', 1601942400, 'legacy',
                '2020-10-06T00:00:00+00:00', 1601942400000000, '2020-10-06T00:00:00+00:00',
                'x')"""
        )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        found = await store.query_items(ItemQuery(q="kyoto"))
        assert [i.guid for i in found] == ["old-1"]
        assert found[0].published == date(2020, 10, 6)
        # through 7 (dated: news from its own date, as a hand-entered item) and 8 (its key)
        assert found[0].announce_from == first_seen
        assert found[0].translation_key == "old-1"
        edition = await store.query_items(ItemQuery(edition=("fr", "en")))
        assert [i.guid for i in edition] == ["old-1"]


async def test_stored_deadlines_read_back_as_days_after_the_precision_migration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:5]) + "\nPRAGMA user_version = 5;")
        db.execute(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                published, published_ts, deadline_date, deadline_time, deadline_tz,
                deadline_ts, source, first_seen, first_seen_ts, last_changed, content_hash)
               VALUES ('call-1', 'call', 'Call for experts', '', '', 'https://example.org/c',
                'en', '2025-02-01', 1738368000, '2025-03-14', '17:00:00', 'Europe/Brussels',
                1741968000, 'legacy', '2025-02-01T00:00:00+00:00', 1738368000000000,
                '2025-02-01T00:00:00+00:00', 'x')"""
        )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        stored = await store.get_item("call-1")
    assert stored is not None and stored.deadline is not None
    assert stored.deadline.precision == "day" and stored.deadline.wording == ""


def _v6_row(
    guid: str, source: str, published: date | None, first_seen: datetime
) -> tuple[object, ...]:
    """An items row as schema 6 stored it: an undated item (`published` None here) had
    its first sight as `published`."""
    micros = (first_seen - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    stamp = first_seen.isoformat()
    if published is None:
        return (guid, f"{guid} title", stamp, micros // 1_000_000, source, stamp, micros, stamp)
    published_ts = int(datetime.combine(published, time(0), UTC).timestamp())
    return (
        guid,
        f"{guid} title",
        published.isoformat(),
        published_ts,
        source,
        stamp,
        micros,
        stamp,
    )


async def test_invented_dates_are_dropped_and_news_judged_by_the_migration(
    tmp_path: Path,
) -> None:
    """Schema 6 gave an undated item its first sight as `published`; schema 7 makes it
    undated again, tells a source's back catalogue (its first fetch, when it has fetch
    state) from later finds and hand-entered items, and keeps topics and search."""
    path = tmp_path / "v6.db"
    first, later = (
        datetime(2025, 1, 10, 8, 0, 0, 123456, UTC),
        datetime(2025, 1, 20, 8, 30, tzinfo=UTC),
    )
    rows = [
        _v6_row("tool-1", "tools", None, first),
        _v6_row("news-1", "tools", date(2025, 1, 9), first),
        _v6_row("tool-2", "tools", None, later),
        _v6_row("news-2", "tools", date(2020, 10, 30), later),
        _v6_row("typed-1", "manual", None, first),
    ]
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:6]) + "\nPRAGMA user_version = 6;")
        db.execute(
            "INSERT INTO sources (id, last_success) VALUES ('tools', ?)", (first.isoformat(),)
        )
        db.executemany(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                published, published_ts, source, first_seen, first_seen_ts, last_changed,
                content_hash)
               VALUES (?, 'news', ?, '', '', 'https://example.org/', 'en',
                ?, ?, ?, ?, ?, ?, 'x')""",
            rows,
        )
        db.execute(
            """INSERT INTO item_topics (item_id, topic, language, kind, published_ts)
               SELECT id, 'origin', language, kind, published_ts FROM items"""
        )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        items = await store.get_items(str(row[0]) for row in rows)
        assert {guid: item.published for guid, item in items.items()} == {
            "tool-1": None,
            "news-1": date(2025, 1, 9),
            "tool-2": None,
            "news-2": date(2020, 10, 30),
            "typed-1": None,
        }
        assert {guid: item.announce_from for guid, item in items.items()} == {
            "tool-1": None,  # back catalogue
            "news-1": datetime(2025, 1, 9, tzinfo=UTC),  # back catalogue, by its own date
            "tool-2": later,  # listed after the first fetch: news when first seen
            "news-2": None,  # found later, but years old
            "typed-1": first,  # hand-entered: news
        }
        assert items["tool-1"].first_seen == first
        # migration 8 after 7: every version its own key, the rank of 7 kept in editions
        assert {item.translation_key for item in items.values()} == set(items)
        expected = ["tool-2", "typed-1", "news-1", "news-2", "tool-1"]
        for query in (
            ItemQuery(),
            ItemQuery(languages=("en",), topics=("origin",)),
            ItemQuery(edition=("fr", "en")),
            ItemQuery(edition=("fr", "en"), topics=("origin",)),
        ):
            assert [i.guid for i in await store.query_items(query)] == expected
        added = make_item(title="Kyoto after the migration", topics=("origin",))
        await store.upsert_item(added, now=NOW)
        found = await store.query_items(ItemQuery(q="title"))
        assert sorted(i.guid for i in found) == sorted(expected)
        assert [i.guid for i in await store.query_items(ItemQuery(q="kyoto"))] == [added.guid]


async def test_schema_7_gains_translation_keys_and_keeps_its_ranks(tmp_path: Path) -> None:
    """A database at schema 7 (undated items, `announce_ts`, `sort_ts`) migrated to 8:
    versions of one item share a key, editions list one of them in the rank of 7, and a
    reminder recorded under a guid is kept under its key."""
    path = tmp_path / "v7.db"
    link = "https://www.wcoomd.org/{}/media/newsroom/2025/forum.aspx"
    seen = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)
    micros = (seen - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    dated = int(datetime(2025, 1, 19, tzinfo=UTC).timestamp())
    rows = [
        # guid, language, published, published_ts, announce_ts
        (link.format("en"), "en", "2025-01-19", dated, micros),
        (link.format("fr"), "fr", "2025-01-19", dated, micros),
        ("https://www.wcoomd.org/en/tools.aspx", "en", None, None, None),  # back catalogue
        ("https://www.wcoomd.org/en/call.aspx", "en", None, None, micros),  # undated news
    ]
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:7]) + "\nPRAGMA user_version = 7;")
        db.executemany(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                published, published_ts, source, first_seen, first_seen_ts, last_changed,
                content_hash, announce_ts)
               VALUES (?1, 'news', 'Forum', '', '', ?1, ?2, ?3, ?4, 'wco', ?6, ?7, ?6, 'x', ?5)""",
            [(*row, seen.isoformat(), micros) for row in rows],
        )
        db.execute(
            """INSERT INTO item_topics (item_id, topic, language, kind, sort_ts)
               SELECT id, 'origin', language, kind, sort_ts FROM items"""
        )
        db.execute(
            """INSERT INTO subscribers (email, language, lead_days, timezone, status, created_at)
               VALUES ('ana@example.org', 'fr', '14', 'UTC', 'active', ?)""",
            (seen.isoformat(),),
        )
        db.execute(
            """INSERT INTO outbox (message_id, subscriber_id, state, payload, claimed_at)
               VALUES ('<old@x>', 1, 'sent', '{}', ?)""",
            (seen.isoformat(),),
        )
        db.execute(
            "INSERT INTO reminders VALUES (1, ?, 1739573999, 14, '<old@x>')", (link.format("en"),)
        )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        items = await store.get_items(row[0] for row in rows)
        key = link.format("{lang}")
        assert [items[row[0]].translation_key for row in rows[:2]] == [key, key]
        assert items[rows[2][0]].published is None and items[rows[2][0]].announce_from is None
        assert items[rows[3][0]].announce_from == seen
        assert items[rows[0][0]].published == date(2025, 1, 19)
        everything = [i.guid for i in await store.query_items(ItemQuery())]
        assert everything == [rows[3][0], rows[1][0], rows[0][0], rows[2][0]]
        for query in (
            ItemQuery(edition=("fr", "en")),
            ItemQuery(edition=("fr", "en"), topics=("origin",)),
        ):
            assert [i.guid for i in await store.query_items(query)] == [
                rows[3][0],
                rows[1][0],
                rows[2][0],
            ]
        reminded = await store.reminded_keys([1], seen)
        subscriber = await store.get_subscriber("ana@example.org")
    assert reminded == {1: {(key, 1739573999, 14)}}
    assert subscriber is not None and subscriber.content_languages == ()


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    async with await open_store(path) as store:
        await store.upsert_item(make_item(guid="kept"), now=NOW)
    async with await open_store(path) as store:
        assert await store.get_item("kept") is not None
        assert await store.schema_version() == len(MIGRATIONS)


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNewError, match="newer than this wcofeed"):
        await open_store(path)


async def test_last_change_reads_an_index_not_the_table(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    async with await open_store(path):
        pass
    with sqlite3.connect(path) as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT max(last_changed) FROM items").fetchall()
    assert "USING COVERING INDEX items_last_changed" in plan[0][3]


@pytest.mark.parametrize(
    "guid",
    [
        "https://www.wcoomd.org/en/about-us/vacancies/vcoa-21-french.aspx",
        "https://www.wcoomd.org/fr/media/newsroom/2025/x.aspx?page=2",
        "http://wco.test/ar/news-1",
        "https://www.wcoomd.org/media/en/x.aspx",
        "https://www.wcoomd.org/de/x.aspx",
        "https://www.wcoomd.org/en.aspx",
        "https:///en/x",
        "https://example.org?next=/en/x",
        "HTTPS://www.wcoomd.org/en/x.aspx",
        "urn:wcofeed:0123abcd",
        "manual-42",
    ],
)
async def test_translation_keys_of_stored_items_match_the_model(tmp_path: Path, guid: str) -> None:
    """The migration derives the keys of existing rows in SQL: exactly as Python does."""
    path = tmp_path / "v6.db"
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:6]) + "\nPRAGMA user_version = 6;")
        # the link is a valid one: odd guids are the point, and the model refuses odd links
        db.execute(V6_ITEM, (guid, "Call", "https://www.wcoomd.org/x.aspx", "en"))
    async with await open_store(path) as store:
        stored = await store.get_item(guid)
    assert stored is not None
    assert stored.translation_key == default_translation_key(guid)


async def test_text_index_is_merged_and_kept_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 11: a schema-10 store whose text index grew in many small writes (a
    segment each) is merged once, and told to merge at two segments per level from then
    on; every item is still found, by the look-up and by the row-by-row check."""
    path = tmp_path / "v10.db"
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:10]) + "\nPRAGMA user_version = 10;")
    for n in range(12):
        with sqlite3.connect(path) as db:
            db.execute(
                """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                    published, published_ts, source, first_seen, first_seen_ts, last_changed,
                    content_hash)
                   VALUES (?1, 'news', ?2, 'Customs text', '', ?1, 'en', '2025-01-19',
                    1737244800, 'wco', '2025-01-19T00:00:00+00:00', 1737244800000000,
                    '2025-01-19T00:00:00+00:00', 'x')""",
                (f"https://example.org/{n}", f"Kyoto item {n}"),
            )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        assert await store.count_items(ItemQuery(q="kyoto customs")) == 12
        monkeypatch.setattr(rarity, "RARE_TEXT", 3)
        walked = await store.query_items(ItemQuery(q="kyoto customs", limit=5))
        assert [i.title for i in walked] == [f"Kyoto item {n}" for n in range(11, 6, -1)]
    with sqlite3.connect(path) as db:
        config = dict(db.execute("SELECT k, v FROM items_fts_config"))
        db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    assert config["automerge"] == 2 and config["usermerge"] == 2
