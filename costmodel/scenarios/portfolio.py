"""Portfolios: many applications in one flat table (CSV, Parquet or Excel), validated row by row.

Each column is checked by the validator of the `Application` field it fills (`application.COLUMN_FIELDS`,
`field_adapter`: type, bounds, strict dates in the supported window, finite numbers, no booleans as numbers,
known labels and industries), so a portfolio row is accepted exactly when the same application written as
YAML or JSON would be, and refused naming the same field (tests/reliability/test_validation.py). Validation
is column-wise: each distinct value of a column is validated once (a numeric column by the field's bounds
over the whole array), and every row either goes through or is rejected with its row number, the field, the
value and what is allowed.

- An empty cell (NaN, None) means "not given": the field's default, as leaving the key out of a YAML file
  does; for a required field it is "missing".
- Unknown columns refuse the whole file, naming them and the allowed ones, as an unknown key refuses an
  application (the model forbids extra keys): a misspelt column would otherwise be ignored and its field
  quietly take its default. A portfolio has no column for the applicant's name.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pydantic import ValidationError

from costmodel import files
from costmodel.application import (COLUMN_FIELDS, ENTERPRISE_KINDS, FRAME_COLUMNS, INDIVIDUAL_BUSINESS_OWNERSHIP, field_adapter,
                                   supported_dates)
from costmodel.classification import known_industries
from costmodel.errors import InputError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xls": "excel"}
ENTERPRISE_ONLY = ["industry", "employees", "revenue_10k_cny", "assets_10k_cny", "size_class", "ownership"]
CATEGORY_COLUMNS = ["applicant_kind", "industry", "size_class", "ownership", "area", "park_level", "capacity_unit",
                    "supply", "duration", "voltage_requested"]
WITH_ENTERPRISE = " or ".join(ENTERPRISE_KINDS)  # the applicant kinds that take the enterprise columns
REJECTED_COLUMNS = ["row", "application_id", "field", "value", "reason"]


@dataclass
class Portfolio:
    """Accepted applications (the engine's frame, `row` = 1-based data row in the file) and rejected rows."""

    frame: pd.DataFrame
    rejected: pd.DataFrame  # row, application_id, field, value, reason
    rows_in: int
    source: str

    def __post_init__(self) -> None:
        if self.rows_in != len(self.frame) + len(self.rejected):
            raise AssertionError(f"{self.source}: {self.rows_in} rows in, {len(self.frame)} accepted + {len(self.rejected)} rejected")


def _spec(column: str) -> tuple[tuple | None, dict, bool, typing.Any]:
    """(allowed literal values or None, numeric bounds, integer?, default) of a frame column."""
    model, name = COLUMN_FIELDS[column]
    info = model.model_fields[name]
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    literal = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else None
    bounds = {}
    for item in info.metadata:
        for key in ("ge", "gt", "le", "lt", "max_length"):
            if hasattr(item, key):
                bounds[key] = getattr(item, key)
    default = None if info.is_required() else info.default
    integer = annotation is int or (literal is not None and all(isinstance(v, int) for v in literal))
    return literal, bounds, integer, default


def _required(column: str) -> bool:
    """A value must be given: the field has no default and cannot be null (an empty cell is null: "not known")."""
    model, name = COLUMN_FIELDS[column]
    info = model.model_fields[name]
    return info.is_required() and type(None) not in typing.get_args(info.annotation)


def read_table(path: str | Path, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The raw table of a portfolio file; an unreadable, unknown or empty file is an InputError naming it.
    `extra_columns`: columns allowed beside the application's (a history's outturn), checked by the caller."""
    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown portfolio format {path.suffix!r}; allowed: {', '.join(sorted(READERS))}")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        if kind == "csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        elif kind == "parquet":
            raw = _read_parquet(path)
        else:
            raw = pd.read_excel(path, dtype=object)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; a portfolio needs a header row with {', '.join(FRAME_COLUMNS)}") from None
    except Exception as error:  # any parser failure is the user's file, not a bug here
        raise InputError(f"{path}: cannot be read as {kind}: {error}") from None
    if raw.empty:
        raise InputError(f"{path}: no application rows; a portfolio needs at least one row under its header")
    check_columns(raw, str(path), extra_columns)
    return raw


def _read_parquet(path: Path) -> pd.DataFrame:
    """Label columns come back as categoricals straight from Parquet's dictionaries: a million rows hold a
    handful of distinct strings, which validation then checks once each."""
    schema = pq.read_schema(path)
    labels = [name for name in CATEGORY_COLUMNS
              if name in schema.names and (pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type))]
    return pd.read_parquet(path, read_dictionary=labels)


def check_columns(raw: pd.DataFrame, source: str, extra_columns: tuple[str, ...] = ()) -> None:
    missing = [c for c in FRAME_COLUMNS if c not in raw.columns and _required(c)]
    unknown = [c for c in raw.columns if c not in FRAME_COLUMNS and c not in extra_columns]
    if missing or unknown:
        raise InputError(f"{source}: columns missing {missing}, unknown {unknown}; allowed columns: "
                         f"{', '.join(FRAME_COLUMNS + list(extra_columns))}")


class _Problems:
    """Problems found column-wise: (row position, field, value, reason) kept as arrays."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, field: str, values: pd.Series, allowed: str, what: str = "is not allowed") -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        shown = values[mask].astype(object).map(repr).astype(str)
        self.parts.append(pd.DataFrame({
            "position": np.flatnonzero(mask),
            "field": field,
            "value": shown.to_numpy(),
            "reason": (field + " " + shown + f" {what}; allowed: {allowed}").to_numpy(),
        }))

    def bad(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for part in self.parts:
            mask[part["position"].to_numpy()] = True
        return mask

    def table(self, ids: pd.Series) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REJECTED_COLUMNS)
        found = pd.concat(self.parts, ignore_index=True).sort_values("position", kind="stable")
        grouped = found.groupby("position", sort=True).agg({"field": ", ".join, "value": " | ".join, "reason": "; ".join})
        positions = grouped.index.to_numpy()
        return pd.DataFrame({
            "row": positions + 1,
            "application_id": ids.to_numpy()[positions],
            "field": grouped["field"].to_numpy(),
            "value": grouped["value"].to_numpy(),
            "reason": grouped["reason"].to_numpy(),
        })


def _bounds_text(bounds: dict) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{words[k]} {v:g}" for k, v in bounds.items() if k in words)


# What a rejected value is, by the kind of pydantic error the field's validator gave.
OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number", "int_from_float",
                "string_too_long", "string_too_short"}
NOT_A_NUMBER = {"float_parsing", "float_type", "int_parsing", "int_type"}


@dataclass
class _Checked:
    """A column's values as its field reads them (missing where absent or rejected), and the rejected rows by
    what is wrong with them."""

    values: pd.Series
    failures: dict[str, np.ndarray]


def _allowed_text(column: str, literal: tuple | None, bounds: dict, integer: bool) -> str:
    if column == "application_date":
        earliest, latest = supported_dates()
        return f"a date YYYY-MM-DD from {earliest.isoformat()} to {latest.isoformat()}"
    if column == "in_project_database":
        return "true or false"
    if literal is not None:
        return ", ".join(map(str, literal))
    if column == "industry":
        return ", ".join(known_industries())
    if column == "application_id":
        return f"text of at most {bounds['max_length']} characters"
    return ("a whole number " if integer else "a number ") + _bounds_text(bounds)


def _what(error: dict) -> str:
    if error["type"] in OUT_OF_RANGE:
        return "is out of range"
    if error["type"] in NOT_A_NUMBER:
        return "is not a number"
    if error["type"] == "value_error":
        return f"is not allowed ({error['msg'].removeprefix('Value error, ')})"
    return "is not allowed"


def _checked(column: str, values: pd.Series, absent: np.ndarray, literal: tuple | None, bounds: dict, integer: bool) -> _Checked:
    """The column checked by its field's validator (application.field_adapter): each distinct value once; a
    numeric column by the field's bounds over the whole array (what pydantic checks of a finite number)."""
    if values.dtype.kind in "fiu" and literal is None and (bounds or integer):
        array = values.to_numpy(dtype=float)
        checks = {"ge": np.less, "gt": np.less_equal, "le": np.greater, "lt": np.greater_equal}
        with np.errstate(invalid="ignore"):
            outside = ~np.isfinite(array) & ~np.isnan(array)
            for key, failing in checks.items():
                if key in bounds:
                    outside |= failing(array, bounds[key])
            if integer:
                outside |= np.isfinite(array) & (array != np.round(array))
        return _Checked(pd.Series(np.where(outside, np.nan, array), index=values.index), {"is out of range": outside})
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), list(values.cat.categories)
    else:
        codes, uniques = pd.factorize(values.to_numpy(dtype=object) if values.dtype.kind != "M" else values)
        uniques = list(uniques)
    items = [u.item() if isinstance(u, np.generic) else u for u in uniques]
    adapter = field_adapter(column, many=True)
    whats: dict[str, list[int]] = {}
    try:
        validated = adapter.validate_python(items)
    except ValidationError as error:
        failed: dict[int, dict] = {}
        for item in error.errors(include_url=False):
            failed.setdefault(item["loc"][0], item)
        for position, item in failed.items():
            whats.setdefault(_what(item), []).append(position)
        good = [i for i in range(len(items)) if i not in failed]
        validated = [None] * len(items)
        for position, value in zip(good, adapter.validate_python([items[i] for i in good])):
            validated[position] = value
    failures = {what: ~absent & np.isin(codes, positions) for what, positions in whats.items()}
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _Checked(values, failures)
    taken = np.array(validated + [None], dtype=object)[codes]  # code -1 (absent) takes the last entry
    if column == "application_date":
        return _Checked(pd.Series(pd.to_datetime(taken), index=values.index).dt.normalize(), failures)
    if column in ("application_id", "industry", "in_project_database"):
        return _Checked(pd.Series(taken, index=values.index), failures)
    return _Checked(pd.Series(pd.to_numeric(taken), index=values.index, dtype=float), failures)


def id_length_bounds() -> tuple[int, int]:
    """The shortest and longest application_id the validator accepts (characters)."""
    model, name = COLUMN_FIELDS["application_id"]
    bounds = {key: getattr(item, key) for item in model.model_fields[name].metadata
              for key in ("min_length", "max_length") if getattr(item, key, None) is not None}
    return bounds.get("min_length", 0), bounds["max_length"]


def validate_frame(raw: pd.DataFrame, source: str = "portfolio", repeated: np.ndarray | None = None) -> Portfolio:
    """Every row accepted into the engine's frame or rejected with its reason; nothing lost.

    `repeated`: where the application_id repeats an earlier row, when found over a larger whole than this frame
    (a partition of a dataset: costmodel.scenarios.dataset); by default within the frame.
    """
    check_columns(raw, source)
    n = len(raw)
    raw = raw.copy(deep=False)  # positions as the index, without copying a million rows
    raw.index = pd.RangeIndex(n)
    problems = _Problems(n)
    out: dict[str, pd.Series] = {}
    absent_in: dict[str, np.ndarray] = {}
    kinds = raw["applicant_kind"].astype("category")
    enterprise = kinds.isin(ENTERPRISE_KINDS).to_numpy()  # the rows that take the enterprise columns
    individual_business = kinds.eq("individual_business").to_numpy()

    for column in FRAME_COLUMNS:
        values = raw[column] if column in raw.columns else pd.Series(None, index=raw.index, dtype=object)
        if column in CATEGORY_COLUMNS:  # each distinct value is checked once, then spread by code
            values = values.astype("category")
        literal, bounds, integer, default = _spec(column)
        absent = absent_in[column] = values.isna().to_numpy()
        if column in ENTERPRISE_ONLY:
            problems.add(~absent & ~enterprise, column, values, f"empty unless applicant_kind is {WITH_ENTERPRISE}",
                         "is given for a non-enterprise")
        if _required(column):
            problems.add(absent, column, values, "a value (required)", "is missing")
        allowed = _allowed_text(column, literal, bounds, integer)
        checked = _checked(column, values, absent, literal, bounds, integer)
        for what, bad in checked.failures.items():
            problems.add(bad, column, values, allowed, what)
        if column == "in_project_database":
            given = checked.values.to_numpy() == True  # noqa: E712 - absent or rejected: None
            problems.add(given & ~enterprise, column, values, f"false unless applicant_kind is {WITH_ENTERPRISE}",
                         "is given for a non-enterprise")
            out[column] = pd.Series(given, index=raw.index)
        elif column == "application_date":
            out[column] = checked.values
        elif column in CATEGORY_COLUMNS:
            labels = checked.values
            if default is not None and column not in ENTERPRISE_ONLY:
                labels = _filled(labels, absent, default)
            elif column == "ownership":  # empty: unknown; an individual business's is private, given or not
                problems.add(individual_business & ~absent & values.ne(INDIVIDUAL_BUSINESS_OWNERSHIP).to_numpy(), column, values,
                             f"{INDIVIDUAL_BUSINESS_OWNERSHIP} or empty for an individual business (个体工商户)",
                             "is not allowed for an individual business")
                labels = _filled(labels, absent & individual_business, INDIVIDUAL_BUSINESS_OWNERSHIP)
            out[column] = labels
        elif column == "application_id":
            out[column] = checked.values
        else:  # numbers
            array = checked.values.to_numpy(dtype=float)
            if default is not None and column not in ENTERPRISE_ONLY:
                array = np.where(np.isnan(array), float(default), array)
            out[column] = pd.Series(array, index=raw.index)

    # an enterprise row with neither (a value given but refused is already named by its own column)
    underivable = enterprise & absent_in["size_class"] & absent_in["industry"]
    problems.add(underivable, "size_class", out["size_class"], "a size class (large, medium, small, micro) or an industry with its figures",
                 "is missing")
    duplicated = repeated if repeated is not None else \
        out["application_id"].duplicated(keep="first").to_numpy() & out["application_id"].notna().to_numpy()
    problems.add(duplicated, "application_id", out["application_id"], "each application_id once", "repeats an earlier row")

    bad = problems.bad()
    rejected = problems.table(out["application_id"])
    keep = np.flatnonzero(~bad)
    # Columns are taken row-wise once and the frame built once: block copies of a million rows cost more
    # than the checks themselves.
    columns: dict[str, object] = {"row": keep + 1}
    for column in FRAME_COLUMNS:
        values = out[column]
        if column in ("phases", "road_crossings"):  # accepted rows have a whole number here
            columns[column] = values.to_numpy(dtype=float)[keep].astype(int)
        elif column in CATEGORY_COLUMNS:  # low-cardinality text: a million rows stay small and compare fast
            columns[column] = _kept_labels(values.array, keep)
        else:
            columns[column] = values.to_numpy()[keep]
    return Portfolio(pd.DataFrame(columns, copy=False), rejected, n, source)


def _filled(labels: pd.Series, where: np.ndarray, value: str) -> pd.Series:
    """A categorical column with `value` at the rows `where`."""
    if not where.any():
        return labels
    if value not in labels.cat.categories:
        labels = labels.cat.add_categories([value])
    codes = labels.cat.codes.to_numpy().copy()
    codes[where] = labels.cat.categories.get_loc(value)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=labels.dtype), index=labels.index)


def _kept_labels(labels: pd.Categorical, keep: np.ndarray) -> pd.Categorical:
    """The kept rows of a categorical, with only the categories they use, sorted whatever order the file's
    dictionary had (so equal data gives equal frames)."""
    codes = labels.codes[keep]
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(labels.categories)))
    categories = labels.categories[used]
    try:
        categories = categories.sort_values()
    except TypeError:  # mixed kinds of values (a spreadsheet's numbers and text) have no order
        pass
    recode = np.full(len(labels.categories) + 1, -1, dtype=np.int32)  # the last entry serves code -1 (missing)
    recode[used] = categories.get_indexer(labels.categories[used])
    return pd.Categorical.from_codes(recode[codes], categories=categories)


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a portfolio file."""
    return validate_frame(read_table(path), str(path))


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """A table to CSV, Parquet or Excel by the file's suffix (costmodel.files: written whole or not at all,
    formula-like text neutralised)."""
    return files.write_table(frame, path, date_format="%Y-%m-%d")
