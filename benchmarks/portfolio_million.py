"""1,000,000 applications compared baseline vs reform (both full quotes, read from Parquet), and the
ratio against quoting the same applications one at a time through quote_application.

    .venv/bin/python benchmarks/portfolio_million.py [--rows 1000000] [--sample 200] [--workers 1|2]

The timed part runs in a fresh child process so its peak memory (ru_maxrss) is its own. Its stages are
reported one by one: reading the file, validating it, each rule set's quote, the comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFORM = "rural-lv-cap-160"
BASELINE = "shandong-2019"


def timed_compare(path: str, workers: int) -> None:
    from costmodel.params import load_ruleset
    from costmodel.params.overrides import load_reform
    from costmodel.scenarios.portfolio import read_table, validate_frame
    from costmodel.scenarios.studies import compare_results, quote_both, quote_portfolio

    baseline, reform = load_ruleset(BASELINE), load_reform(REFORM).ruleset  # rule-set loading is not the work measured
    stages = {}
    start = time.perf_counter()
    raw = read_table(path)
    stages["read_s"] = time.perf_counter() - start
    mark = time.perf_counter()
    portfolio = validate_frame(raw, path)
    del raw
    stages["validate_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if workers == 1:  # one after the other, so each quote gets its own figure
        before = quote_portfolio(portfolio, baseline, 10**9)
        stages["quote_baseline_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        after = quote_portfolio(portfolio, reform, 10**9)
        stages["quote_reform_s"] = time.perf_counter() - mark
    else:
        before, after = quote_both(portfolio, baseline, reform, workers=workers)
        stages["quote_both_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    comparison = compare_results(before, after, baseline.id, reform.id)
    done = time.perf_counter()
    stages["compare_s"] = done - mark
    print(json.dumps({"rows": portfolio.rows_in, "workers": workers, **stages, "wall_s": done - start,
                      "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "moved_to_low_voltage": comparison.overall["moved_to_low_voltage"]}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--workers", type=int, choices=(1, 2), help="threads for the two quotes (default: the library's, 2 with two cores)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers is None:
        from costmodel.scenarios.studies import DEFAULT_WORKERS
        args.workers = DEFAULT_WORKERS
    if args.child:
        timed_compare(args.child, args.workers)
        return

    from costmodel.params import load_ruleset
    from costmodel.params.overrides import load_reform
    from costmodel.quote import quote_application
    from costmodel.scenarios.generate import generate_portfolio
    from costmodel.scenarios.portfolio import validate_frame, write_table
    from costmodel.application import application_from_row

    folder = Path(tempfile.mkdtemp(prefix="costmodel-bench-"))
    path = folder / f"portfolio-{args.rows}.parquet"
    write_table(generate_portfolio(args.rows, seed=1), path)
    result = json.loads(subprocess.run([sys.executable, __file__, "--child", str(path), "--workers", str(args.workers)], check=True,
                                       capture_output=True, text=True).stdout)

    baseline, reform = load_ruleset(BASELINE), load_reform(REFORM).ruleset
    sample = validate_frame(generate_portfolio(args.sample, seed=2)).frame
    apps = [application_from_row(row) for _, row in sample.iterrows()]  # building the inputs is not timed
    start = time.perf_counter()
    for app in apps:
        quote_application(app, baseline)
        quote_application(app, reform)
    single_per_app = (time.perf_counter() - start) / len(apps)
    batch_per_app = result["wall_s"] / result["rows"]
    result.update({"single_s_per_application_both_rulesets": single_per_app,
                   "batch_s_per_application_both_rulesets": batch_per_app,
                   "speedup": single_per_app / batch_per_app})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
