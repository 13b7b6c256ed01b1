"""Every YAML case under tariffs/rulesets/*/tests: the rules must decide what the case expects."""

import pytest

from casefiles import load_cases
from costmodel.application import parse_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_frame

CASES = load_cases()
DECISION_COLUMNS = {"enterprise_size", "supply_voltage", "boundary", "boundary_rule", "supply_voltage_rule"}
TOTAL_COLUMNS = {"customer_cny", "grid_cny", "total_cny"}


def test_every_shipped_rule_set_with_rules_of_its_own_has_cases():
    with_cases = {ruleset for _, ruleset, _, _ in CASES}
    assert {"shandong-2019", "national-1996", "national-2020", "national-2025"} <= with_cases


@pytest.mark.parametrize("ruleset_id, application, case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case(ruleset_id, application, case):
    batch = quote_frame(parse_application(application).to_frame(), load_ruleset(ruleset_id))
    if "reject" in case:
        assert batch.decisions.empty
        assert case["reject"] in batch.rejected["reason"].iloc[0]
        return
    assert batch.rejected.empty, batch.rejected["reason"].tolist()
    summary = batch.summary().iloc[0]
    for key, expected in case["expect"].items():
        assert key in DECISION_COLUMNS | TOTAL_COLUMNS, f"unknown expectation {key}"
        if key in TOTAL_COLUMNS:
            assert summary[key] == pytest.approx(expected, abs=0.01), key
        else:
            assert summary[key] == expected, key
