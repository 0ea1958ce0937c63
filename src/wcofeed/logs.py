"""Logging set-up: one line per event, plain text or JSON.

Library code logs through `logging.getLogger("wcofeed.<part>")` and passes structured
context in `extra={"fields": {...}}`; this module decides how a line looks.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from wcofeed.config import LogSettings


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", {})
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def setup_logging(settings: LogSettings) -> None:
    """Send wcofeed's logs to stderr in the configured form (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("wcofeed")
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    root.propagate = False
