"""`wcofeed db copy`: an install moved to PostgreSQL and back keeps every row, and a
digest round on the copy sends nothing the original already sent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import NOW, SmtpRecorder, SmtpServer, make_item
from wcofeed.cli import main
from wcofeed.models import Attachment, Deadline, DetailState, Subscriber
from wcofeed.store import ItemQuery, open_store


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main` points wcofeed's log handler at the captured stderr; undo it afterwards."""
    logger = logging.getLogger("wcofeed")
    handlers, level = logger.handlers[:], logger.level
    yield
    logger.handlers[:], logger.level = handlers, level


def _config(write_config: Callable[..., Path], port: int, name: str, database: str) -> Path:
    return write_config(
        f"""
        {database}
        [smtp]
        host = "127.0.0.1"
        port = {port}
        security = "none"
        [email]
        from_address = "WCO feeds <noreply@feeds.example.org>"
        [security]
        secret_key = "db-copy-test-secret-0123456789abcdef"
        """,
        name=name,
    )


def _items_json(config: Path, capsys: pytest.CaptureFixture[str]) -> list[object]:
    capsys.readouterr()
    assert main(["--config", str(config), "items", "--json", "--limit", "1000"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("backend", ["postgres"])
def test_copy_to_postgres_and_back_sends_nothing_twice(
    write_config: Callable[..., Path],
    tmp_path: Path,
    database: str,
    smtp_server: SmtpServer,
    smtp: SmtpRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = smtp_server.port
    original = _config(write_config, port, "original.toml", "")
    on_postgres = _config(write_config, port, "postgres.toml", f'[database]\nurl = "{database}"')
    back = _config(write_config, port, "back.toml", f'[database]\npath = "{tmp_path / "back.db"}"')
    calls = [
        make_item(kind="call", title=f"Call {n}", deadline=Deadline(date(2025, 2, 2 + n)))
        for n in range(3)
    ]

    news = make_item(
        title="Some news",
        content_html="<p>Whole text</p>",
        content_text="Whole text",
        attachments=(Attachment("https://example.org/form.pdf", "application/pdf", "Form"),),
    )
    page = DetailState(news.guid, news.url, news.content_hash, NOW, NOW, etag='"p1"')

    async def seed() -> None:
        async with await open_store(tmp_path / "wcofeed.db") as store:
            await store.upsert_items([*calls, news], NOW)
            await store.save_detail_states([page])
            for name in ("ana", "bo"):
                subscriber = Subscriber(f"{name}@example.org", status="active", digest="daily")
                await store.save_subscriber(subscriber, NOW)
            await store.record_fetch_success("newsroom", NOW, etag='"v1"')

    asyncio.run(seed())
    when = "2025-02-02T09:00:00+01:00"
    assert main(["--config", str(original), "digest", "--now", when]) == 0
    sent = smtp.message_ids()
    assert len(sent) >= 2 and len(set(sent)) == len(sent)
    items = _items_json(original, capsys)

    assert main(["--config", str(original), "db", "copy", "--to", database]) == 0
    report = capsys.readouterr().out
    assert "counts and hashes match" in report
    assert "items                4 rows" in report and "outbox" in report
    assert "item_details         1 rows" in report

    assert _items_json(on_postgres, capsys) == items
    assert main(["--config", str(on_postgres), "digest", "--now", when]) == 0
    assert smtp.message_ids() == sent

    assert (
        main(["--config", str(on_postgres), "db", "copy", "--to", str(tmp_path / "back.db")]) == 0
    )
    assert _items_json(back, capsys) == items
    assert main(["--config", str(back), "digest", "--now", when]) == 0
    assert smtp.message_ids() == sent

    async def state() -> tuple[object, ...]:
        async with await open_store(tmp_path / "back.db") as store:
            source = await store.source_state("newsroom")
            ana = await store.get_subscriber("ana@example.org")
            details = await store.detail_states([news.guid])
            return source.etag, ana and ana.last_digest_at, await store.delivery_states(), details

    etag, last_digest, deliveries, details = asyncio.run(state())
    assert etag == '"v1"' and last_digest is not None
    assert details == {news.guid: page}
    assert deliveries == {"sent": len(sent)}

    # a copy goes into an empty database only
    assert main(["--config", str(original), "db", "copy", "--to", database]) == 1
    assert "is not empty" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("direction", ["to postgres", "from postgres"])
def test_a_column_on_one_side_only_stops_the_copy(
    write_config: Callable[..., Path],
    tmp_path: Path,
    database: str,
    direction: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As a migration ported to one store only would leave them: nothing is written."""
    sqlite_file = tmp_path / "wcofeed.db"
    on_sqlite = write_config("")
    on_postgres = write_config(f'[database]\nurl = "{database}"', name="postgres.toml")

    places: tuple[Path | str, Path | str] = (sqlite_file, database)
    source, target = places if direction == "to postgres" else places[::-1]
    config = on_sqlite if direction == "to postgres" else on_postgres

    async def prepare() -> None:
        async with await open_store(target):
            pass
        async with await open_store(source) as store:
            await store.upsert_item(make_item(), NOW)
        db = await asyncpg.connect(database)
        try:
            await db.execute("ALTER TABLE item_details DROP COLUMN etag")
        finally:
            await db.close()

    async def target_items() -> int:
        async with await open_store(target) as store:
            return await store.count_items(ItemQuery())

    asyncio.run(prepare())
    assert main(["--config", str(config), "db", "copy", "--to", str(target)]) == 1
    err = capsys.readouterr().err
    assert "table item_details has no column etag" in err and "schemas differ" in err
    assert asyncio.run(target_items()) == 0
