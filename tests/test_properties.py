"""Properties that must hold for any valid application (hypothesis)."""

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from costmodel.application import applications_frame, parse_application
from costmodel.params import available_rulesets, load_ruleset, resolve_ruleset
from costmodel.quote import quote_application, quote_frame
from tests_support import GRID_FUNDED_ZONES

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

enterprises = st.one_of(
    st.fixed_dictionaries({"size_class": st.sampled_from(["large", "medium", "small", "micro"])}),
    st.fixed_dictionaries({
        "industry": st.sampled_from(["industry", "retail", "wholesale", "warehousing", "software_it", "other"]),
        "employees": st.integers(0, 3000),
        "operating_revenue_10k_cny": st.floats(0, 100_000),
    }),
).flatmap(lambda e: st.fixed_dictionaries({
    **{k: st.just(v) for k, v in e.items()},
    "ownership": st.sampled_from(["private", "state_owned", "collective", "foreign", "other"]),
    "in_project_database": st.booleans(),
}))

applicants = st.one_of(
    st.fixed_dictionaries({"kind": st.just("enterprise"), "enterprise": enterprises}),
    st.fixed_dictionaries({"kind": st.sampled_from(["residential", "public_institution"])}),
)

applications = st.fixed_dictionaries({
    "id": st.just("x"),
    "application_date": st.dates(min_value=pd.Timestamp("2019-07-01").date(), max_value=pd.Timestamp("2026-06-30").date()),
    "applicant": applicants,
    "site": st.fixed_dictionaries({
        "area": st.sampled_from(["urban", "rural"]),
        "park_level": st.sampled_from(["national", "provincial", "municipal", "county", "none"]),
        "distance_to_lv_m": st.floats(0, 3000),
        "distance_to_10kv_m": st.floats(0, 5000),
        "transformer_headroom_kva": st.floats(0, 800),
        "road_crossings": st.integers(0, 3),
    }),
    "request": st.fixed_dictionaries({
        "capacity": st.floats(1, 5000),
        "capacity_unit": st.sampled_from(["kVA", "kW"]),
        "power_factor": st.one_of(st.none(), st.floats(0.7, 1.0)),
        "supply": st.sampled_from(["single", "dual"]),
        "duration": st.sampled_from(["permanent", "temporary"]),
    }),
})
portfolios = st.lists(applications, min_size=1, max_size=25)


def _frame(raw_applications: list[dict]) -> pd.DataFrame:
    return applications_frame([parse_application({**raw, "id": f"a{i}"}) for i, raw in enumerate(raw_applications)])


@SETTINGS
@given(portfolios, st.sampled_from(available_rulesets()))
def test_every_row_is_quoted_or_rejected_and_funding_follows_the_boundary(raw, ruleset_id):
    batch = quote_frame(_frame(raw), load_ruleset(ruleset_id))
    assert len(batch.totals) + len(batch.rejected) == len(raw)
    boundary = batch.decisions.set_index("application_id")["boundary"].reindex(batch.lines["application_id"])
    grid_funded = [zone in GRID_FUNDED_ZONES[point] for zone, point in zip(batch.lines["zone"], boundary)]
    assert batch.lines["funded_by"].eq("grid").tolist() == grid_funded
    customer_lines = batch.lines.loc[~np.array(grid_funded, dtype=bool)]
    customer_sums = customer_lines.groupby("application_id", observed=True)["amount_cny"].sum()
    np.testing.assert_allclose(batch.totals["customer_cny"],
                               customer_sums.reindex(batch.totals["application_id"]).fillna(0).to_numpy(), rtol=1e-12)


def _raised_cap(ruleset, path: str, new_cap: float):
    parameter = ruleset.parameter(path)
    values = tuple({k: max(v, new_cap) for k, v in value.items()} if isinstance(value, dict) else max(value, new_cap)
                   for value in parameter.values)
    return ruleset.with_parameters({path: dataclasses.replace(parameter, values=values)}, f"{path} raised to {new_cap}")


@SETTINGS
@given(portfolios, st.sampled_from([
    ("shandong-2019", "supply_voltage.low_voltage_cap"),
    ("national-2020", "supply_voltage.low_voltage_cap"),
    ("national-1996", "supply_voltage.lv_max_equipment_kw"),
]), st.floats(0, 630))
def test_raising_a_low_voltage_cap_never_raises_what_a_customer_pays(raw, target, new_cap):
    ruleset_id, path = target
    baseline = load_ruleset(ruleset_id)
    reform = _raised_cap(baseline, path, new_cap)
    frame = _frame(raw)
    before = quote_frame(frame, baseline).totals.set_index("application_id")["customer_cny"]
    after = quote_frame(frame, reform).totals.set_index("application_id")["customer_cny"]
    common = before.index.intersection(after.index)
    assert (after[common] <= before[common] + 1e-6).all(), pd.DataFrame({"before": before[common], "after": after[common]})


@settings(max_examples=10, deadline=None)
@given(portfolios)
def test_a_batch_row_equals_the_single_quote(raw):
    ruleset = load_ruleset("shandong-2019")
    frame = _frame(raw)
    batch = quote_frame(frame, ruleset).totals.set_index("application_id")
    for i, row in enumerate(raw[:5]):
        application = parse_application({**row, "id": f"a{i}"})
        if application.id not in batch.index:
            continue
        single = quote_application(application, ruleset)
        assert single.totals.customer_cny == batch.at[application.id, "customer_cny"]
        assert single.totals.grid_cny == batch.at[application.id, "grid_cny"]


COUNTY_PARK_FACTORY = {  # issue 18's case: under Shandong 2019 alone it pays 407,000, under the national layer 238,000
    "id": "x", "application_date": "2026-03-02",
    "applicant": {"kind": "enterprise", "enterprise": {"industry": "industry", "employees": 50, "operating_revenue_10k_cny": 1000,
                                                        "ownership": "private", "in_project_database": False}},
    "site": {"area": "urban", "park_level": "county", "distance_to_lv_m": 100, "distance_to_10kv_m": 200,
             "transformer_headroom_kva": 500, "road_crossings": 0},
    "request": {"capacity": 250, "capacity_unit": "kVA", "power_factor": 0.9, "supply": "single", "duration": "permanent"},
}


# Shandong's 160 kVA cap replaces the national 160 kW one in its layer: 150 kW at 0.9 is 166.7 kVA, 10 kV by
# Shandong alone, low voltage and zero investment (the 2025 private rule) by the national layer.
PRIVATE_150_KW = {**COUNTY_PARK_FACTORY, "applicant": {"kind": "enterprise", "enterprise": {
    "industry": "industry", "employees": 400, "operating_revenue_10k_cny": 5000, "ownership": "private", "in_project_database": False}},
    "site": {**COUNTY_PARK_FACTORY["site"], "park_level": "none"}, "request": {**COUNTY_PARK_FACTORY["request"], "capacity": 150, "capacity_unit": "kW"}}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(COUNTY_PARK_FACTORY, pd.Timestamp("2026-03-02").date(), "shandong")
@example(PRIVATE_150_KW, pd.Timestamp("2025-06-03").date(), "shandong")
@given(applications, st.dates(min_value=pd.Timestamp("2018-08-01").date(), max_value=pd.Timestamp("2026-12-31").date()),
       st.sampled_from(["shandong", "shandong.jinan", "shandong.qingdao"]))
def test_a_province_never_makes_a_customer_pay_more_than_the_national_layer_in_force(raw, day, jurisdiction):
    application = parse_application({**raw, "application_date": day.isoformat()})
    composed = quote_frame(application.to_frame(), resolve_ruleset(jurisdiction, day))
    national = quote_frame(application.to_frame(), resolve_ruleset("national", day))
    assert len(composed.rejected) == len(national.rejected)
    if len(composed.totals):
        assert composed.totals["customer_cny"].iloc[0] <= national.totals["customer_cny"].iloc[0] + 1e-6, (
            composed.decisions[["supply_voltage", "boundary", "boundary_rule"]].to_dict("records"),
            national.decisions[["supply_voltage", "boundary", "boundary_rule"]].to_dict("records"))
