"""Every YAML case under tariffs/rulesets/*/tests: the rules must decide what the case expects."""

import pytest

from costmodel.paths import tariffs_dir
from costmodel.rules.cases import load_cases, run_case

CASES = load_cases()


def test_every_rule_set_with_rules_of_its_own_has_cases():
    with_decisions = {folder.name for folder in (tariffs_dir() / "rulesets").iterdir()
                      if any((folder / "decisions").glob("*.yaml"))}
    assert len(with_decisions) >= 2  # the shipped national and provincial layers, at least
    with_cases = {test_id.split("/")[0] for test_id, _, _, _ in CASES}  # the folder the case file lies in
    assert with_decisions - with_cases == set()


@pytest.mark.parametrize("ruleset_id, application, case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case(ruleset_id, application, case):
    assert run_case(ruleset_id, application, case) == []
