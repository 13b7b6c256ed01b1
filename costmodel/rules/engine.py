"""The decisions, in order, over a frame of applications.

enterprise_size -> supply_voltage -> investment_boundary -> fees. Each decision adds an outcome
column and a `<decision>_rule` column naming the rule that decided it; the trace is rebuilt from
those for any application that needs explaining.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from costmodel.application import ENTERPRISE_KINDS
from costmodel.classification import METRICS, SIZES, SizeTable, load_size_table, size_codes
from costmodel.columns import Columns
from costmodel.errors import InputError
from costmodel.labels import labels_from_codes, pick_labels
from costmodel.messages import Reason
from costmodel.paths import cached_per_root
from costmodel.rules import conditions
from costmodel.rules.eligibility import single_phase_problems

@cached_per_root(maxsize=8)
def _size_table(standard: str) -> SizeTable:
    return SizeTable.of(load_size_table(standard))


IN_SCOPE_VOLTAGES = ("low_voltage", "10kV")
# Converted capacities are kept to this many decimals, so that float noise cannot flip a comparison with a
# threshold (a kW request whose conversion lands exactly on a kVA cap must not come out 3e-14 above it).
# Numerical, not policy.
CAPACITY_DECIMALS = 6
BASIS_UNITS = {"capacity_kva": "kVA", "capacity_kw": "kW", "backup_capacity_kva": "kVA"}


def prepare(frame: pd.DataFrame | Columns, ruleset) -> Columns:
    """Derived columns every rule may read: evaluation date and capacity in both kVA and kW. The caller's
    frame (or columns) is left as it was; the columns come back as `Columns` (the frame's own plus these)."""
    columns = Columns(frame) if isinstance(frame, pd.DataFrame) else frame.copy()
    # An explicitly chosen rule set applies counterfactually to an earlier application, as of its own start.
    dates = np.asarray(columns["application_date"], dtype="datetime64[ns]")
    start = np.datetime64(ruleset.in_effect_from, "ns")
    columns["evaluation_date"] = np.where(dates >= start, dates, start)
    given_pf = np.asarray(columns["power_factor"], dtype=float)
    default_pf = ruleset.parameter("conversion.power_factor").array(columns).astype(float)
    power_factor = np.where(np.isnan(given_pf), default_pf, given_pf)
    in_kva = np.asarray(columns["capacity_unit"]) == "kVA"
    capacity = np.asarray(columns["capacity"], dtype=float)
    columns["power_factor_used"] = power_factor
    columns["capacity_kva"] = np.where(in_kva, capacity, np.round(capacity / power_factor, CAPACITY_DECIMALS))
    columns["capacity_kw"] = np.where(in_kva, np.round(capacity * power_factor, CAPACITY_DECIMALS), capacity)
    columns["backup_capacity_kva"] = backup_capacity_kva(columns, in_kva, power_factor)
    return columns


def backup_capacity_kva(columns: Columns, in_kva: np.ndarray, power_factor: np.ndarray) -> np.ndarray:
    """The capacity of the backup circuit(s) in kVA: what the high-reliability fee is charged on (the circuits
    other than the largest). Dual supply without a figure has a full backup, as large as the request; single
    supply has none."""
    given = np.asarray(columns["backup_capacity"], dtype=float) if "backup_capacity" in columns else np.full(len(columns), np.nan)
    given_kva = np.where(in_kva, given, np.round(given / power_factor, CAPACITY_DECIMALS))
    dual = np.asarray(columns["supply"]) == "dual"
    return np.where(dual, np.where(np.isnan(given_kva), columns["capacity_kva"], given_kva), 0.0)


def decide_enterprise_size(columns: Columns, ruleset) -> tuple[Columns, np.ndarray]:
    """Adds enterprise_size and enterprise_size_rule; the reason each row cannot be sized (else None)."""
    standards = ruleset.parameter("enterprise_size.standard").array(columns)
    n = len(columns)
    enterprise = columns.codes("applicant_kind", ENTERPRISE_KINDS) >= 0  # individual businesses are sized alike
    size_class = np.asarray(columns["size_class"], dtype=object)
    declared = enterprise & pd.notna(size_class)
    derive = enterprise & ~declared
    # Sizes and rules as codes into short lists: the classification's own order first, so its codes carry over.
    declared_sizes = size_class[declared]
    sizes = list(dict.fromkeys([*SIZES, "not_applicable", *pd.unique(declared_sizes)]))
    size = np.full(n, sizes.index("not_applicable"), dtype=np.int32)
    size[declared] = pd.Categorical(declared_sizes, categories=sizes).codes
    rules = ["enterprise_size.not_an_enterprise", "enterprise_size.declared"]
    rule = np.where(declared, 1, 0).astype(np.int32)
    problems = np.full(n, None, dtype=object)
    figures = [column for column in ("industry", *METRICS) if column in columns]
    standard_of = standards[derive]  # compared only where a size is derived, not over every row
    for standard in pd.unique(standard_of):
        rows = derive.copy()
        rows[derive] = standard_of == standard
        derived, row_problems = size_codes(columns.take(np.flatnonzero(rows), figures), _size_table(standard))
        size[rows] = derived  # SIZES order; -1 where it cannot be classified
        rules.append(f"enterprise_size.{standard}")
        rule[rows] = len(rules) - 1
        problems[rows] = row_problems
    columns["enterprise_size"] = pd.Categorical.from_codes(size, categories=sizes)
    columns["enterprise_size_rule"] = pd.Categorical.from_codes(rule, categories=rules)
    return columns, problems


def decide_layered(name: str, column: str, decided: Columns, ruleset) -> None:
    """One decision of a composed policy: each layer decides, and the outcome better for the customer (by the
    table's customer_preference) applies; on a tie, the provincial layer where one of its own rules decided.
    Adds `<column>`, `<column>_rule`, `<column>_layer`, and the other layer's `<column>_other` and
    `<column>_other_rule`."""
    national, provincial = ruleset.layers
    preference = national.decision(name).customer_preference
    if not preference:
        raise InputError(f"{national.decision(name).file}: a layered decision needs customer_preference (best outcome first)")
    (national_outcome, national_rule), (provincial_outcome, provincial_rule) = (
        layer.decision(name).evaluate(decided, layer) for layer in ruleset.layers)
    rank = {outcome: index for index, outcome in enumerate(preference)}
    national_rank = np.array([rank[o] for o in national_outcome.categories], dtype=np.int16)[national_outcome.codes]
    provincial_rank = np.array([rank[o] for o in provincial_outcome.categories], dtype=np.int16)[provincial_outcome.codes]
    # On a tie the province decides only by a rule it wrote; a national rule it inherits is the national layer's.
    own = [rule.id for rule in provincial.decision(name).rules if rule.origin != "" and rule.origin not in national.lineage]
    national_better = (national_rank < provincial_rank) | ((national_rank == provincial_rank) & ~provincial_rule.isin(own))
    decided[column] = pick_labels(national_better, national_outcome, provincial_outcome)
    decided[f"{column}_rule"] = pick_labels(national_better, national_rule, provincial_rule)
    decided[f"{column}_layer"] = labels_from_codes(national_better.astype(np.int8), [provincial.id, national.id])
    decided[f"{column}_other"] = pick_labels(national_better, provincial_outcome, national_outcome)
    decided[f"{column}_other_rule"] = pick_labels(national_better, provincial_rule, national_rule)


# The decision tables in the order they decide, with the column each adds.
DECISIONS = (("supply_voltage", "supply_voltage"), ("investment_boundary", "boundary"))


def decide_table(name: str, column: str, decided: Columns, ruleset) -> None:
    """One decision for every row, by the rule set alone or by its layers: adds `<column>` and `<column>_rule`
    (and, under layers, the layer columns)."""
    if ruleset.layers:
        decide_layered(name, column, decided, ruleset)
        return
    decided[column], decided[f"{column}_rule"] = ruleset.decision(name).evaluate(decided, ruleset)


def decide(frame: pd.DataFrame | Columns, ruleset) -> tuple[Columns, np.ndarray]:
    """All decisions for every row (the frame's columns and the decided ones), and a reason for each row that
    cannot be quoted (else None)."""
    decided, problems = decide_enterprise_size(prepare(frame, ruleset), ruleset)
    for name, column in DECISIONS:
        decide_table(name, column, decided, ruleset)
    beyond = ~decided["supply_voltage"].isin(IN_SCOPE_VOLTAGES) & pd.isna(problems)
    if beyond.any():
        limit = ruleset.parameter("supply_voltage.max_10kv_capacity")
        rows = np.flatnonzero(beyond)
        limits = limit.array(decided.take(rows, limit.reads))
        problems[rows] = [
            Reason("reject.beyond_10kv", kva=round(kva, 1), path=limit.path, cap=cap, unit=limit.unit, voltage=voltage)
            for kva, cap, voltage in zip(decided["capacity_kva"][rows].tolist(), limits.tolist(), decided["supply_voltage"][rows])
        ]
    single_phase_problems(decided, ruleset, problems)
    backup_problems(decided, problems)
    return decided, problems


def backup_problems(decided: Columns, problems: np.ndarray) -> None:
    """A backup capacity given without dual supply, or above the request, cannot be quoted (the reason names the
    field, the value and what is allowed): the Request model refuses both, a portfolio row is checked here."""
    given = np.asarray(decided["backup_capacity"], dtype=float) if "backup_capacity" in decided else np.full(len(decided), np.nan)
    capacity = np.asarray(decided["capacity"], dtype=float)
    dual = np.asarray(decided["supply"]) == "dual"
    bad = ~np.isnan(given) & (~dual | (given > capacity)) & pd.isna(problems)
    for row in np.flatnonzero(bad).tolist():
        problems[row] = (f"request.backup_capacity: {given[row]:g} is not allowed with supply {decided['supply'][row]} and capacity "
                         f"{capacity[row]:g}; allowed: only with supply dual, at most the capacity")


def fee_lines(decided: Columns, ruleset) -> Columns:
    """Charges other than works, as quote lines payable by the customer; `_row` is the application's position
    in `decided` (the caller adds application_id, once for all lines)."""
    table = ruleset.decision("fees")
    decided = Columns.of(decided)
    rows_of, fee_of, quantities, rates = [], [], [], []
    seen: dict = {}
    for number, fee in enumerate(table.fees):
        mask = conditions.evaluate_all(fee.when, decided, ruleset, seen)
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        parameter = ruleset.parameter(fee.rate_parameter)
        rows_of.append(rows)
        fee_of.append(np.full(len(rows), number, dtype=np.int32))
        rates.append(parameter.array(decided.take(rows, parameter.reads)).astype(float))
        quantities.append(np.asarray(decided[fee.basis], dtype=float)[rows])
    if not rows_of:
        return Columns(length=0)
    fee, quantity, rate = np.concatenate(fee_of), np.concatenate(quantities), np.concatenate(rates)
    fees = table.fees
    placeholder = np.array([ruleset.parameter(f.rate_parameter).placeholder for f in fees])
    return Columns(length=len(fee), arrays={
        "component": labels_from_codes(fee, [f.name for f in fees]),
        "std_type": pd.Categorical.from_codes(np.full(len(fee), -1), categories=[]),
        "zone": pd.Categorical.from_codes(np.zeros(len(fee), dtype=np.int8), categories=["charges"]),
        "quantity": quantity,
        "unit": labels_from_codes(fee, [BASIS_UNITS[f.basis] for f in fees]),
        "unit_cost_cny": rate,
        "amount_cny": quantity * rate,
        "rule_id": labels_from_codes(fee, [f.id for f in fees]),
        "design_rule": pd.Categorical.from_codes(np.full(len(fee), -1), categories=[]),
        "catalogue_ref": labels_from_codes(fee, [f"{ruleset.id}:{f.rate_parameter}" for f in fees]),
        "indicative": np.zeros(len(fee), dtype=bool),
        "ceiling": np.zeros(len(fee), dtype=bool),
        "placeholder": placeholder[fee],
        "refundable": np.array([f.refund is not None for f in fees])[fee],
        "_row": np.concatenate(rows_of),
    })
