"""The whole service as a user runs it: `wcofeed run` in a subprocess, its sources on a
local page server, its email into the loopback SMTP server, driven over real HTTP and
through a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from tests.conftest import REPO, SmtpRecorder, SmtpServer, free_port

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdefghij"
SECRET = "e2e-signing-secret-0123456789"
NEWSROOM = (REPO / "samples" / "wco-newsroom-ru.html").read_bytes()
#: The first newsroom item's own page (the others answer 404: their items keep the list's
#: text): the fixture page reproducing that article.
ARTICLE_PATH = (
    "/en/media/newsroom/2020/october/the-wco-working-group-on-performance-measurement.aspx"
)
ARTICLE = (REPO / "tests" / "fixtures" / "ingest" / "details" / "news-ru.html").read_bytes()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is needed: apt-get install chromium"
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        await launched.close()


@dataclass
class Pages:
    """What the page server serves, by path; tests edit it to change a source."""

    bodies: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    served = Pages(
        {
            "/newsroom": (NEWSROOM, "text/html; charset=utf-8"),
            ARTICLE_PATH: (ARTICLE, "text/html; charset=utf-8"),
        }
    )

    async def handler(request: web.Request) -> web.Response:
        if request.path not in served.bodies:
            raise web.HTTPNotFound()
        body, content_type = served.bodies[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with TestServer(app, host="127.0.0.1") as server:
        served.base = str(server.make_url("")).rstrip("/")
        yield served


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@dataclass
class Running:
    """A `wcofeed run` process and how to reach it."""

    process: subprocess.Popen[bytes]
    base: str
    config: Path
    log: Path
    smtp: SmtpRecorder

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wcofeed", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    async def admin(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        url = f"{self.base}{path}"
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, url, headers=headers, **kw) as r,
        ):
            assert r.status < 300, await r.text()
            return await r.json() if r.content_type == "application/json" else None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until `check()` (sync or async) returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def service(tmp_path: Path, pages: Pages, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(f"""
        [database]
        path = "wcofeed.db"
        [site]
        base_url = "http://127.0.0.1:{port}"
        [server]
        port = {port}
        change_check_seconds = 0.0
        [security]
        admin_token = "{ADMIN_TOKEN}"
        secret_key = "{SECRET}"
        [smtp]
        host = "127.0.0.1"
        port = {smtp_server.port}
        security = "none"
        retry_delay = 0.01
        [fetch]
        per_host_delay = 0.0
        retries = 0
        [[sources]]
        id = "newsroom"
        url = "{pages.url("/newsroom")}"
        ui_language = "ru"
        [topics.capacity-building]
        labels = {{ en = "Capacity building", fr = "Renforcement des capacités" }}
        keywords = ["training", "scholarship", "workshop"]
        [topics.integrity]
        labels = {{ en = "Integrity", fr = "Éthique" }}
        keywords = ["integrity", "corruption"]
    """),
        encoding="utf-8",
    )
    log = tmp_path / "run.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wcofeed", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    running = Running(process, f"http://127.0.0.1:{port}", config, log, smtp_server.recorder)
    try:
        await wait_for(lambda: _healthy(running), "the service to answer /healthz")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _healthy(running: Running) -> bool:
    if running.process.poll() is not None:
        raise AssertionError(f"wcofeed run exited:\n{running.log.read_text()}")
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{running.base}/healthz") as r:
            body = await r.json()
    except aiohttp.ClientError:
        return False
    return any(s["status"] == "ok" for s in body.get("sources", []))
