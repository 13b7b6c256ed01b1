from pathlib import Path

import pandas as pd
import pytest

from costmodel.application import applications_frame, load_application, parse_application
from costmodel.params import available_rulesets, load_ruleset
from costmodel.quote import quote_application, quote_frame
from tests_support import GRID_FUNDED_ZONES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "applications"
WAREHOUSE = EXAMPLES / "world-bank-warehouse.yaml"


def test_warehouse_under_shandong_2019_connects_at_low_voltage_for_free():
    quote = quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    assert quote.supply_voltage == "low_voltage"
    assert quote.boundary == "meter"
    assert quote.totals.customer_cny == 0
    # grid: new 160 kVA public transformer 85,000 (headroom 100 < 140 kVA), 150 m LV cable 4x120 at
    # 160,000/km = 24,000, one road crossing 30,000, meter box 2,830
    assert quote.totals.grid_cny == pytest.approx(141_830)


def test_warehouse_under_national_1996_pays_for_its_line_transformer_and_metering():
    quote = quote_application(load_application(WAREHOUSE), load_ruleset("national-1996"))
    assert quote.supply_voltage == "10kV"
    assert quote.boundary == "point_of_connection"
    paid = {line.design_rule.split(":")[1] for line in quote.lines if line.funded_by == "customer" and line.design_rule}
    assert {"mv.line", "mv.transformer", "mv.metering"} <= paid
    # 0.15 km x 420,000 + crossing 30,000 + RMU 85,000 + 0.05 km x 420,000 + 160 kVA 85,000 + metering 60,000 + switchboard 45,000
    assert quote.totals.customer_cny == pytest.approx(389_000)
    assert quote.totals.customer_cny > 100_000
    assert quote.totals.grid_cny == 0


def _all_examples() -> pd.DataFrame:
    return applications_frame([load_application(path) for path in sorted(EXAMPLES.glob("*.yaml"))])


@pytest.mark.parametrize("ruleset_id", available_rulesets())
def test_each_line_is_funded_by_the_payer_of_its_zone_and_the_totals_add_up_by_payer(ruleset_id):
    batch = quote_frame(_all_examples(), load_ruleset(ruleset_id))
    boundary = batch.decisions.set_index("application_id")["boundary"]
    assert set(boundary) <= set(GRID_FUNDED_ZONES)
    expected_payer = ["grid" if line.zone in GRID_FUNDED_ZONES[boundary[line.application_id]] else "customer"
                      for line in batch.lines.itertuples()]
    assert batch.lines["funded_by"].tolist() == expected_payer
    lines = batch.lines.assign(payer=expected_payer)
    by_payer = lines.pivot_table(index="application_id", columns="payer", values="amount_cny", aggfunc="sum",
                                 fill_value=0.0, observed=True)
    totals = batch.totals.set_index("application_id")
    assert len(totals) == len(list(EXAMPLES.glob("*.yaml")))
    for payer in ("customer", "grid"):
        expected = by_payer[payer] if payer in by_payer else 0.0
        pd.testing.assert_series_equal(totals[f"{payer}_cny"], pd.Series(expected, index=by_payer.index)
                                       .reindex(totals.index).fillna(0.0), check_names=False)


def test_a_single_quote_equals_its_row_in_a_batch():
    frame = _all_examples()
    batch = quote_frame(frame, load_ruleset("shandong-2019")).totals.set_index("application_id")
    for path in sorted(EXAMPLES.glob("*.yaml")):
        application = load_application(path)
        single = quote_application(application, load_ruleset("shandong-2019"))
        assert single.totals.customer_cny == batch.at[application.id, "customer_cny"]
        assert single.totals.grid_cny == batch.at[application.id, "grid_cny"]


def test_the_trace_cites_every_parameter_it_read_with_its_date():
    quote = quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    voltage = next(step for step in quote.trace if step.decision == "supply_voltage")
    assert voltage.rule_id == "voltage.low_voltage_within_cap"
    assert "supply_voltage.low_voltage_cap<2019-07-01>[urban] = 160 kVA" in voltage.parameters
    assert "160千伏安" in voltage.cites
    boundary = next(step for step in quote.trace if step.decision == "investment_boundary")
    assert boundary.rule_id == "boundary.zero_investment_small_micro"
    assert "零投资" in boundary.cites


def test_provenance_names_rule_set_hash_and_catalogue_edition():
    quote = quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    assert quote.provenance.ruleset_lineage == ["shandong-2019", "shandong-2018", "national-1996"]
    assert len(quote.provenance.ruleset_content_hash) == 16
    assert quote.provenance.catalog_edition == "2019-1"


def test_two_thousand_five_hundred_kva_takes_two_equal_transformers():
    application = load_application(EXAMPLES / "large-enterprise-project-database.yaml")
    quote = quote_application(application, load_ruleset("shandong-2019"))
    transformers = [line for line in quote.lines if (line.design_rule or "").endswith("mv.transformer")]
    # largest catalogue unit is 2,000 kVA, so two units of at least 1,250 kVA each
    assert [(t.std_type, t.quantity) for t in transformers] == [("S13-M-1250/10", 2.0)]
    switchboards = [line for line in quote.lines if (line.design_rule or "").endswith("mv.lv_switchboard")]
    assert switchboards[0].quantity == 2.0


def test_dual_supply_charges_the_placeholder_fee_and_warns():
    application = load_application(EXAMPLES / "large-enterprise-project-database.yaml")
    quote = quote_application(application, load_ruleset("shandong-2019"))
    fee = next(line for line in quote.lines if line.zone == "charges")
    assert fee.rule_id == "fee.high_reliability"
    assert fee.amount_cny == pytest.approx(2500 * 250)
    assert fee.funded_by == "customer" and fee.placeholder
    assert any("placeholder" in warning for warning in quote.warnings)


def test_every_quote_carries_its_schedule():
    # micro-shop applies Friday 2019-09-27 at low voltage: 7 working days skip the National Day week
    # (09-29 and 09-30 worked, 10-01..07 off, 10-08..10-11 worked, Saturday 10-12 an adjusted working day).
    quote = quote_application(load_application(EXAMPLES / "micro-shop.yaml"), load_ruleset("shandong-2019"))
    assert quote.schedule.total_working_days == 7
    assert quote.schedule.energisation_due_date.isoformat() == "2019-10-12"
    assert quote.schedule.within_limit is True


def test_importing_the_quote_loads_neither_the_doing_business_study_nor_matplotlib():
    # A fresh interpreter, run from this checkout so that its costmodel is the one imported.
    import subprocess
    import sys

    probe = ("import sys, costmodel.quote; print(costmodel.quote.__file__); "
             "print(sorted(m for m in sys.modules if m == 'costmodel.scenarios.doing_business' or m.split('.')[0] == 'matplotlib'))")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded_from, heavy = result.stdout.splitlines()
    assert Path(loaded_from).is_relative_to(root / "costmodel")
    assert heavy == "[]"


def _small_private_at_low_voltage(day: str):
    from costmodel.application import parse_application

    return parse_application({
        "id": "lv", "application_date": day,
        "applicant": {"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 50, "operating_revenue_10k_cny": 1000,
                                                            "ownership": "private"}},
        "site": {"area": "urban", "distance_to_lv_m": 0, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
        "request": {"capacity": 50}})


def test_under_a_composed_policy_the_schedule_is_the_layer_whose_plan_gives_power_sooner(tariffs_copy, monkeypatch):
    import datetime as dt
    import shutil

    import yaml

    from costmodel.params import resolve_ruleset

    application = _small_private_at_low_voltage("2026-03-02")
    policy = resolve_ruleset("shandong", dt.date(2026, 3, 2))
    # Shipped: Shandong's low-voltage plan without external works is 1 + 1 = 2 working days, national-2025's 1 + 2 + 2 = 5
    shipped = quote_application(application, policy).schedule
    assert (shipped.ruleset_id, shipped.total_working_days, shipped.limit_working_days) == ("shandong-2019", 2, 7)
    # Shandong's stages ten times slower (in another root, read afresh): 20 working days, so national-2025's 5 and its
    # 5-day maximum apply
    slow = shutil.copytree(tariffs_copy, tariffs_copy.parent / "slow")
    monkeypatch.setenv("COSTMODEL_TARIFFS", str(slow))
    file = slow / "rulesets/shandong-2019/schedule/stages.yaml"
    stages = yaml.safe_load(file.read_text(encoding="utf-8"))
    for stage in stages["stages"]:
        days = stage["working_days"]
        stage["working_days"] = {k: v * 10 for k, v in days.items()} if isinstance(days, dict) else days * 10
    file.write_text(yaml.safe_dump(stages, allow_unicode=True), encoding="utf-8")
    slowed = quote_application(application, resolve_ruleset("shandong", dt.date(2026, 3, 2))).schedule
    assert (slowed.ruleset_id, slowed.total_working_days, slowed.limit_working_days, slowed.limit_basis) == ("national-2025", 5, 5, "maximum")
    # the province's own rule set alone keeps its own, slower plan
    alone = quote_application(application, resolve_ruleset("shandong-2019", dt.date(2026, 3, 2))).schedule
    assert (alone.ruleset_id, alone.total_working_days) == ("shandong-2019", 20)


def _low_voltage_50_kva(kind: str = "enterprise"):
    from costmodel.application import parse_application

    applicant = {"kind": kind, **({"enterprise": {"size_class": "medium", "ownership": "state_owned"}} if kind == "enterprise" else {})}
    return parse_application({
        "id": "lv50", "application_date": "2019-09-02", "applicant": applicant,
        "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
        "request": {"capacity": 50, "capacity_unit": "kVA", "power_factor": 1.0}})


@pytest.mark.parametrize("ruleset_id, kind, boundary", [
    ("national-1996", "enterprise", "point_of_connection"), ("national-1996", "residential", "meter"),
    ("shandong-2019", "enterprise", "point_of_connection")])
def test_the_revenue_meter_is_the_grid_companys_whatever_the_boundary_and_unpriced(ruleset_id, kind, boundary):
    quote = quote_application(_low_voltage_50_kva(kind), load_ruleset(ruleset_id))
    assert quote.boundary == boundary
    [meter] = [line for line in quote.lines if line.std_type == "LV-energy-meter-3ph"]
    assert (meter.zone, meter.funded_by, meter.rule_id, meter.amount_cny) == (
        "grid_owned", "grid", "metering.grid_supplied_families", None)
    assert any(w.startswith("not priced") and "Revenue energy meter" in w for w in quote.warnings)
    # the meter box stays with the boundary: the customer's from the point of connection (2,830), the grid's to the meter
    [box] = [line for line in quote.lines if line.std_type == "LV-meter-box-3ph"]
    assert box.funded_by == ("grid" if boundary == "meter" else "customer")


def test_a_priced_meter_is_paid_by_the_grid_company_even_from_the_point_of_connection(tariffs_copy):
    file = tariffs_copy / "catalogs/cn-indicative-2019/unit_costs.csv"
    file.write_text(file.read_text(encoding="utf-8").replace(
        "LV-energy-meter-3ph,metering_device,three-phase revenue energy meter,each,,0.4,,,,,,,not-found,false",
        "LV-energy-meter-3ph,metering_device,three-phase revenue energy meter,each,500,0.4,,,,,,,indicative,true"), encoding="utf-8")
    quote = quote_application(_low_voltage_50_kva(), load_ruleset("national-1996"))
    # national-1996 baseline: 50 kVA at low voltage, the customer funds 0.1 km x 160,000 + meter box 2,830; the meter is the grid's
    assert (quote.boundary, quote.totals.customer_cny, quote.totals.grid_cny) == ("point_of_connection", 18_830, 500)


def test_a_catalogue_row_without_a_cost_must_say_it_was_not_found(tariffs_copy):
    from costmodel.costs.catalog import load_catalog
    from costmodel.errors import InputError

    file = tariffs_copy / "catalogs/cn-indicative-2019/unit_costs.csv"
    file.write_text(file.read_text(encoding="utf-8").replace("LV-switchboard,switchgear,0.4 kV incoming switchboard per transformer,each,45000",
                                                             "LV-switchboard,switchgear,0.4 kV incoming switchboard per transformer,each,"), encoding="utf-8")
    with pytest.raises(InputError, match="column unit_cost_cny: nan; allowed: a cost >= 0 \\(or empty, with source not-found\\)"):
        load_catalog("cn-indicative-2019")


def test_money_is_rounded_to_the_yuan_per_line_and_totals_are_sums_of_the_lines():
    raw = load_application(WAREHOUSE).model_dump(mode="json")
    raw["site"]["distance_to_lv_m"] = 123.456  # 0.123456 km x 160,000 = 19,752.96 -> 19,753

    quote = quote_application(parse_application(raw), load_ruleset("shandong-2019"))
    cable = next(line for line in quote.lines if line.std_type == "YJV22-0.6/1-4x120")
    assert cable.amount_cny == 19_753
    assert all(line.amount_cny is None or line.amount_cny == int(line.amount_cny) for line in quote.lines)
    assert quote.totals.grid_cny == sum(line.amount_cny or 0 for line in quote.lines if line.funded_by == "grid")
    # 85,000 transformer + 19,753 + 30,000 crossing + 2,830 meter box
    assert quote.totals.grid_cny == 137_583


def test_half_a_yuan_rounds_up():
    from costmodel.quote import to_the_yuan

    assert to_the_yuan([0.5, 1.5, 2.4999, 2.5, float("nan")]).tolist()[:4] == [1, 2, 2, 3]


def test_a_temporary_fee_before_its_abolition_is_a_refundable_prepayment_outside_the_lines_and_totals():
    from costmodel.application import parse_application
    from costmodel.params import load_ruleset
    from costmodel.quote import quote_application

    application = parse_application({
        "id": "t", "application_date": "2016-05-03", "applicant": {"kind": "enterprise", "enterprise": {"size_class": "small"}},
        "site": {"area": "urban", "distance_to_lv_m": 100, "distance_to_10kv_m": 200, "transformer_headroom_kva": 500},
        "request": {"capacity": 2000, "capacity_unit": "kVA", "supply": "dual", "backup_capacity": 1000, "duration": "temporary"}})
    result = quote_application(application, load_ruleset("national-1996"))
    [prepayment] = result.prepayments
    assert (prepayment.fee_id, prepayment.quantity, prepayment.rate_cny, prepayment.amount_cny) == ("fee.temporary_connection", 2000, 120, 240000)
    assert "在合同约定期限内结束临时用电的,预交的临时接电费用全部退还用户" in prepayment.refund_condition
    assert result.totals.prepayment_cny == 240000
    assert all(line.rule_id != "fee.temporary_connection" for line in result.lines)
    # conservation: the parties' totals are the sum of the cost lines; the prepayment is in none of them
    assert sum(line.amount_cny or 0 for line in result.lines) == result.totals.customer_cny + result.totals.grid_cny
    # the high-reliability fee on the 1,000 kVA backup at the 10 kV placeholder rate, 250: all of the placeholder share
    fee = next(line for line in result.lines if line.rule_id == "fee.high_reliability")
    assert (fee.quantity, fee.amount_cny, fee.placeholder) == (1000, 250000, True)
    assert result.totals.total_placeholder_cny == result.totals.customer_placeholder_cny == 250000


def test_a_row_s_schedule_inputs_taken_from_the_whole_batch_s_are_its_own():
    import numpy as np

    from costmodel.params import resolve_ruleset

    applications = [load_application(path) for path in sorted(EXAMPLES.glob("*.yaml"))]
    batch = quote_frame(applications_frame(applications), resolve_ruleset("shandong", applications[0].application_date))
    rows = np.array([2, 0])
    decided = batch.decided.take(rows, batch.decided.names)
    alone = batch.schedule_input_at(rows, decided)  # nothing of the whole batch's worked out yet
    assert "schedule_input_all" not in batch.__dict__
    batch.schedule_input_all
    reused = batch.schedule_input_at(rows, decided)
    for name in ("application_id", "supply_voltage", "has_external_works"):
        assert np.array_equal(reused[name], alone[name]), name
    stage_set = lambda inputs, i: inputs["stage_sets"][inputs["ruleset_id"][i]]  # noqa: E731 - ids may number versions apart
    assert all(stage_set(reused, i) == stage_set(alone, i) for i in range(len(rows)))
