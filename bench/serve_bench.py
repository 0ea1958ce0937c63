"""Requests per second of the served feeds, beside a bare aiohttp handler and nginx
serving the same bytes.

Needs Debian's load generator and web server (once, as root):

    apt-get update && apt-get install -y wrk nginx-light

    python bench/serve_bench.py [--items 2000] [--seconds 5] [--connections 32] [--rounds 3]
                                [--middlewares] [--pin] [--instructions REQUESTS]

Fills a store, publishes the feed files, starts `wcofeed serve`, `wcofeed serve
--workers 2`, a bare aiohttp handler returning the bytes of `feeds/en/all.atom` (one
process, the goal's reference) and nginx (one worker, and two: the physical reference)
on loopback, each in its own process, and runs wrk against: nginx, the bare handler,
the same file through wcofeed, the cached query endpoint `/feed.atom?lang=en`, its 304
answer, the cached endpoint on two workers, and a filtered query whose parameters
change on every request (cache misses: store + render). Goals: the cached endpoint and
the file route at 80% or more of the bare handler. Beside each rate, the server
process's CPU time per request (`/proc/PID/stat`, all threads): the rate moves with how
wrk is scheduled beside the server on two cores; the CPU a request costs much less.

`--pin` puts every server on the first core and one wrk thread on the second (`taskset`),
so that each server has a core of its own and the load generator never shares it (the
rates moved a little less between rounds, still 10-20%). The two-process targets are
left out.

`--instructions N` instead counts the user-space instructions per request of the bare
handler and of the cached endpoint under callgrind (Debian's `valgrind`), over N
requests each: a figure the machine's noise does not move.

`--middlewares` instead measures the cached endpoint on the app as `create_app` makes
it, without its headers hook, and with a middleware that does nothing added (the app
has none: any middleware sets off aiohttp's per-request chain), to show what each costs.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from publish_bench import TOPICS, config_text, make_items

from wcofeed.config import load_settings
from wcofeed.publish import publish_all
from wcofeed.store import open_store

NGINX_CONF = """
worker_processes {workers};
pid {folder}/nginx{workers}.pid;
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


REFERENCE = "bare aiohttp handler (reference)"
VARIANTS = ("as made", "without the headers hook", "with a no-op middleware")


def serve_bare(path: Path, port: int) -> None:
    """A bare aiohttp handler answering every GET with the file's bytes."""
    from aiohttp import web

    body = path.read_bytes()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/atom+xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_variant(config: Path, port: int, variant: str) -> None:
    """wcofeed's app as made (`as made`), without its headers hook, or with a
    middleware that does nothing (what aiohttp's middleware chain costs)."""
    from aiohttp import web

    from wcofeed.config import with_signing_secret
    from wcofeed.web import guards
    from wcofeed.web.app import create_app
    from wcofeed.web.server import Runner
    from wcofeed.web.state import Handler

    settings = with_signing_secret(load_settings(config, env={}))

    @web.middleware
    async def no_op(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request)

    async def serve() -> None:
        async with await open_store(settings.database.path) as store:
            app = create_app(settings, store, _NoActions())
            if variant == "without the headers hook":
                app.on_response_prepare.remove(guards.security_headers)
            elif variant == "with a no-op middleware":
                app.middlewares.append(no_op)
            runner = Runner(app, settings)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await asyncio.Event().wait()

    asyncio.run(serve())


class _NoActions:
    async def ingest_source(self, source_id: str) -> dict[str, object]:
        return {}

    async def republish(self, items: object) -> None:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, tries: int = 100) -> tuple[int, dict[str, str]]:
    for _ in range(tries):
        try:
            with urllib.request.urlopen(url) as resp:
                return resp.status, dict(resp.headers)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


#: wrk with two threads, scheduled beside the servers on any core.
LOAD = ("wrk", "-t2")
#: `--pin`: one wrk thread on the second core; servers have the first to themselves.
PINNED_LOAD = ("taskset", "-c", "1", "wrk", "-t1")
PINNED_SERVER = ("taskset", "-c", "0")


def wrk(
    url: str, seconds: int, connections: int, *extra: str, load: tuple[str, ...] = LOAD
) -> tuple[float, int]:
    """Requests per second and the number of requests answered."""
    out = subprocess.run(
        [*load, f"-c{connections}", f"-d{seconds}s", *extra, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if match is None or count is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed for {url}:\n{out}")
    return float(match.group(1)), int(count.group(1))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def prepare(folder: Path, items: int) -> Path:
    config = folder / "config.toml"
    text = config_text().replace("[publish]", "[publish]\ncache_seconds = 60")
    # wrk is one client: let its connections, and those of the round before still
    # closing, through the per-client cap.
    text += "[server]\nmax_connections_per_client = 1024\n"
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    async with await open_store(settings.database.path) as store:
        await store.upsert_items(make_items(items))
        await publish_all(settings, store)
    return config


def _start(*command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(command), stdout=subprocess.DEVNULL)


def _wcofeed(
    config: Path, port: int, *extra: str, pin: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    return _start(
        *pin,
        *(sys.executable, "-m", "wcofeed", "--config", str(config)),
        *("serve", "--port", str(port), *extra),
    )


Target = tuple[str, tuple[str, ...], int | None]


def _measure(
    targets: dict[str, Target],
    rounds: int,
    seconds: int,
    connections: int,
    load: tuple[str, ...] = LOAD,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Rates, and the server's CPU microseconds per request where its process is known
    (on a machine this noisy, the CPU a request costs varies much less than the rate,
    which also depends on how the load generator is scheduled beside the server).

    Rounds interleave the targets so that drift on a shared machine hits all alike."""
    rates: dict[str, list[float]] = {name: [] for name in targets}
    costs: dict[str, list[float]] = {name: [] for name, (_, _, pid) in targets.items() if pid}
    for _ in range(rounds):
        for name, (url, extra, pid) in targets.items():
            before = cpu_seconds(pid) if pid else 0.0
            rate, count = wrk(url, seconds, connections, *extra, load=load)
            rates[name].append(rate)
            if pid:
                costs[name].append(1e6 * (cpu_seconds(pid) - before) / count)
    return rates, costs


def _print(rates: dict[str, list[float]], reference: str) -> None:
    _table(rates, reference, "{:>8,.0f} req/s ", "{:,.0f}", lambda value, base: value / base)


def _print_costs(costs: dict[str, list[float]], reference: str) -> None:
    """CPU per request, and the reference's as a share of it: the rate a server bound
    by one core would reach beside the reference's."""
    print("server CPU per request, median (range); reference's CPU / this one's:")
    _table(costs, reference, "{:>8.1f} us    ", "{:.1f}", lambda value, base: base / value)


def _table(
    figures: dict[str, list[float]],
    reference: str,
    shown: str,
    bound: str,
    share: Callable[[float, float], float],
) -> None:
    """Each target's median (and range) and its `share` of the reference's median."""
    base = statistics.median(figures[reference])
    for name, values in figures.items():
        value = statistics.median(values)
        spread = f"{bound.format(min(values))}-{bound.format(max(values))}"
        print(f"{name:<44} {shown.format(value)} {100 * share(value, base):5.1f}%  ({spread})")


def _middlewares(config: Path, rounds: int, seconds: int, connections: int) -> None:
    targets: dict[str, Target] = {}
    processes = []
    try:
        for variant in VARIANTS:
            port = free_port()
            process = _start(sys.executable, __file__, "--variant", str(config), str(port), variant)
            processes.append(process)
            url = f"http://127.0.0.1:{port}/feed.atom?lang=en"
            wait_for(url)
            targets[f"cached endpoint, {variant}"] = (url, (), process.pid)
        rates, costs = _measure(targets, rounds, seconds, connections)
    finally:
        for process in processes:
            process.terminate()
            process.wait()
    print(f"wrk -t2 -c{connections} -d{seconds}s, {rounds} rounds; % of the app as made")
    _print(rates, f"cached endpoint, {VARIANTS[0]}")
    _print_costs(costs, f"cached endpoint, {VARIANTS[0]}")


def _instructions(config: Path, atom: str, requests: int) -> None:
    """User-space instructions per request of the bare handler and of the cached
    endpoint, counted by callgrind over `requests` keep-alive requests after a warm-up:
    a count that does not move with the machine's noise, unlike time. Kernel work (the
    send) is not counted; it is the same for both (one `sendto` of the same bytes)."""
    slow = config.with_name("config-instructions.toml")
    # No journal look (slowed fifty times under callgrind) may land in the count.
    text = config.read_text(encoding="utf-8")
    if "[server]\n" not in text:
        raise RuntimeError(f"{config} has no [server] table to set the check interval in")
    slow.write_text(text.replace("[server]\n", "[server]\nchange_check_seconds = 3600\n"))
    counted: dict[str, float] = {}
    servers: dict[str, Callable[[int], tuple[str, ...]]] = {
        REFERENCE: lambda port: (sys.executable, __file__, "--bare", atom, str(port)),
        "wcofeed /feed.atom?lang=en (cached)": lambda port: (
            *(sys.executable, "-m", "wcofeed", "--config", str(slow)),
            *("serve", "--port", str(port)),
        ),
    }
    for name, server in servers.items():
        port = free_port()
        out = config.with_name(f"callgrind.{port}")
        callgrind = ("valgrind", "-q", "--tool=callgrind", "--instr-atstart=no")
        process = _start(*callgrind, f"--callgrind-out-file={out}", *server(port))
        try:
            wait_for(f"http://127.0.0.1:{port}/feed.atom?lang=en", tries=3000)
            _requests(port, 50)
            subprocess.run(
                ["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True
            )
            _requests(port, requests)
            subprocess.run(
                ["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True
            )
        finally:
            process.terminate()
            process.wait()
        dumped = out.with_name(f"{out.name}.1").read_text(encoding="utf-8", errors="replace")
        total = re.search(r"^summary: (\d+)", dumped, re.MULTILINE)
        if total is None:
            raise RuntimeError(f"no summary in {out}.1")
        counted[name] = int(total.group(1)) / requests
    base = counted[REFERENCE]
    print(f"user-space instructions per request (callgrind, {requests:,} requests each):")
    for name, value in counted.items():
        print(f"{name:<44} {value:>10,.0f}   {value / base:.2f}x the reference")


def _requests(port: int, count: int) -> None:
    """`count` GETs of the cached endpoint on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        for _ in range(count):
            connection.request("GET", "/feed.atom?lang=en", headers={"Accept-Encoding": ""})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"the cached endpoint answered {response.status}")
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--middlewares", action="store_true")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--instructions", type=int, metavar="REQUESTS")
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--variant", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(Path(args.bare[0]), int(args.bare[1]))
        return
    if args.variant:
        serve_variant(Path(args.variant[0]), int(args.variant[1]), args.variant[2])
        return
    assert "origin" in TOPICS
    folder = Path(tempfile.mkdtemp(prefix="wcofeed-serve-"))
    folder.chmod(0o755)  # nginx's workers run as an unprivileged user
    config = asyncio.run(prepare(folder, args.items))
    s, c = args.seconds, args.connections
    if args.instructions:
        _instructions(config, str(folder / "feeds/en/all.atom"), args.instructions)
        shutil.rmtree(folder, ignore_errors=True)
        return
    if args.middlewares:
        _middlewares(config, args.rounds, s, c)
        shutil.rmtree(folder, ignore_errors=True)
        return
    feeds = folder / "feeds"
    size = (feeds / "en/all.atom").stat().st_size
    (folder / "nginx-tmp").mkdir()
    # --pin: every server on the first core, wrk on the second; the two-process
    # targets (nginx's two workers, --workers 2) need both cores and are left out.
    pin = PINNED_SERVER if args.pin else ()
    nginx = {1: free_port()} if args.pin else {1: free_port(), 2: free_port()}
    bare_port, app_port, pool_port = free_port(), free_port(), free_port()
    processes = []
    try:
        for workers, port in nginx.items():
            conf = folder / f"nginx{workers}.conf"
            conf.write_text(
                NGINX_CONF.format(folder=folder, port=port, feeds=feeds, workers=workers)
            )
            processes.append(_start(*pin, "nginx", "-c", str(conf), "-g", "daemon off;"))
        atom = str(feeds / "en/all.atom")
        bare = _start(*pin, sys.executable, __file__, "--bare", atom, str(bare_port))
        app = _wcofeed(config, app_port, pin=pin)
        processes += [bare, app]
        if not args.pin:
            processes.append(_wcofeed(config, pool_port, "--workers", "2"))
        base = f"http://127.0.0.1:{app_port}"
        cached = f"{base}/feed.atom?lang=en"
        pooled = f"http://127.0.0.1:{pool_port}/feed.atom?lang=en"
        static = {n: f"http://127.0.0.1:{port}/feeds/en/all.atom" for n, port in nginx.items()}
        for url in (f"http://127.0.0.1:{bare_port}/", *static.values()):
            wait_for(url)
        if not args.pin:
            wait_for(pooled)
        _, headers = wait_for(cached)
        etag = headers["ETag"]
        script = folder / "miss.lua"
        script.write_text(MISS_SCRIPT)
        targets: dict[str, Target] = {
            f"nginx static file, {n} worker{'s' * (n > 1)}": (url, (), None)
            for n, url in static.items()
        }
        targets |= {
            REFERENCE: (f"http://127.0.0.1:{bare_port}/", (), bare.pid),
            "wcofeed /feeds/en/all.atom (file)": (f"{base}/feeds/en/all.atom", (), app.pid),
            "wcofeed /feed.atom?lang=en (cached)": (cached, (), app.pid),
            "wcofeed /feed.atom?lang=en, 304": (
                cached,
                ("-H", f"If-None-Match: {etag}"),
                app.pid,
            ),
        }
        if not args.pin:
            targets["wcofeed cached, --workers 2"] = (pooled, (), None)
        targets["wcofeed filtered query, cache miss"] = (f"{base}/", ("-s", str(script)), app.pid)
        load = PINNED_LOAD if args.pin else LOAD
        rates, costs = _measure(targets, args.rounds, s, c, load)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"feed file: {size:,} bytes; {args.items:,} items; {' '.join(load)} -c{c} -d{s}s"
        f"{' (servers on core 0)' if args.pin else ''}, {args.rounds} rounds; "
        "median (range), % of the bare aiohttp handler's median"
    )
    _print(rates, REFERENCE)
    _print_costs(costs, REFERENCE)
    if args.pin:
        return
    one = statistics.median(rates["wcofeed /feed.atom?lang=en (cached)"])
    two = statistics.median(rates["wcofeed cached, --workers 2"])
    print(f"--workers 2 / one process, cached endpoint: {two / one:.2f}x")


if __name__ == "__main__":
    main()
