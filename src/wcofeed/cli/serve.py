"""`publish`, `serve` and `run`: feeds on disk and the service over HTTP."""

from __future__ import annotations

import argparse
import sys

from wcofeed.cli.base import EXIT_OK, CommandError, command, positive
from wcofeed.config import Settings
from wcofeed.publish import publish_all
from wcofeed.store import open_store

# --- publish --------------------------------------------------------------------------


@command("publish", "write every feed file, the feed index and the OPML list")
async def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.path) as store:
        report = await publish_all(settings, store)
    print(f"feeds in {settings.publish.feeds_dir}: {report.summary()}")
    for error in report.ping_errors:
        print(f"warning: {error}", file=sys.stderr)
    return EXIT_OK


# --- serve ----------------------------------------------------------------------------


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive, metavar="N", help="port (default: server.port)")


@command("serve", "serve pages, feeds and the API over HTTP, without schedules", _serve_arguments)
async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=False)


@command(
    "run",
    "the service: serve HTTP, fetch each source on its schedule, publish, send reminders",
    _serve_arguments,
)
async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=True)


async def _serve(settings: Settings, port: int | None, *, schedule: bool) -> int:
    from wcofeed.service import Service

    async with await open_store(settings.database.path) as store:
        service = Service(settings, store)
        try:
            await service.serve(port, schedule=schedule)
        except OSError as exc:
            where = f"{settings.server.host}:{port or settings.server.port}"
            raise CommandError(f"cannot listen on {where}: {exc.strerror}") from None
    return EXIT_OK
