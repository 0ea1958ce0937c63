"""The PostgreSQL schema: migrated once, even by processes starting together; a newer
one refused."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.conftest import NOW
from wcofeed.store import ItemQuery, SchemaTooNewError, open_store
from wcofeed.store.postgres.migrations import MIGRATIONS

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


async def test_processes_starting_together_migrate_once(database: str) -> None:
    stores = await asyncio.gather(*(open_store(database) for _ in range(3)))
    try:
        versions = {await store.schema_version() for store in stores}
    finally:
        for store in stores:
            await store.close()
    assert versions == {len(MIGRATIONS)}
    async with await open_store(database) as store:
        assert await store.schema_version() == len(MIGRATIONS)


async def test_a_newer_schema_is_refused(database: str) -> None:
    async with await open_store(database):
        pass
    db = await asyncpg.connect(database)
    try:
        await db.execute("UPDATE wcofeed_schema SET version = version + 1")
    finally:
        await db.close()
    with pytest.raises(SchemaTooNewError, match="newer than this wcofeed"):
        await open_store(database)


async def test_schema_3_gains_empty_full_text_and_keeps_its_items(database: str) -> None:
    guid = "https://www.wcoomd.org/en/forum.aspx"
    db = await asyncpg.connect(database)
    try:
        await db.execute("CREATE TABLE wcofeed_schema (version INTEGER NOT NULL)")
        for script in MIGRATIONS[:3]:
            await db.execute(script)
        await db.execute("INSERT INTO wcofeed_schema (version) VALUES (3)")
        await db.execute(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                translation_key, published, published_ts, source, first_seen, first_seen_ts,
                last_changed, content_hash)
               VALUES ($1, 'news', 'Forum', 'One line', '', $1, 'en', $1, '2025-01-19',
                1737244800, 'wco', $2, 0, $2, 'x')""",
            guid,
            NOW.isoformat(),
        )
    finally:
        await db.close()
    async with await open_store(database) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        item = await store.get_item(guid)
        assert item is not None and item.summary == "One line"
        assert (item.content_html, item.content_text, item.attachments) == ("", "", ())
        assert await store.detail_states([guid]) == {}
        assert [i.guid for i in await store.query_items(ItemQuery(q="forum"))] == [guid]
