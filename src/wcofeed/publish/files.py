"""Atomic, change-only file writes.

A feed file is replaced by rename from a temporary file in the same folder, so a web
server never serves half a file; and it is not touched at all when the new bytes equal
the old ones, so its mtime (and every cache keyed on it) holds. Feeds are public:
files are 0644 and folders 0755 whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

#: No feed write takes this long: an older temporary file was left by a killed writer.
STALE_TEMP_SECONDS = 3600.0


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` atomically unless it already holds exactly that; True if written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    public_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def public_folder(folder: Path) -> None:
    """Create `folder` (and its missing parents) readable by everyone (0755), whatever
    the umask: the service runs with umask 0077 so that its private files stay
    private, while a web server running as another user serves the feeds from disk."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        created.chmod(0o755)


def remove_stale_temp_files(root: Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files that a writer killed between creating and renaming them
    left behind (they would pile up in the served folder); younger ones may belong to
    a write in progress and are kept. Returns how many were removed."""
    cutoff = time.time() - older_than
    removed = 0
    for tmp in root.rglob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed += 1
    return removed
