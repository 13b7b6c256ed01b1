"""Expand applications into components from a standard scheme, column-wise.

The scheme itself is data (tariffs/designs/<id>/scheme.yaml); this module only knows how to read
its `when`, `select` and `quantity` entries. Components come out in long format: one row per
(application, component).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from costmodel.columns import Columns
from costmodel.costs.catalog import Catalog, load_catalog
from costmodel.errors import InputError
from costmodel.labels import labels_from_codes
from costmodel.params.parameter import Parameter
from costmodel.paths import cached_per_root, tariffs_dir
from costmodel.rules import conditions
from costmodel.yamlio import check_keys, load_yaml

# grid_owned: what the grid company supplies whatever the boundary (its metering devices), upstream of every boundary.
ZONES = ("grid_owned", "upstream", "extension", "site", "installation")
COMPONENT_COLUMNS = ["application_id", "component", "std_type", "zone", "quantity", "unit", "design_rule"]
# The application's grid-side facts that may be left unknown (None): the scheme says what to assume for each.
UNKNOWABLE = ("transformer_headroom_kva", "distance_to_lv_m")
FIELD_UNITS = {"transformer_headroom_kva": "kVA", "distance_to_lv_m": "m"}
ENDS = ("low", "high")


def assume_unknowns(decided: Columns, scheme: Scheme, ruleset) -> dict[str, np.ndarray]:
    """Fill each unknown (missing) grid-side field of `decided` with the scheme's assumption, in place; returns, by
    field, the mask of the rows that were assumed."""
    context = _WithDesignParameters(ruleset, scheme)
    assumed = {}
    for name, spec in scheme.unknowns.items():
        values = np.asarray(decided[name], dtype=float)
        missing = np.isnan(values)
        if missing.any():
            assumed[name] = missing
            decided[name] = _filled(values, missing, spec["assume"], decided, context)
    return assumed


def _filled(values: np.ndarray, rows: np.ndarray, operand, decided: Columns, context) -> np.ndarray:
    """`values` with the rows of the mask set to the operand (a number, {param: ...} or {field: ...}) on those rows."""
    positions = np.flatnonzero(rows)
    out = values.copy()
    out[positions] = np.broadcast_to(np.asarray(conditions.operand(operand, decided.take(positions, decided.names), context),
                                                dtype=float), (len(positions),))
    return out


def assumption_of(decided: Columns, row: int, name: str, scheme: Scheme, ruleset) -> dict:
    """What was assumed for an unknown field of one row of `decided`: the value, its ends and the clause it rests on."""
    context = _WithDesignParameters(ruleset, scheme)
    one = decided.take(np.array([row]), decided.names)
    spec = scheme.unknowns[name]
    value, low, high = (float(np.asarray(conditions.operand(spec[key], one, context), dtype=float).reshape(-1)[0])
                        for key in ("assume", "low", "high"))
    paths = conditions.parameters_in(spec["assume"])
    cites = context.parameter(paths[0]).reference_on(pd.Timestamp(one["evaluation_date"][0]).date()).cite() if paths else ""
    return {"field": name, "value": value, "low": low, "high": high, "unit": FIELD_UNITS[name], "cites": cites}


def unknown_ends(decided: Columns, assumed: dict[str, np.ndarray], scheme: Scheme, ruleset) -> tuple[Columns, np.ndarray]:
    """The rows with an assumed field, once per combination of the ends of their assumed fields (low and high
    each), and the position in `decided` each variant comes from: what the quote's range is priced over."""
    context = _WithDesignParameters(ruleset, scheme)
    rows = np.flatnonzero(np.logical_or.reduce(list(assumed.values())))
    combinations = 2 ** len(assumed)
    origins = np.tile(rows, combinations)
    variants = decided.take(origins, decided.names)
    combination = np.repeat(np.arange(combinations), len(rows))  # the block of each variant
    for bit, (name, mask) in enumerate(assumed.items()):
        values = np.asarray(variants[name], dtype=float)
        for end_index, end in enumerate(ENDS):
            chosen = mask[origins] & (((combination >> bit) & 1) == end_index)
            values = _filled(values, chosen, scheme.unknowns[name][end], variants, context)
        variants[name] = values
    return variants, origins


@dataclass(frozen=True)
class Scheme:
    id: str
    title: str
    catalog: Catalog
    parameters: dict[str, Parameter]  # "design.<name>"
    components: tuple[dict, ...]
    file: str
    # field -> {assume, low, high}: what a quote takes for a grid-side fact the customer does not know
    unknowns: dict[str, dict] = field(default_factory=dict)


class _WithDesignParameters:
    """The rule set, with the scheme's engineering parameters beside its own: what a design condition reads."""

    def __init__(self, ruleset, scheme: Scheme):
        self._ruleset, self._scheme = ruleset, scheme

    def parameter(self, path: str) -> Parameter:
        return self._scheme.parameters[path] if path in self._scheme.parameters else self._ruleset.parameter(path)


@cached_per_root(maxsize=8)
def load_scheme(scheme_id: str, catalog_id: str | None = None) -> Scheme:
    """A design scheme, priced with its own catalogue or, given `catalog_id`, with that one (a province's, or a
    utility's own: every std_type the scheme names must be in it)."""
    file = tariffs_dir() / "designs" / scheme_id / "scheme.yaml"
    if not file.is_file():
        raise InputError(f"unknown design scheme {scheme_id!r} (no {file})")
    raw = check_keys(load_yaml(file), str(file), {"id", "title", "catalog", "components"}, {"parameters", "description", "unknowns"})
    catalog = load_catalog(catalog_id or raw["catalog"])
    parameters = {f"design.{name}": Parameter.from_yaml(f"design.{name}", entry, file)
                  for name, entry in (raw.get("parameters") or {}).items()}
    for number, item in enumerate(raw["components"], start=1):
        spot = f"{file}: component {number}"
        check_keys(item, spot, {"id", "name", "zone", "select", "quantity"}, {"when", "name_zh"})
        if item["zone"] not in ZONES:
            raise InputError(f"{spot} ({item['id']}): zone {item['zone']!r}; allowed: {list(ZONES)}")
        for condition in item.get("when", []) or []:
            conditions.validate_condition(condition, spot)
        select = item["select"]
        named = [select.get("std_type")] + list((select.get("std_types") or {}).values())
        catalog.require([s for s in named if s])
        unknown = [p for p in conditions.parameters_in(item) if p.startswith("design.") and p not in parameters]
        if unknown:
            raise InputError(f"{spot} ({item['id']}): unknown design parameter(s) {unknown}; known: {sorted(parameters)}")
    unknowns = raw.get("unknowns") or {}
    for name, spec in unknowns.items():
        spot = f"{file}: unknowns.{name}"
        check_keys(spec, spot, {"assume", "low", "high"})
        if name not in UNKNOWABLE:
            raise InputError(f"{spot}: {name!r} cannot be unknown; allowed: {list(UNKNOWABLE)}")
        unknown = [p for p in conditions.parameters_in(spec) if p not in parameters]
        if unknown:
            raise InputError(f"{spot}: unknown design parameter(s) {unknown}; known: {sorted(parameters)}")
    return Scheme(raw["id"], raw["title"], catalog, parameters, tuple(raw["components"]), str(file), unknowns)


def scheme_for(ruleset, catalog_id: str | None = None) -> Scheme:
    """The scheme a rule set's quotes are designed with, priced with `catalog_id`, else the catalogue the rule set
    names (a province layer's), else the scheme's own."""
    return load_scheme(ruleset.design_scheme, catalog_id or ruleset.catalog or None)


def _cover(need: np.ndarray, ratings: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest member (ratings ascending, `codes` their catalogue positions) covering the need; beyond the
    largest, equal parallel units share it."""
    units = np.maximum(np.ceil(need / ratings[-1]), 1)
    position = np.searchsorted(ratings, need / units - 1e-9, side="left")
    return codes[np.minimum(position, len(ratings) - 1)], units


def _codes(catalog: Catalog, std_types) -> np.ndarray:
    """Positions of std_types in the catalogue (-1 if absent): lines carry these codes, not repeated strings."""
    positions = catalog.positions
    return np.array([positions.get(std_type, -1) for std_type in std_types], dtype=np.intp)


def _family_cover(capacity_kva: np.ndarray, select: dict, family: str, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """(catalogue code, parallel units) of the family's members that cover each capacity."""
    cover = select["cover"]
    if cover == "capacity_kva":
        return _cover(capacity_kva, *catalog.family_ratings(family, "rating_kva"))
    if cover == "current":
        voltage_kv = catalog.family(family, "ampacity_a")["voltage_kv"].iloc[0]
        return _cover(capacity_kva / (math.sqrt(3) * voltage_kv), *catalog.family_ratings(family, "ampacity_a"))
    raise InputError(f"select.cover {cover!r}; allowed: capacity_kva, current")


def _fields_read(item: dict, context: _WithDesignParameters) -> list[str]:
    """The application columns `_select` and `_quantity` read for a component."""
    select, quantity = item["select"], item["quantity"]
    fields = ["capacity_kva"] + [select[key] for key in ("std_type_by", "family_by") if key in select]
    if isinstance(quantity, dict) and "field" in quantity:
        fields.append(quantity["field"])
    for path in conditions.parameters_in(quantity):
        fields += context.parameter(path).reads
    return list(dict.fromkeys(fields))


def _select(item: dict, frame: Columns, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """(catalogue code of the std_type, parallel units) for each row."""
    select = item["select"]
    ones = np.ones(len(frame))
    if "std_type" in select:
        return np.full(len(frame), _codes(catalog, [select["std_type"]])[0]), ones
    if "std_type_by" in select:
        # Each distinct value looked up once, then spread by position.
        positions, values = pd.factorize(frame[select["std_type_by"]], use_na_sentinel=False)
        std_types = select["std_types"]
        unknown = [value for value in values if value not in std_types]
        if unknown:
            raise InputError(f"{item['id']}: no std_type for {select['std_type_by']}={unknown[0]!r}; allowed: {list(std_types)}")
        return _codes(catalog, [std_types[value] for value in values])[positions], ones
    capacity_kva = np.asarray(frame["capacity_kva"], dtype=float)
    if "family_by" in select:
        codes = np.zeros(len(frame), dtype=np.intp)
        units = np.ones(len(frame))
        # Each distinct value found once (on a categorical, from its codes), then one family per value.
        positions, values = pd.factorize(frame[select["family_by"]], use_na_sentinel=False)
        for value_position, value in enumerate(values):
            if value in select["families"]:
                rows = positions == value_position
                codes[rows], units[rows] = _family_cover(capacity_kva[rows], select, select["families"][value], catalog)
        return codes, units
    return _family_cover(capacity_kva, select, select["family"], catalog)


def _quantity(spec: Any, frame: Columns, positions: np.ndarray, context: _WithDesignParameters,
              units_by_component: dict[str, np.ndarray]) -> np.ndarray:
    """Quantity per row of `frame`, the rows at `positions` of the decided applications."""
    if isinstance(spec, (int, float)):
        return np.full(len(frame), float(spec))
    if "units_of" in spec:
        return units_by_component[spec["units_of"]][positions]
    if "field" in spec:
        base = np.asarray(frame[spec["field"]], dtype=float)
    else:
        base = context.parameter(spec["param"]).array(frame).astype(float)
    if "at_most" in spec:
        base = np.minimum(base, context.parameter(spec["at_most"]["param"]).array(frame).astype(float))
    return base / float(spec.get("divide_by", 1))


def component_rows(decided: Columns | pd.DataFrame, scheme: Scheme, ruleset) -> Columns:
    """Components in long format, unsorted, as categoricals, with `_row` (the application's position in
    `decided`) and `_order` (the component's place in the scheme): the batch path's form. No
    application_id: the caller takes it from `_row` once, for every line."""
    rows_of, orders, codes_of, quantities = [], [], [], []
    # Units per application of `decided` (0 where it has not the component), kept only for the components
    # another one counts: a million rows need no array per component.
    counted = {item["quantity"]["units_of"] for item in scheme.components
               if isinstance(item["quantity"], dict) and "units_of" in item["quantity"]}
    units_by_component: dict[str, np.ndarray] = {}
    context = _WithDesignParameters(ruleset, scheme)
    decided = Columns.of(decided)
    seen: dict = {}
    for order, item in enumerate(scheme.components):
        mask = conditions.evaluate_all(item.get("when", []) or [], decided, context, seen)
        if not mask.any():
            continue
        positions = np.flatnonzero(mask)
        rows = decided.take(positions, _fields_read(item, context))  # only the columns this component reads
        codes, units = _select(item, rows, scheme.catalog)
        if item["id"] in counted:
            units_by_component[item["id"]] = np.zeros(len(decided))
            units_by_component[item["id"]][positions] = units
        rows_of.append(positions)
        orders.append(np.full(len(rows), order, dtype=np.int32))
        codes_of.append(np.asarray(codes, dtype=np.intp))
        quantities.append(_quantity(item["quantity"], rows, positions, context, units_by_component) * units)
    if not rows_of:
        return Columns(arrays={column: np.empty(0, dtype=object) for column in COMPONENT_COLUMNS[1:] + ["_row", "_order"]}, length=0)
    row, order, std = np.concatenate(rows_of), np.concatenate(orders), np.concatenate(codes_of)
    items = scheme.catalog.items
    return Columns(length=len(row), arrays={
        "component": labels_from_codes(order, [item["name"] for item in scheme.components]),
        "std_type": labels_from_codes(std, list(items.index)),
        "zone": labels_from_codes(order, [item["zone"] for item in scheme.components]),
        "quantity": np.concatenate(quantities),
        "unit": labels_from_codes(std, list(items["unit"])),
        "design_rule": labels_from_codes(order, [f"{scheme.id}:{item['id']}" for item in scheme.components]),
        "_row": row,
        "_order": order,
    })

