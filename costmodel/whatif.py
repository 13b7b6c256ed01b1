"""The threshold what-if: where the policy in force would treat this application differently.

For one application it finds the capacity caps that the decision tables of each policy layer compare the
request with, at the values in force for it, and asks what crossing each one changes. It asks the same of
the enterprise size class (with its industry's limits), the park level and the project database.

Every question is a variant row of the application. The variants are quoted with the application itself
in one call of the vectorised engine (`quote_frame`), then compared row by row.
"""

from __future__ import annotations

import typing

import numpy as np
from pydantic import BaseModel

from costmodel.application import ENTERPRISE_KINDS, Application, ParkLevel
from costmodel.classification import SIZES, industry_rows
from costmodel.columns import Columns
from costmodel.messages import in_chinese
from costmodel.params import RuleSet
from costmodel.quote import DEFAULT_PRICE_LEVEL, Quote, QuoteBatch, quote_frame, quote_from_batch
from costmodel.rules import conditions
from costmodel.rules.engine import prepare
from costmodel.schedule.plan import build_templates

# Variants one unit (kW or kVA) either side of a cap: how a customer reads "at the cap or below" and "one unit
# over". A step of the question, not a policy figure.
CAPACITY_STEP = 1.0
CURVE_POINTS = 48  # capacities on the chart of customer CNY against capacity
PARK_LEVELS = typing.get_args(ParkLevel)
DECISIVE = ("supply_voltage", "boundary")
CURVE_PREFIX = "~curve-"  # the ids of the chart's variants start so: they need no schedule


def _variant_id(application_id: str, number: int, ask: dict) -> str:
    return f"{CURVE_PREFIX}{application_id}~{number}" if ask["dimension"] == "curve" else f"{application_id}~whatif-{number}"  # a cap is a cliff for this application where one of these changes


class Outcome(BaseModel):
    supply_voltage: str | None
    boundary: str | None
    customer_cny: float | None
    grid_cny: float | None
    working_days: int | None
    rejected: str | None = None  # why the variant cannot be quoted (e.g. beyond what 10 kV serves)
    rejected_zh: str | None = None


class CapacityCliff(BaseModel):
    threshold: float
    unit: str
    below_label: str  # "≤ <cap> kVA" or "< <cap> kW", as the rule compares
    above_label: str
    below_capacity: float  # the capacities quoted either side, in the cap's unit
    above_capacity: float
    parameters: list[str]  # the parameters holding this cap (a literal in a rule has none)
    rule_ids: list[str]  # the rules that compare the request with it
    layers: list[str]
    below: Outcome
    above: Outcome
    current_side: str  # below | above
    distance: float  # from the request, in the cap's unit


class Alternative(BaseModel):
    dimension: str  # enterprise_size | park_level | in_project_database
    value: str
    current: bool
    outcome: Outcome
    changes: list[str]  # what differs from the application's own quote


class CurvePoint(BaseModel):
    capacity: float
    customer_cny: float | None
    grid_cny: float | None
    supply_voltage: str | None


class WhatIf(BaseModel):
    application_id: str
    capacity: float
    capacity_unit: str
    current: Outcome
    cliffs: list[CapacityCliff]
    alternatives: list[Alternative]
    size_limits: str | None  # the industry's size-class limits, from the size table
    curve: list[CurvePoint]


def _capacity_conditions(specs) -> typing.Iterator[dict]:
    for spec in specs:
        if "any" in spec or "all" in spec:
            yield from _capacity_conditions(next(iter(spec.values())))
        elif spec.get("quantity") == "capacity":
            yield spec


def capacity_caps(prepared, ruleset: RuleSet) -> list[dict]:
    """Each distinct (value, unit) a rule of any layer compares the capacity with, at the values in force for
    the one prepared row: with the parameters, rules and layers that name it."""
    caps: dict[tuple[float, str], dict] = {}
    for layer in ruleset.layers or (ruleset,):  # a composed policy decides by its layers' own tables
        for table in layer.decisions.values():
            for rule in getattr(table, "rules", ()):
                for spec in _capacity_conditions(getattr(rule, "when", ()) or ()):
                    op = next(key for key in spec if key in conditions.COMPARISONS)
                    right = spec[op]
                    if isinstance(right, dict) and "param" in right:
                        parameter = layer.parameter(right["param"])
                        value, unit, path = float(parameter.array(prepared)[0]), parameter.unit, parameter.path
                    elif isinstance(right, (int, float)):
                        value, unit, path = float(right), spec["unit"], None
                    else:
                        continue
                    if np.isfinite(value):
                        cap = caps.setdefault((value, unit), {"value": value, "unit": unit, "parameters": [],
                                                              "rule_ids": [], "layers": []})
                        for key, item in (("parameters", path), ("rule_ids", rule.id), ("layers", layer.id)):
                            if item is not None and item not in cap[key]:
                                cap[key].append(item)
    return list(caps.values())


def build_variants(application: Application, ruleset: RuleSet) -> tuple[Columns, list[dict], list[dict], str]:
    """The application's row followed by its variants (as the engine's columns: a frame would be built only to be
    taken apart again), what each variant asks, the caps found and the size standard in force (whose limits the
    what-if shows)."""
    base = Columns(application.to_frame())
    prepared = prepare(base, ruleset)
    caps = capacity_caps(prepared, ruleset)
    asks: list[dict] = []
    for number, cap in enumerate(caps):
        for offset in (-CAPACITY_STEP, 0.0, CAPACITY_STEP):
            if cap["value"] + offset > 0:
                asks.append({"dimension": "capacity", "cap": number, "offset": offset,
                             "capacity": cap["value"] + offset, "capacity_unit": cap["unit"]})
    unit = base["capacity_unit"][0]
    power_factor = float(prepared["power_factor_used"][0])
    in_base_unit = [cap["value"] if cap["unit"] == unit else
                    (cap["value"] / power_factor if unit == "kVA" else cap["value"] * power_factor) for cap in caps]
    # the chart spans twice the request, and past the nearest cap above it (not to a far one, such as 10 kV's limit)
    requested = float(base["capacity"][0])
    caps_above = [value for value in in_base_unit if value > requested]
    top = max(requested * 2, min(caps_above) * 1.25 if caps_above else 0.0)
    for capacity in np.linspace(top / CURVE_POINTS, top, CURVE_POINTS):
        asks.append({"dimension": "curve", "capacity": round(float(capacity), 1), "capacity_unit": unit})
    if base["applicant_kind"][0] in ENTERPRISE_KINDS:
        asks += [{"dimension": "enterprise_size", "value": size, "size_class": size} for size in SIZES]
    asks += [{"dimension": "park_level", "value": level, "park_level": level} for level in PARK_LEVELS]
    asks += [{"dimension": "in_project_database", "value": str(listed).lower(), "in_project_database": listed}
             for listed in (False, True)]
    # Row 0 is the application; row k + 1 is ask k: the application's values, with the asked ones changed.
    columns = {name: base[name][np.zeros(len(asks) + 1, dtype=int)] for name in base.names}
    for name in ("capacity", "capacity_unit", "size_class", "park_level", "in_project_database"):
        column = columns[name].astype(object) if name == "size_class" else columns[name]
        for row, ask in enumerate(asks, start=1):
            if name in ask:
                column[row] = ask[name]
        columns[name] = column
    columns["application_id"] = np.array([application.id] + [_variant_id(application.id, k, ask) for k, ask in enumerate(asks)], dtype=object)
    standard = str(ruleset.parameter("enterprise_size.standard").array(prepared)[0])
    return Columns(arrays=columns, length=len(asks) + 1), asks, caps, standard


def solve(frame: Columns, ruleset: RuleSet, price_level: str = DEFAULT_PRICE_LEVEL) -> tuple[QuoteBatch, dict[str, Outcome | CurvePoint]]:
    """One vectorised quote of the application and its variants, and each row's outcome (with working days), or for
    the chart's curve, which shows money only, its point."""
    batch = quote_frame(frame, ruleset, price_level=price_level)
    timed = np.flatnonzero(~np.char.startswith(np.asarray(batch.decided["application_id"]).astype(str), CURVE_PREFIX))
    # a plan's working days depend only on its stage set, voltage and external works: the templates' totals (the dates
    # of each stage are not needed here). The batch's inputs are worked out once: the quote's own schedule reuses them.
    inputs = batch.schedule_input_all
    _, totals, combination = build_templates(inputs["ruleset_id"][timed], inputs["supply_voltage"][timed],
                                             inputs["has_external_works"][timed], stage_sets=inputs["stage_sets"])
    days_of = dict(zip(inputs["application_id"][timed].tolist(), np.asarray(totals["total_working_days"])[combination].tolist()))
    decided = batch.decided
    # built without re-validating: every value comes from the engine's own typed columns; a point of the chart is
    # made as such (the curve has many, and asks no more)
    outcomes = {application_id: CurvePoint.model_construct(capacity=capacity, customer_cny=customer, grid_cny=grid, supply_voltage=voltage)
                if application_id.startswith(CURVE_PREFIX) else
                Outcome.model_construct(supply_voltage=voltage, boundary=boundary, customer_cny=customer, grid_cny=grid,
                                        working_days=days_of[application_id], rejected=None)
                for application_id, capacity, voltage, boundary, customer, grid in zip(
                    np.asarray(decided["application_id"]).tolist(), np.asarray(decided["capacity"], dtype=float).tolist(),
                    np.asarray(decided["supply_voltage"], dtype=object).tolist(), np.asarray(decided["boundary"], dtype=object).tolist(),
                    batch.totals["customer_cny"].tolist(), batch.totals["grid_cny"].tolist())}
    for application_id, reason in zip(batch.rejected["application_id"].tolist(), batch.rejected["reason"].tolist()):
        outcomes[application_id] = Outcome(supply_voltage=None, boundary=None, customer_cny=None, grid_cny=None,
                                           working_days=None, rejected=reason, rejected_zh=in_chinese(reason))
    return batch, outcomes


def _changes(outcome: Outcome, current: Outcome) -> list[str]:
    return [field for field in ("supply_voltage", "boundary", "customer_cny", "grid_cny", "working_days", "rejected")
            if getattr(outcome, field) != getattr(current, field)]


def _size_limits(application: Application, standard: str) -> str | None:
    enterprise = application.applicant.enterprise
    if enterprise is None or enterprise.industry is None:
        return None
    table = industry_rows(standard)
    row = table.loc[enterprise.industry]
    metrics = [row["metric_1"]] + ([row["metric_2"]] if row["metric_2"] else [])

    def limit(threshold: str) -> str:
        return " and ".join(f"{metric} ≥ {row[f'{threshold}_{i}']:,.0f}" for i, metric in enumerate(metrics, start=1))

    return (f"{enterprise.industry} ({row['name_zh']}, {standard} {row['clause']}): large: {limit('sme_ceiling')}; "
            f"medium: {limit('medium_min')}; small: {limit('small_min')}; micro: below small")


def extract(application: Application, frame: Columns, asks: list[dict], caps: list[dict], standard: str,
            outcomes: dict[str, Outcome | CurvePoint], quote: Quote) -> WhatIf:
    """The cliffs among the caps (nearest first), the alternatives of each category and the chart's curve. The
    models are built without validating again: every value comes from the engine's own columns or the data."""
    prepared_capacity = {"kVA": quote.capacity_kva, "kW": quote.capacity_kw}
    current = outcomes[application.id]
    answer = [outcomes[_variant_id(application.id, number, ask)] for number, ask in enumerate(asks)]

    def decisive(outcome: Outcome | None):
        return None if outcome is None else tuple(getattr(outcome, field) for field in DECISIVE) + (outcome.rejected,)

    cliffs = []
    for number, cap in enumerate(caps):
        side = {ask["offset"]: outcome for ask, outcome in zip(asks, answer) if ask["dimension"] == "capacity" and ask["cap"] == number}
        at, above, below = side.get(0.0), side.get(CAPACITY_STEP), side.get(-CAPACITY_STEP)
        value, unit = cap["value"], cap["unit"]
        if decisive(at) != decisive(above):  # the rule holds at the cap: "at or below"
            labels, lower, upper, tested = (f"≤ {value:g} {unit}", f"> {value:g} {unit}"), at, above, (value, value + CAPACITY_STEP)
            current_below = prepared_capacity[unit] <= value
        elif below is not None and decisive(below) != decisive(at):
            labels, lower, upper, tested = (f"< {value:g} {unit}", f"≥ {value:g} {unit}"), below, at, (value - CAPACITY_STEP, value)
            current_below = prepared_capacity[unit] < value
        else:
            continue  # crossing this cap changes nothing for this application (another condition decides)
        cliffs.append(CapacityCliff.model_construct(
            threshold=value, unit=unit, below_label=labels[0], above_label=labels[1], below_capacity=tested[0],
            above_capacity=tested[1], parameters=cap["parameters"], rule_ids=cap["rule_ids"], layers=cap["layers"], below=lower,
            above=upper, current_side="below" if current_below else "above", distance=abs(prepared_capacity[unit] - value)))
    cliffs.sort(key=lambda cliff: cliff.distance)
    current_value = {"enterprise_size": quote.enterprise_size, "park_level": frame["park_level"][0],
                     "in_project_database": str(bool(frame["in_project_database"][0])).lower()}
    alternatives = [Alternative.model_construct(dimension=ask["dimension"], value=ask["value"], outcome=outcome,
                                                current=ask["value"] == current_value[ask["dimension"]], changes=_changes(outcome, current))
                    for ask, outcome in zip(asks, answer) if ask["dimension"] in current_value]
    curve = [point if isinstance(point, CurvePoint) else  # a capacity beyond what the rules quote: no amounts
             CurvePoint.model_construct(capacity=float(ask["capacity"]), customer_cny=None, grid_cny=None, supply_voltage=None)
             for ask, point in zip(asks, answer) if ask["dimension"] == "curve"]
    return WhatIf.model_construct(application_id=application.id, capacity=float(frame["capacity"][0]),
                                  capacity_unit=str(frame["capacity_unit"][0]), current=current, cliffs=cliffs,
                                  alternatives=alternatives, size_limits=_size_limits(application, standard), curve=curve)


def whatif_batch(application: Application, ruleset: RuleSet, price_level: str = DEFAULT_PRICE_LEVEL) -> tuple[QuoteBatch, Quote, WhatIf]:
    """The batch of the application and its variants (one vectorised call), the application's quote and its what-if."""
    frame, asks, caps, standard = build_variants(application, ruleset)
    batch, outcomes = solve(frame, ruleset, price_level)
    quote = quote_from_batch(batch, application.id)
    return batch, quote, extract(application, frame, asks, caps, standard, outcomes, quote)


def quote_with_whatif(application: Application, ruleset: RuleSet) -> tuple[Quote, WhatIf]:
    """The application's quote and its what-if, from one vectorised call over the application and its variants."""
    _, quote, whatif = whatif_batch(application, ruleset)
    return quote, whatif
