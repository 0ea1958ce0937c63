"""The command line as a user runs it: `python -m wcofeed` in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def wcofeed(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wcofeed", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    """A config whose database sits in a folder of its own (created on first use)."""
    return write_config('[database]\npath = "data/wcofeed.db"\n')
