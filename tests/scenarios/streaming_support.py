"""A small national-style portfolio as a hive-partitioned Parquet dataset, and the same rows as one file.

Four files in path order (the order ingest numbers rows in): 300, 250, 400 and 250 rows. Two rows are bad on
purpose, at global rows worked out from those sizes:
- row 310 (the 10th of the second file): capacity -1, out of range;
- row 955 (the 5th of the fourth file: 300 + 250 + 400 + 5): the application_id of row 7, in another file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from costmodel.params import load_ruleset
from costmodel.params.overrides import reformed_ruleset
from costmodel.scenarios.generate import generate_portfolio
from costmodel.scenarios.portfolio import write_table
from costmodel.scenarios.streaming import Study, read_output, ruleset_ref

FILES = ["province=hebei/year=2024/a.parquet", "province=hebei/year=2025/a.parquet", "province=shandong/year=2025/a.parquet",
         "province=shandong/year=2025/b.parquet"]
SIZES = [300, 250, 400, 250]
BASELINE, REFORM = "shandong-2019", "rural-lv-cap-160"
BAD_ROWS = [310, 955]
ROWS = sum(SIZES)


def write_dataset(folder: Path) -> tuple[Path, Path]:
    """(the dataset folder, one Parquet file holding the same rows in the same order)."""
    frame = generate_portfolio(ROWS, seed=11)
    frame.loc[309, "capacity"] = -1.0
    frame.loc[954, "application_id"] = frame.loc[6, "application_id"]
    single = write_table(frame, folder / "single.parquet")
    table = pq.read_table(single)
    start = 0
    for relative, size in zip(FILES, SIZES):
        path = folder / "dataset" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # small row groups, so a partition starts and ends inside them
        pq.write_table(table.slice(start, size), path, row_group_size=64)
        start += size
    return folder / "dataset", single


def as_text(frame):
    """Label columns as plain text, to compare tables whose categoricals hold different category sets."""
    return frame.astype({column: str for column in frame.columns if str(frame[column].dtype) == "category"}).reset_index(drop=True)



def set_environment(name: str, value: str | None) -> None:
    """Set (None: remove) an environment variable; run on Dask workers through client.run (a bound method of
    os.environ would be pickled with a copy of the mapping, and change nothing there)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def compare_study() -> tuple[Study, list]:
    base, reform = load_ruleset(BASELINE), reformed_ruleset(BASELINE, REFORM)
    return Study("compare", (ruleset_ref(base, BASELINE), ruleset_ref(reform, BASELINE, reform=REFORM))), [base, reform]


def assert_same_comparison(streamed, out, in_memory) -> None:
    pd.testing.assert_frame_equal(as_text(read_output(out, "applications")), as_text(in_memory.applications))
    pd.testing.assert_frame_equal(read_output(out, "rejected"), in_memory.rejected.reset_index(drop=True), check_dtype=False)
    assert streamed.overall == in_memory.overall
    for group, table in in_memory.by_group.items():
        pd.testing.assert_frame_equal(streamed.by_group[group], as_text(table), check_dtype=False)
