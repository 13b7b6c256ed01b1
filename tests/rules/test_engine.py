"""The engine's decisions under a composed policy: the outcome better for the customer applies, and on a tie the
province decides only by a rule it wrote. Outcomes worked out from the texts the rule sets cite (Shandong's
160 kVA low-voltage cap, the national 160 kW one; zero investment for small and micro enterprises)."""

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from costmodel.application import parse_application
from costmodel.errors import InputError
from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.rules.engine import decide, prepare

SITE = {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500}
SMALL = {"kind": "enterprise", "enterprise": {"size_class": "small"}}
MEDIUM_PRIVATE = {"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 400, "operating_revenue_10k_cny": 5000,
                                                       "ownership": "private"}}


def _decided(ruleset, applicant: dict, request: dict, date: str) -> dict:
    frame = parse_application({"id": "e1", "application_date": date, "applicant": applicant, "site": SITE, "request": request}).to_frame()
    decided, problems = decide(frame, ruleset)
    assert problems[0] is None
    return {name: decided[name][0] for name in decided.names}


def _with_layer_table(ruleset, position: int, name: str, table):
    """The composed policy with one layer's decision table replaced (the other layer's as it was)."""
    layers = list(ruleset.layers)
    layers[position] = layers[position].with_decision(name, table)
    return replace(ruleset, layers=tuple(layers))


def test_the_better_national_outcome_applies_with_its_rule_and_the_province_is_recorded_as_the_other():
    # 150 kW at 0.9 is 166.7 kVA: over Shandong's 160 kVA cap (10 kV by its default), within the national 160 kW (low voltage)
    policy = resolve_ruleset("shandong-2019+national-2024", dt.date(2025, 6, 2))
    decided = _decided(policy, MEDIUM_PRIVATE, {"capacity": 150, "capacity_unit": "kW", "power_factor": 0.9}, "2025-06-02")
    assert (decided["supply_voltage"], decided["supply_voltage_rule"], decided["supply_voltage_layer"]) == (
        "low_voltage", "voltage.low_voltage_within_cap", "national-2024")
    assert (decided["supply_voltage_other"], decided["supply_voltage_other_rule"]) == ("10kV", "voltage.10kv_default")


def test_on_a_tie_the_province_decides_by_a_rule_it_wrote():
    # a small enterprise at low voltage in 2021: zero investment in both layers, Shandong's by its own rule of that id
    policy = resolve_ruleset("shandong-2019+national-2020", dt.date(2021, 3, 1))
    decided = _decided(policy, SMALL, {"capacity": 100}, "2021-03-01")
    assert (decided["boundary"], decided["boundary_layer"], decided["boundary_other"]) == ("meter", "shandong-2019", "meter")


def test_on_a_tie_by_a_rule_of_unknown_origin_the_national_layer_decides():
    policy = resolve_ruleset("shandong-2019+national-2020", dt.date(2021, 3, 1))
    provincial = policy.layers[1].decision("investment_boundary")
    unattributed = replace(provincial, rules=tuple(replace(rule, origin="") for rule in provincial.rules))
    decided = _decided(_with_layer_table(policy, 1, "investment_boundary", unattributed), SMALL, {"capacity": 100}, "2021-03-01")
    assert (decided["boundary"], decided["boundary_layer"]) == ("meter", "national-2020")


def test_a_better_provincial_outcome_by_an_inherited_rule_still_applies():
    # without its residential rule the national layer invests to the urban red line (129号, from 2021-03-01); the
    # province keeps the inherited residential meter rule, which is better for the customer, so it applies
    policy = resolve_ruleset("shandong-2019+national-2020", dt.date(2021, 3, 1))
    national = policy.layers[0].decision("investment_boundary")
    without = replace(national, rules=tuple(r for r in national.rules if r.id != "boundary.residential_meter"),
                      priority=tuple(p for p in national.priority if p != "boundary.residential_meter"))._linked()
    decided = _decided(_with_layer_table(policy, 0, "investment_boundary", without), {"kind": "residential"}, {"capacity": 8},
                       "2021-03-01")
    assert (decided["boundary"], decided["boundary_rule"], decided["boundary_layer"]) == (
        "meter", "boundary.residential_meter", "shandong-2019")
    assert (decided["boundary_other"], decided["boundary_other_rule"]) == ("red_line", "boundary.red_line_urban")


def test_a_layered_decision_without_customer_preference_is_refused_naming_the_file():
    policy = resolve_ruleset("shandong-2019+national-2020", dt.date(2021, 3, 1))
    national = policy.layers[0].decision("investment_boundary")
    unranked = replace(national, customer_preference=())
    with pytest.raises(InputError, match=r"investment_boundary\.yaml: a layered decision needs customer_preference"):
        _decided(_with_layer_table(policy, 0, "investment_boundary", unranked), SMALL, {"capacity": 100}, "2021-03-01")


def _frame(applicant: dict, request: dict, date: str = "2019-09-02", id: str = "e1"):
    return parse_application({"id": id, "application_date": date, "applicant": applicant, "site": SITE, "request": request}).to_frame()


def test_a_request_beyond_10kv_is_rejected_with_its_capacity_to_one_decimal():
    decided, problems = decide(_frame(SMALL, {"capacity": 12345.67, "capacity_unit": "kVA"}), load_ruleset("shandong-2019"))
    assert problems[0].startswith("request.capacity: 12345.7 kVA exceeds what 10 kV serves (supply_voltage.max_10kv_capacity = ")


def test_an_enterprise_that_cannot_be_sized_keeps_that_reason_though_also_beyond_10kv():
    frame = _frame({"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 5, "operating_revenue_10k_cny": 5}},
                   {"capacity": 20000, "capacity_unit": "kVA"}).assign(industry="mining")
    _, problems = decide(frame, load_ruleset("shandong-2019"))
    assert problems[0].startswith("industry 'mining' is not in ")


def test_a_fee_whose_condition_reads_a_parameter_charges_the_rows_where_it_holds():
    from costmodel.rules.engine import fee_lines
    from costmodel.rules.table import Fee, FeeTable
    from costmodel.quote import quote_frame

    ruleset = load_ruleset("shandong-2019")
    cites = ruleset.decision("fees").fees[0].cites
    # three-phase sized: at or over the 10 kW single-phase limit (1996 art. 8); charged at the temporary connection
    # fee's placeholder rate, 150 CNY/kVA at low voltage
    over_single_phase = {"quantity": "capacity", "ge": {"param": "supply_voltage.single_phase_under_kw"}}
    fee = Fee("fee.test", "Test fee", (over_single_phase,), "fees.temporary_connection_rate", "capacity_kva", cites)
    charged = ruleset.with_decision("fees", FeeTable("fees", "test", (fee,)))
    frame = pd.concat([_frame({"kind": "residential"}, {"capacity": 5}, id="small"),    # 5 kVA at 0.9 is 4.5 kW
                       _frame({"kind": "residential"}, {"capacity": 50}, id="large")], ignore_index=True)
    decided, _ = decide(frame, charged)
    lines = fee_lines(decided, charged)
    assert sorted(lines.names) == sorted(["component", "std_type", "zone", "quantity", "unit", "unit_cost_cny", "amount_cny", "rule_id",
                                          "design_rule", "catalogue_ref", "indicative", "ceiling", "placeholder", "refundable", "_row"])
    assert lines["_row"].tolist() == [1] and lines["quantity"].tolist() == [50.0]
    assert (lines["unit_cost_cny"].tolist(), lines["amount_cny"].tolist()) == ([150.0], [7500.0])
    assert [lines[name][0] for name in ("component", "zone", "unit", "rule_id", "catalogue_ref")] == [
        "Test fee", "charges", "kVA", "fee.test", "shandong-2019:fees.temporary_connection_rate"]
    assert pd.isna(lines["std_type"][0]) and pd.isna(lines["design_rule"][0])
    assert (bool(lines["placeholder"][0]), bool(lines["indicative"][0])) == (True, False)
    # and in the quote, the customer pays it
    [line] = [line for line in quote_frame(frame, charged).lines.itertuples() if line.component == "Test fee"]
    assert (line.application_id, line.funded_by, line.unit_cost_cny) == ("large", "customer", 150.0)


def test_a_capacity_converted_between_kw_and_kva_keeps_its_fraction():
    # 150 kW at 0.9 is 166.666... kVA, kept to the microkilovoltampere; 100 kVA at 0.9 is 90 kW
    frame = pd.concat([_frame(SMALL, {"capacity": 150, "capacity_unit": "kW", "power_factor": 0.9}, id="kw"),
                       _frame(SMALL, {"capacity": 100, "capacity_unit": "kVA", "power_factor": 0.9}, id="kva")], ignore_index=True)
    columns = prepare(frame, load_ruleset("shandong-2019"))
    assert columns["capacity_kva"].tolist() == [166.666667, 100.0]
    assert columns["capacity_kw"].tolist() == [150.0, 90.0]


def test_a_household_is_not_sized_and_the_trace_says_why():
    decided, _ = decide(_frame({"kind": "residential"}, {"capacity": 8}), load_ruleset("shandong-2019"))
    assert (decided["enterprise_size"][0], decided["enterprise_size_rule"][0]) == ("not_applicable", "enterprise_size.not_an_enterprise")


def test_a_declared_size_is_used_by_the_rule_that_says_so():
    decided, _ = decide(_frame(SMALL, {"capacity": 100}), load_ruleset("shandong-2019"))
    assert (decided["enterprise_size"][0], decided["enterprise_size_rule"][0]) == ("small", "enterprise_size.declared")


def test_prepare_takes_columns_as_it_takes_a_frame_and_leaves_them_as_they_were():
    from costmodel.application import load_application
    from costmodel.columns import Columns
    from tests_support import EXAMPLES

    applications = load_application(EXAMPLES / "world-bank-warehouse.yaml").to_frame()
    ruleset = load_ruleset("shandong-2019")
    given = Columns(applications)
    from_columns, from_frame = prepare(given, ruleset), prepare(applications, ruleset)
    assert "capacity_kva" not in given
    assert from_columns.names == from_frame.names
    pd.testing.assert_frame_equal(from_columns.to_frame(), from_frame.to_frame())


def test_a_portfolio_row_with_a_backup_capacity_beyond_its_request_or_without_dual_supply_is_rejected_with_its_reason():
    from costmodel.application import applications_frame, parse_application
    from costmodel.params import load_ruleset
    from costmodel.rules.engine import decide

    base = {"id": "a", "application_date": "2019-09-02", "applicant": {"kind": "residential"},
            "site": {"area": "urban", "distance_to_lv_m": 50, "distance_to_10kv_m": 200, "transformer_headroom_kva": 100},
            "request": {"capacity": 500, "capacity_unit": "kVA", "supply": "dual"}}
    frame = applications_frame([parse_application({**base, "id": i}) for i in ("ok", "over", "single")])
    frame["backup_capacity"] = [400.0, 600.0, 100.0]
    frame.loc[2, "supply"] = "single"
    decided, problems = decide(frame, load_ruleset("national-1996"))
    assert problems[0] is None
    assert problems[1] == ("request.backup_capacity: 600 is not allowed with supply dual and capacity 500; "
                           "allowed: only with supply dual, at most the capacity")
    assert problems[2].startswith("request.backup_capacity: 100 is not allowed with supply single")
    assert decided["backup_capacity_kva"].tolist()[:1] == [400.0]
