"""PACE Steiner instances, this checkout against earlier revisions, alternated instance by instance in one run.

    .venv/bin/python benchmarks/steiner_ab.py --baseline e463010[,6758231] [--track 1|2] [--only a.gr,b.gr] [--time-limit 60]
        [--repeat 3]

Each baseline's `costmodel/` is exported with `git archive` into a temporary folder; each instance is solved by
each baseline, then by this checkout, each in its own process. All of them run this checkout's
`benchmarks/steiner_pace.py` (same timing, two decimals), importing the engine of their own folder. Prints status,
gap and seconds of each, the ratio baseline / this checkout, and the load average at the start and the end.
``--repeat N``: an instance the first baseline solves in under ``SHORT_S`` seconds is solved N times by each, in turn;
the median time is shown (a tenth of a second is noise on a shared machine).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks"
TRACKS = {"1": SHARED / "steiner-pace2018", "2": SHARED / "steiner-pace2018-track2"}
SHORT_S = 2.0


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "costmodel", "benchmarks", "tariffs"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    shutil.copy(ROOT / "benchmarks" / "steiner_pace.py", into / "benchmarks" / "steiner_pace.py")
    return into


def solve(root: Path, folder: Path, name: str, time_limit: float) -> dict:
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "steiner_pace.py"), "--dir", str(folder), "--only", name,
                          "--time-limit", str(time_limit)], capture_output=True, text=True, cwd=root)
    row = next((line.split() for line in out.stdout.splitlines() if line.startswith(name)), None)
    if row is None:
        return {"status": "error", "gap": None, "seconds": None}
    # columns of steiner_pace.py: ... gap% s networkx nx s saving% status [MISS]
    return {"status": row[-1] if row[-1] == "MISS" else row[14], "gap": float(row[9]), "seconds": float(row[10])}


def median_run(runs: list[dict]) -> dict:
    """The run of median time (the slower middle one of an even count); an error or a miss wins."""
    bad = [r for r in runs if r["status"] in ("error", "MISS")]
    return bad[0] if bad else sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="git revisions to compare with, comma-separated")
    ap.add_argument("--track", choices=sorted(TRACKS), default="1")
    ap.add_argument("--only", default="", help="comma-separated file names")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=1, help=f"solves of each instance under {SHORT_S:g} s, median shown")
    args = ap.parse_args(argv)
    folder = TRACKS[args.track]
    names = pd.read_csv(folder / "optima.csv").iloc[:, 0].tolist()
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    revisions = args.baseline.split(",")
    print("load average at the start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    print(f"{'instance':16}" + "".join(f" {rev[:8] + ' status':17} {'gap%':>6} {'s':>6}" for rev in revisions)
          + f" {'new status':17} {'gap%':>6} {'s':>6}" + "".join(f" {rev[:7] + '/new':>11}" for rev in revisions), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        bases = [export(rev, Path(tmp) / f"base{i}") for i, rev in enumerate(revisions)]
        for name in names:
            rounds = [[solve(root, folder, name, args.time_limit) for root in bases + [ROOT]]]
            while len(rounds) < args.repeat and (rounds[0][0]["seconds"] or math.inf) < SHORT_S:
                rounds.append([solve(root, folder, name, args.time_limit) for root in bases + [ROOT]])
            runs = [median_run([r[i] for r in rounds]) for i in range(len(bases) + 1)]
            new = runs[-1]
            ratios = [b["seconds"] / new["seconds"] if b["seconds"] and new["seconds"] else float("nan") for b in runs[:-1]]
            print(f"{name:16}" + "".join(f" {r['status']:17} {r['gap'] or 0:6.3f} {r['seconds'] or 0:6.2f}" for r in runs)
                  + "".join(f" {q:11.2f}" for q in ratios), flush=True)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
