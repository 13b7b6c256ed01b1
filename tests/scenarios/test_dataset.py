"""Ingest of a partitioned dataset: partitions, global row numbers, ids repeated across files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.scenarios import dataset
from costmodel.scenarios.dataset import ingest, validate_partition
from tests.scenarios.streaming_support import BAD_ROWS, ROWS, write_dataset


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("dataset"))


def test_partitions_cut_each_file_and_number_rows_in_path_order(inputs):
    folder, _ = inputs
    ingested = ingest(folder, 100)
    # 300, 250, 400, 250 rows: 3 + 3 + 4 + 3 partitions
    assert len(ingested.partitions) == 13 and ingested.rows_in == ROWS
    firsts = [p.first_row for p in ingested.partitions]
    assert firsts == [1, 101, 201, 301, 401, 501, 551, 651, 751, 851, 951, 1051, 1151]
    assert [p.rows for p in ingested.partitions][3:6] == [100, 100, 50]
    assert ingested.partitions[6].keys == (("province", "shandong"), ("year", "2025"))
    assert ingested.partitions[6].folder == "province=shandong/year=2025"


def test_an_id_repeated_in_another_file_is_found_at_ingest(inputs):
    folder, _ = inputs
    ingested = ingest(folder, 100)
    assert [row for p in ingested.partitions for row in p.repeated_rows] == [955]


def test_a_hash_collision_never_rejects_a_row(inputs, monkeypatch):
    folder, _ = inputs
    # every id hashes alike: all are candidates, and only the ids themselves decide
    monkeypatch.setattr(dataset.pd.util, "hash_array", lambda values, categorize=False: np.zeros(len(values), dtype=np.uint64))
    assert [row for p in ingest(folder, 100).partitions for row in p.repeated_rows] == [955]


def test_a_partition_is_validated_with_global_row_numbers(inputs):
    folder, single = inputs
    ingested = ingest(folder, 100)
    part = validate_partition(ingested, ingested.partitions[3])  # rows 301-400 of the dataset
    assert part.rows_in == 100 and part.rejected["row"].tolist() == [BAD_ROWS[0]]
    assert part.frame["row"].iloc[0] == 301 and part.frame["row"].iloc[-1] == 400
    whole = pd.read_parquet(single)
    assert part.frame["application_id"].tolist() == whole["application_id"].iloc[300:400].drop(309).tolist()
    repeated = validate_partition(ingested, ingested.partitions[10])  # rows 951-1050
    assert repeated.rejected["row"].tolist() == [955] and "repeats an earlier row" in repeated.rejected["reason"].iloc[0]


def test_inputs_that_cannot_stream_are_refused_naming_them(tmp_path, inputs):
    folder, _ = inputs
    csv = tmp_path / "p.csv"
    csv.write_text("application_id\n")
    with pytest.raises(InputError, match="streaming reads Parquet"):
        ingest(csv, 10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no Parquet files"):
        ingest(tmp_path / "empty", 10)
    odd = tmp_path / "odd" / "shandong"
    odd.mkdir(parents=True)
    (odd / "a.parquet").write_bytes((folder / "province=hebei" / "year=2024" / "a.parquet").read_bytes())
    with pytest.raises(InputError, match="'shandong' is not a hive partition"):
        ingest(tmp_path / "odd", 10)
    with pytest.raises(InputError, match="--partition-rows 0"):
        ingest(folder, 0)
