"""A national synthetic portfolio: every province, as a Parquet dataset partitioned by province and year.

Each province's share of the rows is its share of a per-province figure (tariffs/studies/
province-electricity-2022.yaml: electricity consumption, with its source), allocated by largest remainder so
the counts add up to the rows asked for. The rows themselves come from the province-neutral distributions of
`generate_portfolio`, in chunks of CHUNK_ROWS, each chunk seeded from the one seed (numpy SeedSequence, keyed by
province and chunk): the same seed and row count give the same dataset, whatever the memory, and nothing in
the rules is random.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from costmodel import files
from costmodel.errors import InputError
from costmodel.params.parameter import Reference
from costmodel.paths import tariffs_dir
from costmodel.scenarios.generate import DEFAULT_ASSUMPTIONS, generate_portfolio
from costmodel.yamlio import check_keys, load_yaml

WEIGHTS_FILE = Path("studies") / "province-electricity-2022.yaml"  # under the tariffs root
CHUNK_ROWS = 1_000_000  # rows generated (and held) at once; part of the seeding, so fixed
ROW_GROUP_ROWS = 100_000  # row groups a streaming partition can start and end in without reading much more


def weights_reference() -> Reference:
    path = tariffs_dir() / WEIGHTS_FILE
    return Reference.from_yaml(load_yaml(path).get("reference"), str(path), old_form=False)


def province_weights() -> dict[str, float]:
    """Province id -> its figure, from the dated YAML (unit, and a reference citing a source of the bibliography)."""
    path = tariffs_dir() / WEIGHTS_FILE
    raw = check_keys(load_yaml(path), str(path), {"description", "unit", "date", "reference", "provinces"})
    weights_reference()
    weights = {}
    for province, entry in raw["provinces"].items():
        entry = check_keys(entry, f"{path}: provinces.{province}", {"name_zh", "value"})
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InputError(f"{path}: provinces.{province}.value {value!r}; allowed: a number > 0 ({raw['unit']})")
        weights[str(province)] = float(value)
    return weights


def allocate(rows: int, weights: dict[str, float]) -> dict[str, int]:
    """`rows` split in proportion to the weights by largest remainder: the counts add up to `rows` exactly, and a
    tie in the remainders goes to the province listed first."""
    shares = np.array(list(weights.values())) / sum(weights.values()) * rows
    counts = np.floor(shares).astype(np.int64)
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[:rows - counts.sum()]] += 1
    return dict(zip(weights, counts.tolist()))


def chosen_provinces(provinces: str, weights: dict[str, float]) -> dict[str, float]:
    """`all`, or province ids separated by commas (their weights, renormalised by the allocation)."""
    if provinces.strip() == "all":
        return weights
    names = [name.strip() for name in provinces.split(",") if name.strip()]
    unknown = [name for name in names if name not in weights]
    if unknown or not names:
        raise InputError(f"--provinces {provinces!r}: unknown {unknown}; allowed: all, or ids among {', '.join(weights)}")
    return {name: weights[name] for name in names}


def write_national(out: Path, rows: int, seed: int, provinces: str = "all",
                   assumptions: str | Path = DEFAULT_ASSUMPTIONS) -> dict[str, int]:
    """The dataset under `out` (province=<id>/year=<yyyy>/part-<chunk>.parquet); returns the rows per province."""
    if rows < 1:
        raise InputError(f"--rows {rows}: allowed: a whole number >= 1")
    weights = province_weights()
    counts = allocate(rows, chosen_provinces(provinces, weights))
    all_ids = list(weights)  # a province's seeds do not depend on which provinces are generated
    for province, count in counts.items():
        for chunk, start in enumerate(range(0, count, CHUNK_ROWS)):
            size = min(CHUNK_ROWS, count - start)
            chunk_seed = int(np.random.SeedSequence([seed, all_ids.index(province), chunk]).generate_state(1)[0])
            frame = generate_portfolio(size, chunk_seed, assumptions)
            frame["application_id"] = [f"N{seed}-{province}-{start + i:09d}" for i in range(size)]
            years = frame["application_date"].dt.year.to_numpy()
            for year in np.unique(years):
                table = pa.Table.from_pandas(frame[years == year], preserve_index=False)
                with files.atomic_path(out / f"province={province}" / f"year={year}" / f"part-{chunk:04d}.parquet") as temporary:
                    pq.write_table(table, temporary, row_group_size=ROW_GROUP_ROWS)
    return counts
