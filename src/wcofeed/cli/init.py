"""`init`: a starter config where there is none, and the database at the current schema."""

from __future__ import annotations

import argparse
from pathlib import Path

from wcofeed.cli.base import EXIT_OK, command
from wcofeed.config import ConfigError, Settings
from wcofeed.config.starter import starter_config
from wcofeed.resources import bundled
from wcofeed.store import describe, open_store


def write_starter_config(args: argparse.Namespace) -> None:
    """Write the starter config at `--config` when no file is there; never overwrite."""
    path: Path = args.config
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as fh:
            fh.write(starter_config(bundled("samples")))
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write a starter config: {exc.strerror}") from None
    print(
        f"wrote a starter config to {path}: every key at its default, the WCO's live pages "
        "as sources (the bundled samples, for offline use, are in it commented out)"
    )


@command(
    "init",
    "create the database, or migrate it to the current schema "
    "(and write a starter config.toml where there is none)",
    prepare=write_starter_config,
)
async def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.location) as store:
        version = await store.schema_version()
    print(f"database {describe(settings.database.location)} ready (schema version {version})")
    return EXIT_OK
