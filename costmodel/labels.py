"""Label columns (rule ids, outcomes, component names) as categoricals built from integer codes.

A million quote lines carry a handful of distinct labels: codes into a short list keep them small
and let comparisons and groupings work on integers, never on a million strings.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd


@lru_cache(maxsize=1024)
def _recoding(labels: tuple) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """Codes into `labels` -> codes into its distinct labels, and their dtype: made once per list of labels
    (a batch of 16 quotes asks for the same few lists dozens of times)."""
    categories = list(dict.fromkeys(labels))
    # The smallest code type pandas would pick anyway, so it keeps our codes without another pass over them.
    small = np.int8 if len(categories) < np.iinfo(np.int8).max else np.int16 if len(categories) < np.iinfo(np.int16).max else np.int32
    recode = np.array([categories.index(label) for label in labels] + [-1], dtype=small)  # the last entry serves code -1
    return recode, pd.CategoricalDtype(categories)


def labels_from_codes(codes: np.ndarray, labels: list) -> pd.Categorical:
    """Per-row labels from codes into `labels` (which may repeat; code -1 is missing), as a categorical."""
    recode, dtype = _recoding(tuple(labels))
    return pd.Categorical.from_codes(recode[codes], dtype=dtype, validate=False)


def _recoded(values: pd.Categorical, categories: pd.Index) -> np.ndarray:
    """The codes of `values` into `categories` (a superset of its own), -1 kept for missing."""
    return np.append(categories.get_indexer(values.categories), -1)[values.codes]


def pick_labels(take_first: np.ndarray, first: pd.Categorical, second: pd.Categorical) -> pd.Categorical:
    """Elementwise first-or-second of two categoricals, still categorical (by codes: no categorical is rebuilt from
    its values, which costs most of a small batch)."""
    if first.categories.equals(second.categories):
        categories, first_codes, second_codes = first.categories, first.codes, second.codes
    else:
        categories = first.categories.append(second.categories[~second.categories.isin(first.categories)])
        first_codes, second_codes = _recoded(first, categories), _recoded(second, categories)
    return pd.Categorical.from_codes(np.where(take_first, first_codes, second_codes), dtype=pd.CategoricalDtype(categories),
                                     validate=False)
