"""Quotes: price the components, fund each line by its zone and the boundary, total per party.

`quote_frame` serves one application and a million alike; `quote_application` is the same call on a
one-row frame, with the trace added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from pydantic import BaseModel

from costmodel.application import Application
from costmodel.designs.standard import ZONES, Scheme, as_objects, component_rows, load_scheme
from costmodel.errors import InputError
from costmodel.params import RuleSet
from costmodel.rules.engine import decide, fee_lines
from costmodel.trace import TraceStep, trace_for

# Boundary points in order along the supply path. The grid company funds every zone upstream of the
# application's boundary point; charges lie past every boundary, so the customer pays them.
BOUNDARY_POINTS = ("point_of_connection", "red_line", "meter")
ZONE_ORDER = ZONES + ("charges",)
ZONE_RANK = {zone: rank for rank, zone in enumerate(ZONE_ORDER)}
BOUNDARY_RANK = {point: rank + 1 for rank, point in enumerate(BOUNDARY_POINTS)}
LINE_COLUMNS = [
    "application_id", "component", "std_type", "zone", "quantity", "unit", "unit_cost_cny", "amount_cny",
    "funded_by", "rule_id", "design_rule", "catalogue_ref", "indicative", "placeholder",
]
# Columns of few distinct values, kept categorical on the batch path.
LABEL_COLUMNS = {"component", "std_type", "zone", "unit", "funded_by", "rule_id", "design_rule", "catalogue_ref"}


def price_components(components: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Component x catalogue row -> priced line."""
    catalog = scheme.catalog
    items = catalog.items
    codes = pd.Categorical(components["std_type"], categories=items.index).codes
    known = codes >= 0
    unit_cost = np.where(known, items["unit_cost_cny"].to_numpy()[codes], np.nan)
    priced = components.copy(deep=False)  # new columns only: no need to copy millions of components
    priced["unit_cost_cny"] = unit_cost
    priced["amount_cny"] = components["quantity"].to_numpy() * unit_cost
    priced["catalogue_ref"] = pd.Categorical.from_codes(codes, categories=catalog.id + ":" + items.index)
    priced["indicative"] = items["indicative"].to_numpy()[codes] & known
    priced["placeholder"] = False
    return priced


def _positions(lines: pd.DataFrame, decided: pd.DataFrame) -> np.ndarray:
    """Each line's application as a position in `decided`: carried by the batch path, else looked up by id."""
    if "_row" in lines:
        return lines["_row"].to_numpy()
    return pd.Index(decided["application_id"]).get_indexer(lines["application_id"])


def _choose(take_first: np.ndarray, first: pd.Categorical, second: pd.Categorical) -> pd.Categorical:
    """Elementwise first-or-second of two categoricals, still categorical."""
    categories = first.categories.union(second.categories)
    codes = np.where(take_first, pd.Categorical(first, categories=categories).codes,
                     pd.Categorical(second, categories=categories).codes)
    return pd.Categorical.from_codes(codes, categories=categories)


def fund_lines(lines: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """Who funds each line follows only from its zone and the application's boundary point."""
    rows = _positions(lines, decided)
    zone_rank = pd.Categorical(lines["zone"], categories=ZONE_ORDER).codes
    boundary_rank = pd.Categorical(decided["boundary"], categories=BOUNDARY_POINTS).codes.astype(np.int16) + 1
    grid = (zone_rank >= 0) & (zone_rank < boundary_rank[rows])
    boundary_rule = pd.Categorical(decided["boundary_rule"])
    rule = pd.Categorical.from_codes(boundary_rule.codes[rows], categories=boundary_rule.categories)
    is_works = zone_rank != ZONE_RANK["charges"]
    funded = lines.copy(deep=False)  # new columns only: no need to copy millions of lines
    funded["funded_by"] = pd.Categorical.from_codes(grid.astype(np.int8), categories=["customer", "grid"])
    funded["rule_id"] = _choose(is_works, rule, pd.Categorical(funded["rule_id"])) if "rule_id" in funded else rule
    return funded


def totals_by_application(lines: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """Customer and grid totals per application of `decided`, in its order (zero where it has no lines)."""
    rows = _positions(lines, decided)
    amount = np.nan_to_num(lines["amount_cny"].to_numpy(dtype=float))
    grid = (lines["funded_by"] == "grid").to_numpy()
    customer_cny = np.bincount(rows, weights=np.where(grid, 0.0, amount), minlength=len(decided))
    grid_cny = np.bincount(rows, weights=np.where(grid, amount, 0.0), minlength=len(decided))
    return pd.DataFrame({
        "application_id": decided["application_id"].to_numpy(),
        "customer_cny": customer_cny,
        "grid_cny": grid_cny,
        "total_cny": customer_cny + grid_cny,
    })


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate line frames, keeping label columns categorical (a plain concat would expand them)."""
    parts = [part for part in parts if not part.empty]
    if len(parts) <= 1:
        return parts[0] if parts else pd.DataFrame(columns=LINE_COLUMNS)
    stacked = {}
    for column in dict.fromkeys(column for part in parts for column in part.columns if column != "_order"):
        if column in LABEL_COLUMNS:
            stacked[column] = union_categoricals(
                [pd.Categorical(part[column]) if column in part else pd.Categorical.from_codes(np.full(len(part), -1), categories=[])
                 for part in parts], ignore_order=True)
        else:
            stacked[column] = np.concatenate([part[column].to_numpy() if column in part else np.full(len(part), None)
                                              for part in parts])
    return pd.DataFrame(stacked, copy=False)


@dataclass
class QuoteBatch:
    """Every application's decisions, lines and totals, plus the rows that could not be quoted."""

    decisions: pd.DataFrame
    lines: pd.DataFrame
    totals: pd.DataFrame
    rejected: pd.DataFrame  # application_id, reason
    ruleset: RuleSet
    scheme: Scheme

    def summary(self) -> pd.DataFrame:
        keep = ["application_id", "enterprise_size", "supply_voltage", "supply_voltage_rule", "boundary", "boundary_rule"]
        return self.decisions[keep].merge(self.totals, on="application_id", how="left")


def quote_frame(frame: pd.DataFrame, ruleset: RuleSet, scheme: Scheme | None = None, *, itemised: bool = True) -> QuoteBatch:
    """Quote every application of a frame through one vectorised path.

    itemised=False skips only the presentation of the lines (application order, plain strings): the
    lines stay in scheme order with categorical labels, which a portfolio of a million needs; the
    decisions and totals are the same numbers.
    """
    scheme = scheme or load_scheme()
    decided, problems = decide(frame, ruleset)
    bad = problems.notna()
    rejected = pd.DataFrame({"application_id": decided.loc[bad, "application_id"], "reason": problems[bad]})
    if bad.any():
        decided = decided[~bad.to_numpy()]
    decided.index = pd.RangeIndex(len(decided))  # positions; `decided` is ours (decide built it), no copy needed
    components = component_rows(decided, scheme, ruleset)
    if itemised:
        components = components.sort_values(["_row", "_order"], kind="stable")
    works = price_components(components, scheme)
    lines = fund_lines(_stack([works, fee_lines(decided, ruleset)]), decided)
    totals = totals_by_application(lines, decided)
    lines = lines[LINE_COLUMNS]
    if itemised:
        lines = as_objects(lines).reset_index(drop=True)
    return QuoteBatch(decided, lines, totals, rejected.reset_index(drop=True), ruleset, scheme)


class QuoteLine(BaseModel):
    component: str
    std_type: str | None
    zone: str
    quantity: float
    unit: str
    unit_cost_cny: float
    amount_cny: float
    funded_by: str
    rule_id: str
    design_rule: str | None
    catalogue_ref: str
    indicative: bool
    placeholder: bool


class Totals(BaseModel):
    customer_cny: float
    grid_cny: float
    total_cny: float


class Provenance(BaseModel):
    ruleset_id: str
    ruleset_title: str
    ruleset_lineage: list[str]
    ruleset_content_hash: str
    overrides: list[str]
    evaluation_date: dt.date
    catalog_id: str
    catalog_edition: str
    design_scheme: str


class Quote(BaseModel):
    application_id: str
    ruleset: str
    enterprise_size: str
    capacity_kva: float
    capacity_kw: float
    supply_voltage: str
    boundary: str
    totals: Totals
    lines: list[QuoteLine]
    trace: list[TraceStep]
    provenance: Provenance
    warnings: list[str]


def _warnings(lines: pd.DataFrame) -> list[str]:
    notes = []
    if lines["placeholder"].any():
        names = ", ".join(sorted(lines.loc[lines["placeholder"], "component"].unique()))
        notes.append(f"placeholder rates (set the province's own before relying on them): {names}")
    if lines["indicative"].any():
        notes.append(f"{int(lines['indicative'].sum())} line(s) priced with indicative unit costs, not cited figures")
    return notes


def quote_from_batch(batch: QuoteBatch, application_id: str) -> Quote:
    """The full quote, with its trace, of one application of a batch."""
    row = batch.decisions[batch.decisions["application_id"] == application_id]
    if row.empty:
        reason = batch.rejected.loc[batch.rejected["application_id"] == application_id, "reason"]
        raise InputError(reason.iloc[0] if len(reason) else f"no application {application_id!r} in the batch")
    lines = batch.lines[batch.lines["application_id"] == application_id]
    totals = batch.totals[batch.totals["application_id"] == application_id].iloc[0]
    first = row.iloc[0]
    records = lines.drop(columns="application_id").astype(object).where(lines.drop(columns="application_id").notna(), None)
    return Quote(
        application_id=application_id,
        ruleset=batch.ruleset.id,
        enterprise_size=str(first["enterprise_size"]),
        capacity_kva=float(first["capacity_kva"]),
        capacity_kw=float(first["capacity_kw"]),
        supply_voltage=str(first["supply_voltage"]),
        boundary=str(first["boundary"]),
        totals=Totals(customer_cny=totals["customer_cny"], grid_cny=totals["grid_cny"], total_cny=totals["total_cny"]),
        lines=[QuoteLine(**record) for record in records.to_dict("records")],
        trace=trace_for(row, batch.ruleset),
        provenance=Provenance(
            ruleset_id=batch.ruleset.id,
            ruleset_title=batch.ruleset.title,
            ruleset_lineage=list(batch.ruleset.lineage),
            ruleset_content_hash=batch.ruleset.content_hash,
            overrides=list(batch.ruleset.overrides),
            evaluation_date=first["evaluation_date"].date(),
            catalog_id=batch.scheme.catalog.id,
            catalog_edition=batch.scheme.catalog.edition,
            design_scheme=batch.scheme.id,
        ),
        warnings=_warnings(lines),
    )


def quote_application(application: Application, ruleset: RuleSet, scheme: Scheme | None = None) -> Quote:
    """One application's quote: the batch path on a one-row frame."""
    return quote_from_batch(quote_frame(application.to_frame(), ruleset, scheme), application.id)
