"""The command registry: commands register with `@command`, keeping their arguments
beside their code; the options every command and sub-command takes; exit codes and the
one-line failure every command may raise."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wcofeed.config import Settings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
Arguments = Callable[[argparse.ArgumentParser], None]
#: Runs before the config is read (`init` writes a starter config where there is none).
Prepare = Callable[[argparse.Namespace], None]

CONFIG_HELP = "config file (default: ./config.toml)"

#: The options every command and sub-command accepts wherever they are given (pass it
#: as a parent parser). SUPPRESS keeps a sub-parser from resetting a value given before.
COMMON_OPTIONS = argparse.ArgumentParser(add_help=False)
COMMON_OPTIONS.add_argument(
    "--config", type=Path, default=argparse.SUPPRESS, metavar="PATH", help=CONFIG_HELP
)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    arguments: Arguments | None
    prepare: Prepare | None


COMMANDS: list[Command] = []


def command(
    name: str, help: str, arguments: Arguments | None = None, prepare: Prepare | None = None
) -> Callable[[Handler], Handler]:
    """Register a sub-command; `help` is its one-line description."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(name, help, handler, arguments, prepare))
        return handler

    return register


class CommandError(Exception):
    """A failure worth one line on stderr and exit code 1, not a traceback."""


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
