"""What the threshold what-if adds to one quote: `quote --what-if` (the application and its variants quoted in
one vectorised call) against the plain quote of the same application, interleaved in one run on one machine,
for every example application under the policy in force on its date.

    .venv/bin/python benchmarks/whatif.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from costmodel.application import load_application
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_application
from costmodel.whatif import quote_with_whatif

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "applications"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"{'application':<28} {'plain ms':>9} {'what-if ms':>11} {'ratio':>6}")
    ratios = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        application = load_application(path)
        ruleset = resolve_ruleset("shandong", application.application_date)
        plain, with_whatif = [], []
        quote_application(application, ruleset), quote_with_whatif(application, ruleset)  # warm the caches
        for _ in range(args.repeats):  # interleaved, so a change in the machine's load hits both alike
            for work, times in ((lambda: quote_application(application, ruleset), plain),
                                (lambda: quote_with_whatif(application, ruleset), with_whatif)):
                start = time.perf_counter()
                work()
                times.append(time.perf_counter() - start)
        ratio = min(with_whatif) / min(plain)
        ratios.append(ratio)
        print(f"{application.id:<28} {min(plain) * 1e3:9.2f} {min(with_whatif) * 1e3:11.2f} {ratio:6.2f}")
    print(f"what-if / plain, best of {args.repeats}: median {sorted(ratios)[len(ratios) // 2]:.2f}, worst {max(ratios):.2f}")


if __name__ == "__main__":
    main()
