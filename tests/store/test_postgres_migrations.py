"""The PostgreSQL schema: migrated once, even by processes starting together; a newer
one refused."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from wcofeed.store import SchemaTooNewError, open_store
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
