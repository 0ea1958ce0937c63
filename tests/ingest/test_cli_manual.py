"""`wcofeed ingest` and `wcofeed add`, and hand-entered JSON sources."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from wcofeed.cli import main
from wcofeed.config import load_settings
from wcofeed.ingest.build import ParseError
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.manual import parse_manual
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.models import Deadline
from wcofeed.store import ItemQuery, open_store

from .conftest import SAMPLES, TOPICS


def stored(config: Path, **query: object) -> list:  # type: ignore[type-arg]
    async def run() -> list:  # type: ignore[type-arg]
        settings = load_settings(config, env={})
        async with await open_store(settings.database.path) as store:
            return await store.query_items(ItemQuery(**query))  # type: ignore[arg-type]

    return asyncio.run(run())


@pytest.fixture
def config(write_config: Callable[[str], Path]) -> Path:
    return write_config(f"""
        [[sources]]
        id = "home"
        url = "{SAMPLES / "wco-home-en.html"}"
        [[sources]]
        id = "gone"
        url = "http://127.0.0.1:9/x"
        [fetch]
        retries = 0
    """)


def test_ingest_command_logs_lines_and_prints_table(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "ingest"]) == 0
    out = capsys.readouterr().out
    assert "ingest 1/2" in out and "ingest 2/2" in out  # plain lines: stdout is no terminal
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("source ")))
    table = lines[header + 1 :]
    assert table[0].split()[:6] == ["home", "23", "0", "0", "0", "ok"]
    assert table[1].startswith("gone") and "failed: http://127.0.0.1:9/x" in table[1]
    assert len(stored(config, limit=100)) == 23


def test_ingest_command_counts_and_lists_items_not_understood(
    tmp_path: Path, write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "calls.html"
    page.write_text(
        '<div class="newsroom-list">'
        '<div class="news-item"><span class="news-date">sometime soon</span>'
        '<h3 class="news-title"><a href="https://www.wcoomd.org/a">Call for papers</a></h3>'
        '<p class="news-deadline">deadline: when the board decides</p></div>'
        '<div class="news-item"><span class="news-date">14 February 2025</span>'
        '<h3 class="news-title"><a href="https://www.wcoomd.org/b">Vacancy: analyst</a></h3>'
        '<p class="news-deadline">deadline: soon-ish</p></div>'
        '<div class="news-item"><span class="news-date">13 February 2025</span>'
        '<h3 class="news-title"><a href="https://www.wcoomd.org/c">WCO news</a></h3></div></div>',
        encoding="utf-8",
    )
    config = write_config(f"""
        [[sources]]
        id = "calls"
        url = "{page}"
    """)
    assert main(["--config", str(config), "ingest"]) == 0
    quiet = capsys.readouterr().out.splitlines()
    header = next(n for n, line in enumerate(quiet) if line.startswith("source "))
    assert quiet[header].split() == ["source", "new", "changed", "unchanged", "warnings", "status"]
    assert quiet[header + 1].split()[:6] == ["calls", "3", "0", "0", "2", "ok"]
    assert not any("unreadable" in line for line in quiet)

    later = page.stat().st_mtime + 60
    os.utime(page, (later, later))  # a changed page: no 304
    assert main(["--config", str(config), "ingest", "--verbose"]) == 0
    verbose = capsys.readouterr().out.splitlines()
    assert "calls: 'Call for papers': unreadable date: 'sometime soon'" in verbose
    assert "calls: 'Call for papers': unreadable deadline: 'deadline: when the board decides'" in (
        verbose
    )
    assert "calls: 'Vacancy: analyst': unreadable deadline: 'deadline: soon-ish'" in verbose


def test_ingest_command_exit_1_when_all_fail(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "ingest", "gone"]) == 1
    assert "failed" in capsys.readouterr().out


def test_ingest_command_unknown_source(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "ingest", "nope"]) == 1
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_add_with_flags(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--config",
        str(config),
        "add",
        "--title",
        "Vacancy: data analyst\x07",
        "--url",
        "https://www.wcoomd.org/en/vacancy.aspx?utm_source=mail#apply",
        "--deadline",
        "2025-05-01",
        "--topic",
        "research",
        "--language",
        "en",
    ]
    assert main(args) == 0
    assert "new: https://www.wcoomd.org/en/vacancy.aspx" in capsys.readouterr().out
    (item,) = stored(config)
    assert item.title == "Vacancy: data analyst" and item.kind == "call"
    assert item.deadline == Deadline(date(2025, 5, 1))
    assert item.topics == ("research",) and item.source == "manual"
    # no date given: undated, never "today"; typed in by an editor, so news at once
    assert item.published is None and item.first_seen is not None
    assert item.announce_from == item.first_seen
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("unchanged:")
    assert main([*args, "--published", "2025-04-01"]) == 0
    assert capsys.readouterr().out.startswith("changed:")
    assert main(args) == 0  # adding it again without a date keeps the one it has
    assert capsys.readouterr().out.startswith("unchanged:")
    (item,) = stored(config)
    assert item.published == date(2025, 4, 1)


def test_add_from_json_stdin(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {
        "title": "Origin webinar",
        "url": "https://example.org/o",
        "published": "2025-02-01",
        "summary_html": "<p>On <b>origin</b><script>x</script></p>",
    }
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(entry)))
    assert main(["--config", str(config), "add", "--json", "-"]) == 0
    (item,) = stored(config)
    assert item.summary_html == "<p>On <b>origin</b></p>" and item.summary == "On origin"
    assert item.kind == "news"


def test_add_rejects_a_bad_item(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "--config",
                str(config),
                "add",
                "--title",
                "x",
                "--url",
                "https://e.org/",
                "--published",
                "yesterday",
            ]
        )
        == 1
    )
    assert "published: not an ISO 8601 date" in capsys.readouterr().err
    assert stored(config) == []


def test_json_source_skips_bad_items_and_keeps_the_rest() -> None:
    body = json.dumps(
        [
            {
                "title": "Call for experts on valuation",
                "url": "https://e.org/c",
                "published": "2025-02-01",
                "deadline": "2025-03-01T17:00:00+01:00",
            },
            {"title": "No date", "url": "https://e.org/n"},
            {"title": "Bad date", "url": "https://e.org/b", "published": "soon"},
            "not an object",
        ]
    ).encode()
    result = parse_manual(
        body,
        source="hand",
        language="en",
        topics=TopicMatcher(TOPICS),
        kinds=KindGuesser(),
        default_topics=["origin"],
    )
    item, undated = result.items
    assert item.kind == "call" and item.source == "hand" and item.topics == ("origin",)
    assert item.deadline is not None and item.deadline.tz == "Etc/GMT-1"
    # no date given: kept undated, never dated "now"
    assert undated.title == "No date" and undated.published is None
    assert result.warnings == [
        "source hand: item 2: published: not an ISO 8601 date or datetime: 'soon'",
        "source hand: item 3: not a JSON object",
    ]
    with pytest.raises(ParseError, match="source hand: not a JSON file"):
        parse_manual(
            b"[",
            source="hand",
            language="en",
            topics=TopicMatcher({}),
            kinds=KindGuesser(),
            default_topics=[],
        )
