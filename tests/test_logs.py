from __future__ import annotations

import json
import logging

import pytest

from wcofeed.config import LogSettings
from wcofeed.logs import setup_logging


def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LogSettings(level="info", json=True))
    log = logging.getLogger("wcofeed.test")
    log.info("fetched %s", "home", extra={"fields": {"source": "home", "new": 3}})
    log.debug("not shown")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "fetched home" and entry["level"] == "info"
    assert entry["source"] == "home" and entry["new"] == 3


def test_text_logs_append_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LogSettings(level="warning", json=False))
    log = logging.getLogger("wcofeed.test")
    log.info("hidden")
    log.warning("source failed", extra={"fields": {"source": "home", "error": "HTTP 500"}})
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "WARNING wcofeed.test: source failed source=home error=HTTP 500" in err
