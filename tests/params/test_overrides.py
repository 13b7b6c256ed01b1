import dataclasses
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


def test_a_reform_changes_stage_days_and_time_limits_and_the_quote_schedule_follows(tmp_path):
    import pandas as pd

    from costmodel.application import load_application
    from costmodel.quote import quote_frame
    from tests_support import EXAMPLES

    # Shandong 2019, low voltage with external works: application 1, then the four approvals in parallel (5, 5, 3, 3),
    # then works and connection 1: 1 + 5 + 1 = 7 working days, against the average target of 7.
    reform = load_reform(_yaml(tmp_path, """
  schedule.limit.total_low_voltage:
    2020-01-01: 5 working_days
  schedule.stage.lv_connection:
    2020-01-01: {low_voltage: 0}
"""), "shandong-2019")
    assert set(reform.diff()["path"]) == {"schedule.limit.total_low_voltage", "schedule.stage.lv_connection"}
    warehouse = load_application(EXAMPLES / "world-bank-warehouse.yaml").to_frame()  # 2019-09 application
    later = warehouse.assign(application_id="later", application_date=pd.Timestamp("2020-03-02"))
    _, summary = quote_frame(pd.concat([warehouse, later], ignore_index=True), reform.ruleset).schedules()
    by_id = summary.set_index("application_id")
    # before the reform's date the file's values; from it, 1 + 5 + 0 = 6 days against a limit of 5
    assert by_id.loc["wb-warehouse", ["total_working_days", "limit_working_days", "within_limit"]].tolist() == [7, 7, True]
    assert by_id.loc["later", ["total_working_days", "limit_working_days", "within_limit"]].tolist() == [6, 5, False]
    # the baseline is untouched
    _, baseline = quote_frame(later, load_ruleset("shandong-2019")).schedules()
    assert baseline[["total_working_days", "limit_working_days"]].iloc[0].tolist() == [7, 7]


def test_stage_days_and_limits_are_parameters_of_the_rule_set_with_their_file_values():
    ruleset = load_ruleset("shandong-2019")
    # shandong-2019/schedule/stages.yaml: supply plan 7 working days at 10 kV; average targets 40 (10 kV) and 7 (low voltage)
    assert ruleset.parameter("schedule.stage.supply_plan").at(dt.date(2020, 1, 1), "10kV") == 7
    assert ruleset.parameter("schedule.limit.total_10kV").at(dt.date(2020, 1, 1)) == 40
    assert ruleset.parameter("schedule.limit.total_low_voltage").unit == "working_days"
    # a rule set whose own stages replace its parent's keeps none of the parent's stage parameters
    assert "schedule.stage.lv_external_works" in load_ruleset("national-2025").parameters
    assert "schedule.stage.lv_external_works" not in ruleset.parameters


def test_a_reform_of_the_policy_in_force_changes_the_province_not_the_national_floor(tmp_path):
    from costmodel.application import parse_application
    from costmodel.params import resolve_ruleset
    from costmodel.quote import quote_application

    policy = resolve_ruleset("shandong", dt.date(2026, 3, 2))
    cap = policy.parameter("supply_voltage.low_voltage_cap")  # Shandong's own, in kVA
    lowered = policy.with_parameters({cap.path: dataclasses.replace(cap, values=({"urban": 50, "rural": 50},))}, "cap 50 kVA")
    national, provincial = lowered.layers
    assert provincial.parameter(cap.path).values == ({"urban": 50, "rural": 50},)
    assert national.parameter(cap.path).unit == "kW" and national.parameter(cap.path) is policy.layers[0].parameter(cap.path)
    # 100 kW at 0.9 (111 kVA): over the lowered provincial cap, within the national 160 kW, so still low voltage
    application = parse_application({"id": "r", "application_date": "2026-03-02",
                                     "applicant": {"kind": "enterprise", "enterprise": {"size_class": "small", "ownership": "private"}},
                                     "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
                                     "request": {"capacity": 100, "capacity_unit": "kW", "power_factor": 0.9}})
    quote = quote_application(application, lowered)
    assert (quote.supply_voltage, quote.trace[1].layer) == ("low_voltage", "national-2025 (national)")
    # a parameter the province only inherits is national: a reform of it reaches the national layer too
    red_line = policy.parameter("red_line_extension.urban_building_red_line")
    off = policy.with_parameters({red_line.path: dataclasses.replace(red_line, values=(False,), dates=(red_line.dates[0],),
                                                                     value_references=())}, "no red line")
    assert all(layer.parameter(red_line.path).values == (False,) for layer in off.layers)


def test_reforms_combine_in_a_rule_set_name_and_apply_in_turn():
    import datetime as dt

    from costmodel.params import resolve_ruleset
    from costmodel.params.overrides import reformed_ruleset

    day = dt.date(2026, 3, 2)
    both = resolve_ruleset("shandong-2019+rural-lv-cap-160+urban-lv-cap-200", day)
    # rural-lv-cap-160 sets rural 160 kVA, urban-lv-cap-200 urban 200 kVA (tariffs/overrides)
    cap = both.parameter("supply_voltage.low_voltage_cap")
    assert (cap.at(day, "urban"), cap.at(day, "rural")) == (200, 160)
    assert resolve_ruleset(both.id, day).content_hash == both.content_hash  # the id resolves again to the same rules
    assert reformed_ruleset("shandong-2019", "rural-lv-cap-160,urban-lv-cap-200").content_hash == both.content_hash
    # over the policy in force: the province's layer composed with the national one, then the reform
    in_force = resolve_ruleset("shandong+rural-lv-cap-160", day)
    assert in_force.id == "shandong-2019+national-2025+rural-lv-cap-160"


def test_one_rural_customer_quoted_under_a_reform_by_name():
    from costmodel.application import load_application, parse_application
    from costmodel.params import resolve_ruleset
    from costmodel.quote import quote_application
    from tests_support import EXAMPLES

    raw = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_dump(mode="json")
    raw["site"]["area"] = "rural"
    application = parse_application(raw)  # 140 kVA, rural: over Shandong's 100 kVA rural cap
    assert quote_application(application, resolve_ruleset("shandong-2019", application.application_date)).supply_voltage == "10kV"
    reformed = quote_application(application, resolve_ruleset("shandong-2019+rural-lv-cap-160", application.application_date))
    assert (reformed.supply_voltage, reformed.totals.customer_cny) == ("low_voltage", 0)
