"""optimize-many over generated parks of mixed sizes on Dask LocalClusters of 1 and 2 single-threaded workers, in
one run on the same machine; each park in its own process with its own time limit.

    .venv/bin/python benchmarks/parks_many.py [--parks 40] [--sizes 3,4,5,6] [--time-limit 30]

Reported: wall seconds of each cluster size, the ratio 1 worker / 2 workers, and whether every park got the same
status and objective on both (parks stopped by their time limit may differ: the limit is wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.scenarios.cluster import dask_client  # noqa: E402
from costmodel.scenarios.parks import optimise_parks, park_folders, write_parks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parks", type=int, default=40)
    parser.add_argument("--sizes", default="3,4,5,6")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="costmodel-parks-"))
    write_parks(folder, args.parks, args.seed, [int(size) for size in args.sizes.split(",")])
    parks = park_folders(folder)
    print(json.dumps({"parks": len(parks), "sizes": args.sizes, "load_average": os.getloadavg(), "cores": os.cpu_count()}), flush=True)
    tables, walls = {}, {}
    for workers in (1, 2):
        with dask_client(f"local:{workers}") as client:
            start = time.perf_counter()
            tables[workers] = optimise_parks(parks, "shandong-2019", args.time_limit, args.gap, 60.0, client)
            walls[workers] = time.perf_counter() - start
        table = tables[workers]
        print(json.dumps({"workers": workers, "wall_s": round(walls[workers], 1), "statuses": table["status"].value_counts().to_dict(),
                          "solver_seconds_sum": round(float(table["seconds"].sum()), 1)}), flush=True)
    same = (tables[1]["status"].tolist() == tables[2]["status"].tolist()
            and tables[1]["objective_cny"].fillna(-1).tolist() == tables[2]["objective_cny"].fillna(-1).tolist())
    print(json.dumps({"one_over_two_workers": round(walls[1] / walls[2], 3), "same_statuses_and_objectives": same,
                      "load_average_after": os.getloadavg()}), flush=True)


if __name__ == "__main__":
    main()
