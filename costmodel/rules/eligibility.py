"""Eligibility the texts name, asked for explicitly: what a request may not have, and what an unknown fact
would change.

- Single-phase supply only within the single-phase limit of the rule set in use (a parameter): above it the
  application is rejected with a reason naming the field, its value and the limit, since the customer must
  apply for three-phase supply and a single-phase design would quote the wrong equipment.
- An unknown ownership grants nothing, but where a decision table of the rule set reads `ownership` (found
  from the tables' conditions, not from rule ids) and another value would change a decision, the quote says
  which value, what it would decide, and what evidence settles it.
"""

from __future__ import annotations

import typing

import numpy as np
import pandas as pd

from costmodel.application import ENTERPRISE_KINDS, Enterprise
from costmodel.columns import Columns
from costmodel.rules import conditions

SINGLE_PHASE_LIMIT = "supply_voltage.single_phase_under_kw"
# 《供电营业规则》(1996) 第八条: single-phase 220 V when the single-phase equipment totals under (不足) the
# limit, so a request at the limit or above needs three-phase supply.
OVER_SINGLE_PHASE = ({"field": "phases", "eq": 1}, {"quantity": "capacity", "ge": {"param": SINGLE_PHASE_LIMIT}})

# The decisions a field can change, in the engine's order (rules/engine.decide), with their outcome columns.
DECISION_COLUMNS = (("supply_voltage", "supply_voltage"), ("investment_boundary", "boundary"))
# What a user can show to settle an unknown field, by field.
EVIDENCE = {
    "ownership": "the business licence (营业执照) or registration record showing the economic type, e.g. a private "
                 "economic organisation (民营经济组织)",
}


def single_phase_problems(decided: Columns, ruleset, problems: np.ndarray) -> np.ndarray:
    """Sets the reason of each row not yet rejected that asks for single-phase supply at or above the limit in
    force; a rule set without the limit rejects none."""
    if SINGLE_PHASE_LIMIT not in ruleset.parameters:
        return problems
    over = conditions.evaluate_all(OVER_SINGLE_PHASE, decided, ruleset) & pd.isna(problems)
    rows = np.flatnonzero(over)
    if not len(rows):
        return problems
    parameter = ruleset.parameter(SINGLE_PHASE_LIMIT)
    capacity = np.asarray(decided[conditions.left_column(OVER_SINGLE_PHASE[1], ruleset)], dtype=float)[rows]
    limits = parameter.array(decided.take(rows, parameter.reads))
    problems[rows] = [
        f"request.phases: 1 (single-phase) for {value:g} {parameter.unit}; single-phase supply only under {limit:g} "
        f"{parameter.unit} ({parameter.path}: {parameter.reference.cite()}): three-phase supply is required, apply with "
        f"request.phases: 3"
        for value, limit in zip(capacity.tolist(), limits.tolist())
    ]
    return problems


def _reads(spec, field: str) -> bool:
    """Whether a condition (or list of them) reads `field`, on either side."""
    if isinstance(spec, dict):
        return spec.get("field") == field or any(_reads(value, field) for value in spec.values() if isinstance(value, (dict, list)))
    if isinstance(spec, list | tuple):
        return any(_reads(item, field) for item in spec)
    return False


def tables_reading(ruleset, field: str) -> list[str]:
    """The decision tables of a rule set with a rule whose conditions read `field`."""
    return [name for name, _ in DECISION_COLUMNS
            if name in ruleset.decisions and any(_reads(rule.when, field) for rule in ruleset.decision(name).rules)]


def _values_of(field: str) -> list:
    annotation = Enterprise.model_fields[field].annotation
    return [value for inner in typing.get_args(annotation) for value in typing.get_args(inner)]


def ownership_warnings(decided: Columns, ruleset) -> list[list[str]]:
    """Per row of `decided`: where its ownership is unknown and a known one would change a decision, what it
    would decide and the evidence that settles it (else no warning)."""
    field = "ownership"
    warnings: list[list[str]] = [[] for _ in range(len(decided))]
    first = next(iter(tables_reading(ruleset, field)), None)
    if first is None:
        return warnings
    unknown = pd.isna(np.asarray(decided[field], dtype=object)) & (decided.codes("applicant_kind", ENTERPRISE_KINDS) >= 0)
    rows = np.flatnonzero(unknown)
    if not len(rows):
        return warnings
    steps = DECISION_COLUMNS[[name for name, _ in DECISION_COLUMNS].index(first):]
    actual = decided.take(rows, decided.names)
    for value in _values_of(field):
        trial = actual.take(np.arange(len(rows)), actual.names)
        trial[field] = np.full(len(rows), value, dtype=object)
        for name, column in steps:
            outcome, rule = ruleset.decision(name).evaluate(trial, ruleset)
            trial[column], trial[f"{column}_rule"] = outcome, rule
            changed = np.flatnonzero(np.asarray(outcome, dtype=object) != np.asarray(actual[column], dtype=object))
            for i in changed.tolist():
                warnings[rows[i]].append(
                    f"{field} unknown, so no {field}-based entitlement applies: with {field} {value}, {name} would be "
                    f"{outcome[i]} (rule {rule[i]}) instead of {actual[column][i]}; evidence that settles it: {EVIDENCE[field]}")
    return warnings
