"""Budget ranges against the targets of issue 24, on a generated (SYNTHETIC) history, time-ordered split, one run:

1. coverage of [P15, P85] on the held-out window within 70 % +- 4 points, overall and per voltage group;
2. pinball loss at every quantile below the band-table baseline's, in the same run;
3. fitting 200,000 history rows in no more than 60 s (the whole `ranges fit`: read, validate, quote each row under
   the rules of its date, fit, calibrate, write; and the fit and calibration alone);
4. a range adds no more than 20 % to one quote's time (each example application: the quote, and the range of that
   quote, interleaved; the fastest of each, the second as a share of the first).

    nice -n 10 .venv/bin/python benchmarks/ranges.py [--rows 250000] [--seed 2026] [--repeats 30]

The history is generated once per (rows, seed) into the temporary folder and reused.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from costmodel.application import load_application
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_frame, quote_from_batch
from costmodel.ranges.attach import budget_ranges
from costmodel.ranges.evaluate import evaluate
from costmodel.ranges.generate import generate_history
from costmodel.ranges.history import load_history
from costmodel.ranges.method import load_method
from costmodel.ranges.model import fit, load_model, save_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "applications"
UNTIL = pd.Timestamp("2024-06-30").date()  # examples/histories/synthetic.yaml: the step starts the calibration window


def history_file(rows: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"costmodel-ranges-history-{rows}-{seed}.parquet"
    if not path.exists():
        start = time.perf_counter()
        generated = generate_history(rows, seed)
        generated.frame.to_parquet(path, index=False)
        print(f"generated {len(generated.frame):,} rows in {time.perf_counter() - start:.1f} s -> {path}")
    return path


def check(label: str, ok: bool) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    path = history_file(args.rows, args.seed)
    method = load_method()
    model_path = Path(tempfile.gettempdir()) / f"costmodel-ranges-model-{args.rows}-{args.seed}.zip"

    start = time.perf_counter()
    history = load_history(path, "shandong", method.min_history_rows)
    training = history.until(UNTIL, method.min_history_rows)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    model = fit(training, method, synthetic=True)
    fit_s = time.perf_counter() - start
    save_model(model, model_path)
    total_s = time.perf_counter() - start + read_s
    rows = len(training.frame)
    print(f"fit on {rows:,} rows (completed by {UNTIL}): read + validate + quote {read_s:.1f} s, fit + calibrate {fit_s:.1f} s, "
          f"whole `ranges fit` {total_s:.1f} s")
    results = [check(f"{rows:,} >= 200,000 rows fitted in {total_s:.1f} s <= 60 s", rows >= 200_000 and total_s <= 60)]

    report = evaluate(load_model(model_path), history)
    print(f"held out: {report['held_out']['rows']:,} rows completed {report['held_out']['start']} to {report['held_out']['end']}")
    print(f"{'group':<14} {'rows':>7} {'':<9} {'coverage':>9} {'pinball P15':>12} {'pinball P50':>12} {'pinball P85':>12} {'width/quote':>12}")
    groups = {"overall": report["overall"], **report["by_supply_voltage"]}
    for name, entry in groups.items():
        for kind in ("model", "baseline"):
            f = entry[kind]
            print(f"{name if kind == 'model' else '':<14} {f['rows'] if kind == 'model' else '':>7} {kind:<9} {f['coverage']:>9.1%} "
                  f"{f['pinball_p15']:>12.4f} {f['pinball_p50']:>12.4f} {f['pinball_p85']:>12.4f} {f['mean_width_ratio']:>12.3f}")
    for name, entry in groups.items():
        coverage = entry["model"]["coverage"]
        results.append(check(f"coverage {name} {coverage:.1%} within 70 % +- 4", abs(coverage - 0.70) <= 0.04))
        for level in ("p15", "p50", "p85"):
            ours, baseline = entry["model"][f"pinball_{level}"], entry["baseline"][f"pinball_{level}"]
            results.append(check(f"pinball {level.upper()} {name}: model {ours:.4f} < band table {baseline:.4f} "
                                 f"(ratio {ours / baseline:.3f})", ours < baseline))

    ranged = load_model(model_path)
    print(f"\n{'application':<34} {'quote ms':>9} {'range ms':>9} {'added':>7}")
    added = []
    for example in sorted(EXAMPLES.glob("*.yaml")):
        application = load_application(example)
        ruleset = resolve_ruleset("shandong", application.application_date)
        batch = quote_frame(application.to_frame(), ruleset)
        quote = quote_from_batch(batch, application.id)

        def plain():  # the quote: `quote APP` without --range
            quote_from_batch(quote_frame(application.to_frame(), ruleset), application.id)

        def with_range():  # what --range adds to it: the range of the quoted batch
            budget_ranges(ranged, batch, [quote])

        plain(), with_range()  # warm the caches
        times = {plain: [], with_range: []}
        for _ in range(args.repeats):  # interleaved, so a change in the machine's load hits both alike
            for work, spent in times.items():
                begin = time.perf_counter()
                work()
                spent.append(time.perf_counter() - begin)
        share = min(times[with_range]) / min(times[plain])
        added.append(share)
        print(f"{example.stem:<34} {min(times[plain]) * 1000:>9.2f} {min(times[with_range]) * 1000:>9.2f} {share:>7.1%}")
    results.append(check(f"a range adds at most {max(added):.1%} to one quote's time (<= 20 %)", max(added) <= 0.20))
    print(f"\n{sum(results)} of {len(results)} targets met")


if __name__ == "__main__":
    main()
