"""The columns of an application frame as bare arrays, each taken from the frame once.

Rules, designs and the trace read dozens of columns and add a few. On the 16 rows of a coalesced
web request pandas' cost per call (a Series per read, a block insert per new column) outweighed the
work itself, so they read and add columns here, and `to_frame` builds the result frame once. A
million rows take the same path: every column is still one array.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd


@lru_cache(maxsize=256)
def _index(categories: tuple) -> pd.Index:
    return pd.Index(categories)


def _values(column: pd.Series):
    """A categorical stays a Categorical (codes and categories); anything else becomes a numpy array."""
    return column.array if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy()


class Columns:
    """Named columns of equal length: those of a frame (taken on first read) plus columns added."""

    def __init__(self, frame: pd.DataFrame | None = None, arrays: dict | None = None, length: int | None = None):
        self._frame = frame
        self._arrays: dict = dict(arrays or {})
        self._codes: dict = {}
        self._length = len(frame) if frame is not None else int(length)

    @classmethod
    def of(cls, data: Columns | pd.DataFrame) -> Columns:
        return data if isinstance(data, Columns) else cls(data)

    def __len__(self) -> int:
        return self._length

    def __contains__(self, name: str) -> bool:
        return name in self._arrays or (self._frame is not None and name in self._frame.columns)

    def __getitem__(self, name: str):
        values = self._arrays.get(name)
        if values is None:
            if self._frame is None or name not in self._frame.columns:
                raise KeyError(name)
            values = self._arrays[name] = _values(self._frame[name])
        return values

    def __setitem__(self, name: str, values) -> None:
        if len(values) != self._length:
            raise ValueError(f"column {name!r} has {len(values)} values for {self._length} rows")
        self._arrays[name] = values
        self._codes = {key: codes for key, codes in self._codes.items() if key[0] != name}

    def codes(self, name: str, categories: tuple) -> np.ndarray:
        """Each row's position in `categories` (-1 if absent), found once per column and list: several
        parameters broken down by the same column (the area) ask for the same codes."""
        key = (name, categories)
        if key not in self._codes:
            index, values = _index(categories), self[name]
            if isinstance(values, pd.Categorical):  # each category looked up once, spread by code (-1 stays -1)
                self._codes[key] = np.append(index.get_indexer(values.categories), -1)[values.codes]
            else:
                self._codes[key] = index.get_indexer(values)
        return self._codes[key]

    @property
    def names(self) -> list[str]:
        inherited = list(self._frame.columns) if self._frame is not None else []
        return list(dict.fromkeys(inherited + list(self._arrays)))

    def copy(self) -> Columns:
        """The same arrays (shared, not copied) in a new set of columns: a column added to it leaves this one as it was."""
        return Columns(arrays={name: self[name] for name in self.names}, length=self._length)

    def take(self, positions: np.ndarray, names: Iterable[str]) -> Columns:
        """The rows at `positions` of the named columns."""
        return Columns(arrays={name: self[name][positions] for name in names}, length=len(positions))

    def to_frame(self) -> pd.DataFrame:
        """Every column as one frame indexed by position, built once, without copying the arrays."""
        return pd.DataFrame({name: self[name] for name in self.names}, index=pd.RangeIndex(self._length), copy=False)
