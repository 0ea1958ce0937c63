from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import NOW, V6_ITEM, make_item
from wcofeed.models import default_translation_key
from wcofeed.store import ItemQuery, SchemaTooNewError, open_store
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
        assert found[0].published.isoformat() == "2020-10-06"


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
        db.execute(V6_ITEM, (guid, "Call", guid, "en"))
    async with await open_store(path) as store:
        stored = await store.get_item(guid)
    assert stored is not None
    assert stored.translation_key == default_translation_key(guid)
