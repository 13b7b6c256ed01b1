import numpy as np
import pandas as pd

from costmodel.labels import labels_from_codes, pick_labels


def test_repeated_labels_share_a_category_and_code_minus_one_is_missing():
    labels = labels_from_codes(np.array([0, 2, 1, -1, 2]), ["kVA", "kW", "kVA"])
    assert list(labels.categories) == ["kVA", "kW"]
    assert labels.astype(object).tolist()[:3] == ["kVA", "kVA", "kW"]
    assert labels.isna().tolist() == [False, False, False, True, False]


def test_pick_labels_takes_each_row_from_the_first_or_the_second_keeping_missing_values():
    first = pd.Categorical(["a", "b", None, "a"])
    second = pd.Categorical(["c", None, "b", "d"])
    picked = pick_labels(np.array([True, False, True, False]), first, second)
    assert isinstance(picked, pd.Categorical)
    assert [None if pd.isna(v) else v for v in picked] == ["a", None, None, "d"]
    same = pick_labels(np.array([False, True, True, False]), pd.Categorical(["x", "y", "x", "y"]), pd.Categorical(["y", "x", "y", "x"]))
    assert list(same) == ["y", "y", "x", "x"] and list(same.categories) == ["x", "y"]
