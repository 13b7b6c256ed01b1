import numpy as np

from costmodel.labels import labels_from_codes


def test_repeated_labels_share_a_category_and_code_minus_one_is_missing():
    labels = labels_from_codes(np.array([0, 2, 1, -1, 2]), ["kVA", "kW", "kVA"])
    assert list(labels.categories) == ["kVA", "kW"]
    assert labels.astype(object).tolist()[:3] == ["kVA", "kVA", "kW"]
    assert labels.isna().tolist() == [False, False, False, True, False]
