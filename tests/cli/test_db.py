"""`wcofeed db copy`: an install moved to PostgreSQL and back keeps every row, and a
digest round on the copy sends nothing the original already sent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import NOW, SmtpRecorder, SmtpServer, make_item
from wcofeed.cli import main
from wcofeed.models import Deadline, Subscriber
from wcofeed.store import open_store


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

    async def seed() -> None:
        async with await open_store(tmp_path / "wcofeed.db") as store:
            await store.upsert_items([*calls, make_item(title="Some news")], NOW)
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
            return source.etag, ana and ana.last_digest_at, await store.delivery_states()

    etag, last_digest, deliveries = asyncio.run(state())
    assert etag == '"v1"' and last_digest is not None
    assert deliveries == {"sent": len(sent)}

    # a copy goes into an empty database only
    assert main(["--config", str(original), "db", "copy", "--to", database]) == 1
    assert "is not empty" in capsys.readouterr().err
