"""Load test of POST /quote: latency under concurrent clients on loopback, against the library call.

Starts `uvicorn costmodel.api:create_app` in a subprocess (so the load generator does not share the
server's GIL), sends a fixed number of requests of distinct applications from N concurrent kept-alive
connections (stops at the count or the time cap, whichever comes first), and reports median / p90 /
p99 latency, throughput and the server's CPU time per quote. The
baseline, measured in the same run, is the in-process library call `quote_application` on the same
applications; the ratio says how much the HTTP layer and queueing add.

    .venv/bin/python benchmarks/api_load.py --requests 400 --concurrency 16
Target (issue 4): median <= 20 ms and p99 <= 100 ms at 16 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from costmodel.application import load_application
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_application

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "applications" / "world-bank-warehouse.yaml"


def applications(count: int) -> list[dict]:
    """Distinct variants of the warehouse case (capacity, distances, headroom), so nothing can be a cache hit."""
    base = load_application(EXAMPLE).model_dump(mode="json")
    out = []
    for i in range(count):
        app = {**base, "id": f"load-{i}", "site": dict(base["site"]), "request": dict(base["request"])}
        app["site"]["distance_to_lv_m"] = 50 + (i * 37) % 400
        app["site"]["distance_to_10kv_m"] = 80 + (i * 53) % 900
        app["site"]["transformer_headroom_kva"] = (i * 29) % 300
        app["request"]["capacity"] = 20 + (i * 71) % 600
        out.append(app)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def library_baseline(apps: list[dict], repeats: int) -> list[float]:
    from costmodel.application import parse_application

    parsed = [parse_application(a) for a in apps[:repeats]]
    ruleset = resolve_ruleset("shandong", parsed[0].application_date)
    quote_application(parsed[0], ruleset)
    times = []
    for app in parsed:
        start = time.perf_counter()
        quote_application(app, ruleset)
        times.append(time.perf_counter() - start)
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, http: str, loop: str, fast_path: bool = True) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "costmodel.api:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--http", http, "--loop", loop,
               "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, start_new_session=True, env={**os.environ, "COSTMODEL_API_FAST_PATH": "1" if fast_path else "0"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("server did not start within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def _request_bytes(port: int, app: dict) -> bytes:
    body = json.dumps({"application": app}).encode()
    head = (f"POST /quote HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a kept-alive connection; the status code (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


async def load(port: int, apps: list[dict], total: int, concurrency: int, time_cap_s: float) -> tuple[list[float], int, float]:
    """`total` requests from `concurrency` kept-alive connections, each sending its next as soon as it has an answer.

    A bare HTTP/1.1 client on asyncio streams (about 0.1 ms of CPU per request), so the load
    generator takes little of the CPU the server needs; requests are encoded before the clock starts.
    """
    requests = [_request_bytes(port, apps[i % len(apps)]) for i in range(total)]
    latencies: list[float] = []
    failures = 0
    next_index = 0
    started = time.perf_counter()

    async def client_loop() -> None:
        nonlocal next_index, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < total and time.perf_counter() - started < time_cap_s:
                request = requests[next_index]
                next_index += 1
                begin = time.perf_counter()
                status = await _exchange(reader, writer, request)
                if status == 200:
                    latencies.append(time.perf_counter() - begin)
                else:
                    failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - started


def server_cpu_s(server: subprocess.Popen) -> float:
    """User + system CPU seconds of every process of the server's session (the workers too)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[3]) == server.pid:  # field 6 of stat, the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def report(label: str, latencies: list[float], wall_s: float | None = None) -> dict:
    ms = [x * 1e3 for x in latencies]
    row = {"label": label, "n": len(ms), "median_ms": statistics.median(ms), "p90_ms": percentile(ms, 90),
           "p99_ms": percentile(ms, 99), "per_s": len(ms) / wall_s if wall_s else 1e3 / statistics.mean(ms)}
    print(f"{label:42s} n={row['n']:5d}  median {row['median_ms']:8.1f} ms  p90 {row['p90_ms']:8.1f} ms  "
          f"p99 {row['p99_ms']:8.1f} ms  {row['per_s']:7.1f} quotes/s")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per load run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds; a load run stops here at the latest")
    parser.add_argument("--baseline", type=int, default=50, help="library calls for the baseline")
    parser.add_argument("--http", default="auto", help="uvicorn HTTP protocol: auto (httptools, a dependency), h11")
    parser.add_argument("--loop", default="auto", help="uvicorn event loop: auto (uvloop, a dependency), asyncio")
    parser.add_argument("--without-fast-path", action="store_true",
                        help="also serve every /quote through the FastAPI route (no QuoteFastPath), in the same run, and compare")
    args = parser.parse_args()

    apps = applications(max(args.requests, args.baseline))
    base = report("library quote_application (in-process, 1 at a time)", library_baseline(apps, args.baseline))
    (one, fail_1), (loaded, failures, cpu_per_quote_ms) = serve_and_load(args, apps, fast_path=True)
    print(f"server CPU per quote at {args.concurrency} clients: {cpu_per_quote_ms:.2f} ms "
          f"(http {args.http}, loop {args.loop}); load average {os.getloadavg()[0]:.2f}")
    print(f"failures: {fail_1 + failures}")
    print(f"ratios to the library call: 1 client median x{one['median_ms'] / base['median_ms']:.2f}; "
          f"{args.concurrency} clients median x{loaded['median_ms'] / base['median_ms']:.2f}, p99 x{loaded['p99_ms'] / base['median_ms']:.2f}")
    met = loaded["median_ms"] <= 20 and loaded["p99_ms"] <= 100
    print(f"target median <= 20 ms and p99 <= 100 ms at {args.concurrency} clients: {'MET' if met else 'NOT MET'}")
    if args.without_fast_path:  # the same load against a server whose /quote goes through the route
        _, (routed, _, routed_cpu_ms) = serve_and_load(args, apps, fast_path=False)
        print(f"fast path vs route at {args.concurrency} clients: median x{loaded['median_ms'] / routed['median_ms']:.2f}, "
              f"p99 x{loaded['p99_ms'] / routed['p99_ms']:.2f}, server CPU per quote {cpu_per_quote_ms:.2f} vs {routed_cpu_ms:.2f} ms")


def serve_and_load(args, apps: list[dict], fast_path: bool) -> tuple[tuple[dict, int], tuple[dict, int, float]]:
    """A fresh server, warmed up; one client in turn, then `args.concurrency` at once: (report, failures) of the
    first, and (report, failures, server CPU ms per quote) of the second."""
    port = free_port()
    server = start_server(port, args.workers, args.http, args.loop, fast_path)
    label = "POST /quote" if fast_path else "POST /quote through the route (no fast path)"
    try:
        asyncio.run(load(port, apps, 20, 2, args.time_cap))  # warm-up: imports, caches, connections
        serial, fail_1, wall_1 = asyncio.run(load(port, apps, min(args.requests, 100), 1, args.time_cap))
        one = report(f"{label}, 1 client", serial, wall_1)
        cpu_before = server_cpu_s(server)
        latencies, failures, wall = asyncio.run(load(port, apps, args.requests, args.concurrency, args.time_cap))
        cpu_per_quote_ms = (server_cpu_s(server) - cpu_before) / max(len(latencies) + failures, 1) * 1e3
        loaded = report(f"{label}, {args.concurrency} clients, {args.workers} worker(s)", latencies, wall)
    finally:
        stop_server(server)
    return (one, fail_1), (loaded, failures, cpu_per_quote_ms)

if __name__ == "__main__":
    main()
