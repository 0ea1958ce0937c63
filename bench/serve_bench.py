"""Requests per second of the served feeds, beside nginx serving the same file.

Needs Debian's load generator and web server (once, as root):

    apt-get update && apt-get install -y wrk nginx-light

    python bench/serve_bench.py [--items 2000] [--seconds 5] [--connections 32] [--rounds 3]

Fills a store, publishes the feed files, starts `wcofeed serve` and an nginx (2 workers)
on loopback, each in its own process, and runs wrk against: nginx serving
`feeds/en/all.atom` (the reference: this machine's physical limit), the same file
through wcofeed, the cached query endpoint `/feed.atom?lang=en`, its 304 answer, and a
filtered query whose parameters change on every request (cache misses: store + render).
Goal: the cached endpoint at 30% or more of nginx's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from publish_bench import TOPICS, config_text, make_items

from wcofeed.config import load_settings
from wcofeed.publish import publish_all
from wcofeed.store import open_store

NGINX_CONF = """
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ application/atom+xml atom; }}
    client_body_temp_path {folder}/nginx-tmp;
    proxy_temp_path {folder}/nginx-tmp;
    fastcgi_temp_path {folder}/nginx-tmp;
    uwsgi_temp_path {folder}/nginx-tmp;
    scgi_temp_path {folder}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        location /feeds/ {{ alias {feeds}/; }}
    }}
}}
"""

# Every request a different filter, so each one misses the cache and hits the store.
MISS_SCRIPT = """
request = function()
  local path = string.format(
    "/feed.atom?lang=en&topic=%s,%s&q=customs&since=2020-%02d-%02dT%02d:%02d:00Z",
    "origin", "valuation", math.random(1, 12), math.random(1, 28),
    math.random(0, 23), math.random(0, 59))
  return wrk.format(nil, path)
end
"""


REFERENCE = "nginx static file (reference)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str) -> tuple[int, dict[str, str]]:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url) as resp:
                return resp.status, dict(resp.headers)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def wrk(url: str, seconds: int, connections: int, *extra: str) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", *extra, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed for {url}:\n{out}")
    return float(match.group(1))


async def prepare(folder: Path, items: int) -> Path:
    config = folder / "config.toml"
    text = config_text().replace("[publish]", "[publish]\ncache_seconds = 60")
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    async with await open_store(settings.database.path) as store:
        await store.upsert_items(make_items(items))
        await publish_all(settings, store)
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    assert "origin" in TOPICS
    folder = Path(tempfile.mkdtemp(prefix="wcofeed-serve-"))
    folder.chmod(0o755)  # nginx's workers run as an unprivileged user
    config = asyncio.run(prepare(folder, args.items))
    feeds = folder / "feeds"
    (folder / "nginx-tmp").mkdir()
    nginx_port, app_port = free_port(), free_port()
    nginx_conf = folder / "nginx.conf"
    nginx_conf.write_text(NGINX_CONF.format(folder=folder, port=nginx_port, feeds=feeds))
    nginx = subprocess.Popen(["nginx", "-c", str(nginx_conf), "-g", "daemon off;"])
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wcofeed",
            "--config",
            str(config),
            "serve",
            "--port",
            str(app_port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        static = f"http://127.0.0.1:{nginx_port}/feeds/en/all.atom"
        file_url = f"http://127.0.0.1:{app_port}/feeds/en/all.atom"
        cached = f"http://127.0.0.1:{app_port}/feed.atom?lang=en"
        wait_for(static)
        _, headers = wait_for(cached)
        size = (feeds / "en/all.atom").stat().st_size
        etag = headers["ETag"]
        s, c = args.seconds, args.connections
        script = folder / "miss.lua"
        script.write_text(MISS_SCRIPT)
        targets: dict[str, tuple[str, ...]] = {
            REFERENCE: (static,),
            "wcofeed /feeds/en/all.atom (file)": (file_url,),
            "wcofeed /feed.atom?lang=en (cached)": (cached,),
            "wcofeed /feed.atom?lang=en, 304": (cached, "-H", f"If-None-Match: {etag}"),
            "wcofeed filtered query, cache miss": (
                f"http://127.0.0.1:{app_port}/",
                "-s",
                str(script),
            ),
        }
        # Rounds interleave the targets so that drift on a shared machine hits all alike.
        rates: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, *extra) in targets.items():
                rates[name].append(wrk(url, s, c, *extra))
    finally:
        app.terminate()
        nginx.terminate()
        app.wait()
        nginx.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"feed file: {size:,} bytes; {args.items:,} items; wrk -t2 -c{c} -d{s}s, "
        f"{args.rounds} rounds; median (range), % of nginx's best round"
    )
    # nginx's best round is the limit; comparing our medians with it errs against us.
    reference = max(rates[REFERENCE])
    for name, values in rates.items():
        rate = statistics.median(values)
        spread = f"{min(values):,.0f}-{max(values):,.0f}"
        print(f"{name:<40} {rate:>8,.0f} req/s  {100 * rate / reference:5.1f}%  ({spread})")


if __name__ == "__main__":
    main()
