"""The rule trace: which rule decided what, citing its clause and every parameter it read as
`name<date> = value`. Built for a whole frame at once (each condition evaluated column-wise); the
trace of one application is the same call on a one-row frame."""

from __future__ import annotations


import numpy as np
import pandas as pd
from pydantic import BaseModel

from costmodel.classification import load_size_table
from costmodel.paths import cached_per_root
from costmodel.columns import Columns
from costmodel.messages import say, word
from costmodel.rules import conditions


class TraceStep(BaseModel):
    decision: str
    outcome: str
    rule_id: str
    description: str
    cites: str
    parameters: list[str]
    conditions: list[str]
    # Under a composed policy: the layer that decided, and what the other layer would have given where it differs
    # (as a sentence, and in parts for the renderers to word in either language).
    layer: str | None = None
    other_layer: str | None = None
    layer_id: str | None = None
    layer_kind: str | None = None
    other_layer_id: str | None = None
    other_layer_kind: str | None = None
    other_outcome: str | None = None
    other_rule_id: str | None = None
    description_zh: str | None = None  # the description in Chinese, where the data gives one


def _parameter_values(paths: list[str], frame: Columns, ruleset) -> list[list[str]]:
    per_path = [ruleset.parameter(path).describe_values(frame) for path in paths]
    return [list(values) for values in zip(*per_path)] if per_path else [[] for _ in range(len(frame))]


def _layered_steps(name: str, column: str, frame: Columns, ruleset, seen: dict) -> list[TraceStep]:
    """Each row's step from the layer that decided it, naming that layer and, where the other differs, its outcome."""
    national, provincial = ruleset.layers
    deciding = np.asarray(frame[f"{column}_layer"], dtype=object)
    by_layer = {}
    for layer in (national, provincial):  # each layer's steps for the rows it decided only
        rows = np.flatnonzero(deciding == layer.id)
        if len(rows) == len(frame):  # the whole frame: the provincial layer's conditions are the policy's own, shared
            by_layer[layer.id] = dict(enumerate(_table_steps(name, column, frame, layer, seen if layer is provincial else {})))
        elif len(rows):
            by_layer[layer.id] = dict(zip(rows.tolist(), _table_steps(name, column, frame.take(rows, frame.names), layer, {})))
    steps = []
    for i, (layer, outcome, other, other_rule) in enumerate(zip(
            deciding, frame[column], frame[f"{column}_other"], frame[f"{column}_other_rule"])):
        other_layer = provincial if layer == national.id else national
        differs = other != outcome
        kind = ruleset.layer_named(layer).layer
        steps.append(by_layer[layer][i].model_copy(update={
            "layer": f"{layer} ({kind})", "layer_id": layer, "layer_kind": kind,
            "other_layer": f"{other_layer.id} ({other_layer.layer}) would give {other} by {other_rule}" if differs else None,
            **({"other_layer_id": other_layer.id, "other_layer_kind": other_layer.layer, "other_outcome": other,
                "other_rule_id": other_rule} if differs else {})}))
    return steps


def _table_steps(name: str, column: str, frame: Columns, ruleset, seen: dict) -> list[TraceStep]:
    """Each row's step under one rule set: the deciding rule (by its `<column>_rule`) and what every rule tested."""
    table = ruleset.decision(name)
    paths = list(dict.fromkeys(p for r in table.rules for p in r.parameters()))
    tested_by_rule = [
        [f"{candidate.id}: {'; '.join(parts)}" for parts in zip(*(conditions.describe(c, frame, ruleset, seen) for c in candidate.when))]
        for candidate in table.rules if candidate.when
    ]
    tested = [list(row) for row in zip(*tested_by_rule)] if tested_by_rule else [[] for _ in range(len(frame))]
    read = _parameter_values(paths, frame, ruleset)
    steps = []
    rules = {rule.id: rule for rule in table.rules}
    for i, (rule_id, outcome) in enumerate(zip(frame[f"{column}_rule"], frame[column])):
        rule = rules[rule_id]
        steps.append(TraceStep(decision=name, outcome=str(outcome), rule_id=rule.id, description=rule.description,
                               description_zh=rule.description_zh or None, cites=rule.cites.cite(), parameters=read[i],
                               conditions=tested[i]))
    return steps


POWER_FACTOR = "conversion.power_factor"

SIZE_DESCRIPTIONS = {"enterprise_size.declared": "size.declared", "enterprise_size.not_an_enterprise": "size.not_an_enterprise"}
SIZE_FIGURES = ("applicant_kind", "industry", "employees", "revenue_10k_cny", "assets_10k_cny", "size_class")


@cached_per_root(maxsize=8)
def _by_reference(standard: str, applicant_kind: str) -> tuple[str, str, str]:
    """(description, its Chinese, citation) added where a size standard applies to an applicant kind by reference
    (the MIIT 2011 standard to individual businesses: its meta.yaml `by_reference`); empty otherwise."""
    meta = load_size_table(standard).attrs["meta"].get("by_reference") or {}
    if meta.get("applies_to") != applicant_kind:
        return "", "", ""
    english, chinese = say("size.by_reference", kind=word(f"kind.{applicant_kind}", "en"), kind_zh=word(f"kind.{applicant_kind}", "zh"))
    return english, chinese, f"; {meta['clause']} ({meta['note']})"


def _size_steps(frame: Columns, ruleset) -> list[TraceStep]:
    standard = ruleset.parameter("enterprise_size.standard")
    read = _parameter_values([standard.path], frame, ruleset)
    standards = standard.array(frame)
    steps = []
    names = ["enterprise_size_rule", "enterprise_size", *SIZE_FIGURES]
    for i, values in enumerate(zip(*(frame[name] for name in names))):
        record = dict(zip(names, values))
        rule_id = record["enterprise_size_rule"]
        by_reference = _by_reference(standards[i], record["applicant_kind"])
        english, chinese = say(SIZE_DESCRIPTIONS.get(rule_id, "size.from_figures"))
        steps.append(TraceStep(
            decision="enterprise_size",
            outcome=str(record["enterprise_size"]),
            rule_id=rule_id,
            description=english + by_reference[0],
            description_zh=chinese + by_reference[1],
            cites=standard.reference.cite() + by_reference[2],
            parameters=read[i],
            conditions=[f"{name} = {record[name]}" for name in SIZE_FIGURES if pd.notna(record[name])],
        ))
    return steps


def _fee_steps(frame: Columns, ruleset, seen: dict) -> list[list[TraceStep]]:
    steps: list[list[TraceStep]] = [[] for _ in range(len(frame))]
    for fee in ruleset.decision("fees").fees:
        applies = conditions.evaluate_all(fee.when, frame, ruleset, seen).tolist()
        tested = list(zip(*(conditions.describe(c, frame, ruleset, seen) for c in fee.when))) or [()] * len(frame)
        read = _parameter_values([fee.rate_parameter], frame, ruleset)
        for i in (i for i, hit in enumerate(applies) if hit):
            steps[i].append(TraceStep(decision="fees", outcome=fee.id, rule_id=fee.id, description=fee.name,
                                      description_zh=fee.name_zh or None, cites=fee.cites.cite(), parameters=read[i],
                                      conditions=list(tested[i])))
    return steps


def _conversion_steps(frame: Columns, ruleset) -> list[list[TraceStep]]:
    """Where a request states no power factor, the default used to convert kW and kVA, with the clause it rests on."""
    steps: list[list[TraceStep]] = [[] for _ in range(len(frame))]
    defaulted = np.flatnonzero(pd.isna(np.asarray(frame["power_factor"], dtype=float)))
    if not len(defaulted):
        return steps
    parameter = ruleset.parameter(POWER_FACTOR)
    rows = frame.take(defaulted, ["evaluation_date", "power_factor_used", "capacity_kva", "capacity_kw"])
    for i, text, day, used, kva, kw in zip(defaulted.tolist(), parameter.describe_values(rows), rows["evaluation_date"],
                                          rows["power_factor_used"].tolist(), rows["capacity_kva"].tolist(), rows["capacity_kw"].tolist()):
        english, chinese = say("conversion.default_power_factor", kva=f"{kva:g}", kw=f"{kw:g}")
        steps[i].append(TraceStep(
            decision="conversion", outcome=f"power factor {used:g}", rule_id=POWER_FACTOR,
            description=english, description_zh=chinese,
            cites=parameter.reference_on(pd.Timestamp(day).date()).cite(), parameters=[text], conditions=[]))
    return steps


def traces_for(decided: Columns, ruleset) -> dict[str, list[TraceStep]]:
    """The trace of every decided application of a frame, by application id."""
    decided = Columns.of(decided)
    sizes = _size_steps(decided, ruleset)
    seen: dict = {}  # conditions shared by rules and fees, evaluated once
    steps_of = _layered_steps if ruleset.layers else _table_steps
    voltages = steps_of("supply_voltage", "supply_voltage", decided, ruleset, seen)
    boundaries = steps_of("investment_boundary", "boundary", decided, ruleset, seen)
    fees = _fee_steps(decided, ruleset, seen)
    conversions = _conversion_steps(decided, ruleset)
    return {
        application_id: [sizes[i], voltages[i], boundaries[i], *fees[i], *conversions[i]]
        for i, application_id in enumerate(decided["application_id"])
    }
