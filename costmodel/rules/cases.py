"""Rule-set cases written as YAML by policy staff: a base application, changes, expectations."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd

from costmodel.errors import InputError
from costmodel.paths import tariffs_dir
from costmodel.yamlio import check_keys, load_yaml


def case_files() -> list[Path]:
    return sorted((tariffs_dir() / "rulesets").glob("*/tests/*.yaml"))


def with_changes(base: dict, changes: dict) -> dict:
    """The base application with dotted paths set; a mapping value replaces the whole branch."""
    application = copy.deepcopy(base)
    for dotted, value in (changes or {}).items():
        *parents, leaf = dotted.split(".")
        node = application
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = copy.deepcopy(value)
    return application


def load_cases(ruleset_id: str | None = None) -> list[tuple[str, str, dict, dict]]:
    """(test id, rule set, application, case) for every case of every file (of one rule set)."""
    cases = []
    for file in case_files():
        if ruleset_id is not None and file.parent.parent.name != ruleset_id:
            continue
        raw = check_keys(load_yaml(file), str(file), {"ruleset", "base", "cases"})
        for number, case in enumerate(raw["cases"], start=1):
            check_keys(case, f"{file}: case {number}", {"name"}, {"with", "expect", "reject"})
            test_id = f"{file.parent.parent.name}/{file.stem}/{number}: {case['name']}"
            cases.append((test_id, raw["ruleset"], with_changes(raw["base"], case.get("with")), case))
    return cases


def run_case(ruleset_name: str, application: dict, case: dict) -> list[str]:
    """What differs between the case's expectations and the quote (empty when it holds). The rule set is an id
    or a jurisdiction, resolved by the case's application date like any quote's."""
    from costmodel.application import parse_application
    from costmodel.params import resolve_ruleset
    from costmodel.quote import quote_from_batch, quote_frame

    try:
        parsed = parse_application(application)
        batch = quote_frame(parsed.to_frame(), resolve_ruleset(ruleset_name, parsed.application_date))
    except InputError as error:  # an invalid application or no rules in force: the whole request is refused
        if "reject" in case and case["reject"] in str(error):
            return []
        raise
    if "reject" in case:
        reasons = batch.rejected["reason"].tolist()
        return [] if reasons and case["reject"] in reasons[0] else [f"expected a rejection containing {case['reject']!r}, got {reasons}"]
    if not batch.rejected.empty:
        return [f"rejected: {batch.rejected['reason'].iloc[0]}"]
    got = batch.summary().iloc[0].to_dict()
    got["ruleset"] = batch.ruleset.id
    if set(case["expect"]) & QUOTED:
        validity = quote_from_batch(batch, parsed.id).validity
        got["validity_months"] = validity and validity.months
    if set(case["expect"]) & TRACED:
        steps = {step.decision: step for step in quote_from_batch(batch, parsed.id).trace}
        for decision in ("supply_voltage", "investment_boundary"):
            prefix = "boundary" if decision == "investment_boundary" else decision
            got[f"{prefix}_layer"] = steps[decision].layer and steps[decision].layer.split(" ")[0]
            got[f"{prefix}_cites"] = steps[decision].cites
    if set(case["expect"]) & LINES:
        lines = batch.lines
        fees = lines[lines["zone"] == "charges"]
        got["fee_cny"] = dict(zip(fees["rule_id"].astype(str), fees["amount_cny"].astype(float)))
        got["funded_by"] = dict(zip(lines["std_type"].astype(str), lines["funded_by"].astype(str)))
    if set(case["expect"]) & SCHEDULE:
        stages, summary = batch.schedules()
        row = summary.iloc[0]
        for key, column in SCHEDULE_COLUMNS.items():
            value = row[column]
            got[key] = None if pd.isna(value) else int(value)
        got["schedule_ruleset"] = str(row["ruleset_id"]).partition("~")[0]  # the stage file whose stages apply
        got["stage_working_days"] = dict(zip(stages["stage_id"].astype(str), stages["working_days"].astype(int).tolist()))
    differences = []
    for key, expected in case["expect"].items():
        if key not in EXPECTABLE:
            differences.append(f"unknown expectation {key!r}; allowed: {sorted(EXPECTABLE)}")
        elif key in MAPPINGS:
            differences.extend(_mapping_differences(key, expected, got[key]))
        elif key in AMOUNTS and abs(got[key] - expected) > 0.01 or key in CONTAINS and expected not in got[key] \
                or key not in AMOUNTS | CONTAINS and got[key] != expected:
            differences.append(f"{key}: expected {expected!r}, got {got[key]!r}")
    return differences


def _mapping_differences(key: str, expected, got: dict) -> list[str]:
    """Each named entry as expected (entries not named are not compared); an amount within 0.01."""
    if not isinstance(expected, dict) or not expected:
        return [f"{key}: expected a mapping of names to values, got {expected!r}"]
    out = []
    for name, value in expected.items():
        if name not in got:
            out.append(f"{key}[{name}]: expected {value!r}, got none (present: {sorted(got)})")
        elif key == "fee_cny" and (got[name] != got[name] or abs(got[name] - value) > 0.01) or key != "fee_cny" and got[name] != value:
            out.append(f"{key}[{name}]: expected {value!r}, got {got[name]!r}")
    return out


# Totals; of them, what rests on placeholder rates; and the refundable prepayments outside them.
AMOUNTS = {"customer_cny", "grid_cny", "total_cny", "customer_placeholder_cny", "total_placeholder_cny", "prepayment_cny"}
CONTAINS = {"supply_voltage_cites", "boundary_cites"}  # the expected text is part of the cited clause
TRACED = CONTAINS | {"supply_voltage_layer", "boundary_layer"}  # the layer that decided (composed policies)
# The quote's lines: each fee's amount by fee id (quantity x rate), and who funds each line by its std_type.
LINES = {"fee_cny", "funded_by"}
# The schedule: total working days of the plan and of its approvals and grid stages, the time limits that apply
# (None where the data sets none), the stage file applied and each stage's working days by stage id.
SCHEDULE_COLUMNS = {
    "connection_working_days": "total_working_days", "limit_working_days": "limit_working_days",
    "approvals_working_days": "approvals_working_days", "approvals_limit_working_days": "approvals_limit_working_days",
    "grid_working_days": "grid_working_days", "grid_limit_working_days": "grid_limit_working_days",
}
SCHEDULE = set(SCHEDULE_COLUMNS) | {"schedule_ruleset", "stage_working_days"}
MAPPINGS = {"fee_cny", "funded_by", "stage_working_days"}
# From the full quote: how long the supply scheme stays valid (months; None where the rule set is silent).
QUOTED = {"validity_months"}
EXPECTABLE = AMOUNTS | TRACED | LINES | SCHEDULE | QUOTED | {"enterprise_size", "supply_voltage", "boundary", "boundary_rule",
                                                     "supply_voltage_rule", "ruleset"}
