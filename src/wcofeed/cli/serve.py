"""`serve` and `run`: the service over HTTP, with or without its schedules."""

from __future__ import annotations

import argparse

from wcofeed.cli.base import EXIT_OK, CommandError, command, positive
from wcofeed.config import Settings
from wcofeed.store import open_store

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

    async with await open_store(settings.database.location) as store:
        service = Service(settings, store)
        try:
            await service.serve(port, schedule=schedule)
        except OSError as exc:
            where = f"{settings.server.host}:{port or settings.server.port}"
            raise CommandError(f"cannot listen on {where}: {exc.strerror}") from None
    return EXIT_OK
