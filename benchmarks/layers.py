"""What composing the policy layers costs: the same applications quoted under Shandong's rules in force in 2026
(national-2025 with shandong-2019 over it, each decision taken in both layers) against shandong-2019 alone, in
one run on one machine. Two sizes: a portfolio (decisions and totals, the study path) and a web-sized batch of
16 full quotes (trace and schedule included).

    .venv/bin/python benchmarks/layers.py [--rows 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import pandas as pd

from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.quote import quote_frame, quotes_from_batch
from costmodel.scenarios.generate import generate_portfolio

DAY = dt.date(2026, 3, 2)


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = generate_portfolio(args.rows, seed=7).assign(application_date=pd.Timestamp(DAY))
    web = rows.head(16).copy()
    policies = {"shandong-2019 alone": load_ruleset("shandong-2019"), "shandong in force (composed)": resolve_ruleset("shandong", DAY)}
    for ruleset in policies.values():  # load the tariffs and warm the caches outside the timing
        quotes_from_batch(quote_frame(web, ruleset))
    print(f"{args.rows:,} applications dated {DAY}, best and median of {args.repeats}")
    results = {}
    for name, ruleset in policies.items():
        portfolio = best_of(args.repeats, lambda: quote_frame(rows, ruleset, itemised=False))
        batch = best_of(args.repeats * 10, lambda: quotes_from_batch(quote_frame(web, ruleset)))
        results[name] = (portfolio, batch)
        print(f"  {name:30s} portfolio {portfolio[0]:.2f} s (median {portfolio[1]:.2f}), "
              f"{portfolio[0] / args.rows * 1e6:.2f} us/row; 16 full quotes {batch[0] * 1e3:.1f} ms (median {batch[1] * 1e3:.1f})")
    (alone_p, alone_b), (composed_p, composed_b) = results.values()
    print(f"composed / alone: portfolio {composed_p[0] / alone_p[0]:.2f}, 16 full quotes {composed_b[0] / alone_b[0]:.2f} (best times)")


if __name__ == "__main__":
    main()
