"""The rule trace of one application: which rule decided what, citing its clause and every
parameter it read as `name<date> = value`."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel

from costmodel.rules import conditions


class TraceStep(BaseModel):
    decision: str
    outcome: str
    rule_id: str
    description: str
    cites: str
    parameters: list[str]
    conditions: list[str]


def _parameter_values(paths: list[str], row: pd.DataFrame, ruleset) -> list[str]:
    when = row["evaluation_date"].iloc[0].date()
    described = []
    for path in paths:
        parameter = ruleset.parameter(path)
        category = row[parameter.breakdown].iloc[0] if parameter.breakdown else None
        described.append(parameter.describe_value(when, category))
    return described


def _table_step(name: str, column: str, row: pd.DataFrame, ruleset) -> TraceStep:
    table = ruleset.decision(name)
    rule = table.rule(row[f"{column}_rule"].iloc[0])
    paths = list(dict.fromkeys(p for r in table.rules for p in r.parameters()))
    tested = []
    for candidate in table.rules:
        if candidate.when:
            described = "; ".join(conditions.describe(c, row, ruleset) for c in candidate.when)
            tested.append(f"{candidate.id}: {described}")
    return TraceStep(
        decision=name,
        outcome=str(row[column].iloc[0]),
        rule_id=rule.id,
        description=rule.description,
        cites=rule.cites.cite(),
        parameters=_parameter_values(paths, row, ruleset),
        conditions=tested,
    )


def _size_step(row: pd.DataFrame, ruleset) -> TraceStep:
    rule_id = row["enterprise_size_rule"].iloc[0]
    standard = ruleset.parameter("enterprise_size.standard")
    figures = [
        f"{name} = {row[name].iloc[0]}"
        for name in ("applicant_kind", "industry", "employees", "revenue_10k_cny", "assets_10k_cny", "size_class")
        if pd.notna(row[name].iloc[0])
    ]
    descriptions = {
        "enterprise_size.declared": "The applicant declared its size class",
        "enterprise_size.not_an_enterprise": "Size classes apply to enterprises only",
    }
    return TraceStep(
        decision="enterprise_size",
        outcome=str(row["enterprise_size"].iloc[0]),
        rule_id=rule_id,
        description=descriptions.get(rule_id, "Size class from the enterprise's industry, employees, revenue and assets"),
        cites=standard.reference.cite(),
        parameters=_parameter_values([standard.path], row, ruleset),
        conditions=figures,
    )


def _fee_steps(row: pd.DataFrame, ruleset) -> list[TraceStep]:
    steps = []
    for fee in ruleset.decision("fees").fees:
        if all(bool(conditions.evaluate(c, row, ruleset).iloc[0]) for c in fee.when):
            steps.append(TraceStep(
                decision="fees",
                outcome=fee.id,
                rule_id=fee.id,
                description=fee.name,
                cites=fee.cites.cite(),
                parameters=_parameter_values([fee.rate_parameter], row, ruleset),
                conditions=[conditions.describe(c, row, ruleset) for c in fee.when],
            ))
    return steps


def trace_for(row: pd.DataFrame, ruleset) -> list[TraceStep]:
    """The trace of one decided application (a one-row frame)."""
    return [
        _size_step(row, ruleset),
        _table_step("supply_voltage", "supply_voltage", row, ruleset),
        _table_step("investment_boundary", "boundary", row, ruleset),
        *_fee_steps(row, ruleset),
    ]
