"""The decisions, in order, over a frame of applications.

enterprise_size -> supply_voltage -> investment_boundary -> fees. Each decision adds an outcome
column and a `<decision>_rule` column naming the rule that decided it; the trace is rebuilt from
those for any application that needs explaining.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from costmodel.classification import classify_enterprise_size, load_size_table
from costmodel.rules import conditions

@lru_cache(maxsize=8)
def _size_table(standard: str) -> pd.DataFrame:
    return load_size_table(standard)


IN_SCOPE_VOLTAGES = ("low_voltage", "10kV")
BASIS_UNITS = {"capacity_kva": "kVA", "capacity_kw": "kW"}


def prepare(frame: pd.DataFrame, ruleset) -> pd.DataFrame:
    """Derived columns every rule may read: evaluation date and capacity in both kVA and kW."""
    out = frame.copy()
    # An explicitly chosen rule set applies counterfactually to an earlier application, as of its own start.
    start = pd.Timestamp(ruleset.in_effect_from)
    out["evaluation_date"] = out["application_date"].where(out["application_date"] >= start, start)
    default_pf = ruleset.parameter("conversion.power_factor").series(out)
    power_factor = out["power_factor"].fillna(default_pf)
    in_kva = out["capacity_unit"].eq("kVA").to_numpy()
    capacity = out["capacity"].to_numpy(dtype=float)
    out["power_factor_used"] = power_factor
    out["capacity_kva"] = np.where(in_kva, capacity, capacity / power_factor)
    out["capacity_kw"] = np.where(in_kva, capacity * power_factor, capacity)
    return out


def decide_enterprise_size(frame: pd.DataFrame, ruleset) -> tuple[pd.DataFrame, pd.Series]:
    standard_parameter = ruleset.parameter("enterprise_size.standard")
    standards = standard_parameter.series(frame)
    size = np.full(len(frame), "not_applicable", dtype=object)
    rule = np.full(len(frame), "enterprise_size.not_an_enterprise", dtype=object)
    problems = np.full(len(frame), None, dtype=object)
    enterprise = frame["applicant_kind"].eq("enterprise").to_numpy()
    declared = enterprise & frame["size_class"].notna().to_numpy()
    size[declared] = np.asarray(frame["size_class"].to_numpy()[declared], dtype=object)
    rule[declared] = "enterprise_size.declared"
    derive = enterprise & ~declared
    for standard in standards[derive].unique():
        rows = derive & standards.eq(standard).to_numpy()
        derived, row_problems = classify_enterprise_size(frame[rows], _size_table(standard))
        size[rows] = np.asarray(derived, dtype=object)
        rule[rows] = f"enterprise_size.{standard}"
        problems[rows] = row_problems.to_numpy()
    # The caller owns `frame` (prepare made it): add columns in place rather than copy a million rows.
    frame["enterprise_size"] = size
    frame["enterprise_size_rule"] = rule
    return frame, pd.Series(problems, index=frame.index, dtype=object)


def decide(frame: pd.DataFrame, ruleset) -> tuple[pd.DataFrame, pd.Series]:
    """All decisions for every row, and a reason for each row that cannot be quoted (else None)."""
    decided, problems = decide_enterprise_size(prepare(frame, ruleset), ruleset)
    for name, column in (("supply_voltage", "supply_voltage"), ("investment_boundary", "boundary")):
        outcome, rule = ruleset.decision(name).evaluate(decided, ruleset)
        decided[column] = outcome.to_numpy()
        decided[f"{column}_rule"] = rule.to_numpy()
    beyond = ~decided["supply_voltage"].isin(IN_SCOPE_VOLTAGES) & problems.isna()
    if beyond.any():
        limit = ruleset.parameter("supply_voltage.max_10kv_capacity")
        problems[beyond] = (
            "request.capacity: " + decided.loc[beyond, "capacity_kva"].round(1).astype(str)
            + f" kVA exceeds what 10 kV serves ({limit.path} = "
            + limit.series(decided[beyond]).astype(str) + f" {limit.unit}): supply would be at "
            + decided.loc[beyond, "supply_voltage"].astype(str) + ", which costmodel does not design"
        )
    return decided, problems


def fee_lines(decided: pd.DataFrame, ruleset) -> pd.DataFrame:
    """Charges other than works, as quote lines payable by the customer."""
    table = ruleset.decision("fees")
    chunks = []
    for fee in table.fees:
        mask = np.logical_and.reduce(
            [np.ones(len(decided), dtype=bool)] + [conditions.evaluate(c, decided, ruleset).to_numpy() for c in fee.when]
        )
        rows = decided[mask]
        if rows.empty:
            continue
        parameter = ruleset.parameter(fee.rate_parameter)
        rate = parameter.series(rows).to_numpy(dtype=float)
        quantity = rows[fee.basis].to_numpy(dtype=float)
        chunks.append(pd.DataFrame({
            "application_id": rows["application_id"].to_numpy(),
            "component": fee.name,
            "std_type": None,
            "zone": "charges",
            "quantity": quantity,
            "unit": BASIS_UNITS[fee.basis],
            "unit_cost_cny": rate,
            "amount_cny": quantity * rate,
            "rule_id": fee.id,
            "design_rule": None,
            "catalogue_ref": f"{ruleset.id}:{parameter.path}",
            "indicative": False,
            "placeholder": parameter.placeholder,
            "_row": np.flatnonzero(mask),
        }))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
