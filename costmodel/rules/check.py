"""Rule-set integrity: what `costmodel check RULESET` reports.

Completeness holds by construction (a table's default rule has no conditions, so some rule always
applies); overlaps are found by evaluating every table over a probe portfolio that crosses every
category with capacities on both sides of every capacity threshold, at every date a parameter
changes value.
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costmodel.application import FRAME_COLUMNS, Applicant, Enterprise, Request, Site
from costmodel.designs.standard import scheme_for
from costmodel.params import RuleSet
from costmodel.params.overrides import value_problems
from costmodel.params.ruleset import first_date_problems
from costmodel.rules import conditions
from costmodel.rules.abolished import ruleset_problems
from costmodel.rules.engine import decide_enterprise_size, prepare
from costmodel.rules.table import DecisionTable

CAPACITY_UNITS = {"kVA", "kW"}


def _literal_values(annotation) -> list:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [value for inner in typing.get_args(annotation) for value in _literal_values(inner)]


def _choices(model, name: str) -> list:
    return _literal_values(model.model_fields[name].annotation)


def probe_frame(ruleset: RuleSet) -> pd.DataFrame:
    """Applications crossing every category with capacities at, just below and just above every threshold."""
    thresholds = {1.0}
    dates = {ruleset.in_effect_from}
    for parameter in ruleset.parameters.values():
        dates.update(d for d in parameter.dates if d >= ruleset.in_effect_from)
        if parameter.unit in CAPACITY_UNITS:
            for value in parameter.values:
                for number in (value.values() if isinstance(value, dict) else [value]):
                    thresholds.update({number - 0.5, float(number), number + 0.5})
    grid = itertools.product(
        _choices(Applicant, "kind"), _choices(Enterprise, "size_class"), _choices(Site, "area"), _choices(Site, "park_level"), [False, True],
        [*_choices(Enterprise, "ownership"), None], sorted(thresholds), ["kVA", "kW"], _choices(Request, "supply"),
        _choices(Request, "duration"), [*_choices(Request, "voltage_requested"), None], sorted(dates),
    )
    frame = pd.DataFrame(list(grid), columns=[
        "applicant_kind", "size_class", "area", "park_level", "in_project_database", "ownership", "capacity",
        "capacity_unit", "supply", "duration", "voltage_requested", "application_date",
    ])
    frame["application_date"] = pd.to_datetime(frame["application_date"])
    frame["application_id"] = "probe-" + frame.index.astype(str)
    for column in FRAME_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame["industry"] = None
    frame["phases"] = 3
    frame[["distance_to_lv_m", "distance_to_10kv_m", "transformer_headroom_kva", "road_crossings"]] = [100.0, 100.0, 0.0, 0]
    return frame[FRAME_COLUMNS]


@dataclass
class CheckReport:
    ruleset_id: str
    parameters: int = 0
    probes: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _overlaps(table: DecisionTable, frame: pd.DataFrame, ruleset: RuleSet) -> list[str]:
    applies = {
        rule.id: conditions.evaluate_all(rule.when, frame, ruleset)
        for rule in table.rules
    }
    found = []
    for siblings in table.children.values():
        for a, b in itertools.combinations(siblings, 2):
            both = applies[a] & applies[b]
            if both.any() and not (a in table.priority and b in table.priority):
                example = frame.loc[both].iloc[0]
                found.append(
                    f"{table.file}: rules {a} and {b} both apply (e.g. {example['applicant_kind']}, size "
                    f"{example['enterprise_size']}, {example['area']}, park {example['park_level']}, "
                    f"{example['capacity']} {example['capacity_unit']}) and are not ordered by priority"
                )
    return found


def check_ruleset(ruleset: RuleSet) -> CheckReport:
    report = CheckReport(ruleset.id, parameters=len(ruleset.parameters))
    for parameter in ruleset.parameters.values():
        if parameter.placeholder:
            report.notes.append(f"{parameter.path} is a placeholder ({parameter.reference.cite()})")
    # Each value within its unit's range (tariffs/units.yaml) and each list label one the application field has:
    # the validator reforms pass. A value out of range makes the probes meaningless, so they wait for a fix.
    report.problems.extend(value_problems(ruleset))
    report.problems.extend(first_date_problems(ruleset))
    if report.problems:
        return report
    columns, _ = decide_enterprise_size(prepare(probe_frame(ruleset), ruleset), ruleset)
    columns["supply_voltage"], _ = ruleset.decision("supply_voltage").evaluate(columns, ruleset)
    frame = columns.to_frame()
    report.probes = len(frame)
    for name in ("supply_voltage", "investment_boundary"):
        report.problems.extend(_overlaps(ruleset.decision(name), frame, ruleset))
    scheme = scheme_for(ruleset)
    report.notes.append(f"design {scheme.id}: every std_type it names exists in catalogue {scheme.catalog.id}")
    # No fee and no catalogue item charges what the law abolished (tariffs/abolished-charges).
    report.problems.extend(ruleset_problems(ruleset, scheme.catalog))
    return report
