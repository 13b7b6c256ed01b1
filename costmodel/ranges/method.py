"""The budget-range method's settings, from tariffs/ranges/method.yaml (each with its unit and source)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from costmodel.errors import InputError
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.yamlio import check_keys, load_yaml

METHOD_FILE = Path("ranges") / "method.yaml"


@dataclass(frozen=True)
class Method:
    quantiles: tuple[float, float, float]  # low, median, high
    band_table_window_months: int
    calibration_window_months: int
    min_rows_per_group: int
    min_calibration_rows: int
    min_rows_per_band_cell: int
    min_history_rows: int
    model: dict  # HistGradientBoostingRegressor parameters

    def as_dict(self) -> dict:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@cached_per_root(maxsize=2)
def load_method() -> Method:
    """The settings in force (under the tariffs root)."""
    file = tariffs_dir() / METHOD_FILE
    names = [field.name for field in fields(Method)]
    raw = check_keys(load_yaml(file), str(file), {"description", *names})
    values = {}
    for name in names:
        entry = check_keys(raw[name], f"{file}: {name}", {"value", "unit", "reference"})
        values[name] = entry["value"]
    quantiles = values["quantiles"]
    if not (isinstance(quantiles, list) and len(quantiles) == 3 and all(isinstance(q, float) for q in quantiles)
            and 0 < quantiles[0] < quantiles[1] < quantiles[2] < 1):
        raise InputError(f"{file}: quantiles {quantiles!r}; allowed: three increasing probabilities in (0, 1), low, median, high")
    for name in names[1:-1]:
        if isinstance(values[name], bool) or not isinstance(values[name], int) or values[name] < 1:
            raise InputError(f"{file}: {name} {values[name]!r}; allowed: a whole number >= 1")
    if not isinstance(values["model"], dict):
        raise InputError(f"{file}: model {values['model']!r}; allowed: a mapping of HistGradientBoostingRegressor parameters")
    return Method(**{**values, "quantiles": tuple(quantiles)})
