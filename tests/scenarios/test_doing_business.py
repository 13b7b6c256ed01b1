import datetime as dt

import pytest

from costmodel.errors import InputError
from costmodel.scenarios.doing_business import compare_doing_business, doing_business_case


def test_the_three_regimes_compare():
    table = compare_doing_business().set_index("ruleset_id")
    # Voltage: 140 kVA is above the 1996 low-voltage limits (also kept in 2018), within 2019's 160 kVA.
    assert table["supply_voltage"].to_dict() == {
        "national-1996": "10kV", "shandong-2018": "10kV", "shandong-2019": "low_voltage"}
    # Procedures as listed in tariffs/doing-business/procedures.yaml: 9, 5, 2.
    assert table["procedures_count"].to_dict() == {"national-1996": 9, "shandong-2018": 5, "shandong-2019": 2}
    # With external works (road crossing): the rule set's full totals 67, 45 and 7.
    assert table["time_working_days"].to_dict() == {"national-1996": 67, "shandong-2018": 45, "shandong-2019": 7}


def test_calendar_days_and_cost_share():
    case = doing_business_case("shandong-2019", customer_cost_cny=6266.6778)
    # From Monday 2019-05-06, 7 working days: 05-07..05-10, 05-13..05-15 -> 2019-05-15, 9 calendar days.
    assert case["energisation_due_date"] == "2019-05-15" and case["time_calendar_days"] == 9
    # Income 9,470 USD x 6.6174 CNY/USD = 62,666.778 CNY; 6,266.6778 CNY is 10 % of it.
    assert case["income_per_capita_cny"] == pytest.approx(62666.778)
    assert case["cost_percent_of_income"] == pytest.approx(10.0)
    assert "NY.GNP.PCAP.CD" in case["income_reference"]


def test_cost_and_voltage_come_from_the_quote():
    table = compare_doing_business().set_index("ruleset_id")
    # 1996: the customer builds its 10 kV connection, 389,000 CNY (see tests/test_quote.py), which is
    # 389,000 / 62,666.778 = 620.7 % of income per capita; 2019: zero investment.
    assert table.loc["national-1996", "customer_cost_cny"] == pytest.approx(389_000)
    assert table.loc["national-1996", "cost_percent_of_income"] == pytest.approx(620.74, abs=0.01)
    assert table.loc["shandong-2019", "customer_cost_cny"] == 0


def test_a_voltage_given_by_the_caller_replaces_the_engines_with_a_warning():
    case = doing_business_case("national-1996", None, supply_voltage="low_voltage",
                               application_date=dt.date(2019, 9, 27))
    assert case["time_working_days"] == 28 and case["supply_voltage_rule"] == "given by the caller"
    assert any("assume 10kV" in warning for warning in case["warnings"])


def test_bad_cost_and_unknown_rule_set():
    with pytest.raises(InputError, match="customer_cost_cny: -1"):
        doing_business_case("shandong-2019", -1)
    with pytest.raises(InputError, match="ruleset_id: 'nowhere'"):
        doing_business_case("nowhere")


def test_china_is_shanghai_and_beijing_weighted_55_45():
    from costmodel.scenarios.doing_business import china_weighted

    result = china_weighted()
    shanghai, beijing = result["cities"]
    assert (shanghai["city"], shanghai["weight"], beijing["city"], beijing["weight"]) == ("shanghai", 0.55, "beijing", 0.45)
    # 140 kW is below both cities' 160 kW caps: low voltage, the grid company builds it (三零), two procedures each
    assert (shanghai["supply_voltage"], shanghai["customer_cost_cny"], shanghai["procedures_count"]) == ("low_voltage", 0, 2)
    assert (beijing["supply_voltage"], beijing["customer_cost_cny"], beijing["procedures_count"]) == ("low_voltage", 0, 2)
    # Shanghai's layer has no stages of its own: the 1996 low-voltage split, 28 working days; Beijing's split with a road
    # crossing: 1 + 2 + approvals 5 + works 5 + connection 2 = 15
    assert (shanghai["time_working_days"], beijing["time_working_days"]) == (28, 15)
    assert result["weighted"]["time_working_days"] == pytest.approx(0.55 * 28 + 0.45 * 15)
    assert result["weighted"]["procedures_count"] == pytest.approx(2)
