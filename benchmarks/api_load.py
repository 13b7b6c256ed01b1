"""Load test of POST /quote: latency under concurrent clients on loopback, against the library call.

Starts `uvicorn costmodel.api:create_app` in a subprocess (so the load generator does not share the
server's GIL), sends a fixed number of requests from N concurrent httpx clients (stops at the count or
the time cap, whichever comes first), and reports median / p90 / p99 latency and throughput. The
baseline, measured in the same run, is the in-process library call `quote_application` on the same
applications; the ratio says how much the HTTP layer and queueing add.

    .venv/bin/python benchmarks/api_load.py --requests 400 --concurrency 16
Target (issue 4): median <= 20 ms and p99 <= 100 ms at 16 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
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


def start_server(port: int, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "costmodel.api:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, start_new_session=True)
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


async def load(url: str, apps: list[dict], total: int, concurrency: int, time_cap_s: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    next_index = 0
    started = time.perf_counter()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal next_index, failures
        while next_index < total and time.perf_counter() - started < time_cap_s:
            app = apps[next_index % len(apps)]
            next_index += 1
            begin = time.perf_counter()
            response = await client.post(url, json={"application": app})
            elapsed = time.perf_counter() - begin
            if response.status_code == 200:
                latencies.append(elapsed)
            else:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - started


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
    args = parser.parse_args()

    apps = applications(max(args.requests, args.baseline))
    base = report("library quote_application (in-process, 1 at a time)", library_baseline(apps, args.baseline))
    port = free_port()
    server = start_server(port, args.workers)
    try:
        url = f"http://127.0.0.1:{port}/quote"
        asyncio.run(load(url, apps, 20, 2, args.time_cap))  # warm-up: imports, caches, connections
        serial, fail_1, wall_1 = asyncio.run(load(url, apps, min(args.requests, 100), 1, args.time_cap))
        one = report("POST /quote, 1 client", serial, wall_1)
        latencies, failures, wall = asyncio.run(load(url, apps, args.requests, args.concurrency, args.time_cap))
        loaded = report(f"POST /quote, {args.concurrency} clients, {args.workers} worker(s)", latencies, wall)
    finally:
        stop_server(server)
    print(f"failures: {fail_1 + failures}")
    print(f"ratios to the library call: 1 client median x{one['median_ms'] / base['median_ms']:.2f}; "
          f"{args.concurrency} clients median x{loaded['median_ms'] / base['median_ms']:.2f}, p99 x{loaded['p99_ms'] / base['median_ms']:.2f}")
    met = loaded["median_ms"] <= 20 and loaded["p99_ms"] <= 100
    print(f"target median <= 20 ms and p99 <= 100 ms at {args.concurrency} clients: {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
