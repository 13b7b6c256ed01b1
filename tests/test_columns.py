"""Columns: a frame's columns as bare arrays, taken once, plus added ones, back to one frame."""

import numpy as np
import pandas as pd
import pytest

from costmodel.columns import Columns


@pytest.fixture
def frame():
    return pd.DataFrame({
        "application_id": ["a", "b", "c"],
        "area": pd.Categorical(["urban", "rural", "urban"]),
        "capacity": [100.0, 250.0, 40.0],
    }, index=[10, 20, 30])


def test_reads_categoricals_as_categoricals_and_the_rest_as_numpy(frame):
    columns = Columns(frame)
    assert isinstance(columns["area"], pd.Categorical) and list(columns["area"]) == ["urban", "rural", "urban"]
    assert isinstance(columns["capacity"], np.ndarray) and columns["capacity"].tolist() == [100.0, 250.0, 40.0]
    assert columns["capacity"] is columns["capacity"]  # taken from the frame once
    assert "area" in columns and "nope" not in columns and len(columns) == 3
    with pytest.raises(KeyError):
        columns["nope"]


def test_added_columns_leave_the_frame_alone_and_come_back_in_one_positional_frame(frame):
    columns = Columns(frame)
    columns["capacity_kva"] = columns["capacity"] / 0.85
    with pytest.raises(ValueError, match="'short' has 2 values for 3 rows"):
        columns["short"] = np.zeros(2)
    assert list(frame.columns) == ["application_id", "area", "capacity"]
    out = columns.to_frame()
    assert list(out.columns) == ["application_id", "area", "capacity", "capacity_kva"]
    assert list(out.index) == [0, 1, 2] and out["capacity_kva"].round(2).tolist() == [117.65, 294.12, 47.06]
    assert isinstance(out["area"].dtype, pd.CategoricalDtype)


def test_take_and_codes(frame):
    columns = Columns(frame)
    picked = columns.take(np.array([2, 0]), ["application_id", "area"])
    assert len(picked) == 2 and picked["application_id"].tolist() == ["c", "a"] and list(picked["area"]) == ["urban", "urban"]
    assert columns.codes("area", ("rural", "urban")).tolist() == [1, 0, 1]
    assert columns.codes("area", ("urban",)).tolist() == [0, -1, 0]
    columns["area"] = pd.Categorical(["rural", "rural", "rural"])  # a replaced column forgets its codes
    assert columns.codes("area", ("rural", "urban")).tolist() == [0, 0, 0]


def test_a_copy_shares_the_arrays_and_takes_new_columns_alone(frame):
    columns = Columns(frame)
    copy = columns.copy()
    copy["capacity_kva"] = np.zeros(3)
    assert "capacity_kva" not in columns and copy.names == ["application_id", "area", "capacity", "capacity_kva"]
    assert copy["capacity"] is columns["capacity"]

