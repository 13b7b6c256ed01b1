"""What an unknown fact would change: an unknown ownership grants nothing, but where a decision table of the
rule set reads `ownership` (found from the tables' conditions, not from rule ids) and another value would change
a decision, the quote says which value, what it would decide, and what evidence settles it."""

from __future__ import annotations

import typing

import numpy as np
import pandas as pd

from costmodel.application import ENTERPRISE_KINDS, Enterprise
from costmodel.columns import Columns
from costmodel.messages import say, word
from costmodel.rules.engine import DECISIONS, decide_table



def _reads(spec, field: str) -> bool:
    """Whether a condition (or list of them) reads `field`, on either side."""
    if isinstance(spec, dict):
        return spec.get("field") == field or any(_reads(value, field) for value in spec.values() if isinstance(value, (dict, list)))
    if isinstance(spec, list | tuple):
        return any(_reads(item, field) for item in spec)
    return False


def tables_reading(ruleset, field: str) -> list[str]:
    """The decision tables of a rule set (of any of its layers) with a rule whose conditions read `field`."""
    return [name for name, _ in DECISIONS
            if any(name in layer.decisions and any(_reads(rule.when, field) for rule in layer.decision(name).rules)
                   for layer in ruleset.layers or (ruleset,))]


def _values_of(field: str) -> list:
    annotation = Enterprise.model_fields[field].annotation
    return [value for inner in typing.get_args(annotation) for value in typing.get_args(inner)]


def ownership_warnings(decided: Columns, ruleset) -> list[list[tuple[str, str]]]:
    """Per row of `decided`: where its ownership is unknown and a known one would change a decision, what it
    would decide and the evidence that settles it (else no warning)."""
    field = "ownership"
    warnings: list[list[tuple[str, str]]] = [[] for _ in range(len(decided))]
    first = next(iter(tables_reading(ruleset, field)), None)
    if first is None:
        return warnings
    unknown = pd.isna(np.asarray(decided[field], dtype=object)) & (decided.codes("applicant_kind", ENTERPRISE_KINDS) >= 0)
    rows = np.flatnonzero(unknown)
    if not len(rows):
        return warnings
    steps = DECISIONS[[name for name, _ in DECISIONS].index(first):]
    actual = decided.take(rows, decided.names)
    for value in _values_of(field):
        trial = actual.take(np.arange(len(rows)), actual.names)
        trial[field] = np.full(len(rows), value, dtype=object)
        for name, column in steps:
            decide_table(name, column, trial, ruleset)  # as the quote decided it: under layers, both layers
            outcome, rule = trial[column], trial[f"{column}_rule"]
            changed = np.flatnonzero(np.asarray(outcome, dtype=object) != np.asarray(actual[column], dtype=object))
            for i in changed.tolist():
                # what a user can show to settle the field: messages.yaml evidence.<field>
                warnings[rows[i]].append(say(
                    "warning.unknown_ownership", field=field, field_zh=word(f"field.{field}", "zh"), value=value, decision=name,
                    decision_zh=word(f"decision.{name}", "zh"), outcome=outcome[i], rule=rule[i], actual=actual[column][i],
                    evidence=word(f"evidence.{field}", "en"), evidence_zh=word(f"evidence.{field}", "zh")))
    return warnings
