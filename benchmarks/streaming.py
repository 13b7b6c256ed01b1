"""A national portfolio compared baseline vs reform by streaming, in this process and on Dask LocalClusters of
1 and 2 single-threaded workers, in one run on the same machine.

    .venv/bin/python benchmarks/streaming.py [--rows 10000000] [--partition-rows 250000] [--modes stream,dask1,dask2]

The portfolio is generated first (`portfolio generate --provinces all --partitioned`, not timed). Each mode runs
in a fresh child process, so the streaming run's peak memory (ru_maxrss) is its own; a Dask run's work happens in
its workers, whose peak memory is sampled (psutil) every 0.2 s. Reported: wall seconds, rows per second, peak
memory, the overall figures (which must agree across modes), and the ratios dask1 / stream (what Dask adds on one
machine) and dask1 / dask2 (what a second worker gains). The 10^8 figure is extrapolated from the measured rate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE, REFORM = "shandong-2019", "rural-lv-cap-160"


def child(dataset: str, out: str, mode: str, partition_rows: int) -> None:
    from costmodel.params import load_ruleset
    from costmodel.params.overrides import reformed_ruleset
    from costmodel.scenarios.dataset import ingest
    from costmodel.scenarios.streaming import Study, ruleset_ref, stream_study

    base, reform = load_ruleset(BASELINE), reformed_ruleset(BASELINE, REFORM)
    study = Study("compare", (ruleset_ref(base, BASELINE), ruleset_ref(reform, BASELINE, reform=REFORM)))
    cluster = {"stream": None, "dask1": "local:1", "dask2": "local:2"}[mode]
    peak = {"workers_gib": 0.0}
    stop = threading.Event()

    def sample() -> None:  # the workers' resident memory, summed, at its highest
        import psutil

        me = psutil.Process()
        while not stop.wait(0.2):
            rss = sum(p.memory_info().rss for p in me.children(recursive=True) if p.is_running())
            peak["workers_gib"] = max(peak["workers_gib"], rss / 2**30)

    if cluster:
        threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    ingested = ingest(dataset, partition_rows)
    ingest_s = time.perf_counter() - start
    result = stream_study(study, ingested, Path(out), cluster=cluster, rulesets=[base, reform])
    wall = time.perf_counter() - start
    stop.set()
    print(json.dumps({"mode": mode, "rows": ingested.rows_in, "partitions": len(ingested.partitions), "ingest_s": round(ingest_s, 1),
                      "wall_s": round(wall, 1), "rows_per_s": round(ingested.rows_in / wall),
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                      "workers_peak_rss_gib": round(peak["workers_gib"], 2) if cluster else None,
                      "moved_to_low_voltage": result.overall["moved_to_low_voltage"],
                      "customer_delta_cny": result.overall["customer_delta_cny"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--modes", default="stream,dask1,dask2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=3, metavar=("DATASET", "OUT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.partition_rows)
        return
    from costmodel.scenarios.national import write_national

    folder = Path(tempfile.mkdtemp(prefix="costmodel-streaming-"))
    start = time.perf_counter()
    write_national(folder / "dataset", args.rows, args.seed)
    print(json.dumps({"generated_rows": args.rows, "generate_s": round(time.perf_counter() - start, 1),
                      "load_average": os.getloadavg(), "cores": os.cpu_count()}), flush=True)
    results = {}
    for mode in args.modes.split(","):
        done = subprocess.run([sys.executable, __file__, "--partition-rows", str(args.partition_rows), "--child",
                               str(folder / "dataset"), str(folder / f"out-{mode}"), mode],
                              check=True, capture_output=True, text=True)
        results[mode] = json.loads(done.stdout.splitlines()[-1])
        print(json.dumps(results[mode]), flush=True)
    figures = {(r["moved_to_low_voltage"], r["customer_delta_cny"]) for r in results.values()}
    summary = {"same_figures_in_every_mode": len(figures) == 1, "load_average_after": os.getloadavg()}
    if "stream" in results:
        summary["estimated_1e8_rows_stream_s"] = round(1e8 / results["stream"]["rows_per_s"])
    if "stream" in results and "dask1" in results:
        summary["dask1_over_stream"] = round(results["dask1"]["wall_s"] / results["stream"]["wall_s"], 3)
    if "dask1" in results and "dask2" in results:
        summary["dask1_over_dask2"] = round(results["dask1"]["wall_s"] / results["dask2"]["wall_s"], 3)
        summary["estimated_1e8_rows_dask2_s"] = round(1e8 / results["dask2"]["rows_per_s"])
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
