"""Quotes: price the components, fund each line by its zone and the boundary, total per party.

`quote_frame` serves one application and a million alike; `quote_application` is the same call on a
one-row frame, with the trace added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from pydantic import BaseModel, Field

from costmodel.application import Application
from costmodel.columns import Columns
from costmodel.costs.price_index import load_price_index
from costmodel.designs.standard import (COMPONENT_COLUMNS, ZONES, Scheme, assume_unknowns, assumption_of, component_rows,
                                       scheme_for, unknown_ends)
from costmodel.errors import InputError
from costmodel.labels import labels_from_codes, pick_labels
from costmodel.params import RuleSet
from costmodel.ranges.schema import BudgetRange
from costmodel.rules.unknowns import ownership_warnings
from costmodel.rules.engine import decide, fee_lines
from costmodel.schedule import schedule_applications
from costmodel.schedule.plan import build_templates, schedule_columns
from costmodel.schedule.stages import LIMIT_PARAMETER, STAGE_PARAMETER, StageSet, load_stage_set, with_values
from costmodel.messages import say, word
from costmodel.trace import TraceStep, traces_for

# Boundary points in order along the supply path. The grid company funds every zone upstream of the
# application's boundary point; charges lie past every boundary, so the customer pays them.
BOUNDARY_POINTS = ("point_of_connection", "red_line", "meter")
ZONE_ORDER = ZONES + ("charges",)
ZONE_RANK = {zone: rank for rank, zone in enumerate(ZONE_ORDER)}
# Each boundary point lies just upstream of a zone: the grid company funds every zone ranked before that one.
BOUNDARY_RANK = {"point_of_connection": ZONE_RANK["extension"], "red_line": ZONE_RANK["site"], "meter": ZONE_RANK["installation"]}
GRID_SUPPLIED = "metering.grid_supplied_families"
VALIDITY = "quote.scheme_validity_months"
LINE_COLUMNS = [
    "application_id", "component", "std_type", "zone", "quantity", "unit", "unit_cost_cny", "amount_cny",
    "funded_by", "rule_id", "design_rule", "catalogue_ref", "indicative", "ceiling", "placeholder",
]
# Price level of a quote: the catalogue's own price year, or the application's year moved by the catalogue's index.
PRICE_LEVELS = ("catalogue", "application")
# A quote is at its application's price level (the catalogue's prices moved by its price index); the catalogue's own
# price year on request (a rule-set case checks rules at fixed prices).
DEFAULT_PRICE_LEVEL = "application"
# Columns of few distinct values, kept categorical on the batch path.
LABEL_COLUMNS = {"component", "std_type", "zone", "unit", "funded_by", "rule_id", "design_rule", "catalogue_ref"}


def price_years(decided: Columns, catalog, price_level: str) -> tuple[np.ndarray, np.ndarray]:
    """Per application of `decided`: the year whose price level it is quoted at, and the factor on the catalogue's
    prices. At the catalogue's level, its price year and 1; at the application's, the application's year (or the
    nearest the index covers) and the index's level then over its level in the catalogue's price year."""
    if price_level not in PRICE_LEVELS:
        raise InputError(f"price level {price_level!r} is not allowed; allowed: {', '.join(PRICE_LEVELS)}")
    n = len(decided)
    if price_level == "catalogue" or catalog.price_year is None or not catalog.price_index:
        return np.full(n, catalog.price_year or 0, dtype=int), np.ones(n)
    index = load_price_index(catalog.price_index)
    years = pd.DatetimeIndex(np.asarray(decided["application_date"], dtype="datetime64[ns]")).year.to_numpy()
    return index.years_covered(years), index.factors(years, catalog.price_year)


def price_components(components: Columns, scheme: Scheme, factors: np.ndarray | None = None, decided: Columns | None = None) -> Columns:
    """Component x catalogue row -> priced line (the price columns added to `components`); `factors`, per application
    of `decided`, move the catalogue's prices to another year's level."""
    catalog = scheme.catalog
    items = catalog.items
    codes = components.codes("std_type", tuple(items.index))
    known = codes >= 0
    unit_cost = np.where(known, items["unit_cost_cny"].to_numpy()[codes], np.nan)
    if factors is not None and len(components):
        unit_cost = unit_cost * factors[_positions(components, decided)]
    components["unit_cost_cny"] = unit_cost
    components["amount_cny"] = np.asarray(components["quantity"], dtype=float) * unit_cost
    components["catalogue_ref"] = labels_from_codes(codes, [f"{catalog.id}:{std_type}" for std_type in items.index])
    components["indicative"] = items["indicative"].to_numpy()[codes] & known
    components["ceiling"] = items["ceiling"].to_numpy()[codes] & known
    components["placeholder"] = np.zeros(len(components), dtype=bool)
    return components


def _positions(lines: Columns, decided: Columns) -> np.ndarray:
    """Each line's application as a position in `decided`: carried by the batch path, else looked up by id."""
    if "_row" in lines:
        return np.asarray(lines["_row"])
    return pd.Index(decided["application_id"]).get_indexer(lines["application_id"])


def grid_supplied(works: Columns, decided: Columns, scheme: Scheme, ruleset: RuleSet) -> Columns:
    """Lines of the catalogue families the rule set says the grid company supplies (its metering devices) move to
    the `grid_owned` zone, citing that parameter: funding then follows zone and boundary as for any line."""
    if GRID_SUPPLIED not in ruleset.parameters or not len(works):
        return works
    parameter = ruleset.parameter(GRID_SUPPLIED)
    items = scheme.catalog.items
    codes = works.codes("std_type", tuple(items.index))
    family = np.where(codes >= 0, items["family"].to_numpy()[codes], None)
    value_of_line = parameter.date_indices(np.asarray(decided["evaluation_date"]))[_positions(works, decided)]
    supplied = np.zeros(len(works), dtype=bool)
    for index in np.unique(value_of_line):
        at = value_of_line == index
        supplied[at] = pd.Index(family[at]).isin(list(parameter.values[index]))
    if supplied.any():
        zone = np.asarray(works["zone"], dtype=object).copy()
        zone[supplied] = "grid_owned"
        works["zone"] = pd.Categorical(zone)
        works["rule_id"] = labels_from_codes(np.where(supplied, 0, -1), [GRID_SUPPLIED])
    return works


def fund_lines(lines: Columns, decided: Columns) -> Columns:
    """Who funds each line follows only from its zone and the application's boundary point (added to `lines`).
    A line that names its rule (a charge's fee, a grid-supplied device) keeps it; works cite the boundary's rule."""
    rows = _positions(lines, decided)
    zone_rank = lines.codes("zone", ZONE_ORDER)
    rank_of_boundary = np.array([BOUNDARY_RANK[point] for point in BOUNDARY_POINTS], dtype=np.int16)
    boundary_rank = rank_of_boundary[decided.codes("boundary", BOUNDARY_POINTS)]
    grid = (zone_rank >= 0) & (zone_rank < boundary_rank[rows])
    boundary_rule = pd.Categorical(decided["boundary_rule"])
    rule = pd.Categorical.from_codes(boundary_rule.codes[rows], dtype=boundary_rule.dtype)
    lines["funded_by"] = labels_from_codes(grid.astype(np.int8), ["customer", "grid"])
    if "rule_id" in lines:
        own = pd.Categorical(lines["rule_id"])
        rule = pick_labels(own.codes < 0, rule, own)
    lines["rule_id"] = rule
    return lines


def totals_by_application(lines: Columns, decided: Columns) -> pd.DataFrame:
    """Customer and grid totals per application of `decided`, in its order (zero where it has no lines)."""
    rows = _positions(lines, decided)
    amount = np.nan_to_num(np.asarray(lines["amount_cny"], dtype=float))
    grid = np.asarray(lines["funded_by"] == "grid")
    placeholder = np.asarray(lines["placeholder"], dtype=bool) if "placeholder" in lines else np.zeros(len(lines), dtype=bool)

    def per_application(weights: np.ndarray) -> np.ndarray:
        return np.bincount(rows, weights=weights, minlength=len(decided))

    customer_cny, grid_cny = per_application(np.where(grid, 0.0, amount)), per_application(np.where(grid, amount, 0.0))
    # How much of each total rests on placeholder rates: a headline figure says so.
    customer_placeholder = per_application(np.where(~grid & placeholder, amount, 0.0))
    grid_placeholder = per_application(np.where(grid & placeholder, amount, 0.0))
    return pd.DataFrame({
        "application_id": np.asarray(decided["application_id"]),
        "customer_cny": customer_cny,
        "grid_cny": grid_cny,
        "total_cny": customer_cny + grid_cny,
        "customer_placeholder_cny": customer_placeholder,
        "grid_placeholder_cny": grid_placeholder,
        "total_placeholder_cny": customer_placeholder + grid_placeholder,
    })


def _stack(parts: list[Columns]) -> Columns:
    """Concatenate lines, keeping label columns categorical (a plain concat would expand them)."""
    parts = [part for part in parts if len(part)]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return Columns(arrays={column: np.empty(0, dtype=object) for column in LINE_COLUMNS}, length=0)
    stacked = {}
    for column in dict.fromkeys(column for part in parts for column in part.names if column != "_order"):
        if column in LABEL_COLUMNS:
            stacked[column] = union_categoricals(
                [pd.Categorical(part[column]) if column in part else pd.Categorical.from_codes(np.full(len(part), -1), categories=[])
                 for part in parts], ignore_order=True)
        else:
            stacked[column] = np.concatenate([np.asarray(part[column]) if column in part else np.full(len(part), None)
                                              for part in parts])
    return Columns(arrays=stacked, length=sum(len(part) for part in parts))


def stage_sets_in_force(ruleset: RuleSet, dates: np.ndarray) -> tuple[np.ndarray, dict[str, StageSet]]:
    """Per row, the id of the stage set a rule set applies on the row's date: its schedule file with the rule
    set's stage and limit parameters in force (a reform's among them), and those stage sets by id. The file's own
    id where nothing differs from the file, `<file id>~<rule set id>~<n>` for each other set of values (distinct
    across the layers of a composed policy)."""
    base = load_stage_set(ruleset.schedule_id)
    paths = [path for path in ruleset.parameters if path.startswith((STAGE_PARAMETER, LIMIT_PARAMETER))]
    parameters = [ruleset.parameters[path] for path in paths]
    indices = np.stack([parameter.date_indices(dates) for parameter in parameters], axis=1) if paths else np.zeros((len(dates), 0), int)
    versions, version_of_row = np.unique(indices, axis=0, return_inverse=True)
    stage_sets, ids = {}, []
    for number, version in enumerate(versions):
        values = tuple((path, tuple(value.items()) if isinstance(value, dict) else value)
                       for path, parameter, index in zip(paths, parameters, version.tolist())
                       for value in [parameter.values[index]])
        stage_set = with_values(base, values)
        ids.append(ruleset.schedule_id if stage_set is base else f"{ruleset.schedule_id}~{ruleset.id}~{number}")
        stage_sets[ids[-1]] = stage_set
    return np.array(ids, dtype=object)[version_of_row.reshape(-1)] if len(dates) else np.empty(0, dtype=object), stage_sets


@dataclass
class QuoteBatch:
    """Every application's decisions, lines and totals, plus the rows that could not be quoted."""

    decided: Columns  # row i is application i of `totals`
    line_columns: Columns  # LINE_COLUMNS
    totals: pd.DataFrame
    rejected: pd.DataFrame  # application_id, reason
    ruleset: RuleSet
    scheme: Scheme
    assumed: dict = field(default_factory=dict)  # unknown grid-side field -> mask of the rows of `decided` assumed
    ranges: pd.DataFrame | None = None  # per assumed row: the least and most each party pays over the unknowns' ends
    # Refundable prepayments (a fee with a refund condition): row (the application's position in `decided`) and
    # PREPAYMENT_FIELDS. Not costs: outside the lines and the totals.
    prepayments: Columns | None = None
    price_level: str = DEFAULT_PRICE_LEVEL  # PRICE_LEVELS: the catalogue's price year, or the application's by the index

    @cached_property
    def decisions(self) -> pd.DataFrame:
        """The decided applications as a frame (made on first use: a web quote reads the columns directly)."""
        return self.decided.to_frame()

    @cached_property
    def lines(self) -> pd.DataFrame:
        """The quote lines as a frame (made on first use, like `decisions`)."""
        return self.line_columns.to_frame()

    def select(self, application_ids=None) -> tuple[Columns, np.ndarray]:
        """The decided columns of every (or the given) application and their positions in the batch."""
        if application_ids is None:
            return self.decided, np.arange(len(self.decided))
        rows = np.flatnonzero(pd.Index(self.decided["application_id"]).isin(list(application_ids)))
        return self.decided.take(rows, self.decided.names), rows

    def schedule_input(self, decided: Columns) -> dict:
        """The schedule's inputs for rows of `decided`, as `schedule_columns` takes them (with the stage sets the
        rows' `ruleset_id`s name)."""
        ten_kv = np.asarray(decided["supply_voltage"]) == "10kV"
        route_m = np.where(ten_kv, np.asarray(decided["distance_to_10kv_m"], dtype=float), np.asarray(decided["distance_to_lv_m"], dtype=float))
        voltage = np.asarray(decided["supply_voltage"])
        # A line that leaves the plot or crosses a road needs external-works approvals.
        external = (np.asarray(decided["road_crossings"]) > 0) | (route_m > 0)
        ids, stage_sets = self._stage_sets(voltage, external, np.asarray(decided["evaluation_date"]))
        return {
            "application_id": np.asarray(decided["application_id"]),
            "application_date": np.asarray(decided["application_date"]),
            "supply_voltage": voltage,
            "ruleset_id": ids,
            "has_external_works": external,
            "stage_sets": stage_sets,
        }

    def _stage_sets(self, voltage: np.ndarray, external: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, dict]:
        """Each row's stages and time limits: the rule set's own, with its values in force on the row's date; under
        a composed policy, the layer's whose plan gives power sooner (a national maximum binds the province), the
        province's on a tie."""
        provincial, stage_sets = stage_sets_in_force(self.ruleset, dates)
        if not self.ruleset.layers or not len(voltage):
            return provincial, stage_sets
        national, national_sets = stage_sets_in_force(self.ruleset.layers[0], dates)
        stage_sets = {**national_sets, **stage_sets}
        (_, national_totals, national_combo), (_, provincial_totals, provincial_combo) = (
            build_templates(ids, voltage, external, stage_sets=stage_sets) for ids in (national, provincial))
        sooner = (national_totals["total_working_days"][national_combo]
                  < provincial_totals["total_working_days"][provincial_combo])
        return np.where(sooner, national, provincial), stage_sets

    @cached_property
    def schedule_input_all(self) -> dict:
        """The schedule's inputs for every row of the batch, worked out once for those who ask for many rows' (the
        what-if's variants), and then reused for any of its rows (`schedule_input_at`)."""
        return self.schedule_input(self.decided)

    def schedule_input_at(self, rows: np.ndarray, decided: Columns) -> dict:
        """The schedule's inputs for the rows (positions in the batch) whose columns are `decided`: taken from the whole
        batch's where those were worked out already, else worked out for these rows alone."""
        if "schedule_input_all" not in self.__dict__:
            return self.schedule_input(decided)
        return {name: values if name == "stage_sets" else values[rows] for name, values in self.schedule_input_all.items()}

    def schedules(self, application_ids=None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Stage dates and totals of every (or the given) application: the schedule's one path."""
        decided, _ = self.select(application_ids)
        inputs = self.schedule_input(decided)
        stage_sets = inputs.pop("stage_sets")
        return schedule_applications(pd.DataFrame(inputs), stage_sets=stage_sets)

    def summary(self) -> pd.DataFrame:
        keep = ["application_id", "enterprise_size", "supply_voltage", "supply_voltage_rule", "boundary", "boundary_rule"]
        return self.decisions[keep].merge(self.totals, on="application_id", how="left")


def _given_components(components: pd.DataFrame, decided: Columns) -> Columns:
    """A design made elsewhere (the optimiser) in the batch path's form: `_row` positions in `decided`."""
    missing = [c for c in COMPONENT_COLUMNS if c not in components.columns]
    if missing:
        raise InputError(f"components: missing column(s) {missing}; required: {COMPONENT_COLUMNS}")
    unknown_zones = sorted(set(components["zone"]) - set(ZONES))
    if unknown_zones:
        raise InputError(f"components: zone(s) {unknown_zones}; allowed: {list(ZONES)}")
    rows = pd.Index(decided["application_id"]).get_indexer(components["application_id"])
    return Columns(components.assign(_row=rows, _order=np.arange(len(components)))[rows >= 0])


def quote_frame(frame: pd.DataFrame | Columns, ruleset: RuleSet, scheme: Scheme | None = None, *, itemised: bool = True,
                components: pd.DataFrame | None = None, price_level: str = DEFAULT_PRICE_LEVEL) -> QuoteBatch:
    """Quote every application of a frame through one vectorised path.

    itemised=False skips only the presentation of the lines (application order, plain strings): the
    lines stay in scheme order with categorical labels, which a portfolio of a million needs; the
    decisions and totals are the same numbers. `components`, a design made elsewhere (the optimiser's
    extension), replaces the standard scheme's: the same rules fund it. `price_level` "application" moves the
    catalogue's prices to each application's year by the catalogue's price index (PRICE_LEVELS).
    """
    scheme = scheme or scheme_for(ruleset)
    decided, problems = decide(frame, ruleset)
    bad = pd.notna(problems)
    rejected = pd.DataFrame({"application_id": np.asarray(decided["application_id"])[bad], "reason": problems[bad]})
    if bad.any():
        decided = decided.take(np.flatnonzero(~bad), decided.names)
    assumed = assume_unknowns(decided, scheme, ruleset) if components is None else {}
    if components is None:
        components = component_rows(decided, scheme, ruleset)
    else:
        unknown = sorted(set(components["application_id"]) - set(frame["application_id"]))
        if unknown:
            raise InputError(f"components name application(s) {unknown[:5]} that the applications do not contain")
        components = _given_components(components, decided)
    if itemised:  # by application, each in scheme order
        components = components.take(np.lexsort((components["_order"], components["_row"])), components.names)
    _, factors = price_years(decided, scheme.catalog, price_level)
    lines, totals, prepayments = _priced(components, decided, scheme, ruleset, factors)
    lines["application_id"] = np.asarray(decided["application_id"])[_positions(lines, decided)]  # once, for all lines
    columns = {column: lines[column] for column in LINE_COLUMNS}
    if itemised:  # labels back to plain values, as an itemised quote shows them
        columns = {name: np.asarray(values, dtype=object) if isinstance(values, pd.Categorical) else values for name, values in columns.items()}
    ranges = _ranges(decided, assumed, scheme, ruleset, factors) if assumed else None
    return QuoteBatch(decided, Columns(arrays=columns, length=len(lines)), totals, rejected, ruleset, scheme, assumed, ranges,
                      prepayments, price_level)


def _priced(components: Columns, decided: Columns, scheme: Scheme, ruleset: RuleSet,
            factors: np.ndarray | None = None) -> tuple[Columns, pd.DataFrame, Columns]:
    """Components priced (at the price level `factors` give, per application) and funded, the fee lines added, and
    the totals of every application of `decided`; the refundable prepayments apart (not costs: no line, no total)."""
    works = grid_supplied(price_components(components, scheme, factors, decided), decided, scheme, ruleset)
    fees = fee_lines(decided, ruleset)
    refundable = np.asarray(fees["refundable"], dtype=bool) if "refundable" in fees else np.zeros(len(fees), dtype=bool)
    charges = fees.take(np.flatnonzero(~refundable), fees.names) if refundable.any() else fees
    lines = _stack([works, charges])
    lines["amount_cny"] = to_the_yuan(lines["amount_cny"])
    lines = fund_lines(lines, decided)
    prepayments = _prepayments(fees, refundable)
    totals = totals_by_application(lines, decided)
    totals["prepayment_cny"] = (np.bincount(prepayments["row"], weights=prepayments["amount_cny"], minlength=len(decided))
                                if len(prepayments) else np.zeros(len(decided)))
    return lines, totals, prepayments


PREPAYMENT_FIELDS = {"fee_id": "rule_id", "quantity": "quantity", "unit": "unit", "rate_cny": "unit_cost_cny",
                     "amount_cny": "amount_cny", "placeholder": "placeholder"}  # field -> fee-line column


def _prepayments(fees: Columns, refundable: np.ndarray) -> Columns:
    """The refundable fee lines: `row` (the application's position) and PREPAYMENT_FIELDS, amounts to the yuan."""
    rows = np.flatnonzero(refundable)
    if not len(rows):  # the common case: nothing refundable
        return Columns(length=0)
    arrays = {field: np.asarray(fees[column])[rows] for field, column in PREPAYMENT_FIELDS.items()}
    arrays["amount_cny"] = to_the_yuan(arrays["amount_cny"])
    arrays["row"] = np.asarray(fees["_row"], dtype=np.intp)[rows]
    return Columns(length=len(rows), arrays=arrays)


def to_the_yuan(amounts) -> np.ndarray:
    """Each amount rounded to the whole yuan, halves up (amounts are not negative; unpriced stay NaN): a quote's lines
    are money, and its totals are sums of these lines, so they add up as printed."""
    return np.floor(np.asarray(amounts, dtype=float) + 0.5)


def _ranges(decided: Columns, assumed: dict, scheme: Scheme, ruleset: RuleSet, factors: np.ndarray) -> pd.DataFrame:
    """For each application with an assumed field, the least and most the customer and the grid company pay as the
    assumed fields move between their ends: the same design, pricing and funding, on variant rows."""
    variants, origins = unknown_ends(decided, assumed, scheme, ruleset)
    _, totals, _ = _priced(component_rows(variants, scheme, ruleset), variants, scheme, ruleset, factors[origins])
    spread = totals.assign(application_id=np.asarray(decided["application_id"])[origins]).groupby("application_id", sort=False)
    return pd.DataFrame({"customer_min_cny": spread["customer_cny"].min(), "customer_max_cny": spread["customer_cny"].max(),
                         "grid_min_cny": spread["grid_cny"].min(), "grid_max_cny": spread["grid_cny"].max()})


class QuoteLine(BaseModel):
    component: str
    std_type: str | None
    zone: str
    quantity: float
    unit: str
    unit_cost_cny: float | None  # None: no sourced unit cost (the catalogue leaves it out); not in the totals
    amount_cny: float | None
    funded_by: str
    rule_id: str
    design_rule: str | None
    catalogue_ref: str
    indicative: bool
    ceiling: bool = False  # priced at a cost ceiling (限额, an upper limit), not a typical cost
    placeholder: bool
    component_zh: str | None = None  # the component's name in Chinese, where the data gives one


class Totals(BaseModel):
    customer_cny: float
    grid_cny: float
    total_cny: float
    # How much of each total is priced at placeholder rates (a rate the user must set): 0 where none is.
    customer_placeholder_cny: float = 0.0
    grid_placeholder_cny: float = 0.0
    total_placeholder_cny: float = 0.0
    # Refundable prepayments the customer pays besides (not a cost: outside customer_cny and total_cny).
    prepayment_cny: float = 0.0


def line_mark(placeholder: bool, indicative: bool, ceiling: bool = False) -> str:
    """A line's amount mark, as every surface's legend explains it: * placeholder rate, ^ cost ceiling, ~ indicative."""
    return " *" if placeholder else " ^" if ceiling else " ~" if indicative else ""


class Prepayment(BaseModel):
    """A fee the customer pays in advance and is refunded on a condition: shown apart from the cost lines."""
    fee_id: str
    component: str
    component_zh: str | None = None
    quantity: float
    unit: str
    rate_cny: float
    amount_cny: float
    placeholder: bool
    refund_condition: str  # the clause that says when it is refunded
    cites: str


STAGE_FIELDS = ("stage_id", "name_zh", "name_en", "reference", "working_days", "start_date", "due_date", "on_critical_path")


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
    limit_basis: Literal["average", "maximum"] | None = Field(
        None, description="average: the limit is an average target over all connections, not a time owed to this customer")
    within_limit: bool | None
    energisation_due_date: dt.date
    calendar_days: int
    limit_reference: str
    stages: list[ScheduleStage]
    warnings: list[str]
    warnings_zh: list[str] = []


def _texts(values) -> list[str]:
    return [str(value) for value in values]


def _dates(values: np.ndarray) -> list[dt.date]:
    return values.astype("datetime64[D]").tolist()


def _schedules(batch: QuoteBatch, decided: Columns, rows: np.ndarray) -> list[dict]:
    """The schedule of each row of `decided` (at positions `rows` of the batch), in its order, as Schedule's fields."""
    inputs = batch.schedule_input_at(rows, decided)
    inputs["application_id"] = np.arange(len(decided))  # positions: the stages of row i follow those of row i - 1
    stages, summary = schedule_columns(**inputs)
    stage_rows = list(zip(*(np.asarray(stages[f], dtype=object).tolist() for f in STAGE_FIELDS[:4]), stages["working_days"].tolist(),
                          _dates(stages["start_date"]), _dates(stages["due_date"]), stages["on_critical_path"].tolist()))
    ends = np.cumsum(np.bincount(stages["application_id"], minlength=len(decided)))
    limits = summary["limit_working_days"]
    within = summary["within_limit"]
    stage_sets = [ruleset_id.partition("~")[0] for ruleset_id in inputs["ruleset_id"].tolist()]  # the file's id
    schedules = []
    for i, (total, due, days, reference, warnings, warnings_zh) in enumerate(zip(
            summary["total_working_days"].tolist(), _dates(summary["energisation_due_date"]), summary["calendar_days"].tolist(),
            summary["limit_reference"].tolist(), summary["warnings"].tolist(), summary["warnings_zh"].tolist())):
        schedules.append({
            "ruleset_id": stage_sets[i],
            "total_working_days": total,
            "limit_working_days": None if np.isnan(limits[i]) else int(limits[i]),
            "limit_basis": summary["limit_basis"][i] or None,
            "within_limit": None if within[i] is pd.NA else bool(within[i]),
            "energisation_due_date": due,
            "calendar_days": days,
            "limit_reference": reference,
            "stages": [dict(zip(STAGE_FIELDS, row)) for row in stage_rows[ends[i - 1] if i else 0:ends[i]]],
            "warnings": [w for w in warnings.split("; ") if w],
            "warnings_zh": [w for w in warnings_zh.split("; ") if w],
        })
    return schedules


class Provenance(BaseModel):
    ruleset_id: str
    ruleset_title: str
    ruleset_title_zh: str | None = None
    ruleset_lineage: list[str]
    ruleset_content_hash: str
    overrides: list[str]
    evaluation_date: dt.date
    catalog_id: str
    catalog_edition: str
    design_scheme: str


class Assumption(BaseModel):
    """A grid-side fact the applicant did not know, as the design assumed it, and the ends of its range."""
    field: str
    value: float
    low: float
    high: float
    unit: str
    cites: str


class AssumptionRange(BaseModel):
    """The least and most each party pays as the assumed facts move between their ends."""
    customer_min_cny: float
    customer_max_cny: float
    grid_min_cny: float
    grid_max_cny: float


class Validity(BaseModel):
    months: int  # from the day the quote is issued
    cites: str


class PriceLevel(BaseModel):
    """The price level a quote's unit costs are at."""
    basis: Literal["catalogue", "application"]  # the catalogue's own price year, or the application's by the index
    price_year: int  # the year whose price level the quote is at (0: the catalogue states none)
    catalogue_price_year: int
    index: str  # the price index that moved the prices ("" when none did)
    factor: float  # on the catalogue's prices
    catalogue_edition_date: dt.date | None = None


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
    warnings_zh: list[str] = []  # the same warnings in Chinese, in the same order
    validity: Validity | None = None  # how long the supply scheme it rests on stays valid, where the rule set says
    assumptions: list[Assumption] = []
    assumption_range: AssumptionRange | None = None
    # How far off the quote might be, from a utility's history (costmodel.ranges): only when asked for with a range model;
    # left out of the JSON otherwise, so a quote without one reads as before.
    budget_range: BudgetRange | None = Field(None, exclude_if=lambda value: value is None)
    prepayments: list[Prepayment] = []  # refundable, not costs: outside `lines` and the totals (totals.prepayment_cny)
    price_level: PriceLevel | None = None


def _warnings(lines: list[dict]) -> list[tuple[str, str]]:
    """(English, Chinese) of each note on the lines' prices; component names in the note's language."""
    notes = []
    for key, marked in (("warning.not_priced", lambda line: line["amount_cny"] is None),
                        ("warning.placeholder", lambda line: line["placeholder"])):
        names = sorted({(line["component"], line["component_zh"] or line["component"]) for line in lines if marked(line)})
        if names:
            english, _ = say(key, items=", ".join(name for name, _ in names))
            _, chinese = say(key, items="、".join(name for _, name in names))
            notes.append((english, chinese))
    indicative = sum(bool(line["indicative"]) for line in lines)
    if indicative:
        notes.append(say("warning.indicative", count=indicative))
    ceilings = sum(bool(line["ceiling"]) for line in lines)
    if ceilings:
        notes.append(say("warning.ceiling", count=ceilings))
    return notes


def _price_levels(batch: QuoteBatch, decided: Columns) -> tuple[list[dict], list[list[tuple[str, str]]]]:
    """Each row's price level, and its notes: a catalogue edition older than its review period (review_after_years) at the application date, and
    a price year other than the application's (which year was used, and why)."""
    catalog = batch.scheme.catalog
    years, factors = price_years(decided, catalog, batch.price_level)
    levels, notes = [], []
    moved = batch.price_level == "application" and catalog.price_year is not None and bool(catalog.price_index)
    for applied, year, factor in zip(_dates(np.asarray(decided["application_date"], dtype="datetime64[ns]")), years.tolist(), factors.tolist()):
        levels.append({"basis": "application" if moved else "catalogue", "price_year": year, "catalogue_price_year": catalog.price_year or 0,
                       "index": catalog.price_index if moved else "", "factor": factor, "catalogue_edition_date": catalog.valid_from})
        own = []
        if catalog.valid_from is not None and catalog.review_after_years and applied > _years_after(catalog.valid_from, catalog.review_after_years):
            own.append(say("warning.catalogue_age", catalog=catalog.id, edition=catalog.edition, edition_date=catalog.valid_from.isoformat(),
                           application_date=applied.isoformat(), years=catalog.review_after_years))
        if year and year != applied.year:
            own.append(say("warning.price_year_index" if moved else "warning.price_year_catalogue", price_year=year, year=applied.year,
                           index=catalog.price_index or "(none)"))
        notes.append(own)
    return levels, notes


def _years_after(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year + years)


def _assumptions(batch: QuoteBatch, row: int, application_id: str) -> tuple[list[dict], dict | None]:
    """The assumed grid-side facts of the row of `batch.decided`, and the range of totals they span."""
    names = [name for name, mask in batch.assumed.items() if mask[row]]
    if not names:
        return [], None
    assumptions = [assumption_of(batch.decided, row, name, batch.scheme, batch.ruleset) for name in names]
    return assumptions, batch.ranges.loc[application_id].to_dict()


def _assumption_notes(assumptions: list[dict], spread: dict | None) -> list[tuple[str, str]]:
    if not assumptions:
        return []
    facts = "; ".join(f'{a["field"]} = {a["value"]:g} {a["unit"]} (range {a["low"]:g}-{a["high"]:g})' for a in assumptions)
    facts_zh = "；".join(f'{word("field." + a["field"], "zh")} {a["value"]:g} {a["unit"]}（范围 {a["low"]:g}-{a["high"]:g}）'
                        for a in assumptions)
    return [say("warning.assumed", facts=facts, facts_zh=facts_zh, customer_min=f'{spread["customer_min_cny"]:,.0f}',
                customer_max=f'{spread["customer_max_cny"]:,.0f}', grid_min=f'{spread["grid_min_cny"]:,.0f}',
                grid_max=f'{spread["grid_max_cny"]:,.0f}')]


def _validities(ruleset: RuleSet, decided: Columns) -> list[dict | None]:
    """Each row's validity (months and the clause), by its supply voltage and date; None where the rule set is silent."""
    if VALIDITY not in ruleset.parameters:
        return [None] * len(decided)
    parameter = ruleset.parameter(VALIDITY)
    months = parameter.array(decided)
    indices = parameter.date_indices(np.asarray(decided["evaluation_date"]))
    cites = {index: parameter.reference_at(index).cite() for index in set(indices.tolist())}  # once per dated value
    return [{"months": int(value), "cites": cites[index]} for value, index in zip(months.tolist(), indices.tolist())]


def _chinese_names(batch: QuoteBatch) -> dict[str, str]:
    """The Chinese name of each component and fee the batch's scheme and rule set name (by the English name)."""
    names = {item["name"]: item["name_zh"] for item in batch.scheme.components if item.get("name_zh")}
    if "fees" in batch.ruleset.decisions:
        names.update({fee.name: fee.name_zh for fee in batch.ruleset.decision("fees").fees if fee.name_zh})
    return names


def _line_records(lines: Columns, ids: list[str]) -> dict[str, list[dict]]:
    """Each application's lines as QuoteLine fields (missing values None), in batch order."""
    application_ids = np.asarray(lines["application_id"], dtype=object)
    rows = np.flatnonzero(pd.Index(application_ids).isin(ids))
    fields = [column for column in LINE_COLUMNS if column != "application_id"]
    columns = []
    for name in fields:
        values = np.asarray(lines[name], dtype=object)[rows]
        values[pd.isna(values)] = None
        columns.append(values.tolist())
    by_application: dict[str, list[dict]] = {i: [] for i in ids}
    for application_id, *values in zip(application_ids[rows].tolist(), *columns):
        by_application[application_id].append(dict(zip(fields, values)))
    return by_application


TOTAL_FIELDS = tuple(Totals.model_fields)


def _prepayment_records(batch: QuoteBatch, ids: list[str], chinese: dict[str, str]) -> dict[str, list[dict]]:
    """Each application's refundable prepayments as Prepayment fields, with the fee's name and refund clause."""
    by_application: dict[str, list[dict]] = {i: [] for i in ids}
    if batch.prepayments is None or not len(batch.prepayments):
        return by_application
    prepayments = batch.prepayments
    wanted = np.flatnonzero(pd.Index(np.asarray(batch.decided["application_id"], dtype=object)[prepayments["row"]]).isin(ids))
    fees = {fee.id: fee for fee in batch.ruleset.decision("fees").fees}
    application_ids = np.asarray(batch.decided["application_id"], dtype=object)[prepayments["row"][wanted]]
    for application_id, *values in zip(application_ids.tolist(), *(np.asarray(prepayments[f])[wanted].tolist() for f in PREPAYMENT_FIELDS)):
        record = dict(zip(PREPAYMENT_FIELDS, values))
        fee = fees[record["fee_id"]]
        by_application[application_id].append({**record, "component": fee.name, "component_zh": chinese.get(fee.name),
                                               "refund_condition": fee.refund.cite(), "cites": fee.cites.cite()})
    return by_application


def quotes_from_batch(batch: QuoteBatch, application_ids: list[str] | None = None) -> list[Quote]:
    """Full quotes, with trace and schedule, of the (given) applications of a batch, in batch order."""
    if application_ids is not None:
        missing = set(application_ids) - set(batch.decided["application_id"])
        if missing:
            first = sorted(missing)[0]
            reason = batch.rejected.loc[batch.rejected["application_id"] == first, "reason"]
            raise InputError(reason.iloc[0] if len(reason) else f"no application {first!r} in the batch")
    decided, rows = batch.select(application_ids)  # rows: positions in batch.decided, and so in batch.totals
    ids = list(decided["application_id"])
    if not ids:
        return []
    traces = traces_for(decided, batch.ruleset)
    schedules = _schedules(batch, decided, rows)
    lines_by_application = _line_records(batch.line_columns, ids)
    validities = _validities(batch.ruleset, decided)
    price_levels, price_notes = _price_levels(batch, decided)
    chinese = _chinese_names(batch)
    for line in (line for lines in lines_by_application.values() for line in lines):
        line["component_zh"] = chinese.get(line["component"])
    totals = [dict(zip(TOTAL_FIELDS, values)) for values in zip(*(batch.totals[key].to_numpy()[rows].tolist() for key in TOTAL_FIELDS))]
    prepayments = _prepayment_records(batch, ids, chinese)
    ruleset, scheme = batch.ruleset, batch.scheme
    provenance = {"ruleset_id": ruleset.id, "ruleset_title": ruleset.title, "ruleset_title_zh": ruleset.title_zh, "ruleset_lineage": list(ruleset.lineage),
                  "ruleset_content_hash": ruleset.content_hash, "overrides": list(ruleset.overrides),
                  "catalog_id": scheme.catalog.id, "catalog_edition": scheme.catalog.edition, "design_scheme": scheme.id}
    quotes = []
    for number, (row, application_id, size, kva, kw, voltage, boundary, evaluated, application_totals, schedule, eligibility, validity) in enumerate(zip(
            rows.tolist(), ids, _texts(decided["enterprise_size"]), decided["capacity_kva"].tolist(), decided["capacity_kw"].tolist(),
            _texts(decided["supply_voltage"]), _texts(decided["boundary"]), _dates(decided["evaluation_date"]), totals, schedules,
            ownership_warnings(decided, ruleset), validities)):
        own_lines = lines_by_application[application_id]
        assumptions, spread = _assumptions(batch, row, application_id)
        notes = eligibility + _warnings(own_lines) + price_notes[number] + _assumption_notes(assumptions, spread)
        quotes.append(Quote.model_validate({
            "application_id": application_id,
            "ruleset": ruleset.id,
            "enterprise_size": size,
            "capacity_kva": kva,
            "capacity_kw": kw,
            "supply_voltage": voltage,
            "boundary": boundary,
            "totals": application_totals,
            "lines": own_lines,
            "trace": traces[application_id],
            "schedule": schedule,
            "provenance": {**provenance, "evaluation_date": evaluated},
            "warnings": [english for english, _ in notes],
            "warnings_zh": [chinese for _, chinese in notes],
            "validity": validity,
            "assumptions": assumptions,
            "assumption_range": spread,
            "prepayments": prepayments[application_id],
            "price_level": price_levels[number],
        }))
    return quotes


def quote_from_batch(batch: QuoteBatch, application_id: str) -> Quote:
    """The full quote of one application of a batch."""
    return quotes_from_batch(batch, [application_id])[0]


def quote_application(application: Application, ruleset: RuleSet, scheme: Scheme | None = None,
                      price_level: str = DEFAULT_PRICE_LEVEL) -> Quote:
    """One application's quote: the batch path on a one-row frame."""
    return quote_from_batch(quote_frame(application.to_frame(), ruleset, scheme, price_level=price_level), application.id)
