"""`db copy`: move an install to another store (SQLite to PostgreSQL, or back)."""

from __future__ import annotations

import argparse
from pathlib import Path

from wcofeed.cli.base import COMMON_OPTIONS, EXIT_OK, CommandError, command
from wcofeed.config import Settings
from wcofeed.store import describe, is_postgres
from wcofeed.store.copy import CopyError, copy_store, tables_in


def _db_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        help="copy every row of the configured database into a new, empty one",
        parents=[COMMON_OPTIONS],
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="TARGET",
        help="a postgresql:// URL or a SQLite file (env WCOFEED_DATABASE_URL is the "
        "configured source, not the target)",
    )


@command("db", "copy the database into another store (SQLite to PostgreSQL or back)", _db_arguments)
async def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    source = settings.database.location
    target: Path | str = args.to if is_postgres(args.to) else Path(args.to).resolve()
    if target == source:
        raise CommandError(f"{describe(target)} is the configured database itself")
    try:
        checks = await copy_store(source, target)
    except CopyError as exc:
        raise CommandError(str(exc)) from None
    print(f"copied {describe(source)} to {describe(target)}; counts and hashes match:")
    for line in tables_in(checks):
        print(f"  {line}")
    return EXIT_OK
