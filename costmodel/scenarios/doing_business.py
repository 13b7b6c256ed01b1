"""World Bank "Getting Electricity" standard case: procedures, time and cost per rule set.

The case (its capacity, distance and road crossing: tariffs/doing-business/case.yaml) and the income per capita
are data under tariffs/doing-business/. Time is the rule set's schedule for the case; the supply voltage and the
customer's cost come from the quote engine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from costmodel.application import Application, parse_application
from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.params.parameter import parameters_in_force
from costmodel.paths import tariffs_dir
from costmodel.schedule.data import check_reference, reference_text
from costmodel.yamlio import check_keys, load_yaml
from costmodel.schedule.plan import schedule_applications
from costmodel.schedule.stages import VOLTAGES, load_stage_set

COMPARED = ("national-1996", "shandong-2018", "shandong-2019")


def _dir(root: Path | None) -> Path:
    return (root or tariffs_dir()) / "doing-business"


def case_parameters(at: dt.date | None = None, root: Path | None = None) -> dict[str, dict]:
    """{name: {value, unit, reference}}: each parameter's value in force on `at` (else its latest)."""
    return parameters_in_force(_dir(root) / "case.yaml", at)


def standard_case_application(params: dict[str, dict], date: dt.date) -> Application:
    """The warehouse as an application the rules engine quotes."""
    distance = params["distance_m"]["value"]
    return parse_application({
        "id": "world-bank-standard-case",
        "application_date": date,
        "applicant": {"kind": "enterprise", "enterprise": {"size_class": params["size_class"]["value"], "ownership": "private"}},
        "site": {"area": params["area"]["value"], "distance_to_lv_m": distance, "distance_to_10kv_m": distance,
                 "transformer_headroom_kva": params["transformer_headroom_kva"]["value"],
                 "road_crossings": int(bool(params["road_crossing"]["value"]))},
        "request": {"capacity": params["capacity_kva"]["value"], "capacity_unit": "kVA",
                    "power_factor": params["power_factor"]["value"], "phases": 3},
    }, "World Bank standard case")


def case_procedures(ruleset_id: str, root: Path | None = None) -> dict:
    """The rule set's supply voltage for the case and its procedures (each checked against the stages)."""
    path = _dir(root) / "procedures.yaml"
    data = check_keys(load_yaml(path), str(path), {"rulesets"})
    if ruleset_id not in data["rulesets"]:
        raise InputError(f"ruleset_id: {ruleset_id!r} has no standard-case procedures in {path}; "
                         f"available: {', '.join(data['rulesets'])}")
    where = f"{path}: rulesets.{ruleset_id}"
    entry = check_keys(data["rulesets"][ruleset_id], where, {"supply_voltage", "procedures"})
    voltage = check_keys(entry["supply_voltage"], f"{where}.supply_voltage", {"value", "reference"})
    if voltage["value"] not in VOLTAGES:
        raise InputError(f"{where}.supply_voltage.value: {voltage['value']!r} is not allowed; allowed: {', '.join(VOLTAGES)}")
    check_reference(voltage["reference"], f"{where}.supply_voltage.reference")
    stages = load_stage_set(load_ruleset(ruleset_id).schedule_id, root).stages  # a layer without stages has its base's
    procedures = []
    for i, item in enumerate(entry["procedures"]):
        at = f"{where}.procedures[{i}]"
        check_keys(item, at, {"id", "name_zh", "name_en", "stages", "reference"})
        check_reference(item["reference"], f"{at}.reference")
        unknown = [s for s in item["stages"] if s not in stages]
        if unknown:
            raise InputError(f"{at}.stages: {unknown[0]!r} is not a stage of {ruleset_id}; allowed: {', '.join(stages)}")
        procedures.append({**item, "reference": reference_text(item["reference"])})
    return {"supply_voltage": voltage["value"], "supply_voltage_reference": reference_text(voltage["reference"]),
            "procedures": procedures}


def doing_business_case(
    ruleset_id: str,
    customer_cost_cny: float | None = None,
    *,
    supply_voltage: str | None = None,
    application_date: dt.date | None = None,
    root: Path | None = None,
) -> dict:
    """Procedures, time (working and calendar days) and cost as % of income per capita.

    The rules engine quotes the case under the rule set: its supply voltage and the customer's cost
    (which excludes VAT, as the indicator does). `customer_cost_cny` or `supply_voltage` given by
    the caller replace the engine's figures.
    """
    from costmodel.quote import quote_application

    if customer_cost_cny is not None and not customer_cost_cny >= 0:
        raise InputError(f"customer_cost_cny: {customer_cost_cny!r} is not allowed; allowed: a number >= 0 or None")
    params = case_parameters(root=root)
    date = application_date or params["application_date"]["value"]
    params = case_parameters(at=date, root=root)
    procedures = case_procedures(ruleset_id, root)
    quote = quote_application(standard_case_application(params, date), load_ruleset(ruleset_id))
    if customer_cost_cny is None:
        customer_cost_cny = quote.totals.customer_cny
    voltage = supply_voltage or quote.supply_voltage
    extra_warnings = []
    if voltage != procedures["supply_voltage"]:
        extra_warnings.append(f"the procedures listed for {ruleset_id} assume {procedures['supply_voltage']}, "
                              f"but the case is supplied at {voltage}")
    frame = pd.DataFrame({
        "application_id": ["world-bank-standard-case"], "application_date": [pd.Timestamp(date)],
        "supply_voltage": [voltage], "ruleset_id": [load_ruleset(ruleset_id).schedule_id],
        "has_external_works": [bool(params["road_crossing"]["value"])],
    })
    stages, summary = schedule_applications(frame, root)
    row = summary.iloc[0]
    income_cny = params["income_per_capita_usd"]["value"] * params["exchange_rate_cny_per_usd"]["value"]
    return {
        "ruleset_id": ruleset_id,
        "case": {name: params[name]["value"] for name in ("capacity_kva", "power_factor", "distance_m", "road_crossing")},
        "supply_voltage": voltage,
        "supply_voltage_rule": quote.trace[1].rule_id if supply_voltage is None else "given by the caller",
        "boundary": quote.boundary,
        "application_date": pd.Timestamp(date).date().isoformat(),
        "procedures_count": len(procedures["procedures"]),
        "procedures": [{k: p[k] for k in ("id", "name_zh", "name_en", "stages", "reference")} for p in procedures["procedures"]],
        "time_working_days": int(row["total_working_days"]),
        "time_calendar_days": int(row["calendar_days"]),
        "energisation_due_date": row["energisation_due_date"].date().isoformat(),
        "critical_path": list(stages.loc[stages["on_critical_path"], "stage_id"].astype(str)),
        "customer_cost_cny": customer_cost_cny,
        "income_per_capita_cny": income_cny,
        "income_reference": "; ".join(
            params[n]["reference"] for n in ("income_per_capita_usd", "exchange_rate_cny_per_usd")
        ),
        "cost_percent_of_income": None if customer_cost_cny is None else 100.0 * customer_cost_cny / income_cny,
        "warnings": [w for w in row["warnings"].split("; ") if w] + extra_warnings,
    }


def china_weighted(application_date: dt.date | None = None, root: Path | None = None) -> dict:
    """China's Getting Electricity figures as Doing Business made them: each measured city's case under its rule set,
    and the weighted mean of procedures, time and cost (tariffs/doing-business/weights.yaml: Shanghai 55 %, Beijing 45 %)."""
    path = _dir(root) / "weights.yaml"
    data = check_keys(load_yaml(path), str(path), {"description", "cities"})
    cities, weights = [], []
    for city, entry in data["cities"].items():
        where = f"{path}: cities.{city}"
        check_keys(entry, where, {"ruleset", "weight", "reference"})
        if not isinstance(entry["weight"], (int, float)) or isinstance(entry["weight"], bool) or not 0 < entry["weight"] <= 1:
            raise InputError(f"{where}.weight: {entry['weight']!r} is not allowed; allowed: a share above 0 and at most 1")
        check_reference(entry["reference"], f"{where}.reference")
        cities.append({"city": city, "weight": entry["weight"], "weight_reference": reference_text(entry["reference"]),
                       **doing_business_case(entry["ruleset"], application_date=application_date, root=root)})
        weights.append(entry["weight"])
    if abs(sum(weights) - 1) > 1e-9:
        raise InputError(f"{path}: the cities' weights add up to {sum(weights):g}; allowed: weights that add up to 1")
    weighted = {key: sum(w * case[key] for w, case in zip(weights, cities))
                for key in ("procedures_count", "time_working_days", "time_calendar_days", "customer_cost_cny", "cost_percent_of_income")}
    return {"cities": cities, "weighted": weighted}


def compare_doing_business(
    ruleset_ids=COMPARED, customer_costs_cny: dict[str, float] | None = None, root: Path | None = None
) -> pd.DataFrame:
    """One row per rule set: supply voltage, procedures, working and calendar days, cost."""
    costs = customer_costs_cny or {}
    rows = [doing_business_case(r, costs.get(r), root=root) for r in ruleset_ids]
    columns = ["ruleset_id", "supply_voltage", "procedures_count", "time_working_days", "time_calendar_days",
               "energisation_due_date", "customer_cost_cny", "cost_percent_of_income"]
    return pd.DataFrame(rows)[columns]
