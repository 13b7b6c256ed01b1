"""CPU time of one coalesced batch of POST /quote (16 distinct applications in one `_quote_many` call).

    .venv/bin/python benchmarks/quote_batch_profile.py [--size 16] [--repeats 30] [--profile]

Reports the median and best CPU time of the batch over the repeats (process time, so other load on the
machine matters less than for wall time) and, with --profile, the cProfile of all repeats by cumulative
time. The applications are those of `api_load.py`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time

from api_load import applications

from costmodel.api.coalescer import quote_many as _quote_many
from costmodel.application import parse_application
from costmodel.params import resolve_ruleset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16, help="applications per batch")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print the cProfile of the repeats")
    args = parser.parse_args()
    parsed = [parse_application(app) for app in applications(args.size * args.repeats)]
    ruleset = resolve_ruleset("shandong", parsed[0].application_date)
    batches = [[(app, ruleset) for app in parsed[i * args.size:(i + 1) * args.size]] for i in range(args.repeats)]
    _quote_many(batches[0])  # warm-up: caches and imports
    gc.freeze()  # as the server does after its warm-up quote
    profiler = cProfile.Profile() if args.profile else None
    times_ms = []
    for batch in batches:
        if profiler:
            profiler.enable()
        start = time.process_time()
        _quote_many(batch)
        times_ms.append((time.process_time() - start) * 1000)
        if profiler:
            profiler.disable()
    print(f"batch of {args.size}: CPU median {statistics.median(times_ms):.1f} ms, best {min(times_ms):.1f} ms, "
          f"{statistics.median(times_ms) / args.size:.2f} ms per quote ({args.repeats} repeats)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
