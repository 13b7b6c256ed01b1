"""The engine's decisions under a composed policy: the outcome better for the customer applies, and on a tie the
province decides only by a rule it wrote. Outcomes worked out from the texts the rule sets cite (Shandong's
160 kVA low-voltage cap, the national 160 kW one; zero investment for small and micro enterprises)."""

import datetime as dt
from dataclasses import replace

import pytest

from costmodel.application import parse_application
from costmodel.errors import InputError
from costmodel.params import resolve_ruleset
from costmodel.rules.engine import decide

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
