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
from costmodel.designs.standard import COMPONENT_COLUMNS, ZONES, Scheme, as_objects, component_rows, load_scheme
from costmodel.errors import InputError
from costmodel.params import RuleSet
from costmodel.rules.engine import decide, fee_lines
from costmodel.schedule import schedule_applications
from costmodel.trace import TraceStep, traces_for

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


def _side_by_side(columns: dict) -> pd.DataFrame:
    """Columns as one frame without copying them (the DataFrame constructor copies columns of one type into one block)."""
    index = pd.RangeIndex(len(next(iter(columns.values()))))
    return pd.concat([pd.Series(values, index=index, name=name, copy=False) for name, values in columns.items()], axis=1, copy=False)


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
    return _side_by_side(stacked)


@dataclass
class QuoteBatch:
    """Every application's decisions, lines and totals, plus the rows that could not be quoted."""

    decisions: pd.DataFrame
    lines: pd.DataFrame
    totals: pd.DataFrame
    rejected: pd.DataFrame  # application_id, reason
    ruleset: RuleSet
    scheme: Scheme

    def schedules(self, application_ids=None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stage dates and totals of every (or the given) application: the schedule's one path."""
        decided = self.decisions
        if application_ids is not None:
            decided = decided[decided["application_id"].isin(application_ids)]
        route_m = np.where(decided["supply_voltage"].eq("10kV"), decided["distance_to_10kv_m"], decided["distance_to_lv_m"])
        return schedule_applications(pd.DataFrame({
            "application_id": decided["application_id"].to_numpy(),
            "application_date": decided["application_date"].to_numpy(),
            "supply_voltage": decided["supply_voltage"].to_numpy(),
            "ruleset_id": self.ruleset.schedule_id,
            # A line that leaves the plot or crosses a road needs external-works approvals.
            "has_external_works": (decided["road_crossings"].to_numpy() > 0) | (route_m > 0),
        }))

    def summary(self) -> pd.DataFrame:
        keep = ["application_id", "enterprise_size", "supply_voltage", "supply_voltage_rule", "boundary", "boundary_rule"]
        return self.decisions[keep].merge(self.totals, on="application_id", how="left")


def _given_components(components: pd.DataFrame, decided: pd.DataFrame) -> pd.DataFrame:
    """A design made elsewhere (the optimiser) in the batch path's form: `_row` positions in `decided`."""
    missing = [c for c in COMPONENT_COLUMNS if c not in components.columns]
    if missing:
        raise InputError(f"components: missing column(s) {missing}; required: {COMPONENT_COLUMNS}")
    unknown_zones = sorted(set(components["zone"]) - set(ZONES))
    if unknown_zones:
        raise InputError(f"components: zone(s) {unknown_zones}; allowed: {list(ZONES)}")
    rows = pd.Index(decided["application_id"]).get_indexer(components["application_id"])
    return components.assign(_row=rows, _order=np.arange(len(components)))[rows >= 0]


def quote_frame(frame: pd.DataFrame, ruleset: RuleSet, scheme: Scheme | None = None, *, itemised: bool = True,
                components: pd.DataFrame | None = None) -> QuoteBatch:
    """Quote every application of a frame through one vectorised path.

    itemised=False skips only the presentation of the lines (application order, plain strings): the
    lines stay in scheme order with categorical labels, which a portfolio of a million needs; the
    decisions and totals are the same numbers. `components`, a design made elsewhere (the optimiser's
    extension), replaces the standard scheme's: the same rules fund it.
    """
    scheme = scheme or load_scheme()
    decided, problems = decide(frame, ruleset)
    bad = problems.notna()
    rejected = pd.DataFrame({"application_id": decided.loc[bad, "application_id"], "reason": problems[bad]})
    if bad.any():
        decided = decided[~bad.to_numpy()]
    decided.index = pd.RangeIndex(len(decided))  # positions; `decided` is ours (decide built it), no copy needed
    if components is None:
        components = component_rows(decided, scheme, ruleset)
    else:
        unknown = sorted(set(components["application_id"]) - set(frame["application_id"]))
        if unknown:
            raise InputError(f"components name application(s) {unknown[:5]} that the applications do not contain")
        components = _given_components(components, decided)
    if itemised:
        components = components.sort_values(["_row", "_order"], kind="stable")
    works = price_components(components, scheme)
    lines = fund_lines(_stack([works, fee_lines(decided, ruleset)]), decided)
    totals = totals_by_application(lines, decided)
    lines["application_id"] = decided["application_id"].to_numpy()[_positions(lines, decided)]  # once, for all lines
    lines = _side_by_side({column: lines[column] for column in LINE_COLUMNS})
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


class ScheduleStage(BaseModel):
    stage_id: str
    name_zh: str
    name_en: str
    working_days: int
    start_date: dt.date
    due_date: dt.date
    on_critical_path: bool
    reference: str


class Schedule(BaseModel):
    ruleset_id: str
    total_working_days: int
    limit_working_days: int | None
    within_limit: bool | None
    energisation_due_date: dt.date
    calendar_days: int
    limit_reference: str
    stages: list[ScheduleStage]
    warnings: list[str]


def _schedules(batch: QuoteBatch, application_ids: list[str]) -> dict[str, Schedule]:
    stages, summary = batch.schedules(application_ids)
    stages_by_application = {key: group for key, group in stages.groupby("application_id", sort=False, observed=True)}
    schedules = {}
    for row in summary.itertuples(index=False):
        schedules[row.application_id] = Schedule(
            ruleset_id=str(row.ruleset_id),
            total_working_days=int(row.total_working_days),
            limit_working_days=None if pd.isna(row.limit_working_days) else int(row.limit_working_days),
            within_limit=None if pd.isna(row.within_limit) else bool(row.within_limit),
            energisation_due_date=row.energisation_due_date.date(),
            calendar_days=int(row.calendar_days),
            limit_reference=str(row.limit_reference),
            stages=[ScheduleStage(stage_id=str(s.stage_id), name_zh=str(s.name_zh), name_en=str(s.name_en),
                                  working_days=int(s.working_days), start_date=s.start_date.date(), due_date=s.due_date.date(),
                                  on_critical_path=bool(s.on_critical_path), reference=str(s.reference))
                    for s in stages_by_application[row.application_id].itertuples()],
            warnings=[w for w in str(row.warnings).split("; ") if w],
        )
    return schedules


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
    schedule: Schedule
    provenance: Provenance
    warnings: list[str]


def _warnings(lines: list[dict]) -> list[str]:
    notes = []
    placeholders = sorted({line["component"] for line in lines if line["placeholder"]})
    if placeholders:
        notes.append(f"placeholder rates (set the province's own before relying on them): {', '.join(placeholders)}")
    indicative = sum(bool(line["indicative"]) for line in lines)
    if indicative:
        notes.append(f"{indicative} line(s) priced with indicative unit costs, not cited figures")
    return notes


def quotes_from_batch(batch: QuoteBatch, application_ids: list[str] | None = None) -> list[Quote]:
    """Full quotes, with trace and schedule, of the (given) applications of a batch, in batch order."""
    decided = batch.decisions
    if application_ids is not None:
        wanted = set(application_ids)
        missing = wanted - set(decided["application_id"])
        if missing:
            first = sorted(missing)[0]
            reason = batch.rejected.loc[batch.rejected["application_id"] == first, "reason"]
            raise InputError(reason.iloc[0] if len(reason) else f"no application {first!r} in the batch")
        decided = decided[decided["application_id"].isin(wanted)]
    ids = decided["application_id"].tolist()
    if not ids:
        return []
    traces = traces_for(decided, batch.ruleset)
    schedules = _schedules(batch, ids)
    lines = batch.lines[batch.lines["application_id"].isin(ids)]
    records = lines.astype(object).where(lines.notna(), None)
    lines_by_application: dict[str, list[dict]] = {i: [] for i in ids}
    for record in records.to_dict("records"):
        lines_by_application[record.pop("application_id")].append(record)
    totals = batch.totals.set_index("application_id")
    quotes = []
    for row in decided.itertuples(index=False):
        own_lines = lines_by_application[row.application_id]
        quotes.append(Quote(
            application_id=row.application_id,
            ruleset=batch.ruleset.id,
            enterprise_size=str(row.enterprise_size),
            capacity_kva=float(row.capacity_kva),
            capacity_kw=float(row.capacity_kw),
            supply_voltage=str(row.supply_voltage),
            boundary=str(row.boundary),
            totals=Totals(**totals.loc[row.application_id, ["customer_cny", "grid_cny", "total_cny"]].to_dict()),
            lines=[QuoteLine(**record) for record in own_lines],
            trace=traces[row.application_id],
            schedule=schedules[row.application_id],
            provenance=Provenance(
                ruleset_id=batch.ruleset.id,
                ruleset_title=batch.ruleset.title,
                ruleset_lineage=list(batch.ruleset.lineage),
                ruleset_content_hash=batch.ruleset.content_hash,
                overrides=list(batch.ruleset.overrides),
                evaluation_date=row.evaluation_date.date(),
                catalog_id=batch.scheme.catalog.id,
                catalog_edition=batch.scheme.catalog.edition,
                design_scheme=batch.scheme.id,
            ),
            warnings=_warnings(own_lines),
        ))
    return quotes


def quote_from_batch(batch: QuoteBatch, application_id: str) -> Quote:
    """The full quote of one application of a batch."""
    return quotes_from_batch(batch, [application_id])[0]


def quote_application(application: Application, ruleset: RuleSet, scheme: Scheme | None = None) -> Quote:
    """One application's quote: the batch path on a one-row frame."""
    return quote_from_batch(quote_frame(application.to_frame(), ruleset, scheme), application.id)
