"""`serve` and `run`: the service over HTTP, with or without its schedules."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wcofeed.cli.base import EXIT_OK, CommandError, command, positive
from wcofeed.config import Settings
from wcofeed.store import open_store

if TYPE_CHECKING:
    from wcofeed.service import Role

# --- serve ----------------------------------------------------------------------------


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive, metavar="N", help="port (default: server.port)")


@command("serve", "serve pages, feeds and the API over HTTP, without schedules", _serve_arguments)
async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=False)


def _run_arguments(p: argparse.ArgumentParser) -> None:
    _serve_arguments(p)
    p.add_argument(
        "--role",
        choices=("web", "worker", "all"),
        default="all",
        help="web: HTTP only; worker: fetch, publish and mail only; all (default): both. "
        "Several processes may share one PostgreSQL database (database.url).",
    )


@command(
    "run",
    "the service: serve HTTP, fetch each source on its schedule, publish, send reminders",
    _run_arguments,
)
async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=True, role=args.role)


async def _serve(
    settings: Settings, port: int | None, *, schedule: bool, role: Role = "all"
) -> int:
    from wcofeed.service import Service

    async with await open_store(settings.database.location) as store:
        service = Service(settings, store)
        try:
            await service.serve(port, schedule=schedule, role=role)
        except OSError as exc:
            where = f"{settings.server.host}:{port or settings.server.port}"
            raise CommandError(f"cannot listen on {where}: {exc.strerror}") from None
    return EXIT_OK
