"""The command line, run as a real subprocess against a temporary config."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import wcofeed
from tests.conftest import NOW, make_item
from wcofeed.models import Attachment, Deadline, item_from_dict, item_to_dict
from wcofeed.store import open_store


async def test_items_json_prints_every_stored_field(config: Path) -> None:
    from datetime import date

    call = make_item(
        kind="call",
        language="fr",
        title="Appel à candidatures",
        topics=("capacity-building",),
        deadline=Deadline(date(2025, 2, 14)),
    )
    news = make_item(published=date(2024, 12, 1))
    async with await open_store(config.parent / "data" / "wcofeed.db") as store:
        await store.upsert_items([call, news], now=NOW)

    result = wcofeed("items", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["guid"] for line in lines] == [call.guid, news.guid]
    assert lines[0] == item_to_dict(call.with_times(NOW, NOW, NOW))
    assert item_from_dict(lines[0]).content_hash == call.content_hash
    assert lines[0]["deadline"] == {
        "date": "2025-02-14",
        "time": None,
        "timezone": None,
        "precision": "day",
        "wording": None,
    }
    assert lines[0]["first_seen"] == NOW.isoformat()

    filtered = wcofeed("items", "--json", "--kind", "call", "--lang", "fr", "--config", str(config))
    assert [json.loads(x)["guid"] for x in filtered.stdout.splitlines()] == [call.guid]
    # The French edition has the English news too (no French version of it) ...
    edition = wcofeed("items", "--json", "--lang", "fr", "--config", str(config))
    assert [json.loads(x)["guid"] for x in edition.stdout.splitlines()] == [call.guid, news.guid]
    # ... French content alone does not.
    strict = wcofeed("items", "--json", "--content-lang", "fr", "--config", str(config))
    assert [json.loads(x)["guid"] for x in strict.stdout.splitlines()] == [call.guid]
    search = wcofeed("items", "--json", "--q", "candidatures", "--config", str(config))
    assert [json.loads(x)["guid"] for x in search.stdout.splitlines()] == [call.guid]

    table = wcofeed("items", "--limit", "1", "--config", str(config))
    assert table.returncode == 0
    assert "Appel à candidatures" in table.stdout and "2025-02-14" in table.stdout
    assert news.title not in table.stdout


async def test_an_undated_item_prints_no_date(config: Path) -> None:
    undated = make_item(title="Undated guide", kind="publication", published=None)
    async with await open_store(config.parent / "data" / "wcofeed.db") as store:
        await store.upsert_items([undated], now=NOW, baseline=True)
    (line,) = wcofeed("items", "--json", "--config", str(config)).stdout.splitlines()
    data = json.loads(line)
    assert data["published"] is None and data["announce_from"] is None
    assert data["first_seen"] == NOW.isoformat()
    table = wcofeed("items", "--config", str(config)).stdout.splitlines()
    assert table[1].startswith(" " * 10 + "  publication") and "Undated guide" in table[1]


@pytest.mark.parametrize(
    "args",
    [["items", "--limit", "0"], ["items", "--kind", "memo"], ["frobnicate"], []],
    ids=["bad-limit", "bad-kind", "unknown-command", "no-command"],
)
def test_usage_errors_exit_2(config: Path, args: list[str]) -> None:
    result = wcofeed(*args, "--config", str(config)) if args else wcofeed()
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_config_errors_exit_2_naming_the_key(write_config: Callable[..., Path]) -> None:
    path = write_config("[server]\nport = 'x'\n", name="bad.toml")
    result = wcofeed("items", "--config", str(path))
    assert result.returncode == 2
    assert f"{path}: server.port: expected an integer" in result.stderr


def test_help_lists_the_commands() -> None:
    result = wcofeed("--help")
    assert result.returncode == 0
    for name in ("init", "items"):
        assert name in result.stdout


async def test_items_json_shows_full_text_and_documents(config: Path) -> None:
    read = make_item(
        content_html="<p>Whole text</p>",
        content_text="Whole text",
        attachments=(Attachment("https://example.org/f.pdf", "application/pdf", "Form", 10),),
    )
    async with await open_store(config.parent / "data" / "wcofeed.db") as store:
        await store.upsert_items([read], now=NOW)
    result = wcofeed("items", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["content_html"], line["content_text"]) == ("<p>Whole text</p>", "Whole text")
    assert line["attachments"] == [
        {
            "url": "https://example.org/f.pdf",
            "type": "application/pdf",
            "title": "Form",
            "length": 10,
        }
    ]
    assert item_from_dict(line).content_hash == read.content_hash
