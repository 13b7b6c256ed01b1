"""Conditions of rules and designs, written as data and evaluated over whole columns.

A condition is a mapping with one left operand and one comparison:
  {field: park_level, in: [national, provincial]}
  {quantity: capacity, le: {param: supply_voltage.low_voltage_cap}}   # kVA or kW by the parameter's unit
  {param: red_line_extension.in_effect, eq: true}
  {any: [...]} / {all: [...]}
A right operand is a literal, {param: path} or {field: column}.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.errors import InputError

COMPARISONS = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
MEMBERSHIP = {"in", "not_in"}
SYMBOLS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in"}
QUANTITY_COLUMNS = {("capacity", "kVA"): "capacity_kva", ("capacity", "kW"): "capacity_kw"}
LEFT_KEYS = {"field", "quantity", "param"}


def validate_condition(spec: Any, where: str) -> None:
    if not isinstance(spec, dict):
        raise InputError(f"{where}: a condition must be a mapping, got {spec!r}")
    if set(spec) & {"any", "all"}:
        if len(spec) != 1 or not isinstance(next(iter(spec.values())), list):
            raise InputError(f"{where}: 'any'/'all' take a list of conditions and nothing else: {spec!r}")
        for inner in next(iter(spec.values())):
            validate_condition(inner, where)
        return
    left = set(spec) & LEFT_KEYS
    ops = set(spec) & (set(COMPARISONS) | MEMBERSHIP)
    extra = set(spec) - LEFT_KEYS - set(COMPARISONS) - MEMBERSHIP - {"unit"}
    if len(left) != 1 or len(ops) != 1 or extra:
        raise InputError(
            f"{where}: condition {spec!r} needs one of {sorted(LEFT_KEYS)} and one of "
            f"{sorted(set(COMPARISONS) | MEMBERSHIP)} (plus 'unit' for a quantity with a literal)"
        )


def parameters_in(spec: Any) -> list[str]:
    """Every parameter path a condition reads, in order."""
    found: list[str] = []
    if isinstance(spec, dict):
        if "param" in spec and isinstance(spec["param"], str):
            found.append(spec["param"])
        for value in spec.values():
            if isinstance(value, (dict, list)):
                found.extend(parameters_in(value))
    elif isinstance(spec, list):
        for item in spec:
            found.extend(parameters_in(item))
    return list(dict.fromkeys(found))


def _quantity_unit(spec: dict, ruleset) -> str:
    op = next(k for k in spec if k in COMPARISONS or k in MEMBERSHIP)
    right = spec[op]
    if isinstance(right, dict) and "param" in right:
        return ruleset.parameter(right["param"]).unit
    if "unit" in spec:
        return spec["unit"]
    raise InputError(f"condition {spec!r}: a quantity compared with a literal needs a 'unit'")


def left_column(spec: dict, ruleset) -> str | None:
    if "field" in spec:
        return spec["field"]
    if "quantity" in spec:
        key = (spec["quantity"], _quantity_unit(spec, ruleset))
        if key not in QUANTITY_COLUMNS:
            allowed = ", ".join(f"{q} in {u}" for q, u in QUANTITY_COLUMNS)
            raise InputError(f"condition {spec!r}: no quantity {key[0]} in {key[1]}; allowed: {allowed}")
        return QUANTITY_COLUMNS[key]
    return None


def operand(value: Any, frame: Columns, ruleset) -> Any:
    if isinstance(value, dict) and "param" in value:
        return ruleset.parameter(value["param"]).array(frame)
    if isinstance(value, dict) and "field" in value:
        return np.asarray(_column(frame, value["field"]))
    return value


def _column(frame: Columns, name: str):
    if name not in frame:
        raise InputError(f"a rule reads the field {name!r}, which the application frame does not have")
    return frame[name]


def _isin(values, allowed: list) -> np.ndarray:
    if isinstance(values, pd.Categorical):
        return values.isin(allowed)
    return pd.Index(values).isin(allowed)


def evaluate(spec: dict, frame: Columns | pd.DataFrame, ruleset) -> np.ndarray:
    """Boolean array, one per row: where the condition holds."""
    frame = Columns.of(frame)
    if "any" in spec or "all" in spec:
        parts = [evaluate(inner, frame, ruleset) for inner in next(iter(spec.values()))]
        combine = np.logical_or if "any" in spec else np.logical_and
        return combine.reduce([np.full(len(frame), "all" in spec)] + parts)
    column = left_column(spec, ruleset)
    op = next(k for k in spec if k in COMPARISONS or k in MEMBERSHIP)
    right = spec[op]
    if column is None:
        left = ruleset.parameter(spec["param"]).array(frame)
    else:
        left = _column(frame, column)
    if op in MEMBERSHIP:
        result = _membership(left, right, frame, ruleset)
        return ~result if op == "not_in" else result
    right_value = operand(right, frame, ruleset)
    with np.errstate(invalid="ignore"):
        if isinstance(left, pd.Categorical) and not isinstance(right_value, np.ndarray):
            # Compare each category once, then spread by code (code -1, missing, compares as NaN).
            per_category = COMPARISONS[op](np.append(left.categories.to_numpy(dtype=object), np.nan), right_value)
            return np.asarray(per_category, dtype=bool)[left.codes]
        return np.asarray(COMPARISONS[op](np.asarray(left), right_value), dtype=bool)


def evaluate_all(specs, frame: Columns | pd.DataFrame, ruleset, seen: dict | None = None) -> np.ndarray:
    """Boolean array: where every condition of `specs` holds (everywhere if there are none). `seen`, kept
    by the caller for one frame and rule set, holds each distinct condition's result, so a condition that
    several rules or components share is evaluated once."""
    frame = Columns.of(frame)
    holds = np.ones(len(frame), dtype=bool)
    for spec in specs:
        key = repr(spec)  # equal text, equal condition: yaml gives repeated conditions the same key order
        result = None if seen is None else seen.get(key)
        if result is None:
            result = evaluate(spec, frame, ruleset)
            if seen is not None:
                seen[key] = result
        holds &= result
    return holds


def _membership(left, right: Any, frame: Columns, ruleset) -> np.ndarray:
    if isinstance(right, dict) and "param" in right:
        parameter = ruleset.parameter(right["param"])
        indices = parameter.date_indices(frame["evaluation_date"])
        if isinstance(left, pd.Categorical):
            # Each category tested once per dated value, then spread by code (code -1, missing, is in no list).
            categories = left.categories
            holds = np.array([np.append(categories.isin(list(value)), False) for value in parameter.values])
            return holds[indices, left.codes]
        result = np.zeros(len(frame), dtype=bool)
        for index in np.unique(indices):
            rows = indices == index
            result[rows] = _isin(left[rows], list(parameter.values[index]))
        return result
    if not isinstance(right, list):
        raise InputError(f"'in' needs a list or a list parameter, got {right!r}")
    return _isin(left, right)


def _shown(value: Any) -> Any:
    """A value as the trace shows it: a missing one as None, whether the frame held None (one application) or
    NaN (a portfolio's label column), so both give the same trace."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def describe(spec: dict, frame: Columns | pd.DataFrame, ruleset, seen: dict | None = None) -> list[str]:
    """The condition for each application, with the values it read: for the trace (`seen` as in `evaluate_all`)."""
    frame = Columns.of(frame)
    if "any" in spec or "all" in spec:
        word = " or " if "any" in spec else " and "
        parts = [describe(inner, frame, ruleset, seen) for inner in next(iter(spec.values()))]
        return ["(" + word.join(texts) + ")" for texts in zip(*parts)]

    def side(value: Any, column: str | None = None) -> list[str]:
        if isinstance(value, dict) and "param" in value:
            return ruleset.parameter(value["param"]).describe_values(frame)
        if isinstance(value, dict) and "field" in value:
            return [f"{value['field']} {_shown(v)}" for v in frame[value["field"]]]
        if column is not None:
            return [f"{column} {_shown(v)}" for v in frame[column]]
        return [str(value)] * len(frame)

    column = left_column(spec, ruleset)
    left = side({"param": spec["param"]}) if column is None else side(None, column)
    op = next(k for k in spec if k in COMPARISONS or k in MEMBERSHIP)
    holds = evaluate_all([spec], frame, ruleset, seen)
    right = side(spec[op])
    return [f"{l} {SYMBOLS[op]} {r}: {'yes' if h else 'no'}" for l, r, h in zip(left, right, holds)]
