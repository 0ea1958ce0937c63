"""`ingest`: fetch sources, store their items, rewrite the feeds they touch."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from wcofeed.cli.base import EXIT_FAILURE, EXIT_OK, CommandError, command
from wcofeed.config import Settings
from wcofeed.ingest.run import IngestReport, SourceReport, ingest, select_sources
from wcofeed.publish import publish_all
from wcofeed.store import open_store

# --- ingest ---------------------------------------------------------------------------


def _ingest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source_ids",
        nargs="*",
        metavar="SOURCE_ID",
        help="sources to fetch (default: every enabled source)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list the items whose date or deadline was not understood, with the text",
    )


def print_ingest_table(report: IngestReport, out: TextIO, verbose: bool = False) -> None:
    """One line per source: what it added, changed, kept, how many items came with a
    date or deadline not understood, and why it failed; `verbose` lists those items."""
    width = max([len("source"), *(len(s.id) for s in report.sources)])
    columns = f"{'new':>5}  {'changed':>7}  {'unchanged':>9}  {'warnings':>8}"
    print(f"{'source':<{width}}  {columns}  status", file=out)
    for s in report.sources:
        status = (
            "failed: " + (s.error or "")
            if s.failed
            else ("not modified" if s.not_modified else "ok")
        )
        counts = f"{s.new:>5}  {s.changed:>7}  {s.unchanged:>9}  {s.items_with_warnings:>8}"
        print(f"{s.id:<{width}}  {counts}  {status}", file=out)
    if verbose:
        for s in report.sources:
            for unread in s.unread:
                title = unread.title[:60] or "(untitled)"
                print(f"{s.id}: {title!r}: unreadable {unread.field}: {unread.text!r}", file=out)


class _Progress:
    """A one-line progress bar on a terminal; plain log lines otherwise."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out = total, 0, out
        self.tty = out.isatty()

    def __call__(self, source: SourceReport) -> None:
        self.done += 1
        if self.tty:
            filled = int(30 * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (30 - filled)
            print(
                f"\r[{bar}] {self.done}/{self.total} {source.id[:40]:<40}",
                end="",
                file=self.out,
                flush=True,
            )
            if self.done == self.total:
                print(file=self.out)
        else:
            state = (
                f"failed: {source.error}"
                if source.failed
                else (f"new={source.new} changed={source.changed} unchanged={source.unchanged}")
            )
            print(
                f"ingest {self.done}/{self.total} {source.id}: {state}", file=self.out, flush=True
            )


@command("ingest", "fetch sources and store their items", _ingest_arguments)
async def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    try:
        sources = select_sources(settings, args.source_ids)
    except KeyError as exc:
        raise CommandError(f"unknown source {exc.args[0]!r}") from None
    if not sources:
        raise CommandError("no enabled sources in the config")
    progress = _Progress(len(sources), sys.stderr if sys.stdout.isatty() else sys.stdout)
    async with await open_store(settings.database.location) as store:
        report = await ingest(settings, store, [s.id for s in sources], on_done=progress)
        print_ingest_table(report, sys.stdout, args.verbose)
        if report.results:
            published = await publish_all(settings, store, report.results)
            print(f"feeds in {settings.publish.feeds_dir}: {published.summary()}")
    return EXIT_FAILURE if report.all_failed else EXIT_OK
