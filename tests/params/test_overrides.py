import datetime as dt

import pytest

from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.params.overrides import available_reforms, load_reform, sweep_ruleset


def _yaml(tmp_path, parameters: str, name="reform.yaml"):
    path = tmp_path / name
    path.write_text(f"id: test-reform\nbaseline: shandong-2019\nparameters:\n{parameters}", encoding="utf-8")
    return path


def test_shipped_reforms_load_and_show_their_diff():
    assert {"rural-lv-cap-160", "county-parks-red-line", "urban-lv-cap-200"} <= set(available_reforms())
    reform = load_reform("rural-lv-cap-160")
    cap = reform.ruleset.parameter("supply_voltage.low_voltage_cap")
    assert cap.at(dt.date(2019, 9, 1), "rural") == 160 and cap.at(dt.date(2019, 9, 1), "urban") == 160
    assert reform.ruleset.id == "shandong-2019+rural-lv-cap-160"
    assert reform.ruleset.overrides == ("rural-lv-cap-160",)
    assert reform.ruleset.content_hash != load_ruleset("shandong-2019").content_hash
    diff = reform.diff().iloc[0]
    assert (diff["path"], diff["baseline"], diff["reform"], diff["unit"]) == \
        ("supply_voltage.low_voltage_cap", "urban: 160, rural: 100", "urban: 160, rural: 160", "kVA")
    parks = load_reform("county-parks-red-line").ruleset.parameter("red_line_extension.park_levels")
    assert "county" in parks.at(dt.date(2020, 1, 1))


def test_a_start_stop_period_returns_to_the_baseline_after_stop(tmp_path):
    path = _yaml(tmp_path, "  supply_voltage.low_voltage_cap:\n    2020-01-01.2021-01-01: {rural: 130}\n")
    cap = load_reform(path).ruleset.parameter("supply_voltage.low_voltage_cap")
    assert cap.at(dt.date(2019, 12, 31), "rural") == 100
    assert cap.at(dt.date(2020, 6, 1), "rural") == 130
    assert cap.at(dt.date(2021, 1, 1), "rural") == 100


def test_a_csv_of_path_value_start_gives_the_same_override(tmp_path):
    path = tmp_path / "cap.csv"
    path.write_text("path,value,start,category,unit\nsupply_voltage.low_voltage_cap,160,2019-07-01,rural,kVA\n", encoding="utf-8")
    reform = load_reform(path, "shandong-2019")
    assert reform.ruleset.parameter("supply_voltage.low_voltage_cap").at(dt.date(2019, 9, 1), "rural") == 160


@pytest.mark.parametrize("parameters, field, message", [
    ("  supply_voltage.low_voltage_kap:\n    2019-07-01: 160\n", "supply_voltage.low_voltage_kap", "unknown parameter"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01.2019-02-30: {rural: 160}\n", "supply_voltage.low_voltage_cap", "not a date"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {rural: 160 kW}\n", "supply_voltage.low_voltage_cap", "unit 'kW'"),
    ("  supply_voltage.low_voltage_cap:\n    2019-07-01: {suburban: 160}\n", "supply_voltage.low_voltage_cap", "suburban"),
    ("  red_line_extension.in_effect:\n    2019-07-01: 3\n", "red_line_extension.in_effect", "true or false"),
])
def test_override_errors_name_the_file_and_the_field(tmp_path, parameters, field, message):
    path = _yaml(tmp_path, parameters)
    with pytest.raises(InputError, match=message) as error:
        load_reform(path)
    assert str(path) in str(error.value) and field in str(error.value)


def test_an_impossible_yaml_date_names_the_file(tmp_path):
    path = _yaml(tmp_path, "  supply_voltage.low_voltage_cap:\n    2019-17-01: {rural: 160}\n")
    with pytest.raises(InputError, match="a date is not valid") as error:
        load_reform(path)
    assert str(path) in str(error.value)


def test_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("path,value,start\nsupply_voltage.max_10kv_capacity,9000,01/07/2019\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv line 2, column start: '01/07/2019' is not a date"):
        load_reform(path, "shandong-2019")


def test_a_sweep_value_sets_one_category_only():
    ruleset = sweep_ruleset(load_ruleset("shandong-2019"), "supply_voltage.low_voltage_cap", 140, "rural")
    cap = ruleset.parameter("supply_voltage.low_voltage_cap")
    assert (cap.at(dt.date(2019, 9, 1), "urban"), cap.at(dt.date(2019, 9, 1), "rural")) == (160, 140)
    with pytest.raises(InputError, match="allowed: urban, rural"):
        sweep_ruleset(load_ruleset("shandong-2019"), "supply_voltage.low_voltage_cap", 140, "county")
