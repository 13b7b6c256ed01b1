"""The threshold what-if, against amounts worked by hand from the catalogue and the policy texts."""

import json

import pytest

import costmodel.whatif as whatif
from costmodel.application import load_application, parse_application
from costmodel.params import load_ruleset, resolve_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES

WAREHOUSE = EXAMPLES / "world-bank-warehouse.yaml"
PRIVATE_MEDIUM = {  # national-2025's case: a private medium industrial enterprise at 150 kW, urban
    "id": "private-medium", "application_date": "2025-09-01",
    "applicant": {"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 400,
                                                       "operating_revenue_10k_cny": 5000, "ownership": "private"}},
    "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
    "request": {"capacity": 150, "capacity_unit": "kW", "power_factor": 0.9},
}


@pytest.fixture(scope="module")
def warehouse():
    return whatif.quote_with_whatif(load_application(WAREHOUSE), load_ruleset("shandong-2019"))


def test_the_warehouse_sees_the_160_kva_cliff_with_both_outcomes(warehouse):
    _, result = warehouse
    nearest = result.cliffs[0]
    assert (nearest.threshold, nearest.unit, nearest.below_label, nearest.above_label) == (160, "kVA", "≤ 160 kVA", "> 160 kVA")
    assert nearest.parameters == ["supply_voltage.low_voltage_cap"] and nearest.current_side == "below"
    assert nearest.distance == 20  # 140 kVA requested
    # At 160 kVA: Shandong's small-enterprise zero investment, so the customer pays nothing; 7 working days at LV.
    assert (nearest.below.supply_voltage, nearest.below.boundary, nearest.below.customer_cny) == ("low_voltage", "meter", 0)
    assert nearest.below.working_days == 7
    # At 161 kVA: 10 kV to the point of connection, all customer-funded (catalogue cn-indicative-2019):
    # 0.15 km x 420,000 + road crossing 30,000 + RMU bay 85,000 + 0.05 km site cable x 420,000
    # + S13-M-200/10 98,000 (161 kVA needs the 200 kVA rating) + 10 kV metering 60,000 + LV switchboard 45,000
    assert (nearest.above.supply_voltage, nearest.above.boundary) == ("10kV", "point_of_connection")
    assert nearest.above.customer_cny == pytest.approx(63_000 + 30_000 + 85_000 + 21_000 + 98_000 + 60_000 + 45_000)
    assert nearest.above.grid_cny == 0 and nearest.above.working_days == 40


def test_the_10kv_limit_is_a_cliff_where_the_request_can_no_longer_be_quoted(warehouse):
    _, result = warehouse
    limit = next(cliff for cliff in result.cliffs if cliff.threshold == 10_000)
    assert limit.below.supply_voltage == "10kV" and limit.above.rejected is not None
    assert "supply_voltage.max_10kv_capacity" in limit.above.rejected
    assert result.cliffs == sorted(result.cliffs, key=lambda cliff: cliff.distance)


def test_a_medium_warehouse_would_fund_its_service_line_and_meter_box(warehouse):
    _, result = warehouse
    sizes = {option.value: option for option in result.alternatives if option.dimension == "enterprise_size"}
    assert sizes["small"].current and not sizes["small"].changes and not sizes["micro"].changes
    # Not small or micro: the boundary falls back to the point of connection. The new public transformer
    # (upstream, 85,000) stays the grid's; the customer funds 150 m of LV cable at 160,000/km = 24,000,
    # the road crossing 30,000 and the meter box 2,830.
    medium = sizes["medium"]
    assert (medium.outcome.boundary, medium.outcome.customer_cny, medium.outcome.grid_cny) == ("point_of_connection", 56_830, 85_000)
    assert set(medium.changes) == {"boundary", "customer_cny", "grid_cny"}
    # MIIT 2011 第四条（七） for warehousing: medium from 100 employees and 1,000 (10k CNY) revenue
    assert "medium: employees ≥ 100 and revenue_10k_cny ≥ 1,000" in result.size_limits


def test_the_quote_beside_the_what_if_is_the_plain_quote(warehouse):
    quote, _ = warehouse
    assert quote == quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019"))


def test_a_private_enterprise_sees_the_2025_160_kw_cap_of_the_national_layer():
    application = parse_application(PRIVATE_MEDIUM)
    _, result = whatif.quote_with_whatif(application, resolve_ruleset("shandong", application.application_date))
    nearest = result.cliffs[0]
    assert (nearest.threshold, nearest.unit, nearest.current_side, nearest.distance) == (160, "kW", "below", 10)
    assert "zero_investment.private_max_kw" in nearest.parameters and "national-2025" in nearest.layers
    assert (nearest.below.boundary, nearest.below.customer_cny) == ("meter", 0)
    assert nearest.above.supply_voltage == "10kV" and nearest.above.customer_cny > 0
    # its size does not matter below the cap: the private entitlement reaches every size
    assert not any(option.changes for option in result.alternatives if option.dimension == "enterprise_size")


def test_every_variant_is_quoted_in_one_vectorised_call(monkeypatch):
    calls = []
    real = whatif.quote_frame
    monkeypatch.setattr(whatif, "quote_frame", lambda frame, ruleset, **options: calls.append(len(frame)) or real(frame, ruleset, **options))
    _, result = whatif.quote_with_whatif(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    assert len(calls) == 1 and calls[0] > 40 and len(result.curve) == whatif.CURVE_POINTS


def test_the_curve_jumps_at_the_cliff():
    _, result = whatif.quote_with_whatif(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    below = [point for point in result.curve if point.capacity <= 160]
    above = [point for point in result.curve if 160 < point.capacity <= 10_000]
    assert below and all(point.customer_cny == 0 and point.supply_voltage == "low_voltage" for point in below)
    assert above and all(point.customer_cny >= 389_000 and point.supply_voltage == "10kV" for point in above)


def test_quote_what_if_in_the_cli_as_text_and_json():
    from typer.testing import CliRunner

    from costmodel.cli import app

    runner = CliRunner()
    text = runner.invoke(app, ["quote", str(WAREHOUSE), "--ruleset", "shandong-2019", "--what-if"])
    assert text.exit_code == 0, text.output
    assert "at 160 kVA (≤ 160 kVA): low_voltage, boundary meter, customer 0 CNY" in text.output
    assert "at 161 kVA (> 160 kVA): 10kV, boundary point_of_connection, customer 402,000 CNY" in text.output
    document = json.loads(runner.invoke(app, ["quote", str(WAREHOUSE), "--ruleset", "shandong-2019", "--what-if",
                                              "--format", "json"]).output)
    assert document["what_if"]["cliffs"][0]["above"]["customer_cny"] == 402_000
    assert document["totals"]["customer_cny"] == 0
