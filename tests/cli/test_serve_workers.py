"""`wcofeed serve --workers N`: N processes answer on one port, and a write made through
any of them reaches every one's cached feeds."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port

TOKEN = "workers-admin-token-0123456789abcdef"
CONFIG = f"""
[database]
path = "wcofeed.db"
[server]
change_check_seconds = 0
[publish]
feeds_dir = "feeds"
[security]
admin_token = "{TOKEN}"
"""


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def _socket_owner(port: int, client_port: int, pids: set[int]) -> int | None:
    """Which of `pids` holds the server side of our connection (from /proc/net/tcp)."""
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == port and int(remote, 16) == client_port:
            inode = fields[9]
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def _ask(
    port: int, pids: set[int], method: str = "GET", path: str = "/feed.atom", body: str = ""
) -> tuple[int, str, int | None]:
    """One request on a fresh connection: (status, body, the worker that answered)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    conn.request(method, path, body=body or None, headers=headers if body else {})
    response = conn.getresponse()
    data = response.read().decode()
    assert conn.sock is not None
    owner = _socket_owner(port, conn.sock.getsockname()[1], pids)
    conn.close()
    return response.status, data, owner


def _answers_from_each(port: int, pids: set[int]) -> dict[int, str]:
    """A feed answer from every worker (fresh connections land where the kernel says)."""
    found: dict[int, str] = {}
    for _ in range(400):
        status, data, owner = _ask(port, pids)
        assert status == 200
        if owner is not None:
            found.setdefault(owner, data)
        if found.keys() == pids:
            return found
    raise AssertionError(f"only {sorted(found)} of {sorted(pids)} answered")


def test_workers_share_one_port_and_see_each_others_writes(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "wcofeed", "serve", "--port", str(port), "--workers", "3"],
        cwd=tmp_path,
    )
    try:
        pids: set[int] = set()
        for _ in range(150):
            pids = {server.pid, *_children(server.pid)}
            try:
                if len(pids) == 3 and len(_answers_from_each(port, pids)) == 3:
                    break
            except (OSError, AssertionError):
                pass
            time.sleep(0.2)
        before = _answers_from_each(port, pids)  # every worker has the empty feed cached
        assert all("Written through one worker" not in body for body in before.values())

        item = {
            "guid": "https://example.org/news/1",
            "kind": "news",
            "title": "Written through one worker",
            "url": "https://example.org/news/1",
            "language": "en",
            "published": "2025-02-01",
        }
        status, _, writer = _ask(port, pids, "POST", "/api/items", json.dumps(item))
        assert status == 201 and writer in pids
        after = _answers_from_each(port, pids)
        assert all("Written through one worker" in body for body in after.values())
    finally:
        server.terminate()
        assert server.wait(timeout=60) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
