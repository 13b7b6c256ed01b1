"""Schedule throughput: per-application cost of one row vs a batch (ratio, same run).

Run: .venv/bin/python benchmarks/bench_schedule.py [N]
"""

import sys
import time

import numpy as np
import pandas as pd

from costmodel.schedule import schedule_applications


def applications(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "application_id": np.arange(n).astype(str),
        "application_date": pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), "D"),
        "supply_voltage": rng.choice(["low_voltage", "10kV"], n),
        "ruleset_id": rng.choice(["national-1996", "shandong-2018", "shandong-2019", "shandong-2019-qingdao"], n),
        "has_external_works": rng.random(n) < 0.5,
    })


def timed(frame: pd.DataFrame, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        schedule_applications(frame)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame = applications(n)
    schedule_applications(frame.head(10))  # warm the data and calendar caches
    one = timed(frame.head(1), 20)
    batch = timed(frame, 1)
    print(f"one application: {one * 1e3:.1f} ms")
    print(f"{n} applications: {batch:.2f} s = {batch / n * 1e6:.2f} us each")
    print(f"batch per application / one-row call: {batch / n / one:.5f}")
