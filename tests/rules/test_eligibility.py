"""Eligibility the texts name: single-phase limit, a request for 10 kV, individual businesses,
capacities compared without float noise (unknown ownership: test_unknowns.py). Amounts worked out by hand from catalogue cn-indicative-2019."""

import pytest

from costmodel.application import parse_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_application, quote_frame

SITE = {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500}
MEDIUM = {"industry": "industry", "employees": 400, "operating_revenue_10k_cny": 5000}


def _application(applicant: dict, request: dict, date: str = "2025-09-01", **site) -> object:
    return parse_application({"id": "e1", "application_date": date, "applicant": applicant, "site": {**SITE, **site},
                              "request": request})


def test_156_8_kw_at_power_factor_0_98_is_160_kva_and_low_voltage_in_urban_shandong():
    application = _application({"kind": "enterprise", "enterprise": {"size_class": "small"}},
                               {"capacity": 156.8, "capacity_unit": "kW", "power_factor": 0.98}, date="2019-09-02")
    quote = quote_application(application, load_ruleset("shandong-2019"))
    assert quote.capacity_kva == 160.0   # 156.8 / 0.98 = 160.00000000000003 in floating point
    assert quote.supply_voltage == "low_voltage"
    step = next(s for s in quote.trace if s.decision == "supply_voltage")
    assert step.rule_id == "voltage.low_voltage_within_cap"
    assert any(c.startswith("voltage.low_voltage_within_cap: capacity_kva 160.0 ≤") and c.endswith("yes") for c in step.conditions)


def test_a_customer_within_the_cap_may_ask_for_10kv_and_the_trace_records_the_request():
    ruleset = load_ruleset("shandong-2019")
    asked = _application({"kind": "enterprise", "enterprise": {"size_class": "small"}},
                         {"capacity": 100, "voltage_requested": "10kV"}, date="2019-09-02")
    quote = quote_application(asked, ruleset)
    step = next(s for s in quote.trace if s.decision == "supply_voltage")
    assert (quote.supply_voltage, step.rule_id) == ("10kV", "voltage.requested_10kv")
    assert "voltage.requested_10kv: voltage_requested 10kV = 10kV: yes" in step.conditions
    # the customer now funds its 10 kV connection: 0.2 km x 420,000 + RMU bay 85,000 + site cable 21,000
    # + 100 kVA transformer 68,000 + metering 60,000 + LV switchboard 45,000 = 363,000
    assert (quote.boundary, quote.totals.customer_cny) == ("point_of_connection", 363_000)
    not_asked = quote_application(_application({"kind": "enterprise", "enterprise": {"size_class": "small"}}, {"capacity": 100},
                                               date="2019-09-02"), ruleset)
    assert (not_asked.supply_voltage, not_asked.totals.customer_cny) == ("low_voltage", 0)


@pytest.mark.parametrize("ruleset_id", ["national-1996", "national-2020", "national-2025", "shandong-2019"])
def test_every_supply_voltage_table_ranks_the_request_right_after_beyond_10kv(ruleset_id):
    table = load_ruleset(ruleset_id).decision("supply_voltage")
    assert table.priority[:2] == ("voltage.beyond_10kv", "voltage.requested_10kv")


@pytest.mark.parametrize("capacity, unit, rejected", [(9.99, "kW", False), (10, "kW", True), (12, "kW", True),
                                                      (11, "kVA", False), (11.2, "kVA", True)])
def test_single_phase_supply_only_under_the_limit_in_force(capacity, unit, rejected):
    # national-1996 art. 8: single-phase when under (不足) 10 kW; power factor 0.9 given: 11 kVA = 9.9 kW, 11.2 kVA = 10.08 kW
    application = _application({"kind": "residential"}, {"capacity": capacity, "capacity_unit": unit, "power_factor": 0.9, "phases": 1},
                               date="2019-09-02")
    batch = quote_frame(application.to_frame(), load_ruleset("shandong-2019"))   # inherits the 1996 limit
    assert len(batch.rejected) == int(rejected)
    if rejected:
        reason = batch.rejected["reason"].iloc[0]
        assert reason.startswith(f"request.phases: 1 (single-phase) for {round(capacity * (0.9 if unit == 'kVA' else 1), 6):g} kW")
        assert "single-phase supply only under 10 kW (supply_voltage.single_phase_under_kw" in reason
        assert "第八条" in reason and "three-phase supply is required" in reason
    three_phase = _application({"kind": "residential"}, {"capacity": 12, "capacity_unit": "kW", "phases": 3}, date="2019-09-02")
    assert quote_frame(three_phase.to_frame(), load_ruleset("shandong-2019")).rejected.empty


def test_an_individual_business_is_sized_by_reference_and_private_under_the_2025_opinion():
    business = _application({"kind": "individual_business", "enterprise": {"industry": "retail", "employees": 4,
                                                                           "operating_revenue_10k_cny": 60}},
                            {"capacity": 30, "capacity_unit": "kW", "power_factor": 0.9})
    quote = quote_application(business, load_ruleset("national-2025"))
    size = quote.trace[0]
    assert (quote.enterprise_size, size.rule_id) == ("micro", "enterprise_size.miit-2011")
    assert "individual business is classified by reference" in size.description and "参照本规定进行划型" in size.cites
    assert (quote.boundary, quote.trace[2].rule_id, quote.totals.customer_cny) == \
        ("meter", "boundary.zero_investment_individual_business", 0)
    assert not quote.warnings or not any(w.startswith("ownership") for w in quote.warnings)
    # Shandong 2019 gives zero investment to 小微企业 only: the micro individual business funds its service line
    # 0.1 km x 160,000 and meter box 2,830
    shandong = quote_application(business.model_copy(update={"application_date": business.application_date.replace(year=2019)}),
                                 load_ruleset("shandong-2019"))
    assert (shandong.enterprise_size, shandong.boundary, shandong.totals.customer_cny) == ("micro", "point_of_connection", 18_830)


def test_a_request_already_rejected_keeps_its_first_reason_when_also_single_phase_over_the_limit():
    # 20 MVA on one phase: beyond what 10 kV serves, which is the reason given, not the single-phase limit
    application = _application({"kind": "residential"}, {"capacity": 20000, "capacity_unit": "kVA", "phases": 1}, date="2019-09-02")
    batch = quote_frame(application.to_frame(), load_ruleset("shandong-2019"))
    [reason] = batch.rejected["reason"]
    assert reason.startswith("request.capacity: 20000.0 kVA exceeds what 10 kV serves") and "single-phase" not in reason
