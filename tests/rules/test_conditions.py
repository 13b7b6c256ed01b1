import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.params.parameter import Parameter
from costmodel.rules import conditions

REFERENCE = {"source": "shandong-2019-opinions", "paraphrase": "art. 1"}


class _Rules:
    """Just the parameter lookup a condition needs."""

    def __init__(self, parameter: Parameter):
        self._parameter = parameter

    def parameter(self, path: str) -> Parameter:
        return self._parameter


def test_membership_in_a_dated_list_is_the_same_on_categorical_and_plain_columns():
    levels = Parameter.from_yaml("red_line_extension.park_levels", {
        "description": "parks", "unit": "levels", "reference": REFERENCE,
        "values": {dt.date(2018, 1, 1): ["national"], dt.date(2019, 7, 1): ["national", "provincial"]}}, Path("p.yaml"))
    plain = pd.DataFrame({
        "evaluation_date": pd.to_datetime(["2018-06-01", "2018-06-01", "2019-08-01", "2019-08-01", "2019-08-01"]),
        "park_level": ["national", "provincial", "provincial", "county", None],
    })
    spec = {"field": "park_level", "in": {"param": "red_line_extension.park_levels"}}
    expected = [True, False, True, False, False]  # provincial parks joined in 2019; a missing level is in no list
    assert conditions.evaluate(spec, plain, _Rules(levels)).tolist() == expected
    coded = plain.assign(park_level=plain["park_level"].astype("category"))
    assert conditions.evaluate(spec, coded, _Rules(levels)).tolist() == expected
    outside = {"field": "park_level", "not_in": {"param": "red_line_extension.park_levels"}}
    assert conditions.evaluate(outside, coded, _Rules(levels)).tolist() == [not e for e in expected]


def test_all_conditions_hold_only_where_each_does_and_a_shared_condition_is_read_from_seen():
    frame = pd.DataFrame({"supply_voltage": ["10kV", "10kV", "low_voltage"], "distance_m": [0.0, 120.0, 80.0]})
    ten_kv = {"field": "supply_voltage", "eq": "10kV"}
    far = {"field": "distance_m", "gt": 50}
    assert conditions.evaluate_all([], frame, None).tolist() == [True, True, True]  # no condition: every row
    assert conditions.evaluate_all([ten_kv, far], frame, None).tolist() == [False, True, False]
    # A stale result planted under the condition's key is what a second rule gets: it is not evaluated again.
    seen = {repr(ten_kv): [True, True, True]}
    assert conditions.evaluate_all([dict(ten_kv), far], frame, None, seen).tolist() == [False, True, True]
    assert set(seen) == {repr(ten_kv), repr(far)}


def _urban_red_line() -> Parameter:
    return Parameter.from_yaml("red_line_extension.urban_building_red_line", {
        "description": "red line", "unit": "bool", "reference": REFERENCE,
        "values": {dt.date(2019, 7, 1): False, dt.date(2021, 3, 1): True}}, Path("p.yaml"))


def _sites() -> pd.DataFrame:
    return pd.DataFrame({
        "evaluation_date": pd.to_datetime(["2021-03-01", "2020-01-01", "2021-06-01"]),
        "supply_voltage": ["10kV", "low_voltage", None],
        "distance_m": [0.0, 120.0, float("nan")],
        "radius_m": [100.0, 100.0, 100.0],
    })


def test_the_trace_shows_each_condition_with_the_values_it_read_and_whether_it_held():
    ten_kv = {"field": "supply_voltage", "eq": "10kV"}
    beyond = {"field": "distance_m", "gt": {"field": "radius_m"}}
    rules = _Rules(_urban_red_line())
    assert conditions.describe({"any": [ten_kv, beyond]}, _sites(), rules) == [
        "(supply_voltage 10kV = 10kV: yes or distance_m 0.0 > radius_m 100.0: no)",
        "(supply_voltage low_voltage = 10kV: no or distance_m 120.0 > radius_m 100.0: yes)",
        "(supply_voltage None = 10kV: no or distance_m None > radius_m 100.0: no)",   # missing values shown as None
    ]
    assert conditions.describe({"all": [ten_kv, beyond]}, _sites(), rules)[0] == (
        "(supply_voltage 10kV = 10kV: yes and distance_m 0.0 > radius_m 100.0: no)")
    # a parameter on the left is shown with the date of the value in force
    assert conditions.describe({"param": "red_line_extension.urban_building_red_line", "eq": True}, _sites(), rules) == [
        "red_line_extension.urban_building_red_line<2021-03-01> = True bool = True: yes",
        "red_line_extension.urban_building_red_line<2019-07-01> = False bool = True: no",
        "red_line_extension.urban_building_red_line<2021-03-01> = True bool = True: yes",
    ]


def test_the_trace_reads_a_condition_the_decision_already_evaluated():
    # what the trace says held is what the decision used: a result planted under the condition's key is shown
    ten_kv = {"field": "supply_voltage", "eq": "10kV"}
    seen = {repr(ten_kv): [False, True, False]}
    assert [": yes" in text for text in conditions.describe({"any": [ten_kv]}, _sites(), None, seen)] == [False, True, False]
    assert [text.endswith(": yes") for text in conditions.describe(ten_kv, _sites(), None, seen)] == [False, True, False]


def test_membership_in_a_literal_list_on_a_categorical_column():
    frame = pd.DataFrame({"park_level": pd.Categorical(["national", "county", None])})
    assert conditions.evaluate({"field": "park_level", "in": ["national", "provincial"]}, frame, None).tolist() == [True, False, False]


CONDITION_KEYS = "['field', 'param', 'quantity'] and one of ['eq', 'ge', 'gt', 'in', 'le', 'lt', 'ne', 'not_in']"


@pytest.mark.parametrize("spec, message", [
    ("urban", "rule r: a condition must be a mapping, got 'urban'"),
    ({"any": "urban"}, "rule r: 'any'/'all' take a list of conditions and nothing else: {'any': 'urban'}"),
    ({"any": [], "all": []}, "rule r: 'any'/'all' take a list of conditions and nothing else: {'any': [], 'all': []}"),
    ({"all": [{"field": "area"}]}, "rule r: condition {'field': 'area'} needs one of " + CONDITION_KEYS),
    ({"field": "area"}, "rule r: condition {'field': 'area'} needs one of " + CONDITION_KEYS),
    ({"eq": "urban"}, "rule r: condition {'eq': 'urban'} needs one of " + CONDITION_KEYS),
    ({"field": "area", "eq": "urban", "or": "rural"}, "rule r: condition {'field': 'area', 'eq': 'urban', 'or': 'rural'} needs one of"),
])
def test_a_malformed_condition_is_refused_saying_where_and_what_it_needs(spec, message):
    with pytest.raises(InputError) as error:
        conditions.validate_condition(spec, "rule r")
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("spec", [
    {"all": [{"field": "area", "eq": "urban"}, {"any": [{"param": "p", "eq": True}]}]},
    {"quantity": "capacity", "le": 100, "unit": "kVA"},   # a quantity compared with a literal names its unit
])
def test_well_formed_conditions_pass(spec):
    conditions.validate_condition(spec, "rule r")


def test_a_quantity_compared_with_a_literal_reads_the_column_of_its_unit_and_needs_the_unit():
    frame = pd.DataFrame({"capacity_kva": [100.0, 200.0], "capacity_kw": [180.0, 90.0]})
    assert conditions.evaluate({"quantity": "capacity", "gt": 150, "unit": "kW"}, frame, None).tolist() == [True, False]
    assert conditions.evaluate({"quantity": "capacity", "gt": 150, "unit": "kVA"}, frame, None).tolist() == [False, True]
    with pytest.raises(InputError) as error:
        conditions.evaluate({"quantity": "capacity", "gt": 150}, frame, None)
    assert str(error.value) == "condition {'quantity': 'capacity', 'gt': 150}: a quantity compared with a literal needs a 'unit'"


def test_membership_takes_any_labels_and_refuses_a_single_text():
    frame = pd.DataFrame({"tag": ["param", "other"]})
    assert conditions.evaluate({"field": "tag", "in": ["param"]}, frame, None).tolist() == [True, False]   # a label, not a parameter
    with pytest.raises(InputError) as error:
        conditions.evaluate({"field": "tag", "in": "param"}, frame, None)
    assert str(error.value) == "'in' needs a list or a list parameter, got 'param'"


def test_a_condition_on_a_field_the_frame_lacks_is_refused_naming_it():
    with pytest.raises(InputError) as error:
        conditions.evaluate({"field": "voltage_level", "eq": "10kV"}, pd.DataFrame({"area": ["urban"]}), None)
    assert str(error.value) == "a rule reads the field 'voltage_level', which the application frame does not have"


def test_all_holds_where_every_part_does_and_any_where_one_does():
    frame = pd.DataFrame({"area": ["urban", "urban", "rural"], "distance_m": [10.0, 500.0, 500.0]})
    parts = [{"field": "area", "eq": "urban"}, {"field": "distance_m", "gt": 250}]
    assert conditions.evaluate({"all": parts}, frame, None).tolist() == [False, True, False]
    assert conditions.evaluate({"any": parts}, frame, None).tolist() == [True, True, True]


def test_a_quantity_in_a_unit_without_a_column_is_refused_naming_the_allowed_ones():
    with pytest.raises(InputError) as error:
        conditions.evaluate({"quantity": "capacity", "gt": 1, "unit": "MW"}, pd.DataFrame({"capacity_kw": [1.0]}), None)
    assert str(error.value) == ("condition {'quantity': 'capacity', 'gt': 1, 'unit': 'MW'}: no quantity capacity in MW; "
                                "allowed: capacity in kVA, capacity in kW")


def test_a_categorical_field_compared_with_another_field_row_by_row():
    frame = pd.DataFrame({"requested": pd.Categorical(["10kV", "low_voltage"]), "supply_voltage": ["10kV", "10kV"]})
    assert conditions.evaluate({"field": "requested", "eq": {"field": "supply_voltage"}}, frame, None).tolist() == [True, False]
