"""Polling under continuous writes: 200 clients on feeds and filtered queries while ingest writes.

Needs Debian's load generator (once, as root): `apt-get install -y wrk`.

    python bench/load_bench.py [--items 20000] [--clients 200] [--seconds 60]
                               [--reference-seconds 20] [--batch 50]
                               [--postgres URL --web 2]

Fills a store, publishes the feed files and starts `wcofeed serve` in its own process.
First the reference: wrk polls with `--clients` connections for `--reference-seconds`
while nothing writes. Then a writer process upserts batches through the store without
pause (half new items, half edits of stored ones, as an ingest of a changing page does)
while wrk polls again for `--seconds`. Every request picks at random among feed queries
(`/feed.{atom,rss,json,ics}` with language, topic, kind and text filters), the HTML lists
with filters and pages, and the published feed files. A Lua hook counts answers of 400
or more and bodies that mention "database is locked"; the server's log and the writer's
errors are searched for it too. Goals: 0 errors, "database is locked" never reaches a
client; p50/p99 latency under writes are reported beside the reference run's.

With `--postgres URL` (a database where the run may create a schema of its own), the
store is PostgreSQL and `--web N` processes (`wcofeed run --role web`) serve behind an
nginx upstream, as deploy/nginx.conf sets up several web processes; `--nginx` puts
nginx in front of the single SQLite process too, for a reference measured the same way
(wcofeed then trusts nginx's X-Forwarded-For; without nginx, every wrk connection comes
from one address and the per-client limits answer most requests with errors).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from publish_bench import LANGUAGES, TOPICS, config_text, make_items
from serve_bench import free_port, wait_for

from wcofeed.config import load_settings
from wcofeed.publish import publish_all
from wcofeed.store import open_store

LOCKED = "database is locked"

LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  errors = 0
  locked = 0
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6) % 1000 + #threads)
end
paths = {PATHS}
function request() return wrk.format(nil, paths[math.random(#paths)]) end
function response(status, headers, body)
  if status >= 400 then errors = errors + 1 end
  if body and string.find(body, "LOCKED", 1, true) then locked = locked + 1 end
end
function done(summary, latency, requests)
  local e, l = 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
    l = l + t:get("locked")
  end
  io.write(string.format("LUA errors=%d locked=%d\\n", e, l))
end
"""


# nginx in front of several web processes (`--web N`), as deploy/nginx.conf does it
UPSTREAM_CONF = """
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/nginx-tmp;
    proxy_temp_path {folder}/nginx-tmp;
    fastcgi_temp_path {folder}/nginx-tmp;
    uwsgi_temp_path {folder}/nginx-tmp;
    scgi_temp_path {folder}/nginx-tmp;
    upstream wcofeed {{
        {servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://wcofeed;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""


def poll_paths(feeds: Path, rng: random.Random) -> list[str]:
    """What feed readers and visitors ask for: filtered feeds, lists, published files."""
    paths = []
    for fmt in ("atom", "rss", "json", "ics"):
        for lang in LANGUAGES:
            paths.append(f"/feed.{fmt}?lang={lang}")
            paths.append(f"/feed.{fmt}?lang={lang}&topic={rng.choice(TOPICS)}")
        for topic in TOPICS:
            paths.append(f"/feed.{fmt}?topic={topic}&kind=call")
    for n in range(40):
        paths.append(f"/feed.atom?q=item+{rng.randrange(1000)}&lang={rng.choice(LANGUAGES)}")
        paths.append(f"/?lang={rng.choice(LANGUAGES)}&topic={rng.choice(TOPICS)}&page={n % 3 + 1}")
        paths.append(f"/calls?lang={rng.choice(LANGUAGES)}&topic={rng.choice(TOPICS)}")
        paths.append(f"/?q=customs+{n}")
    files = sorted(p.relative_to(feeds).as_posix() for p in feeds.rglob("*.atom"))
    paths += [f"/feeds/{name}" for name in rng.sample(files, min(40, len(files)))]
    return paths


async def prepare(folder: Path, items: int, database: str, proxied: bool) -> Path:
    config = folder / "config.toml"
    text = config_text()
    if database:
        text = text.replace('path = "bench.db"', f'url = "{database}"')
    # wrk's 200 connections come from one address: let them through the per-client cap.
    text += "[server]\nmax_connections_per_client = 1024\n"
    if proxied:
        # behind nginx (deploy/nginx.conf): its connections are not one client's
        text += 'trusted_proxies = ["127.0.0.1"]\n'

    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    async with await open_store(settings.database.location) as store:
        made = make_items(items)
        for start in range(0, items, 5000):
            await store.upsert_items(made[start : start + 5000])
        await publish_all(settings, store)
    return config


async def write_continuously(
    config: Path, until: float, batch: int, pause: float
) -> dict[str, object]:
    """Upsert batches until `until` (wall clock): new items and edits, as ingest does."""
    settings = load_settings(config, env={})
    rng = random.Random(7)
    stored = make_items(2000)
    batches = written = 0
    errors: list[str] = []
    async with await open_store(settings.database.location) as store:
        while time.time() < until:
            new = [
                replace(item, guid=f"{item.guid}/w{batches}", url=f"{item.url}/w{batches}")
                for item in rng.sample(stored, batch // 2)
            ]
            edits = [
                replace(item, title=f"{item.title} (edit {batches})")
                for item in rng.sample(stored, batch - batch // 2)
            ]
            try:
                written += len(await store.upsert_items(new + edits))
            except Exception as exc:  # counted and shown: the goal is none
                errors.append(f"{type(exc).__name__}: {exc}")
            batches += 1
            await asyncio.sleep(pause)
    return {"batches": batches, "items": written, "errors": errors}


def wrk(url: str, script: Path, seconds: int, clients: int) -> dict[str, float]:
    out = subprocess.run(
        [
            *("wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s"),
            *("--latency", "-s", str(script), url),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = {}
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lua = re.search(r"LUA errors=(\d+) locked=(\d+)", out)
    if total is None or rate is None or lua is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    figures["requests"] = int(total.group(1))
    figures["rate"] = float(rate.group(1))
    figures["errors"] = int(lua.group(1))
    figures["locked"] = int(lua.group(2))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    counts = [int(n) for n in socket_errors.groups()] if socket_errors else [0, 0, 0, 0]
    figures["socket_errors"] = sum(counts)
    figures["timeouts"] = counts[3]
    for pct in ("50", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no {pct}% latency in wrk output:\n{out}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        figures[f"p{pct}_ms"] = float(found.group(1)) * scale
    return figures


def report(name: str, f: dict[str, float]) -> None:
    print(
        f"{name:<22} {int(f['requests']):>9,} requests  {f['rate']:>8,.0f} req/s  "
        f"p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
        f"errors: {int(f['errors'])} answers >= 400, {int(f['socket_errors'])} socket "
        f"(timeouts {int(f['timeouts'])})  locked {int(f['locked'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--reference-seconds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between the writer's batches"
    )
    parser.add_argument("--postgres", metavar="URL", default="", help="store in PostgreSQL")
    parser.add_argument("--web", type=int, default=1, help="web processes (with --postgres)")
    parser.add_argument(
        "--nginx", action="store_true", help="nginx in front (implied by --web 2 or more)"
    )
    parser.add_argument("--writer", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--until", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        stats = asyncio.run(
            write_continuously(Path(args.writer), args.until, args.batch, args.pause)
        )
        print(json.dumps(stats))
        return

    folder = Path(tempfile.mkdtemp(prefix="wcofeed-load-"))
    started = time.perf_counter()
    database, schema = "", ""
    ports = [free_port() for _ in range(args.web if args.postgres else 1)]
    if args.postgres:
        schema = f"load_{os.getpid()}"
        subprocess.run(["psql", args.postgres, "-qc", f"CREATE SCHEMA {schema}"], check=True)
        database = f"{args.postgres}?search_path={schema}"
    proxied = args.nginx or len(ports) > 1
    config = asyncio.run(prepare(folder, args.items, database, proxied))
    print(f"filled {args.items:,} items and published in {time.perf_counter() - started:.1f} s")
    script = folder / "poll.lua"
    paths = poll_paths(folder / "feeds", random.Random(11))
    script.write_text(
        LUA.replace("PATHS", ", ".join(json.dumps(p) for p in paths)).replace("LOCKED", LOCKED)
    )
    log = folder / "serve.log"
    servers = []
    with log.open("wb") as log_file:
        for port in ports:
            command = ["serve", "--port", str(port)]
            if args.postgres:
                command = ["run", "--role", "web", "--port", str(port)]
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "wcofeed", "--config", str(config), *command],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )
    nginx = None
    try:
        for port in ports:
            wait_for(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{ports[0]}"
        if proxied:
            front = free_port()
            nginx_conf = folder / "nginx.conf"
            servers_conf = " ".join(f"server 127.0.0.1:{p};" for p in ports)
            nginx_conf.write_text(
                UPSTREAM_CONF.format(folder=folder, port=front, servers=servers_conf)
            )
            (folder / "nginx-tmp").mkdir(exist_ok=True)
            nginx = subprocess.Popen(["nginx", "-c", str(nginx_conf), "-g", "daemon off;"])
            base = f"http://127.0.0.1:{front}"
            wait_for(f"{base}/healthz")
        reference = wrk(base, script, args.reference_seconds, args.clients)
        until = time.time() + args.seconds + 2
        writer = subprocess.Popen(
            [
                *(sys.executable, __file__, "--writer", str(config), "--until", str(until)),
                *("--batch", str(args.batch), "--pause", str(args.pause)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)  # the writer is writing before the clients start
        loaded = wrk(base, script, args.seconds, args.clients)
        written = json.loads(writer.communicate()[0])
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        for server in servers:
            server.terminate()
            server.wait()
        if schema:
            quiet = "SET client_min_messages = warning; "
            drop = ["psql", args.postgres, "-qc", f"{quiet}DROP SCHEMA {schema} CASCADE"]
            subprocess.run(drop, check=True)
    server_log = log.read_text(encoding="utf-8", errors="replace")
    print(
        f"machine: nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; {len(paths)} distinct paths; "
        f"{'PostgreSQL, ' if args.postgres else ''}{len(ports)} web process(es); "
        f"wrk -t2 -c{args.clients} --timeout 10s"
    )
    report(f"reference, {args.reference_seconds} s", reference)
    report(f"under writes, {args.seconds} s", loaded)
    print(
        f"writer: {written['batches']:,} batches, {written['items']:,} items upserted, "
        f"{len(written['errors'])} errors {written['errors'][:3]}"
    )
    print(
        f"'{LOCKED}': {int(loaded['locked'] + reference['locked'])} client answers, "
        f"{server_log.count(LOCKED)} in the server log; "
        f"server log tracebacks: {server_log.count('Traceback')}"
    )
    print(
        f"under writes / reference: rate {loaded['rate'] / reference['rate']:.2f}x, "
        f"p99 {loaded['p99_ms'] / reference['p99_ms']:.2f}x"
    )
    if "Traceback" in server_log:
        kept = Path(tempfile.gettempdir()) / f"wcofeed-load-{os.getpid()}.log"
        kept.write_text(server_log, encoding="utf-8")
        print(f"server log kept at {kept}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
