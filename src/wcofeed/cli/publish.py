"""`publish`: every feed file, the feed index and the OPML list, written to disk."""

from __future__ import annotations

import argparse
import sys

from wcofeed.cli.base import EXIT_OK, command
from wcofeed.config import Settings
from wcofeed.publish import publish_all
from wcofeed.store import open_store


@command("publish", "write every feed file, the feed index and the OPML list")
async def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.location) as store:
        report = await publish_all(settings, store)
    print(f"feeds in {settings.publish.feeds_dir}: {report.summary()}")
    for error in report.ping_errors:
        print(f"warning: {error}", file=sys.stderr)
    return EXIT_OK
