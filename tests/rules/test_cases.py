"""The expectations a rule-set case may state beyond decisions and totals: fee lines, who funds a line, the schedule."""

import pytest

from costmodel.rules.cases import EXPECTABLE, run_case, with_changes

BASE = {
    "id": "case",
    "application_date": "2019-09-02",
    "applicant": {"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 50, "operating_revenue_10k_cny": 1000}},
    "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
    "request": {"capacity": 161, "capacity_unit": "kVA"},
}
DUAL = with_changes(BASE, {"request.supply": "dual"})


def test_the_new_keys_are_expectable():
    assert {"fee_cny", "funded_by", "connection_working_days", "limit_working_days", "approvals_working_days",
            "approvals_limit_working_days", "grid_working_days", "grid_limit_working_days", "schedule_ruleset",
            "stage_working_days"} <= EXPECTABLE


def test_a_fee_line_amount_is_compared_by_fee_id():
    # shandong-2019 over national-1996's placeholder rate: 161 kVA at 10 kV x 250 CNY/kVA
    assert run_case("shandong-2019", DUAL, {"expect": {"fee_cny": {"fee.high_reliability": 40250}}}) == []
    assert run_case("shandong-2019", DUAL, {"expect": {"fee_cny": {"fee.high_reliability": 40251}}}) == [
        "fee_cny[fee.high_reliability]: expected 40251, got 40250.0"]


def test_a_fee_that_does_not_apply_is_reported_missing():
    problems = run_case("shandong-2019", BASE, {"expect": {"fee_cny": {"fee.temporary_connection": 0}}})
    assert len(problems) == 1 and problems[0].startswith("fee_cny[fee.temporary_connection]: expected 0, got none")


def test_who_funds_a_line_by_its_std_type():
    assert run_case("shandong-2019", BASE, {"expect": {"funded_by": {"HV-metering-devices-10kV": "grid", "S13-M-200/10": "customer"}}}) == []
    assert run_case("shandong-2019", BASE, {"expect": {"funded_by": {"HV-metering-devices-10kV": "customer"}}}) == [
        "funded_by[HV-metering-devices-10kV]: expected 'customer', got 'grid'"]


def test_the_schedule_totals_limits_and_stages():
    expect = {"schedule_ruleset": "shandong-2019", "connection_working_days": 40, "limit_working_days": 40,
              "approvals_working_days": 5, "approvals_limit_working_days": 5, "grid_working_days": 17,
              "grid_limit_working_days": None, "stage_working_days": {"construction": 21, "supply_plan": 7}}
    assert run_case("shandong-2019", BASE, {"expect": expect}) == []
    wrong = {**expect, "connection_working_days": 41, "stage_working_days": {"construction": 20}}
    assert run_case("shandong-2019", BASE, {"expect": wrong}) == [
        "connection_working_days: expected 41, got 40", "stage_working_days[construction]: expected 20, got 21"]


def test_a_stage_the_plan_does_not_have_is_reported():
    low_voltage = with_changes(BASE, {"request.capacity": 160})
    problems = run_case("shandong-2019", low_voltage, {"expect": {"stage_working_days": {"design_review": 3}}})
    assert len(problems) == 1 and "got none" in problems[0]


@pytest.mark.parametrize("expected", [[], {}, 5])
def test_a_mapping_expectation_must_be_a_mapping(expected):
    assert run_case("shandong-2019", BASE, {"expect": {"fee_cny": expected}}) == [
        f"fee_cny: expected a mapping of names to values, got {expected!r}"]
