import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.params.parameter import Parameter
from costmodel.yamlio import load_yaml_text

REFERENCE = {"source": "shandong-2019-opinions", "paraphrase": "art. 1"}


def _parameter(**changes) -> Parameter:
    raw = {"description": "cap", "unit": "kVA", "reference": REFERENCE, "breakdown": "area",
           "values": {dt.date(2018, 8, 1): {"urban": 100, "rural": 50}, dt.date(2019, 7, 1): {"urban": 160, "rural": 100}}}
    raw.update(changes)
    return Parameter.from_yaml("supply_voltage.cap", raw, Path("cap.yaml"))


def test_values_by_date_and_category_per_row():
    frame = pd.DataFrame({
        "evaluation_date": pd.to_datetime(["2018-09-01", "2019-07-01", "2019-06-30", "2020-01-01"]),
        "area": ["urban", "urban", "rural", "rural"],
    })
    assert _parameter().array(frame).tolist() == [100, 160, 50, 100]


def test_describe_value_names_the_date_in_force():
    assert _parameter().describe_value(dt.date(2019, 9, 1), "rural") == "supply_voltage.cap<2019-07-01>[rural] = 100 kVA"
    # Before the first date the first value applies; a Timestamp counts as its day.
    assert _parameter().describe_value(pd.Timestamp("2017-01-01 15:00"), "urban") == "supply_voltage.cap<2018-08-01>[urban] = 100 kVA"


def test_describe_values_per_row_by_date_and_category():
    frame = pd.DataFrame({
        "evaluation_date": pd.to_datetime(["2019-07-01", "2019-06-30", "2019-07-01", "2020-01-01"]),
        "area": ["urban", "rural", "urban", "rural"],
    })
    assert _parameter().describe_values(frame) == [
        "supply_voltage.cap<2019-07-01>[urban] = 160 kVA", "supply_voltage.cap<2018-08-01>[rural] = 50 kVA",
        "supply_voltage.cap<2019-07-01>[urban] = 160 kVA", "supply_voltage.cap<2019-07-01>[rural] = 100 kVA",
    ]


def test_describe_values_names_an_unknown_category():
    frame = pd.DataFrame({"evaluation_date": pd.to_datetime(["2019-07-01"]), "area": ["suburb"]})
    with pytest.raises(InputError, match="no value for area='suburb'; allowed: urban, rural"):
        _parameter().describe_values(frame)


@pytest.mark.parametrize("changes, message", [
    ({"colour": "red"}, "unknown key"),
    ({"unit": None}, None),
    ({"reference": {"source": "rumour", "paraphrase": "c"}}, "p.yaml: reference: source 'rumour' is not a key of .*sources.yaml; allowed: .*gbh-2020-129"),
    ({"reference": {"paraphrase": "c"}}, "missing required key"),
    ({"reference": {"document": "d", "clause": "c", "source": "article"}}, "unknown key.*clause, document"),
    ({"values": {"2019": 1}}, "not a date"),
    ({"values": {dt.date(2019, 1, 1): {"urban": 1}, dt.date(2020, 1, 1): {"urban": 1, "rural": 2}}}, "differ from earlier"),
])
def test_malformed_parameters_are_load_errors(changes, message):
    raw = {"description": "cap", "unit": "kVA", "reference": REFERENCE, "breakdown": "area",
           "values": {dt.date(2019, 7, 1): {"urban": 160, "rural": 100}}}
    raw.update(changes)
    if raw["unit"] is None:
        del raw["unit"]
        message = "missing required key.*unit"
    with pytest.raises(InputError, match=message):
        Parameter.from_yaml("p", raw, Path("p.yaml"))


def test_unknown_category_is_an_error_naming_the_allowed_ones():
    frame = pd.DataFrame({"evaluation_date": pd.to_datetime(["2019-09-01"]), "area": ["suburban"]})
    with pytest.raises(InputError, match="area='suburban'; allowed: urban, rural"):
        _parameter().array(frame)


def test_duplicate_yaml_keys_are_rejected():
    with pytest.raises(InputError, match="duplicate key 'unit' at line 2"):
        load_yaml_text("unit: kVA\nunit: kW\n", "p.yaml")


def test_malformed_yaml_names_the_file():
    with pytest.raises(InputError, match="p.yaml: malformed YAML"):
        load_yaml_text("values: [1, 2\n", "p.yaml")


def test_an_impossible_date_is_a_load_error_naming_the_file():
    with pytest.raises(InputError, match=r"p.yaml: a date is not valid \(month must be in 1..12\)"):
        load_yaml_text("values:\n  2019-17-01: 5\n", "p.yaml")


def test_cells_hold_numbers_as_floats_flags_as_bools_and_lists_whole():
    table, categories = _parameter().cells
    assert categories == ["urban", "rural"] and table.dtype == float and table.tolist() == [[100, 50], [160, 100]]
    flag = _parameter(breakdown=None, unit="flag", values={dt.date(2019, 7, 1): True})
    assert flag.cells[0].dtype == bool and flag.cells[1] is None
    levels = _parameter(breakdown=None, unit="levels", values={dt.date(2018, 1, 1): ["national"], dt.date(2019, 7, 1): ["national", "county"]})
    frame = pd.DataFrame({"evaluation_date": pd.to_datetime(["2018-06-01", "2019-08-01"])})
    assert levels.array(frame).tolist() == [["national"], ["national", "county"]]


def _red_line(values) -> Parameter:
    raw = {"description": "red line", "unit": "bool", "values": values,
           "reference": {"source": "gbh-2020-129", "paraphrase": "自2021年3月1日起施行"}}
    return Parameter.from_yaml("red_line_extension.urban_building_red_line", raw, Path("red.yaml"))


def test_a_dated_value_may_carry_its_own_reference():
    before = {"source": "ndrc-nea-2020-1479", "paraphrase": "no red-line clause"}
    parameter = _red_line({dt.date(2020, 9, 22): {"value": False, "reference": before}, dt.date(2021, 3, 1): True})
    assert parameter.values == (False, True) and parameter.cells[0].dtype == bool
    assert parameter.reference_on(dt.date(2021, 2, 28)).key == "ndrc-nea-2020-1479"
    assert parameter.reference_on(dt.date(2021, 3, 1)).key == "gbh-2020-129"  # no reference of its own: the parameter's
    assert parameter.describe_value(dt.date(2021, 2, 28)) == (
        "red_line_extension.urban_building_red_line<2020-09-22> = False bool (国家发展改革委 国家能源局"
        "《关于全面提升“获得电力”服务水平 持续优化用电营商环境的意见》(发改能源规〔2020〕1479号): no red-line clause (paraphrase) [national])")
    assert parameter.describe_value(dt.date(2021, 3, 1)).endswith("(国办函〔2020〕129号): 自2021年3月1日起施行 (paraphrase) [national])")


def test_without_references_per_value_the_line_is_the_value_alone():
    parameter = _red_line({dt.date(2020, 9, 22): False, dt.date(2021, 3, 1): True})
    assert parameter.value_references == ()
    assert parameter.describe_value(dt.date(2021, 3, 1)) == "red_line_extension.urban_building_red_line<2021-03-01> = True bool"


def test_a_value_reference_is_checked_like_the_parameters():
    with pytest.raises(InputError, match="red.yaml: values 2020-09-22: reference: source 'nowhere' is not a key"):
        _red_line({dt.date(2020, 9, 22): {"value": False, "reference": {"source": "nowhere", "paraphrase": "x"}}})
