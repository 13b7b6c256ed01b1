"""Every YAML case under tariffs/rulesets/*/tests: the rules must decide what the case expects."""

import pytest

from costmodel.rules.cases import load_cases, run_case

CASES = load_cases()


def test_every_rule_set_with_rules_of_its_own_has_cases():
    with_cases = {ruleset for _, ruleset, _, _ in CASES}
    assert {"shandong-2019", "national-1996", "national-2020", "national-2025"} <= with_cases


@pytest.mark.parametrize("ruleset_id, application, case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case(ruleset_id, application, case):
    assert run_case(ruleset_id, application, case) == []
