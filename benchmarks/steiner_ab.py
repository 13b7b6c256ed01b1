"""PACE Steiner instances, this checkout against an earlier revision, alternated instance by instance in one run.

    .venv/bin/python benchmarks/steiner_ab.py --baseline 0089350 [--track 1|2] [--only a.gr,b.gr] [--time-limit 60]

The baseline's `costmodel/` and `benchmarks/` are exported with `git archive` into a temporary folder; each
instance is solved by `benchmarks/steiner_pace.py` of the baseline, then of this checkout, each in its own
process. Prints status, gap and seconds of both, and the ratio baseline / this checkout.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks"
TRACKS = {"1": SHARED / "steiner-pace2018", "2": SHARED / "steiner-pace2018-track2"}


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "costmodel", "benchmarks", "tariffs"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def with_file_column(folder: Path, into: Path) -> Path:
    """The instances beside an optima.csv whose first column is named "file" (Track 2 names it "instance", which
    an older steiner_pace.py does not read)."""
    into.mkdir()
    for path in folder.glob("*.gr"):
        (into / path.name).symlink_to(path)
    pd.read_csv(folder / "optima.csv").rename(columns={"instance": "file"}).to_csv(into / "optima.csv", index=False)
    return into


def solve(root: Path, folder: Path, name: str, time_limit: float) -> dict:
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "steiner_pace.py"), "--dir", str(folder), "--only", name,
                          "--time-limit", str(time_limit)], capture_output=True, text=True, cwd=root)
    row = next((line.split() for line in out.stdout.splitlines() if line.startswith(name)), None)
    if row is None:
        return {"status": "error", "gap": None, "seconds": None}
    # columns of steiner_pace.py: ... gap% s networkx nx s saving% status [MISS]
    return {"status": row[14], "gap": float(row[9]), "seconds": float(row[10])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="git revision to compare with")
    ap.add_argument("--track", choices=sorted(TRACKS), default="1")
    ap.add_argument("--only", default="", help="comma-separated file names")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args(argv)
    folder = TRACKS[args.track]
    names = pd.read_csv(folder / "optima.csv").iloc[:, 0].tolist()
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(f"{'instance':16} {'base status':12} {'base gap%':>9} {'base s':>7} {'new status':12} {'new gap%':>9} {'new s':>7} "
          f"{'base/new':>8}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.baseline, Path(tmp) / "base")
        folder = with_file_column(folder, Path(tmp) / "instances")
        for name in names:
            b = solve(base, folder, name, args.time_limit)
            n = solve(ROOT, folder, name, args.time_limit)
            ratio = b["seconds"] / n["seconds"] if b["seconds"] and n["seconds"] else float("nan")
            print(f"{name:16} {b['status']:12} {b['gap'] or 0:9.3f} {b['seconds'] or 0:7.1f} {n['status']:12} "
                  f"{n['gap'] or 0:9.3f} {n['seconds'] or 0:7.1f} {ratio:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
