"""Rule-set cases written as YAML by policy staff: a base application, changes, expectations."""

from __future__ import annotations

import copy
from pathlib import Path

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


def run_case(ruleset_id: str, application: dict, case: dict) -> list[str]:
    """What differs between the case's expectations and the quote (empty when it holds)."""
    from costmodel.application import parse_application
    from costmodel.params import load_ruleset
    from costmodel.quote import quote_frame

    batch = quote_frame(parse_application(application).to_frame(), load_ruleset(ruleset_id))
    if "reject" in case:
        reasons = batch.rejected["reason"].tolist()
        return [] if reasons and case["reject"] in reasons[0] else [f"expected a rejection containing {case['reject']!r}, got {reasons}"]
    if not batch.rejected.empty:
        return [f"rejected: {batch.rejected['reason'].iloc[0]}"]
    summary = batch.summary().iloc[0]
    differences = []
    for key, expected in case["expect"].items():
        if key not in EXPECTABLE:
            differences.append(f"unknown expectation {key!r}; allowed: {sorted(EXPECTABLE)}")
        elif key in AMOUNTS and abs(summary[key] - expected) > 0.01 or key not in AMOUNTS and summary[key] != expected:
            differences.append(f"{key}: expected {expected!r}, got {summary[key]!r}")
    return differences


AMOUNTS = {"customer_cny", "grid_cny", "total_cny"}
EXPECTABLE = AMOUNTS | {"enterprise_size", "supply_voltage", "boundary", "boundary_rule", "supply_voltage_rule"}
