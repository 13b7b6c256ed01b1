"""Portfolios: many applications in one flat table (CSV, Parquet or Excel), validated row by row.

The allowed values and bounds are read from the pydantic `Application` model, so a portfolio row is
accepted exactly when the same application written as YAML would be. Validation is column-wise: every
row either goes through or is rejected with its row number, the field, the value and what is allowed.
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

from costmodel import files
from costmodel.application import (ENTERPRISE_KINDS, FRAME_COLUMNS, INDIVIDUAL_BUSINESS_OWNERSHIP, Applicant, Application, Enterprise,
                                   Request, Site)
from costmodel.classification import allowed_industries, load_size_table
from costmodel.errors import InputError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xls": "excel"}
# frame column -> (model, field) whose annotation and bounds it must satisfy
FIELDS = {
    "application_id": (Application, "id"),
    "application_date": (Application, "application_date"),
    "applicant_kind": (Applicant, "kind"),
    "industry": (Enterprise, "industry"),
    "employees": (Enterprise, "employees"),
    "revenue_10k_cny": (Enterprise, "operating_revenue_10k_cny"),
    "assets_10k_cny": (Enterprise, "total_assets_10k_cny"),
    "size_class": (Enterprise, "size_class"),
    "ownership": (Enterprise, "ownership"),
    "in_project_database": (Enterprise, "in_project_database"),
    "area": (Site, "area"),
    "park_level": (Site, "park_level"),
    "distance_to_lv_m": (Site, "distance_to_lv_m"),
    "distance_to_10kv_m": (Site, "distance_to_10kv_m"),
    "transformer_headroom_kva": (Site, "transformer_headroom_kva"),
    "road_crossings": (Site, "road_crossings"),
    "capacity": (Request, "capacity"),
    "capacity_unit": (Request, "capacity_unit"),
    "power_factor": (Request, "power_factor"),
    "phases": (Request, "phases"),
    "supply": (Request, "supply"),
    "duration": (Request, "duration"),
    "voltage_requested": (Request, "voltage_requested"),
}
ENTERPRISE_ONLY = ["industry", "employees", "revenue_10k_cny", "assets_10k_cny", "size_class", "ownership"]
CATEGORY_COLUMNS = ["applicant_kind", "industry", "size_class", "ownership", "area", "park_level", "capacity_unit",
                    "supply", "duration", "voltage_requested"]
WITH_ENTERPRISE = " or ".join(ENTERPRISE_KINDS)  # the applicant kinds that take the enterprise columns
REJECTED_COLUMNS = ["row", "application_id", "field", "value", "reason"]
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


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
    model, name = FIELDS[column]
    info = model.model_fields[name]
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
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
    model, name = FIELDS[column]
    return model.model_fields[name].is_required()


def read_table(path: str | Path) -> pd.DataFrame:
    """The raw table of a portfolio file; an unreadable, unknown or empty file is an InputError naming it."""
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
    check_columns(raw, str(path))
    return raw


def _read_parquet(path: Path) -> pd.DataFrame:
    """Label columns come back as categoricals straight from Parquet's dictionaries: a million rows hold a
    handful of distinct strings, which validation then checks once each."""
    schema = pq.read_schema(path)
    labels = [name for name in CATEGORY_COLUMNS
              if name in schema.names and (pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type))]
    return pd.read_parquet(path, read_dictionary=labels)


def check_columns(raw: pd.DataFrame, source: str) -> None:
    missing = [c for c in FRAME_COLUMNS if c not in raw.columns and _required(c)]
    unknown = [c for c in raw.columns if c not in FRAME_COLUMNS]
    if missing or unknown:
        raise InputError(f"{source}: columns missing {missing}, unknown {unknown}; allowed columns: {', '.join(FRAME_COLUMNS)}")


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


def validate_frame(raw: pd.DataFrame, source: str = "portfolio") -> Portfolio:
    """Every row accepted into the engine's frame or rejected with its reason; nothing lost."""
    check_columns(raw, source)
    n = len(raw)
    raw = raw.copy(deep=False)  # positions as the index, without copying a million rows
    raw.index = pd.RangeIndex(n)
    problems = _Problems(n)
    out: dict[str, pd.Series] = {}
    kinds = raw["applicant_kind"].astype("category")
    enterprise = kinds.isin(ENTERPRISE_KINDS).to_numpy()  # the rows that take the enterprise columns
    individual_business = kinds.eq("individual_business").to_numpy()

    for column in FRAME_COLUMNS:
        if column == "application_date":
            continue
        values = raw[column] if column in raw.columns else pd.Series(None, index=raw.index, dtype=object)
        if column in CATEGORY_COLUMNS:  # each distinct value is checked once, then spread by code
            values = values.astype("category")
        literal, bounds, integer, default = _spec(column)
        absent = values.isna().to_numpy()
        if column in ENTERPRISE_ONLY:
            problems.add(~absent & ~enterprise, column, values, f"empty unless applicant_kind is {WITH_ENTERPRISE}",
                         "is given for a non-enterprise")
        if column == "in_project_database":
            out[column] = _booleans(values, problems, enterprise)
            continue
        if _required(column):
            problems.add(absent, column, values, "a value (required)", "is missing")
        if literal is not None:
            allowed = list(literal)
            if integer:
                number = pd.to_numeric(values, errors="coerce")
                bad = ~absent & ~number.isin(allowed).to_numpy()
                problems.add(bad, column, values, ", ".join(map(str, allowed)))
                out[column] = number.fillna(default).astype(int) if default is not None else number
                continue
            labels = values.cat
            allowed_code = np.append(labels.categories.isin(allowed), False)  # code -1 (absent) is not checked here
            problems.add(~allowed_code[labels.codes.to_numpy()] & ~absent, column, values, ", ".join(map(str, allowed)))
            if default is not None and column not in ENTERPRISE_ONLY:
                out[column] = _filled(values, absent, default)
            elif column == "ownership":  # empty: unknown; an individual business's is private, given or not
                problems.add(individual_business & ~absent & values.ne(INDIVIDUAL_BUSINESS_OWNERSHIP).to_numpy(), column, values,
                             f"{INDIVIDUAL_BUSINESS_OWNERSHIP} or empty for an individual business (个体工商户)",
                             "is not allowed for an individual business")
                out[column] = _filled(values, absent & individual_business, INDIVIDUAL_BUSINESS_OWNERSHIP)
            else:
                out[column] = values
        elif column in ("application_id", "industry"):
            text = values if column in CATEGORY_COLUMNS else values.astype(object).where(~absent, None)
            if "max_length" in bounds:
                length = _lengths(text)
                problems.add(~absent & (length > bounds["max_length"]), column, values, f"at most {bounds['max_length']} characters")
            out[column] = text
        else:
            number = pd.to_numeric(values, errors="coerce")
            if values.dtype == bool:
                number = pd.Series(np.nan, index=values.index)
            not_number = ~absent & number.isna().to_numpy()
            problems.add(not_number, column, values, "a number" + (" " + _bounds_text(bounds) if bounds else ""), "is not a number")
            array = number.to_numpy(dtype=float)
            checks = {"ge": np.less, "gt": np.less_equal, "le": np.greater, "lt": np.greater_equal}
            with np.errstate(invalid="ignore"):
                outside = ~np.isfinite(array) & ~np.isnan(array)
                for key, failing in checks.items():
                    if key in bounds:
                        outside |= failing(array, bounds[key])
                if integer:
                    outside |= np.isfinite(array) & (array != np.round(array))
            problems.add(outside, column, values, ("a whole number " if integer else "a number ") + _bounds_text(bounds), "is out of range")
            if default is not None and column not in ENTERPRISE_ONLY:
                array = np.where(np.isnan(array), float(default), array)
            out[column] = pd.Series(array, index=raw.index)

    dates = pd.to_datetime(raw["application_date"], errors="coerce", format="mixed") if raw["application_date"].dtype == object \
        else pd.to_datetime(raw["application_date"], errors="coerce")
    date_absent = raw["application_date"].isna().to_numpy()
    problems.add(date_absent, "application_date", raw["application_date"], "a date YYYY-MM-DD (required)", "is missing")
    problems.add(~date_absent & dates.isna().to_numpy(), "application_date", raw["application_date"], "a date YYYY-MM-DD", "is not a date")
    out["application_date"] = dates.dt.normalize()

    industries = allowed_industries(load_size_table())
    industry = out["industry"]
    problems.add(enterprise & industry.notna().to_numpy() & ~industry.isin(industries).to_numpy(), "industry", industry,
                 ", ".join(industries))
    underivable = enterprise & out["size_class"].isna().to_numpy() & industry.isna().to_numpy()
    problems.add(underivable, "size_class", out["size_class"], "a size class (large, medium, small, micro) or an industry with its figures",
                 "is missing")
    duplicated = out["application_id"].duplicated(keep="first").to_numpy() & out["application_id"].notna().to_numpy()
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


def _lengths(text: pd.Series) -> np.ndarray:
    """Characters in each value; 0 for a missing value or a number."""
    try:  # all text, as a portfolio's ids nearly always are: Python's len, without pandas' per-value wrapping
        return np.fromiter(map(len, text.to_numpy()), dtype=np.int64, count=len(text))
    except TypeError:
        return text.str.len().fillna(0).to_numpy()


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


def _booleans(values: pd.Series, problems: _Problems, enterprise: np.ndarray) -> pd.Series:
    if values.dtype == bool:
        return values.where(enterprise, False)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    true, false = text.isin(TRUE_WORDS).to_numpy(), text.isin(FALSE_WORDS).to_numpy()
    problems.add(~true & ~false, "in_project_database", values, "true or false")
    problems.add(true & ~enterprise, "in_project_database", values, f"false unless applicant_kind is {WITH_ENTERPRISE}",
                 "is given for a non-enterprise")
    return pd.Series(true, index=values.index)


def load_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a portfolio file."""
    return validate_frame(read_table(path), str(path))


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """A table to CSV, Parquet or Excel by the file's suffix (costmodel.files: written whole or not at all,
    formula-like text neutralised)."""
    return files.write_table(frame, path, date_format="%Y-%m-%d")
