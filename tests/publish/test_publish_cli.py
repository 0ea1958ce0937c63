"""The `publish` and `serve` commands, run as a user runs them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import feedparser
import pytest

from wcofeed.cli import main
from wcofeed.config import Settings
from wcofeed.models import Item
from wcofeed.store import open_store


def fill(settings: Settings, items: list[Item]) -> None:
    async def run() -> None:
        async with await open_store(settings.database.path) as store:
            await store.upsert_items(items)

    asyncio.run(run())


def test_publish_command_writes_files_then_reports_unchanged(
    pub_settings: Settings, item_factory: Callable[..., Item], capsys: pytest.CaptureFixture[str]
) -> None:
    fill(pub_settings, [item_factory(topics=("origin",)), item_factory(language="fr")])
    assert main(["--config", str(pub_settings.path), "publish"]) == 0
    first = capsys.readouterr().out
    files = [p for p in pub_settings.publish.feeds_dir.rglob("*") if p.is_file()]
    assert first.strip().endswith(f": {len(files)} written, 0 unchanged")
    assert (pub_settings.publish.feeds_dir / "en/topics/origin.atom").is_file()
    assert main(["--config", str(pub_settings.path), "publish"]) == 0
    assert capsys.readouterr().out.strip().endswith(f": 0 written, {len(files)} unchanged")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_command_serves_feeds_on_the_given_port(
    pub_settings: Settings, item_factory: Callable[..., Item]
) -> None:
    fill(pub_settings, [item_factory(title="Served over HTTP")])
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wcofeed",
            "--config",
            str(pub_settings.path),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.rss") as resp:
                    body = resp.read()
                break
            except OSError:
                time.sleep(0.05)
        assert feedparser.parse(body).entries[0].title == "Served over HTTP"
        busy = subprocess.run(
            [
                sys.executable,
                "-m",
                "wcofeed",
                "--config",
                str(pub_settings.path),
                "serve",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert busy.returncode == 1
        assert busy.stderr.startswith(f"wcofeed serve: cannot listen on 127.0.0.1:{port}")
        assert busy.stderr.count("\n") == 1
    finally:
        server.terminate()
        server.wait(timeout=10)
