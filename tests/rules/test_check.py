import pytest

from costmodel.params import available_rulesets, load_ruleset
from costmodel.rules.check import check_ruleset


@pytest.mark.parametrize("ruleset_id", available_rulesets())
def test_every_shipped_rule_set_is_free_of_unordered_overlaps(ruleset_id):
    report = check_ruleset(load_ruleset(ruleset_id))
    assert report.ok, report.problems


def test_removing_the_priority_reveals_exactly_the_overlapping_pairs():
    ruleset = load_ruleset("shandong-2019")
    unordered = ruleset.with_decision("investment_boundary", ruleset.decision("investment_boundary").without_priority())
    pairs = {tuple(problem.split("rules ")[1].split(" both")[0].split(" and ")) for problem in check_ruleset(unordered).problems}
    # From the conditions: a small/micro enterprise or a resident at low voltage may sit in a municipal
    # park, and a large enterprise in the project database may too. Zero investment needs small/micro and
    # the project-database rule large/medium, so those two never meet; residents are never enterprises.
    assert pairs == {
        ("boundary.zero_investment_small_micro", "boundary.red_line_park"),
        ("boundary.residential_meter", "boundary.red_line_park"),
        ("boundary.red_line_park", "boundary.red_line_project_database"),
    }
