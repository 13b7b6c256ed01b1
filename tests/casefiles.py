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


def load_cases() -> list[tuple[str, str, dict, dict]]:
    """(test id, rule set, application, case) for every case of every file."""
    cases = []
    for file in case_files():
        raw = check_keys(load_yaml(file), str(file), {"ruleset", "base", "cases"})
        for number, case in enumerate(raw["cases"], start=1):
            check_keys(case, f"{file}: case {number}", {"name"}, {"with", "expect", "reject"})
            test_id = f"{file.parent.parent.name}/{file.stem}/{number}: {case['name']}"
            cases.append((test_id, raw["ruleset"], with_changes(raw["base"], case.get("with")), case))
    return cases
