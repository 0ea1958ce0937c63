"""The `wcofeed` command: one sub-command per job, wired to the parts it needs.

Exit codes: 0 done, 1 the job failed, 2 a usage or config error. Every command and
sub-command takes `--config PATH` (default `./config.toml`), before or after its name.
Each module of this package registers its commands with `@command` (see `base.py`);
importing them here fills the registry, in the order `--help` lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from wcofeed.cli import db, digest, ingest, init, items, publish, serve, subscribers
from wcofeed.cli.base import (
    COMMANDS,
    COMMON_OPTIONS,
    CONFIG_HELP,
    EXIT_FAILURE,
    EXIT_USAGE,
    CommandError,
    Handler,
)
from wcofeed.config import DEFAULT_CONFIG, ConfigError, load_settings, with_signing_secret
from wcofeed.logs import setup_logging
from wcofeed.store import DatabaseUnavailableError, SchemaTooNewError

__all__ = [
    "build_parser",
    "db",
    "digest",
    "ingest",
    "init",
    "items",
    "main",
    "publish",
    "serve",
    "subscribers",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wcofeed",
        description="Feeds and deadline reminders for the news and calls of the WCO.",
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="PATH", help=CONFIG_HELP
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[COMMON_OPTIONS])
        if cmd.arguments:
            cmd.arguments(p)
        p.set_defaults(handler=cmd.handler, prepare=cmd.prepare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.prepare is not None:
            args.prepare(args)
        settings = with_signing_secret(load_settings(args.config))
    except ConfigError as exc:
        print(f"wcofeed: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log)
    try:
        handler: Handler = args.handler
        return asyncio.run(handler(settings, args))
    except (CommandError, SchemaTooNewError, DatabaseUnavailableError) as exc:
        print(f"wcofeed {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
