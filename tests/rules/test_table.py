import pandas as pd
import pytest

from costmodel.application import load_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_frame
from costmodel.rules.table import DecisionTable, RuleConflictError
from costmodel.errors import InputError
from tests_support import EXAMPLES


def _micro_in_municipal_park() -> pd.DataFrame:
    frame = load_application(EXAMPLES / "micro-shop.yaml").to_frame()
    return frame.assign(park_level="municipal")


def test_ordered_exceptions_pick_the_first_in_priority():
    batch = quote_frame(_micro_in_municipal_park(), load_ruleset("shandong-2019"))
    assert batch.decisions["boundary"].iloc[0] == "meter"
    assert batch.decisions["boundary_rule"].iloc[0] == "boundary.zero_investment_small_micro"


def test_without_priority_two_applying_exceptions_stop_with_an_error_naming_both():
    ruleset = load_ruleset("shandong-2019")
    unordered = ruleset.with_decision("investment_boundary", ruleset.decision("investment_boundary").without_priority())
    with pytest.raises(RuleConflictError) as raised:
        quote_frame(_micro_in_municipal_park(), unordered)
    message = str(raised.value)
    assert "boundary.zero_investment_small_micro" in message
    assert "boundary.red_line_park" in message
    assert "micro-shop" in message


def test_without_priority_rows_with_a_single_exception_still_decide():
    ruleset = load_ruleset("shandong-2019")
    unordered = ruleset.with_decision("investment_boundary", ruleset.decision("investment_boundary").without_priority())
    batch = quote_frame(load_application(EXAMPLES / "micro-shop.yaml").to_frame(), unordered)
    assert batch.decisions["boundary"].iloc[0] == "meter"


RULE = {"id": "r.default", "description": "d", "then": "a", "cites": {"source": "cn-grid-practice", "paraphrase": "y"}}


@pytest.mark.parametrize("rules, message", [
    ([RULE, {**RULE, "id": "r.other"}], "exactly one default rule"),
    ([{**RULE, "when": [{"field": "area", "eq": "urban"}]}], "must have no conditions"),
    ([RULE, {**RULE, "id": "r.x", "exception_to": "r.nothing"}], "unknown rule 'r.nothing'"),
    ([{**RULE, "then": "zzz"}], "allowed outcomes"),
    ([RULE, {**RULE, "id": "r.x", "exception_to": "r.default", "when": [{"field": "area", "equals": "urban"}]}], "needs one of"),
    ([RULE, RULE], "appear more than once"),
])
def test_malformed_tables_are_rejected_with_the_reason(rules, message, tmp_path):
    raw = {"decision": "t", "description": "d", "outcomes": ["a", "b"], "rules": rules}
    with pytest.raises(InputError, match=message):
        DecisionTable.from_yaml(raw, tmp_path / "t.yaml")


def test_a_malformed_table_is_named_by_its_file(tmp_path):
    raw = {"decision": "t", "description": "d", "outcomes": ["a", "b"], "rules": [RULE, {**RULE, "id": "r.other"}]}
    with pytest.raises(InputError) as error:
        DecisionTable.from_yaml(raw, tmp_path / "t.yaml")
    assert str(error.value).startswith(f"{tmp_path / 't.yaml'}: a table needs exactly one default rule")


def test_an_amended_table_names_both_files_and_an_amendment_needs_a_table_underneath(tmp_path):
    from costmodel.rules.table import Amendment

    table = DecisionTable.from_yaml({"decision": "t", "description": "d", "outcomes": ["a", "b"], "rules": [RULE]}, tmp_path / "t.yaml")
    amendment = Amendment.from_yaml({"amends": "t", "rules": [{**RULE, "id": "r.x", "exception_to": "r.default", "then": "b",
                                                              "when": [{"field": "area", "eq": "urban"}]}]}, tmp_path / "a.yaml")
    amended = amendment.applied_to(table)
    assert amended.file == f"{tmp_path / 't.yaml'} + {tmp_path / 'a.yaml'}"
    assert [rule.id for rule in amended.rules] == ["r.default", "r.x"]
    with pytest.raises(InputError) as error:
        amendment.applied_to(None)
    assert str(error.value) == f"{tmp_path / 'a.yaml'}: amends decision table 't', which no rule set underneath defines"


@pytest.mark.parametrize("extra, message", [
    ({"priority": ["r.default", "r.ghost"]}, "priority names unknown rule(s) ['r.ghost']"),
    ({"customer_preference": ["a"]}, "customer_preference ['a'] must list each outcome ['a', 'b'] once, best for the customer first"),
])
def test_priority_and_customer_preference_name_only_the_tables_own_rules_and_outcomes(extra, message, tmp_path):
    raw = {"decision": "t", "description": "d", "outcomes": ["a", "b"], "rules": [RULE], **extra}
    with pytest.raises(InputError) as error:
        DecisionTable.from_yaml(raw, tmp_path / "t.yaml")
    assert str(error.value) == f"{tmp_path / 't.yaml'}: {message}"


def _rule(id, then, parent=None, **when):
    rule = {"id": id, "description": "d", "then": then, "cites": {"source": "cn-grid-practice", "paraphrase": "y"}}
    if parent:
        rule |= {"exception_to": parent, "when": [{"field": field, "in": values} for field, values in when.items()]}
    return rule


# Exceptions listed before the default rule: the first rule of the file (number 0) is an exception like any other.
FIRST_AN_EXCEPTION = [_rule("r.urban", "b", "r.default", area=["urban"]), _rule("r.default", "a"),
                      _rule("r.town", "c", "r.default", area=["urban", "town"])]


def test_an_exception_listed_first_decides_and_the_ordered_one_after_it_does_not_override_it(tmp_path):
    raw = {"decision": "t", "description": "d", "outcomes": ["a", "b", "c"], "rules": FIRST_AN_EXCEPTION,
           "priority": ["r.urban", "r.town"]}
    table = DecisionTable.from_yaml(raw, tmp_path / "t.yaml")
    outcome, rule = table.evaluate(pd.DataFrame({"area": ["urban", "town", "rural"]}), None)
    assert list(outcome) == ["b", "c", "a"] and list(rule) == ["r.urban", "r.town", "r.default"]


@pytest.mark.parametrize("priority", [[], ["r.urban"], ["r.town"]])
def test_two_exceptions_applying_together_need_both_in_the_priority(tmp_path, priority):
    raw = {"decision": "t", "description": "d", "outcomes": ["a", "b", "c"], "rules": FIRST_AN_EXCEPTION, "priority": priority}
    table = DecisionTable.from_yaml(raw, tmp_path / "t.yaml")
    with pytest.raises(RuleConflictError, match="rules r.urban and r.town both apply to application u1"):
        table.evaluate(pd.DataFrame({"application_id": ["r1", "u1"], "area": ["rural", "urban"]}), None)


def test_a_conflict_is_found_where_the_second_exception_is_decided_by_its_own_exception_listed_first(tmp_path):
    rules = [_rule("r.inner", "c", "r.town", area=["urban"]), _rule("r.default", "a"),
             _rule("r.urban", "b", "r.default", area=["urban"]), _rule("r.town", "b", "r.default", area=["urban", "town"])]
    table = DecisionTable.from_yaml({"decision": "t", "description": "d", "outcomes": ["a", "b", "c"], "rules": rules}, tmp_path / "t.yaml")
    with pytest.raises(RuleConflictError, match="rules r.urban and r.town both apply to application 0"):
        table.evaluate(pd.DataFrame({"area": ["urban"]}), None)   # no application_id: named by position
