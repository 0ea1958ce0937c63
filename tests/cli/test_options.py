"""`--config PATH` is taken before or after every command and sub-command."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.cli.conftest import wcofeed
from wcofeed.cli import build_parser
from wcofeed.cli.base import COMMANDS

#: The least each command needs besides --config to parse.
REQUIRED = {
    "add": ["--title", "T", "--url", "https://example.org/x"],
    "subscribers add": ["ana@example.org"],
    "subscribers remove": ["ana@example.org"],
    "db copy": ["--to", "postgresql://127.0.0.1/elsewhere"],
}


def _invocations() -> list[list[str]]:
    """Every command, and every action of a command that has actions."""
    parser = build_parser()
    found: list[list[str]] = []
    for command in COMMANDS:
        sub = _subparsers(parser)[command.name]
        actions = _subparsers(sub)
        found += [[command.name, action] for action in actions] or [[command.name]]
    return found


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_the_list_covers_the_subscribers_actions() -> None:
    names = [" ".join(words) for words in _invocations()]
    for action in ("add", "list", "remove", "export"):
        assert f"subscribers {action}" in names
    assert {"init", "items", "publish", "serve", "run", "digest", "ingest"} <= set(names)


@pytest.mark.parametrize("words", _invocations(), ids=" ".join)
def test_config_before_or_after(words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    rest = REQUIRED.get(" ".join(words), [])
    before = build_parser().parse_args(["--config", str(path), *words, *rest])
    after = build_parser().parse_args([*words, *rest, "--config", str(path)])
    assert before.config == path
    assert after.config == path


def test_config_after_a_subscribers_action_is_used(config: Path) -> None:
    added = wcofeed("subscribers", "add", "ana@example.org", "--confirmed", "--config", str(config))
    assert added.returncode == 0, added.stderr
    listed = wcofeed("subscribers", "list", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "ana@example.org" in listed.stdout
    assert (config.parent / "data" / "wcofeed.db").exists()
