"""`wcofeed digest` and `wcofeed subscribers …` end to end: config file, SQLite, SMTP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from wcofeed.cli import main
from wcofeed.config import Settings
from wcofeed.models import Deadline, Item
from wcofeed.store import open_store

NOW = "2025-02-01T12:00:00+00:00"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main` points wcofeed's log handler at the captured stderr; undo it afterwards."""
    logger = logging.getLogger("wcofeed")
    handlers, level = logger.handlers[:], logger.level
    yield
    logger.handlers[:], logger.level = handlers, level


def run(settings: Settings, *argv: str) -> int:
    return main(["--config", str(settings.path), *argv])


def seed(settings: Settings, items: list[Item]) -> None:
    async def upsert() -> None:
        async with await open_store(settings.database.path) as store:
            await store.upsert_items(items, datetime(2025, 1, 1, tzinfo=UTC))

    asyncio.run(upsert())


def test_add_list_export_remove(
    digest_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        run(
            digest_settings,
            "subscribers",
            "add",
            "ana@example.org",
            "--lang",
            "fr",
            "--content-lang",
            "fr",
            "--content-lang",
            "es",
            "--topic",
            "origin",
            "--topic",
            "valuation",
            "--lead-days",
            "7,2",
            "--digest",
            "weekly",
            "--tz",
            "America/Lima",
            "--confirmed",
        )
        == 0
    )
    assert run(digest_settings, "subscribers", "add", "bo@example.org", "--confirmed") == 0
    assert run(digest_settings, "subscribers", "list") == 0
    listing = capsys.readouterr().out
    assert "active        fr    weekly  7,2       ana@example.org  origin valuation" in listing
    assert "bo@example.org  (all)" in listing

    assert run(digest_settings, "subscribers", "export", "--format", "json") == 0
    exported: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    ana = exported[0]
    assert (ana["email"], ana["language"], ana["topics"], ana["lead_days"], ana["timezone"]) == (
        "ana@example.org",
        "fr",
        ["origin", "valuation"],
        [7, 2],
        "America/Lima",
    )
    assert ana["content_languages"] == ["fr", "es"]
    # bo chose nothing: English, then no fallback (English falls back to none)
    assert exported[1]["content_languages"] == ["en"]
    target = tmp_path / "subs.csv"
    assert run(digest_settings, "subscribers", "export", "--output", str(target)) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["email"] for r in rows] == ["ana@example.org", "bo@example.org"]
    assert rows[1]["lead_days"] == "14 3 1"
    assert rows[0]["content_languages"] == "fr es"

    assert run(digest_settings, "subscribers", "remove", "ana@example.org") == 0
    assert run(digest_settings, "subscribers", "remove", "ana@example.org") == 1
    assert "no subscriber ana@example.org" in capsys.readouterr().err


def test_add_without_confirmed_sends_a_confirmation_email(
    digest_settings: Settings, smtp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(digest_settings, "subscribers", "add", "ana@example.org", "--lang", "fr") == 0
    assert "pending; confirmation email sent" in capsys.readouterr().out
    (received,) = smtp.received
    assert received.recipient == "ana@example.org"
    assert received.message["Subject"] == "Confirmez votre abonnement à WCO calls"
    text = received.message.get_body(("plain",)).get_content()
    assert "https://feeds.example.org/confirm?token=confirm." in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["not-an-address"], "email: 'not-an-address': not an email address"),
        (["ana@example.org", "--lead-days", "3,x"], "lead_days: '3,x'"),
        (["ana@example.org", "--lang", "de"], "language: 'de' is not one of"),
        (["ana@example.org", "--content-lang", "de"], "content_languages: 'de' is not one of"),
        (["ana@example.org", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_subscriber_fields_are_named(
    digest_settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(digest_settings, "subscribers", "add", *argv, "--confirmed") == 1
    assert message in capsys.readouterr().err


def test_digest_dry_run_then_real_run(
    digest_settings: Settings,
    smtp: Any,
    capsys: pytest.CaptureFixture[str],
    item_factory: Callable[..., Item],
) -> None:
    grant = item_factory(kind="call", title="Grant", deadline=Deadline(date(2025, 2, 3)))
    seed(digest_settings, [grant])
    assert run(digest_settings, "subscribers", "add", "ana@example.org", "--confirmed") == 0
    capsys.readouterr()
    assert run(digest_settings, "digest", "--dry-run", "--now", NOW) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "ana@example.org\tCloses in 2 days: Grant",
        "1 emails would be sent",
    ]
    assert smtp.received == []
    assert run(digest_settings, "digest", "--now", NOW) == 0
    assert capsys.readouterr().out.startswith("1 sent (0 resent from an earlier run)")
    assert run(digest_settings, "digest", "--now", NOW) == 0
    assert capsys.readouterr().out.startswith("0 sent")
    assert len(smtp.received) == 1


def test_digest_with_smtp_down_fails_with_a_clear_message(
    digest_settings: Settings,
    smtp_server: Any,
    capsys: pytest.CaptureFixture[str],
    item_factory: Callable[..., Item],
) -> None:
    seed(digest_settings, [item_factory(kind="call", deadline=Deadline(date(2025, 2, 3)))])
    assert run(digest_settings, "subscribers", "add", "ana@example.org", "--confirmed") == 0
    assert run(digest_settings, "digest", "--now", NOW) == 1
    err = capsys.readouterr().err
    assert f"SMTP server 127.0.0.1:{smtp_server.port} unreachable" in err
    assert "stay pending" in err


def test_digest_with_a_too_short_secret_key_says_how_to_set_it(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config('[security]\nsecret_key = "short"\n')
    assert main(["--config", str(path), "digest"]) == 1
    assert "WCOFEED_SECURITY_SECRET_KEY" in capsys.readouterr().err


def test_digest_without_a_configured_key_generates_one(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config("")
    assert main(["--config", str(path), "digest"]) == 0
    assert (path.parent / ".wcofeed-secret").exists()


def test_process_killed_while_the_server_holds_the_email_resends_same_message_id(
    digest_settings: Settings,
    smtp: Any,
    item_factory: Callable[..., Item],
    capsys: pytest.CaptureFixture[str],
) -> None:
    grant = item_factory(kind="call", title="Grant", deadline=Deadline(date(2025, 2, 3)))
    seed(digest_settings, [grant])
    assert run(digest_settings, "subscribers", "add", "ana@example.org", "--confirmed") == 0
    smtp.hold_first = 30.0
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wcofeed",
            "--config",
            str(digest_settings.path),
            "digest",
            "--now",
            NOW,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert smtp.got_first.wait(timeout=20)
    finally:
        process.kill()
        process.wait()
    (first,) = smtp.received

    assert run(digest_settings, "digest", "--now", NOW) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 sent (1 resent")
    assert run(digest_settings, "digest", "--now", NOW) == 0
    assert [r.message["Message-ID"] for r in smtp.received] == [first.message["Message-ID"]] * 2
